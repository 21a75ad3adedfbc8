"""Slack's Socket Mode, faked: `apps.connections.open` and the WebSocket it hands out.

`FakeSocketSlack` is the fake Slack (fakeslack.py) plus Slack's side of Socket Mode
(https://docs.slack.dev/apis/events-api/using-socket-mode), served by the `websockets`
package on localhost:

- `apps.connections.open` takes only an app-level token (`xapp-`) and answers a single-use
  `ws://` URL;
- a connection opens with a `hello`; envelopes carry what Slack would POST over HTTP
  (`slash_commands`, `interactive`, `events_api`) with `envelope_id`, `type`, `payload`,
  `accepts_response_payload`, and on events `retry_attempt` / `retry_reason`;
- an ack is `{"envelope_id": …, "payload": …}` on the same socket (or any later one);
- `disconnect()` sends Slack's `{"type": "disconnect", "reason": "refresh_requested"}` and
  sends nothing more on that socket; `drop()` resets the TCP connection without a close frame;
- an envelope not acked when its socket goes away is delivered again on the next socket, with
  `retry_attempt` counted up, as Slack retries.

Bodies go in as the HTTP bodies `bot.shell.signing` builds, so one test can send the same
request over HTTP and over the socket: `send(body)` turns it into the envelope Slack would send.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import struct
import threading
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from bot.shell.fakeslack import Call, FakeSlack

log = logging.getLogger(__name__)

APP_TOKEN_PREFIX = "xapp-"
OPEN_METHOD = "apps.connections.open"
# What a retried envelope says about why it comes again (the fake only retries after a
# socket went away with the envelope unacknowledged).
RETRY_REASON = "timeout"


@dataclass
class Envelope:
    """One envelope as the fake sent it, and the ack it got."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    deliveries: int = 0
    lose_ack: bool = False
    acks: list[dict[str, Any]] = field(default_factory=list)
    acked: threading.Event = field(default_factory=threading.Event)
    socket_id: int | None = None  # the connection it was last sent on

    def frame(self) -> dict[str, Any]:
        """The envelope as Slack serialises it (retry fields on events, or on any retry)."""
        body: dict[str, Any] = {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }
        attempt = max(self.deliveries - 1, 0)
        if self.type == "events_api" or attempt:
            body["retry_attempt"] = attempt
            body["retry_reason"] = RETRY_REASON if attempt else ""
        return body

    def wait_ack(self, timeout: float = 10.0) -> dict[str, Any]:
        """The ack's `payload` ({} for an empty ack); fails if none came in time."""
        if not self.acked.wait(timeout):
            raise AssertionError(f"envelope {self.envelope_id} ({self.type}) was not acked")
        return dict(self.acks[-1].get("payload") or {})


class _Socket:
    def __init__(self, socket_id: int, connection: ServerConnection) -> None:
        self.id = socket_id
        self.connection = connection
        self.retiring = False  # sent `disconnect`: nothing more goes out on it


