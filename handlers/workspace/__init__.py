"""The installation in a workspace: when Slack says the app was uninstalled or its bot token
revoked, the workspace is marked uninstalled and nothing more is posted there (stop.py).

Entry points: the `app_uninstalled` and `tokens_revoked` events (listeners.py). They write
before the ack on purpose: one UPDATE, and if it fails Slack sends the event again.
"""

from __future__ import annotations

from slack_bolt import App

from handlers.core.feature import Feature
from handlers.workspace.listeners import app_uninstalled, tokens_revoked


def register(app: App) -> None:
    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)


FEATURE = Feature(name="workspace", register=register)
