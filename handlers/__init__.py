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
    for feature in features:
        feature.register(app)
