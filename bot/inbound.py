"""The front door for Slack's HTTP requests: size, signature and shape, before Bolt.

Bolt's WSGI adapter reads and parses the whole body before its middleware checks the
signature, and logs the body of a request that fails the check. Here, in this order:

1. a body over `MAX_BODY_BYTES` is answered 413 before it is read;
2. the signature (slack_sdk's `SignatureVerifier`) is checked over the raw bytes; a request
   that fails is answered 401 and logged as one line: the reason, its size and the remote
   address, nothing of its body;
3. the body is parsed as Bolt parses it, and must be shaped as Slack sends it (an object,
   not nested deeper than Slack nests, its `actions`, `view` and `event` objects where Bolt
   expects objects), be something Slack sends this app (the app's slash command, or a payload
   or event `type` the app is wired for; see `PAYLOAD_TYPES`), and name its workspace by an
   id shaped as Slack's; otherwise 400. Bolt would answer anything else with a 404
   ("unhandled request"), and a workspace id over 32 characters would reach the database.

Slack documents no limit on what it posts; ours is twice the largest request the bot's own
views can cause, measured by tests/test_hardening_requests.py (a click on a full Home tab
carries the whole published view).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltRequest
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import extract_enterprise_id, extract_team_id
from slack_bolt.request.payload_utils import (
    to_action,
    to_command,
    to_event,
    to_message,
    to_options,
    to_shortcut,
    to_step,
    to_view,
)
from slack_sdk.signature import SignatureVerifier

from handlers.core.commands import COMMAND
from handlers.core.values import is_team_id

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 400_000
# Slack's deepest payloads (rich text in a view's state) nest about a dozen levels.
MAX_DEPTH = 48
# Slack refuses, and so do we, a timestamp more than five minutes off.
MAX_CLOCK_SKEW_SECONDS = 5 * 60
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
# What Slack posts to this app (manifest.yml) besides its slash command: clicks, type-aheads
# and form submissions (no modal asks for `view_closed`, and the app has no shortcuts), the
# subscribed events, and the Events API's own check of the request URL (Bolt answers it).
PAYLOAD_TYPES = frozenset(
    {"block_actions", "block_suggestion", "view_submission", "event_callback", "url_verification"}
)
SLASH_COMMANDS = frozenset({COMMAND})


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str

    @property
    def http_status(self) -> str:
        return {
            400: "400 Bad Request",
            401: "401 Unauthorized",
            411: "411 Length Required",
            413: "413 Content Too Large",
        }[self.status]


def read_body(environ: dict[str, Any]) -> bytes | Refusal:
    """The body, or a refusal when it is (or says it is) larger than the limit."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ.get("wsgi.input")
    if declared:
        if not declared.isascii() or not declared.isdigit():
            return Refusal(400, "malformed Content-Length")
        if int(declared) > MAX_BODY_BYTES:
            return Refusal(413, f"body of {declared} bytes over the limit")
        return stream.read(int(declared)) if stream is not None and int(declared) else b""
    if stream is None:
        return b""
    # No length given (chunked): read one byte past the limit at most.
    body = stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return Refusal(413, "chunked body over the limit")
    return bytes(body)


def signature_problem(
    signing_secret: str, body: bytes, headers: dict[str, Any], *, now: float | None = None
) -> str | None:
    """Why the request is not Slack's (None when it is)."""
    if not signing_secret:
        return "no signing secret is configured"
    timestamp = _header(headers, "x-slack-request-timestamp")
    signature = _header(headers, "x-slack-signature")
    if not timestamp or not signature:
        return "no signature"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "malformed timestamp"
    clock = time.time() if now is None else now
    if abs(clock - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return "stale timestamp"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8, so not Slack's"
    if not SignatureVerifier(signing_secret).is_valid(text, timestamp, signature):
        return "bad signature"
    return None


def _header(headers: dict[str, Any], name: str) -> str:
    value = headers.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "").strip()


