"""The one place a listener's unexpected error ends: logged once, answered with 200 at once.

The app runs with `process_before_response=True` (HTTP and Socket Mode alike): a listener acks,
then may do more before Bolt answers Slack. If it raises after its ack, Bolt would answer 500,
and Slack shows the user an error although the ack (a reply, a closed form) was fine; so the
handler returns what was acked. If it raised before acking, the user gets a short apology in
the surface's own form: a `/dks` reply, a field error that keeps what was typed in a form, no
options in a type-ahead. Work after the ack (Bolt's lazy listeners) is wrapped by
`handlers.core.lazy.logs_failures`, because Bolt logs a lazy listener's error without its
traceback.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from slack_bolt import BoltRequest, BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from handlers.core.blocks import ERROR_TEXT, FORM_ERROR_TEXT, notice_modal
from handlers.core.commands import error_reply
from handlers.core.i18n import _
from storage.replay import Replayed

log = logging.getLogger(__name__)


def is_database_error(error: BaseException) -> bool:
    """SQLAlchemy's errors and the drivers' own (a psycopg or sqlite3 error that reached us
    unwrapped): all mean «try again in a moment», never a 500."""
    return isinstance(error, SQLAlchemyError | psycopg.Error | sqlite3.Error)


def _what(body: dict[str, Any]) -> str:
    """A short, user-text-free name of the request for the log line."""
    kind = body.get("type") or ("slash_command" if "command" in body else "request")
    if kind == "view_submission":
        view = body.get("view")
        return f"view_submission {view.get('callback_id') if isinstance(view, dict) else ''}"
    if kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else {}
        return f"block_actions {first.get('action_id') if isinstance(first, dict) else ''}"
    if kind == "event_callback":
        event = body.get("event")
        return f"event {event.get('type') if isinstance(event, dict) else ''}"
    return str(kind)


def _first_input_block(body: dict[str, Any]) -> str | None:
    view = body.get("view")
    blocks = view.get("blocks") if isinstance(view, dict) else None
    for block in blocks if isinstance(blocks, list) else []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    return None


def unacked_answer(body: dict[str, Any]) -> BoltResponse:
    """What Slack gets when a listener failed before it acked."""
    kind = body.get("type")
    if "command" in body:
        return BoltResponse(status=200, body=error_reply().as_message())
    if kind == "view_submission":
        block_id = _first_input_block(body)
        if block_id:
            # A field error keeps the form open with everything the user wrote.
            errors = {block_id: _(FORM_ERROR_TEXT)}
            return BoltResponse(status=200, body={"response_action": "errors", "errors": errors})
        # A confirmation (delete, import) has no field: say it failed instead of closing as
        # if it had worked.
        notice = notice_modal(_(ERROR_TEXT)).to_dict()
        return BoltResponse(status=200, body={"response_action": "update", "view": notice})
    if kind == "block_suggestion":
        return BoltResponse(status=200, body={"options": []})
    return BoltResponse(status=200, body="")


def on_error(error: Exception, request: BoltRequest, logger: logging.Logger) -> BoltResponse:
    """Bolt's global error handler (listeners and middleware)."""
    ack = request.context.ack
    if isinstance(error, Replayed):
        # The same signed request again: its write was done the first time; nothing now.
        logger.info("replayed request ignored: %s", _what(request.body))
        if ack is not None and ack.response is not None:
            return ack.response
        return BoltResponse(status=200, body="")
    logger.exception("listener failed: %s", _what(request.body), exc_info=error)
    if ack is not None and ack.response is not None:
        return ack.response
    return unacked_answer(request.body)
