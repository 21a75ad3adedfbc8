"""Create, edit and delete deadlines, meetings, contacts and schools in modals.

Entry points: `/dks ny frist|møte|kontakt|skole` (commands.py; nynorsk and English words too,
`/dks new meeting`); the Home tab's «Ny …» buttons, its rows' menus and its contact picker,
the school list and its menus, the forms' type-aheads and submissions (listeners.py; what a
click asks for is read in clicks.py). Each form's ids, fields, builder and parser are in
forms.py (fields.py: what they are made of); what a modal shows is read in loading.py;
storing, and announcing a change, in changes.py.

Everything that opens a form or writes is for coordinators, declared below with
`coordinator_only`: a crafted payload is refused on the server whatever Slack showed. A
stored change is published as `Changed` after the ack (reminders and the Home tab follow).
"""

from __future__ import annotations

from slack_bolt import App

from handlers.core.access import coordinator_only
from handlers.core.commands import Subcommand
from handlers.core.feature import Feature
from handlers.core.i18n import N_
from handlers.core.lazy import acknowledge
from handlers.editing import listeners as on
from handlers.editing.commands import names_a_kind, run_new
from handlers.editing.fields import MODAL_DELETE_ACTION
from handlers.editing.forms import (
    CONTACT_CALLBACK,
    DEADLINE_CALLBACK,
    DELETE_CALLBACK,
    MEETING_CALLBACK,
    MUNICIPALITY_SELECT_ACTION,
    SCHOOL_CALLBACK,
    SCHOOL_SELECT_ACTION,
)
from handlers.editing.views import SCHOOLS_MORE_ACTION, SCHOOLS_NEW_ACTION
from handlers.home.views import (
    HOME_CONTACT_PICK,
    HOME_NEW_CONTACT,
    HOME_NEW_DEADLINE,
    HOME_NEW_MEETING,
    HOME_SCHOOLS,
    ITEM_MENU_ACTION,
)

SUBCOMMANDS = [
    Subcommand(
        name="ny",
        words={"nn": "ny", "en": "new"},
        aliases=("nytt",),
        summary=N_(
            "legger inn en ny frist, et møte, en kontakt eller en skole i et skjema "
            "(bare koordinatorer)."
        ),
        example=N_("/dks ny frist"),
        run=run_new,
        coordinator=names_a_kind,
        works_after_ack=True,  # opens the form
    )
]

# Everything that opens a form or writes is for coordinators; the school list and the
# type-aheads read what everyone may read.
WRITES = [coordinator_only]


def register(app: App) -> None:
    app.action(HOME_NEW_DEADLINE, middleware=WRITES)(ack=acknowledge, lazy=[on.open_clicked])
    app.action(HOME_NEW_MEETING, middleware=WRITES)(ack=acknowledge, lazy=[on.open_clicked])
    app.action(HOME_NEW_CONTACT, middleware=WRITES)(ack=acknowledge, lazy=[on.open_clicked])
    app.action(HOME_CONTACT_PICK, middleware=WRITES)(ack=acknowledge, lazy=[on.open_clicked])
    app.action(ITEM_MENU_ACTION, middleware=WRITES)(ack=acknowledge, lazy=[on.open_clicked])
    app.action(SCHOOLS_NEW_ACTION, middleware=WRITES)(ack=acknowledge, lazy=[on.open_clicked])
    app.action(MODAL_DELETE_ACTION, middleware=WRITES)(ack=acknowledge, lazy=[on.open_clicked])
    app.action(HOME_SCHOOLS)(ack=acknowledge, lazy=[on.show_schools])
    app.action(SCHOOLS_MORE_ACTION)(ack=acknowledge, lazy=[on.show_schools])
    app.options(HOME_CONTACT_PICK)(on.contact_options)
    app.options(SCHOOL_SELECT_ACTION)(on.school_options)
    app.options(MUNICIPALITY_SELECT_ACTION)(on.municipality_options)
    app.view(DEADLINE_CALLBACK, middleware=WRITES)(ack=on.submit_form, lazy=[on.announce_saved])
    app.view(MEETING_CALLBACK, middleware=WRITES)(ack=on.submit_form, lazy=[on.announce_saved])
    app.view(CONTACT_CALLBACK, middleware=WRITES)(ack=on.submit_form, lazy=[on.announce_saved])
    app.view(SCHOOL_CALLBACK, middleware=WRITES)(ack=on.submit_form, lazy=[on.announce_saved])
    app.view(DELETE_CALLBACK, middleware=WRITES)(ack=on.confirm_delete, lazy=[on.announce_saved])


FEATURE = Feature(name="editing", register=register, subcommands=SUBCOMMANDS)
