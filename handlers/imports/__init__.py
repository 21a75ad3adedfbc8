"""Importing contacts, schools and the calendar from a file uploaded on the Home tab.

«Importer» opens a form for the file (listeners.py); the upload is fetched from Slack
(fetch.py), checked and previewed in the form's answer, kept until the same user confirms,
then imported all or nothing (importing.py). The forms are in forms.py. Coordinators only,
declared with `coordinator_only` on every entry. The imported deadlines and meetings are
announced as one `Changed` after the confirmation's ack. The same importers run from the
command line (`dks-bot import`).
"""

from __future__ import annotations

from slack_bolt import App

from handlers.core.access import coordinator_only
from handlers.core.feature import Feature
from handlers.home.views import HOME_IMPORT
from handlers.imports import listeners as on
from handlers.imports.forms import IMPORT_CALLBACK, IMPORT_CONFIRM_CALLBACK

COORDINATOR = [coordinator_only]


def register(app: App) -> None:
    app.action(HOME_IMPORT, middleware=COORDINATOR)(on.open_import)
    app.view(IMPORT_CALLBACK, middleware=COORDINATOR)(on.preview_file)
    app.view(IMPORT_CONFIRM_CALLBACK, middleware=COORDINATOR)(
        ack=on.confirm_import, lazy=[on.announce_import]
    )


FEATURE = Feature(name="imports", register=register)
