"""The Home tab: what is coming, what lacks a date or a kulturkontakt, and buttons.

Published on `app_home_opened`, again on «Vis flere», and after every change a user makes (the
`Changed` event). Built in build.py from the workspace snapshot plus the sections other
features declare (`Feature(home_sections=[…])`); drawn in views.py, whose button ids other
features handle (editing, imports, the calendar export). `/dks hjem` (commands.py) answers
with a link that opens it, for whoever has not found the app's Home in Slack.
"""

from __future__ import annotations

from slack_bolt import App

from handlers.core.feature import Feature
from handlers.core.lazy import acknowledge
from handlers.home.commands import SUBCOMMANDS
from handlers.home.listeners import on_change, publish_opened, show_more
from handlers.home.views import HOME_MORE


def register(app: App) -> None:
    app.event("app_home_opened")(publish_opened)
    app.action(HOME_MORE)(ack=acknowledge, lazy=[show_more])


FEATURE = Feature(
    name="home",
    register=register,
    subcommands=SUBCOMMANDS,
    subscribers=[on_change],
    # Opened on every switch to the app's Home: Bolt tries this feature's listeners early.
    busy=True,
)