class FakeSocketSlack(FakeSlack):
    """The fake Slack with Socket Mode (see the module's docstring)."""

    def __init__(self, *, app_id: str = "A0DKSBOT", **options: Any) -> None:
        super().__init__(**options)
        self.app_id = app_id
        self.envelopes: dict[str, Envelope] = {}
        self.handshakes = 0  # sockets that got their `hello`
        self.unknown_acks: list[dict[str, Any]] = []
        self._tickets: set[str] = set()
        self._sockets: list[_Socket] = []
        self._socket_ids = itertools.count(1)
        self._waiting: list[Envelope] = []  # to send when a socket is open
        self._ws: Server | None = None
        self._ws_thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeSocketSlack:
        super().start()
        self._ws = serve(
            self._serve_socket,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            logger=log,
        )
        self._ws_thread = threading.Thread(target=self._ws.serve_forever, daemon=True)
        self._ws_thread.start()
        return self

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.shutdown()
            self._ws = None
        super().stop()

    def __enter__(self) -> FakeSocketSlack:
        return self.start()

    @property
    def socket_url(self) -> str:
        assert self._ws is not None, "start() the fake first"
        port = self._ws.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/"

    # --- apps.connections.open -------------------------------------------------------------

    def _route(
        self, path: str, headers: dict[str, str], raw: str
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        if urlsplit(path).path != f"/api/{OPEN_METHOD}":
            return super()._route(path, headers, raw)
        lowered = {k.lower(): v for k, v in headers.items()}
        args = dict(parse_qsl(raw, keep_blank_values=True))
        with self._changed:
            self.calls.append(Call(OPEN_METHOD, args, lowered))
            self._changed.notify_all()
        token = (lowered.get("authorization") or "").removeprefix("Bearer ").strip()
        token = token or args.get("token", "")
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if not token.startswith(APP_TOKEN_PREFIX):
            # A bot or user token cannot open a socket.
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return (
            200,
            {},
            {"ok": True, "url": f"{self.socket_url}?ticket={ticket}&app_id={self.app_id}"},
        )

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = (parse_qs(urlsplit(request.path).query).get("ticket") or [""])[0]
        with self._lock:
            if ticket in self._tickets:
                self._tickets.discard(ticket)  # one connection per URL, as Slack's
                return None
        body = b"invalid ticket"
        headers = Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return Response(HTTPStatus.UNAUTHORIZED, "Unauthorized", headers, body)

    # --- the socket --------------------------------------------------------------------------

    def _serve_socket(self, connection: ServerConnection) -> None:
        with self._changed:
            sock = _Socket(next(self._socket_ids), connection)
            self._sockets.append(sock)
            live = sum(1 for s in self._sockets if not s.retiring)
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": live,
                    "debug_info": {
                        "host": f"applink-fake-{sock.id}",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        with self._changed:
            self.handshakes += 1
            self._changed.notify_all()
        self._send_waiting()
        try:
            for message in connection:
                self._received(sock, message)
        except ConnectionClosed:
            pass
        finally:
            self._gone(sock)

    def _received(self, sock: _Socket, message: str | bytes) -> None:
        try:
            ack = json.loads(message)
        except ValueError:
            log.warning("socket %d: not JSON: %r", sock.id, message[:200])
            return
        envelope_id = ack.get("envelope_id") if isinstance(ack, dict) else None
        drop = False
        with self._changed:
            envelope = self.envelopes.get(str(envelope_id))
            if envelope is None:
                self.unknown_acks.append(ack)
            elif envelope.lose_ack:
                # The ack is lost on its way, with its socket: Slack never saw it.
                envelope.lose_ack = False
                drop = True
            else:
                envelope.acks.append(ack)
                envelope.acked.set()
            self._changed.notify_all()
        if drop:
            self._abort(sock)

    def _gone(self, sock: _Socket) -> None:
        with self._changed:
            if sock in self._sockets:
                self._sockets.remove(sock)
            unacked = [
                e
                for e in self.envelopes.values()
                if e.socket_id == sock.id and not e.acked.is_set() and e not in self._waiting
            ]
            self._waiting.extend(unacked)
            self._changed.notify_all()
        self._send_waiting()

    def _target(self) -> _Socket | None:
        live = [s for s in self._sockets if not s.retiring]
        return live[-1] if live else None

    def _send_waiting(self) -> None:
        while True:
            with self._changed:
                target = self._target()
                if target is None or not self._waiting:
                    return
                envelope = self._waiting.pop(0)
            self._send(target, envelope)

    def _send(self, sock: _Socket, envelope: Envelope) -> None:
        with self._changed:
            envelope.deliveries += 1
            envelope.socket_id = sock.id
            frame = json.dumps(envelope.frame(), ensure_ascii=False)
        try:
            sock.connection.send(frame)
        except ConnectionClosed:
            # Gone meanwhile: `_gone` (now or soon) queues it again for the next socket.
            with self._changed:
                envelope.deliveries -= 1
                if envelope not in self._waiting and sock not in self._sockets:
                    self._waiting.append(envelope)

    @staticmethod
    def _abort(sock: _Socket) -> None:
        """Reset the TCP connection: no close frame, as when a network path breaks."""
        raw = sock.connection.socket
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.connection.close_socket()

    # --- what tests do -----------------------------------------------------------------------

    def send(self, body: str, *, lose_ack: bool = False) -> Envelope:
        """Send what Slack would POST over HTTP (a slash command's form, `payload=<json>`
        of an interaction, an Events API JSON body) as a Socket Mode envelope.

        `lose_ack`: the app's first ack for it is lost and its socket drops, so the fake sends
        the envelope again on the next socket, with `retry_attempt` 1."""
        kind, payload = envelope_of(body)
        return self.send_envelope(kind, payload, lose_ack=lose_ack)

    def send_envelope(
        self, kind: str, payload: dict[str, Any], *, lose_ack: bool = False
    ) -> Envelope:
        envelope = Envelope(
            envelope_id=str(uuid.uuid4()),
            type=kind,
            payload=payload,
            accepts_response_payload=accepts_response_payload(kind, payload),
            lose_ack=lose_ack,
        )
        with self._changed:
            self.envelopes[envelope.envelope_id] = envelope
            self._waiting.append(envelope)
        self._send_waiting()
        return envelope

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack asks the app to reconnect (every few hours); the old socket gets nothing
        more and is left for the app to close."""
        with self._changed:
            targets = [s for s in self._sockets if not s.retiring]
            for sock in targets:
                sock.retiring = True
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )
        for sock in targets:
            with contextlib.suppress(ConnectionClosed):
                sock.connection.send(message)

    def drop(self) -> None:
        """Every open socket breaks (a reset, no close frame)."""
        with self._lock:
            targets = list(self._sockets)
        for sock in targets:
            self._abort(sock)

    def open_sockets(self) -> int:
        with self._lock:
            return len(self._sockets)

    def wait_for_handshakes(self, count: int, timeout: float = 15.0) -> bool:
        """Until `count` sockets in all got their `hello` and one is open to send on."""
        return self.wait_for(
            lambda: self.handshakes >= count and self._target() is not None, timeout
        )


def envelope_of(body: str) -> tuple[str, dict[str, Any]]:
    """The Socket Mode envelope type and payload for an HTTP body Slack would have POSTed."""
    stripped = body.lstrip()
    if stripped.startswith("{"):
        return "events_api", json.loads(stripped)
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in fields:
        return "interactive", json.loads(fields["payload"])
    return "slash_commands", fields


def accepts_response_payload(kind: str, payload: dict[str, Any]) -> bool:
    """Whether Slack reads a payload in the ack: a command's reply, a form's
    `response_action`, a type-ahead's options; not an event's or a click's."""
    if kind == "slash_commands":
        return True
    if kind == "interactive":
        return payload.get("type") in {"view_submission", "block_suggestion"}
    return False
