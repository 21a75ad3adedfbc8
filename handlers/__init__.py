"""Slack listeners, one module per feature; `register_all` wires them onto an App."""

from __future__ import annotations

from slack_bolt import App

from handlers import contacts, deadlines, help, meetings, router


def register_all(app: App) -> None:
    features = [deadlines, meetings, contacts, help]
    subcommands = [sub for feature in features for sub in feature.SUBCOMMANDS]
    router.register(app, subcommands)
    for feature in features:
        feature.register(app)
