"""Socket Mode (`dks-bot run`): Bolt's SocketModeHandler on slack_sdk's built-in client,
with each envelope acting once.

Slack sends an envelope again when its ack did not reach Slack (the socket broke between our
work and the ack), counting `retry_attempt` up. Socket Mode has no signature, so the replay
guard (storage/replay.py) keys the request by its `envelope_id` instead: the key is stored in
the same transaction as the request's first write, so a redelivered envelope whose write was
done stops before changing anything again, and one whose write failed or never happened acts
as the first time. Events are also keyed by `event_id` (the App's middleware), as over HTTP.

There is no HTTP front door here, but the same shape check (bot/inbound.py's `malformed`): an
envelope Slack would never send this app is acked empty, so that it is not sent again, and
logged as one line without its payload.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.inbound import malformed
from bot.settings import Settings
from storage import replay

log = logging.getLogger(__name__)

_PREFIX = "envelope:"


def envelope_key(envelope_id: object) -> str | None:
    """The replay key of a Socket Mode envelope, the same for each of Slack's redeliveries."""
    if not isinstance(envelope_id, str) or not envelope_id:
        return None
    if len(envelope_id) > replay.MAX_KEY - len(_PREFIX):
        return None
    return _PREFIX + envelope_id


class OnceSocketModeHandler(SocketModeHandler):
    """SocketModeHandler whose requests write under their envelope's replay key."""

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        problem = malformed(req.payload)
        if problem is not None:
            log.warning("refused a Socket Mode envelope (%s): %s", req.type, problem)
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        # Bolt dispatches in this thread, and the App's listener executor copies the context
        # into lazy listeners: every write this envelope causes claims the same key.
        with replay.guarding(envelope_key(req.envelope_id)):
            super().handle(client, req)


def socket_mode_handler(app: App, settings: Settings, **options: Any) -> SocketModeHandler:
    """The handler `dks-bot run` starts; `options` go to Bolt's SocketModeHandler."""
    return OnceSocketModeHandler(app, settings.slack_app_token, **options)
