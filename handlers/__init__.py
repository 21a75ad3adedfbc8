"""Slack listeners, one module per feature; `register_all` wires them onto an App."""

from __future__ import annotations

from slack_bolt import App

from handlers import (
    admin,
    calendar_feed,
    contacts,
    deadlines,
    editing,
    feedback,
    help,
    home,
    meetings,
    reminders,
    router,
)


def register_all(app: App) -> None:
    features = [
        deadlines,
        meetings,
        contacts,
        reminders,
        feedback,
        home,
        editing,
        admin,
        calendar_feed,
        help,
    ]
    subcommands = [sub for feature in features for sub in feature.SUBCOMMANDS]
    router.register(app, subcommands)
    # Bolt tries listeners in the order they were added, building each one's arguments: the
    # requests that come on every keystroke or tab switch (feedback's type-ahead, the Home
    # tab) go first. The help text keeps the order of `features`.
    busiest_first = [feedback, home, *(f for f in features if f not in (feedback, home))]
    for feature in busiest_first:
        feature.register(app)