def bolt_request(body: bytes, environ: dict[str, Any]) -> BoltRequest | Refusal:
    """The request as Bolt sees it, or why it is malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "body is not UTF-8")
    wsgi = WsgiHttpRequest(environ)
    try:
        request = BoltRequest(body=text, query=wsgi.query_string, headers=wsgi.get_headers())
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError):
        # Bolt's parse and its context extraction assume Slack's shapes; JSON errors are
        # ValueErrors, a list where an object belongs an AttributeError, and so on.
        return Refusal(400, "body is not a Slack payload")
    problem = malformed(request.body)
    return Refusal(400, problem) if problem else request


def malformed(body: Any) -> str | None:
    """What is wrong with a parsed payload's shape, for Bolt and the listeners (None: fine).

    Shared with Socket Mode, whose payloads arrive parsed."""
    if not isinstance(body, dict):
        return "payload is not an object"
    if _too_deep(body):
        return f"payload nested deeper than {MAX_DEPTH}"
    extractors: tuple[Callable[[dict[str, Any]], Any], ...] = (
        to_options,
        to_shortcut,
        to_action,
        to_view,
        to_command,
        to_event,
        to_message,
        to_step,
    )
    for extract in extractors:
        try:
            part = extract(body)
        except (TypeError, KeyError, IndexError, AttributeError):
            return f"payload has no usable {extract.__name__.removeprefix('to_')}"
        if part is not None and not isinstance(part, dict):
            return f"payload's {extract.__name__.removeprefix('to_')} is not an object"
    actions = body.get("actions")
    if actions is not None and not (
        isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    ):
        return "payload's actions are not a list of objects"
    for key in ("view", "event", "container", "state", "message"):
        value = body.get(key)
        if value is not None and not isinstance(value, dict):
            return f"payload's {key} is not an object"
    for key in ("team", "user", "channel", "enterprise"):
        value = body.get(key)
        if value is not None and not isinstance(value, dict | str):
            return f"payload's {key} is neither an object nor an id"
    view = body.get("view")
    for state in (body.get("state"), view.get("state") if isinstance(view, dict) else None):
        if not _state_shaped(state):
            return "payload's state is not shaped as Slack's"
    return _not_for_this_app(body) or _foreign_workspace_id(body)


def _state_shaped(state: Any) -> bool:
    """A form's state as Slack sends it: `{"values": {block_id: {action_id: {…}}}}`."""
    if state is None:
        return True
    if not isinstance(state, dict):
        return False
    values = state.get("values")
    if values is None:
        return True
    return isinstance(values, dict) and all(
        isinstance(cells, dict) and all(isinstance(cell, dict) for cell in cells.values())
        for cells in values.values()
    )


def _not_for_this_app(body: dict[str, Any]) -> str | None:
    """Why Slack would never send this body to this app (None: it would)."""
    if body.get("ssl_check") == "1":
        return None  # Slack's check of the certificate, which Bolt answers
    if "command" in body:
        command = body["command"]
        if isinstance(command, str) and command in SLASH_COMMANDS:
            return None
        return "not the app's slash command"
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in PAYLOAD_TYPES:
        return "neither a slash command nor a payload type Slack sends the app"
    if kind == "event_callback":
        event = body.get("event")
        if (
            not isinstance(event, dict)
            or not event.get("type")
            or not isinstance(event["type"], str)
        ):
            return "an event without a type"
    return None


def _foreign_workspace_id(body: dict[str, Any]) -> str | None:
    """Whether a workspace or organisation id the bot would use is not shaped as Slack's."""
    user, team = body.get("user"), body.get("team")
    try:
        found = [
            extract_team_id(body),
            extract_enterprise_id(body),
            body.get("team_id"),
            team.get("id") if isinstance(team, dict) else team,
            user.get("team_id") if isinstance(user, dict) else None,
        ]
    except (TypeError, KeyError, IndexError, AttributeError):
        return "payload's workspace cannot be read"
    if any(value not in (None, "") and not is_team_id(value) for value in found):
        return "a workspace id that is not Slack's"
    return None


def _too_deep(body: dict[str, Any]) -> bool:
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


def refuse(
    refusal: Refusal,
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    size: int | None = None,
) -> Iterable[bytes]:
    """One log line (reason, size, remote address) and the status; nothing of the body.
    `size` is None for a body left unread (its declared size is in the reason)."""
    log.warning(
        "refused a request to %s: %s (%sfrom %s)",
        environ.get("PATH_INFO"),
        refusal.reason,
        "" if size is None else f"{size} bytes ",
        environ.get("REMOTE_ADDR") or "an unknown address",
    )
    body = refusal.http_status.encode()
    start_response(
        refusal.http_status,
        [("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(body)))],
    )
    return [body]
