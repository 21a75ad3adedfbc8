"""The outbox scheduler: an APScheduler 3 job that posts what the outbox says is due.

One `BackgroundScheduler` (memory job store, explicit time zone) runs one interval job with
a stable id (`replace_existing=True`, `max_instances=1`, `coalesce=True`): the tick. Each tick

1. now and then re-plans every workspace's reminders for the rolling window,
2. claims due rows (storage.outbox.claim_due: SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
   SQLite) under a lease,
3. posts them, channels in parallel and each channel at most one message a second (Slack's
   limit, counted from Slack's previous answer, so the rate limiter is rarely met at all; a
   429 holds just that channel for its Retry-After), and records Slack's `ts`.

Each message is rendered and serialised once; the posts go out over kept connections
(KeepAliveWebClient.post_json) without the WebClient's per-call machinery, because in a burst
the CPU spent per post, not Slack, decides how soon the busiest channels start.

Exactly once: a row is marked sent within a quarter of a second of Slack's answer (many rows
per write). A process killed in between leaves the row claimed; when its lease runs out
another tick claims it with `needs_check`, looks for the row's marker (its id in the first
block's `block_id`) in the channel's recent history, and only posts if the message is not
there. See README, "Reminders".

Web workers never build a Scheduler: only `dks-bot scheduler` and plain `dks-bot` (Socket
Mode) do.
"""

from __future__ import annotations

import gc
import heapq
import http.client
import io
import itertools
import json
import logging
import os
import select
import signal
import socket
import threading
import time as monotime
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

import httptools
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import Block
from slack_sdk.web.slack_response import SlackResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import handlers
from bot.settings import Settings
from handlers.core.outbox_kinds import KindRegistry, RenderedMessage, late_note
from handlers.core.services import Clock, system_clock
from storage.db import session_scope
from storage.models import outbox_marker
from storage.outbox import (
    Claim,
    claim_due,
    clear_alerts,
    get_messages,
    mark_cancelled,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_sent_many,
    mark_skipped,
    open_alert,
    postpone,
    release,
    schedule_message,
)
from storage.reminders import (
    ALERT_KIND,
    in_quiet_hours,
    last_channel_change,
    next_allowed,
    reconcile,
    reminder_teams,
)
from storage.workspaces import listed_coordinators

log = logging.getLogger(__name__)

JOB_ID = "dks-outbox-tick"
# Slack's errors that say this channel cannot take the message: retrying will not help.
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
# The workspace is gone for the bot: stop, don't retry.
AUTH_ERRORS = frozenset(
    {"account_inactive", "invalid_auth", "not_authed", "token_revoked", "team_access_not_granted"}
)
# Slack said it failed on its side; the message may or may not have been posted.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
BACKOFF = (2.0, 10.0, 30.0, 120.0, 600.0, 1800.0)
MAX_ATTEMPTS = 8
LATE_AFTER = timedelta(minutes=15)
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
HISTORY_PAGES = 5
# The first posts of a batch wait only for this many messages to render (then 2×, 4×, …,
# up to RENDER_MAX_CHUNK).
RENDER_FIRST_CHUNK = 16
RENDER_MAX_CHUNK = 256
RENDER_GROWTH = 4
# A message answered with 429 is tried again in the same tick this many times (each after
# its channel's Retry-After), then goes back to the outbox.
RATE_LIMIT_TRIES = 3
# Interval ticks fall this long before each multiple of the interval (counted from a whole
# minute), so a row due on the minute is claimed and rendered before its time.
TICK_LEAD_SECONDS = 1.0
_TICK_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
_NOT_AHEAD = object()  # a message rendered at its time: no inputs token to check
# A message rendered ahead of its time is posted only if its workspace's inputs, read at most
# this long before, are what they were at rendering.
INPUTS_FRESH_FOR = 0.5


class KeepAliveWebClient(WebClient):
    """A WebClient that keeps one HTTP/1.1 connection per thread open between calls.

    slack_sdk's WebClient opens a new connection (and, against Slack, a new TLS handshake)
    for every call through urllib; in a burst of hundreds of posts that costs more CPU, on both
    ends, than the posts themselves. Only the transport changes: request building, retry
    handlers, response parsing and SlackApiError are slack_sdk's own. As with urllib, a non-2xx
    answer raises HTTPError (so 429 + Retry-After reaches the retry handler) and a broken
    connection raises URLError. A pooled connection the server has closed is noticed before it
    is reused; one that breaks during a call is never retried here (the message may be in the
    channel), the caller decides.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()
        self._open_lock = threading.Lock()
        self._head_prefix: bytes | None = None

    def close(self) -> None:
        """Close every kept connection (threads that call again open new ones)."""
        with self._open_lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        conns: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "conns", {}
        )
        conn = conns.get((scheme, netloc))
        if conn is not None and conn.sock is not None and _dropped(conn.sock):
            self._discard(conn)
            conn = None
        if conn is not None and conn.sock is None:
            with self._open_lock:  # closed by close(); http.client reopens it on the next call
                self._open.add(conn)
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=self.ssl)
            else:
                conn = http.client.HTTPConnection(netloc, timeout=self.timeout)
            conns[(scheme, netloc)] = conn
            with self._open_lock:
                self._open.add(conn)
        return conn

    def open_connection(self) -> None:
        """Open this thread's connection now (with Slack, a TLS handshake), so the post that
        follows does not wait for it. A failure is left for that post to meet."""
        parts = urlsplit(self.base_url)
        scheme = parts.scheme.lower()
        if self.proxy is not None or scheme not in ("http", "https"):
            return
        conn = self._connection(scheme, parts.netloc)
        if conn.sock is None:
            try:
                conn.connect()
            except OSError:
                self._discard(conn)

    def _discard(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._open_lock:
            self._open.discard(conn)
        conns = self._local.__dict__.get("conns", {})
        for key, kept in list(conns.items()):
            if kept is conn:
                del conns[key]

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme.lower() not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        conn = self._connection(parts.scheme.lower(), parts.netloc)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(req.get_method(), path, body=req.data, headers=dict(req.header_items()))
            if _QUICKACK is not None and conn.sock is not None:
                # Servers that write the status line and the body separately would otherwise
                # wait for our delayed ACK (Nagle), some 40 ms a call.
                conn.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as err:
            self._discard(conn)
            raise URLError(err) from err
        if resp.will_close:
            self._discard(conn)
        if not 200 <= resp.status < 300:
            raise HTTPError(url, resp.status, resp.reason, resp.msg, io.BytesIO(data))
        if resp.msg.get_content_type() == "application/gzip":
            return {"status": resp.status, "headers": resp.msg, "body": data}
        charset = resp.msg.get_content_charset() or "utf-8"
        return {"status": resp.status, "headers": resp.msg, "body": data.decode(charset)}

    def post_json(self, method: str, body: bytes) -> dict[str, Any]:
        """POST a JSON body serialised once by the caller, in one write, over the kept
        connection; returns Slack's answer, or raises SlackApiError as the WebClient does.

        For the outbox's burst of posts: WebClient.api_call builds a urllib Request, runs the
        retry handlers and parses the answer twice, several times the cost of the post itself.
        No retry handler runs here: a 429 raises at once (with its Retry-After header), so
        the caller can hold that one channel instead of a thread sleeping on it. A call that
        breaks raises URLError and is never retried here (the message may be in the channel).
        """
        url = f"{self.base_url}{method}"
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if self.proxy is not None or scheme not in ("http", "https"):
            return dict(self.api_call(method, json=json.loads(body)).data)  # type: ignore[arg-type]
        conn = self._connection(scheme, parts.netloc)
        head = self._json_head(parts.netloc, parts.path or "/", len(body))
        try:
            if conn.sock is None:
                conn.connect()  # sets TCP_NODELAY
            sock: socket.socket = conn.sock
            # Head and body in one write: two small writes would wait on each other (Nagle).
            sock.sendall(head + body)
            if _QUICKACK is not None:
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            status, headers, data, will_close = _read_response(sock)
        except (OSError, http.client.HTTPException) as err:
            self._discard(conn)
            raise URLError(err) from err
        if will_close:
            self._discard(conn)
        try:
            answer = json.loads(data)  # JSON is UTF-8 (RFC 8259); json.loads takes the bytes
        except (ValueError, UnicodeDecodeError):
            answer = {"ok": False, "error": f"unexpected answer (http {status})"}
        if status == 200 and isinstance(answer, dict) and answer.get("ok"):
            return answer
        raise SlackApiError(
            f"The request to the Slack API failed. (url: {url})",
            SlackResponse(
                client=self,
                http_verb="POST",
                api_url=url,
                req_args={},
                data=answer if isinstance(answer, dict) else {"ok": False},
                headers=headers,
                status_code=status,
            ),
        )

    def _json_head(self, netloc: str, path: str, length: int) -> bytes:
        # The same headers WebClient sends (its defaults, the token, JSON), built once.
        if self._head_prefix is None:
            headers = {**self.headers, "Content-Type": "application/json;charset=utf-8"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            self._head_prefix = f"Host: {netloc}\r\n{lines}".encode("latin-1")
        return (
            f"POST {path} HTTP/1.1\r\n".encode("latin-1")
            + self._head_prefix
            + f"Content-Length: {length}\r\n\r\n".encode("latin-1")
        )


_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class _Answer:
    """Collects what httptools' parser reports of one response.

    Interim answers (1xx other than 101: 100 Continue, 103 Early Hints, ...) are complete
    messages to llhttp, which fires on_message_complete for each and goes on to parse what
    follows; they are dropped here and reading goes on until the final answer is complete.
    """

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.parser: Any = None

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if _is_interim(status):
            self.headers, self.body = {}, []  # nothing of it belongs to the final answer
            return
        # Only known here: the parser resets once the message is over (and the status is
        # that of the next message as soon as its status line arrives).
        self.status = status
        self.complete = True
        self.keep_alive = bool(self.parser.should_keep_alive())


def _is_interim(status: int) -> bool:
    """1xx answers precede the final one (RFC 9110 15.2); 101 is final (the protocol switches)."""
    return 100 <= status < 200 and status != 101


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes, bool]:
    """Read one HTTP/1.1 response: status, headers (lower-case names), body, and whether the
    connection must be dropped after it.

    Parsed by httptools (llhttp, the parser Node.js uses): http.client parses headers with the
    email package, which costs more CPU than the rest of a post together. Interim 1xx answers
    are skipped (see _Answer). Bodies framed by Content-Length or chunked are read whole;
    anything malformed, an unasked-for 101 Switching Protocols, or a connection closed before
    the answer is complete, raises http.client.HTTPException (the caller drops the connection).
    """
    answer = _Answer()
    parser = answer.parser = httptools.HttpResponseParser(answer)
    while not answer.complete:
        data = sock.recv(65536)
        if not data:
            raise http.client.RemoteDisconnected("the server closed the connection mid-answer")
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade as err:  # not an HttpParserError
            raise http.client.HTTPException("the server switched protocols unasked") from err
        except httptools.HttpParserError as err:
            raise http.client.HTTPException(f"malformed answer: {err}") from err
    return answer.status, answer.headers, b"".join(answer.body), not answer.keep_alive


def _dropped(sock: socket.socket) -> bool:
    """True when a kept connection is readable while idle: the server closed it (or sent
    something unasked), so it must not carry the next request."""
    poller = select.poll()
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def make_outbox_client(settings: Settings, token: str | None = None) -> WebClient:
    """The scheduler's WebClient: honours 429 Retry-After (a 429 means nothing was posted),
    but does not blindly retry 5xx or dropped connections — after those the message may be in
    the channel, so the outbox looks before posting again. Connections are kept open between
    posts (KeepAliveWebClient)."""
    return KeepAliveWebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
    )


@dataclass(frozen=True)
class Outgoing:
    """A rendered message as it will be posted: chat.postMessage's JSON arguments serialised
    once, less the channel (a DM's channel is known only once the conversation is open)."""

    rendered: RenderedMessage
    late: bool
    rest: bytes  # the JSON object without its opening brace

    def body(self, channel: str) -> bytes:
        return b'{"channel":' + json.dumps(channel).encode() + b"," + self.rest


@dataclass
class TickStats:
    claimed: int = 0
    sent: int = 0
    recovered: int = 0  # found already posted by the marker check
    retried: int = 0
    rate_limited: int = 0  # 429 answers waited out within the tick (not posted, tried again)
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0
    postponed: int = 0
    released: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)


class ChannelPacer:
    """At most one post per channel per `interval`, measured from Slack's previous answer
    (which arrives after Slack counted the post), so our own pace never trips the limit."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def lock(self, channel: str) -> threading.Lock:
        with self._guard:
            return self._locks[channel]

    def ready_at(self, channel: str) -> float:
        with self._guard:
            return self._next.get(channel, 0.0)

    def wait(self, channel: str) -> None:
        with self._guard:
            ready = self._next.get(channel, 0.0)
        delay = ready - monotime.monotonic()
        if delay > 0:
            monotime.sleep(delay)

    def done(self, *channels: str) -> None:
        """Slack answered a post to `channels` (a DM's target user and its D… channel)."""
        with self._guard:
            ready = monotime.monotonic() + self.interval
            for channel in channels:
                self._next[channel] = ready
            if len(self._next) > 10_000:  # forget channels idle for long
                now = monotime.monotonic()
                self._next = {k: v for k, v in self._next.items() if v > now}

    def hold(self, seconds: float, *channels: str) -> None:
        """Slack said 429 for `channels`: nothing goes there for `seconds` (Retry-After)."""
        with self._guard:
            until = monotime.monotonic() + seconds
            for channel in channels:
                self._next[channel] = max(self._next.get(channel, 0.0), until)


class SentRecorder:
    """Records posted messages as sent from its own thread, many per transaction (a post
    waits at most `every` seconds to share a write with the posts answered after it: one
    commit per burst, not per message), without holding up the threads that post. `flush()`
    writes what is waiting at once and returns when everything added so far is written.

    Until its row is written a posted message is covered by its marker: a process that dies
    in between leaves the row claimed, and the one that takes it over finds the message."""

    def __init__(self, engine: Engine, worker: str, clock: Clock, every: float = 0.25) -> None:
        self._engine = engine
        self._worker = worker
        self._clock = clock
        self._every = every
        self._queue: list[tuple[int, str, str]] = []
        self._busy = False
        self._flushing = 0
        self._oldest = 0.0  # when the oldest entry waiting was added
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, message_id: int, channel: str, ts: str) -> None:
        with self._cond:
            self._queue.append((message_id, channel, ts))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="outbox-recorder", daemon=True
                )
                self._thread.start()
            if len(self._queue) == 1:
                # Only the first of a batch wakes the writer; the rest just wait their turn.
                self._oldest = monotime.monotonic()
                self._cond.notify_all()

    def flush(self, timeout: float = 60.0) -> None:
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(lambda: not self._queue and not self._busy, timeout=timeout)
            finally:
                self._flushing -= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: bool(self._queue), timeout=30.0):
                    self._thread = None
                    return  # idle: a later add() starts a new thread
                # Each write holds the GIL the posting threads need in a burst: gather.
                self._cond.wait_for(
                    lambda: (
                        self._flushing > 0 or monotime.monotonic() >= self._oldest + self._every
                    ),
                    timeout=max(0.0, self._oldest + self._every - monotime.monotonic()),
                )
                batch, self._queue = self._queue, []
                self._busy = True
            try:
                self._write(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _write(self, batch: list[tuple[int, str, str]]) -> None:
        for attempt in range(5):
            try:
                with session_scope(self._engine, write=True) as session:
                    held = mark_sent_many(
                        session=session, worker=self._worker, sent=batch, now=self._clock()
                    )
                break
            except Exception:
                # The posts happened; if this never lands, the lease runs out and the marker
                # check finds them, so nothing is posted twice.
                log.exception("recording %d sent message(s) failed (try %d)", len(batch), attempt)
                monotime.sleep(0.5 * (attempt + 1))
        else:
            return
        if held < len(batch):
            log.warning(
                "%d posted message(s) had lost their claim; the process that took them over "
                "finds them by their marker",
                len(batch) - held,
            )


class Scheduler:
    """Claims and posts outbox rows; `start()` runs `tick` on an APScheduler interval job."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        client: WebClient,
        clock: Clock = system_clock,
        interval_seconds: float = 5.0,
        lease: timedelta = timedelta(minutes=5),
        refresh_every: timedelta = timedelta(minutes=15),
        worker_id: str | None = None,
        max_workers: int = 16,
        batch_size: int = 1000,
        per_target: int = 30,
        pace_seconds: float = 1.0,
        lookahead: timedelta | None = None,
        kinds: KindRegistry | None = None,
    ) -> None:
        self.settings = settings
        # What each kind of row looks like: every feature's declared outbox kinds.
        self.kinds = kinds if kinds is not None else handlers.outbox_kinds()
        self.engine = engine
        self.client = client
        self.clock = clock
        self.interval = interval_seconds
        # Rows of kinds that can be rendered ahead are claimed this long before they are due
        # (by default one interval: the last tick before a row's time prepares it).
        self.lookahead = timedelta(seconds=interval_seconds) if lookahead is None else lookahead
        self.lease = lease
        self.refresh_every = refresh_every
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch_size = batch_size
        self.per_target = per_target
        self.grace = timedelta(hours=settings.reminder_grace_hours)
        self.pacer = ChannelPacer(pace_seconds)
        self.max_workers = max_workers
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="outbox")
        self._prestart_pool()
        self._scheduler: BackgroundScheduler | None = None
        self._last_tick: float | None = None
        self._last_refresh: datetime | None = None
        self._dm_channels: dict[str, str] = {}
        self._alerted: set[tuple[str, str]] = set()
        self._tick_lock = threading.Lock()
        self._recorder = SentRecorder(engine, self.worker_id, clock)
        # Leave this much of the lease unused: a post must end well before another process
        # may take the row over.
        self._margin = min(timedelta(seconds=30), lease / 3)

    # --- lifecycle ---------------------------------------------------------------------------

    def _prestart_pool(self) -> None:
        """Start the posting threads now. The pool would start them in the first burst of due
        messages (and keep them), where starting dozens of threads delays the first posts."""
        gate = threading.Barrier(self.max_workers + 1)
        for _ in range(self.max_workers):
            # Each task holds its thread until all have started, so every submit starts one.
            self._pool.submit(gate.wait, 5.0)
        try:
            gate.wait(5.0)
        except threading.BrokenBarrierError:
            log.warning("outbox threads were slow to start")

    def warm_up(self) -> None:
        """Ready the process for its ticks; `start()` calls it before the first.

        Everything allocated so far (modules, the App, registries) lives as long as the
        process. Frozen out of the garbage collector's sight, a full collection no longer
        walks it: one that falls inside a burst of posts then takes a few milliseconds, not
        the ~80 ms that stalls every posting thread at once (they share one GIL).

        What the first burst would otherwise load while its posts wait is loaded now: the
        claim's and the renderers' row query compiled (a claim as of long ago, which takes
        nothing), and Babel's locale data (a late note, built and dropped).
        """
        try:
            with session_scope(self.engine, write=True) as session:
                claim_due(
                    session=session,
                    now=_LONG_AGO,
                    worker=self.worker_id,
                    lease=self.lease,
                    limit=self.batch_size,
                    per_target=self.per_target,
                )
                get_messages(session=session, ids=[])
        except Exception:
            # Only a head start: the ticks retry the database on their own.
            log.warning("could not prepare the outbox queries", exc_info=True)
        late_note(datetime.now(UTC), self.settings.timezone).to_dict()
        gc.collect()
        gc.freeze()

    def start(self) -> Scheduler:
        """Tick now, then every interval, each tick TICK_LEAD_SECONDS before a multiple of the
        interval: reminders are due on whole minutes, so the tick before their time always
        claims and renders them ahead (`lookahead`), and they go out on the second."""
        self.warm_up()
        # APScheduler logs every run at INFO: a line a tick says nothing an operator needs.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        tz = self.settings.timezone
        scheduler = BackgroundScheduler(timezone=tz)
        lead = min(TICK_LEAD_SECONDS, self.interval / 2)
        scheduler.add_job(
            self._run_tick,
            trigger=IntervalTrigger(
                seconds=self.interval,
                start_date=_TICK_ANCHOR - timedelta(seconds=lead),
                timezone=tz,
            ),
            id=JOB_ID,
            name="post due outbox messages",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        # The first tick at once (what came due while the process was down), not at the first
        # aligned moment; the tick lock keeps it from overlapping the interval job.
        scheduler.add_job(
            self._run_tick,
            trigger="date",
            run_date=datetime.now(tz),
            id=f"{JOB_ID}:start",
            name="first outbox tick",
            replace_existing=True,
            misfire_grace_time=None,
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler %s started (tick every %ss)", self.worker_id, self.interval)
        return self

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
        self._pool.shutdown(wait=wait)
        if isinstance(self.client, KeepAliveWebClient):
            self.client.close()

    def last_tick_age(self) -> float | None:
        """Seconds since the last tick ended (for /healthz); None before the first."""
        if self._last_tick is None:
            return None
        return round(monotime.monotonic() - self._last_tick, 3)

    def _run_tick(self) -> None:
        try:
            self.tick()
        except Exception:
            # The job must survive anything: the next tick tries again.
            log.exception("outbox tick failed")

    # --- the tick ----------------------------------------------------------------------------

    def tick(self, *, max_rounds: int = 50) -> TickStats:
        """Refresh plans when due, then claim and post until nothing is due."""
        stats = TickStats()
        with self._tick_lock:
            now = self.clock()
            if self._last_refresh is None or now - self._last_refresh >= self.refresh_every:
                self.refresh(now)
            for _ in range(max_rounds):
                started = monotime.perf_counter()
                claims = self._claim(self.clock())
                log.debug("claimed %d in %.3f s", len(claims), monotime.perf_counter() - started)
                if not claims:
                    break
                stats.add("claimed", len(claims))
                # Delivering may make more due (a coordinator alert); the next claim is cheap.
                self._deliver(claims, stats)
            self._last_tick = monotime.monotonic()
        return stats

    def refresh(self, now: datetime | None = None) -> int:
        """Re-plan every workspace's reminders (new window days, calendar imports)."""
        now = now or self.clock()
        with session_scope(self.engine) as session:
            teams = reminder_teams(session=session)
        changed = 0
        for team_id in teams:
            try:
                with session_scope(self.engine, write=True) as session:
                    result = reconcile(
                        session=session,
                        team_id=team_id,
                        now=now,
                        tz=self.settings.timezone,
                        grace=self.grace,
                    )
                changed += result.scheduled + result.cancelled
            except Exception:
                log.exception("could not plan reminders for %s", team_id)
        self._last_refresh = now
        return changed

    def _claim(self, now: datetime) -> list[Claim]:
        with session_scope(self.engine, write=True) as session:
            return claim_due(
                session=session,
                now=now,
                worker=self.worker_id,
                lease=self.lease,
                limit=self.batch_size,
                per_target=self.per_target,
                ahead=self.lookahead,
                ahead_kinds=self.kinds.rendered_ahead(),
            )

    def _deliver(self, claims: list[Claim], stats: TickStats) -> None:
        """Post a claimed batch: channels in parallel, each channel paced.

        A channel waiting for its second is not a thread asleep: the workers take whichever
        channel is ready next (a heap ordered by readiness, busiest channels first on ties),
        so a few threads keep hundreds of channels moving. The busiest channels go first
        because their pacing clock bounds the whole batch: a channel with k messages needs
        (k - 1) seconds from its first post.

        Rendering runs beside the posting, in the order the posts go out (every channel's first
        message, then every second one, …), a chunk at a time, starting small so the first
        posts wait only for a few. Every channel's first message renders straight away; a
        later chunk waits until a worker needs it or no channel is ready to post: all threads
        share one GIL, and rendering while posts are ready would slow the very posts that
        bound the batch. So the later messages render in the pause before their channel's
        next second.

        Rows claimed ahead of their time wait for it: a channel is not ready before its next
        message's `send_at`. Until then nothing is ready, so the whole batch renders in the
        wait. A message rendered ahead is rendered again when its workspace's inputs changed
        between its rendering and its time (`_InputCheck`).

        A 429 holds its channel for Retry-After and puts the message back at the head of the
        channel's queue (a 429 means nothing was posted); after RATE_LIMIT_TRIES the row goes
        back to the outbox for a later tick.
        """
        queues: dict[str, deque[Claim]] = defaultdict(deque)
        for claim in claims:
            queues[claim.target].append(claim)
        order = sorted(queues, key=lambda t: -len(queues[t]))
        depth = max(len(q) for q in queues.values())
        in_post_order = [
            queues[t][level] for level in range(depth) for t in order if len(queues[t]) > level
        ]
        clock_base, mono_base = self.clock(), monotime.monotonic()

        def ready_at(target: str) -> float:
            """When the channel may take its next message: paced, and not before its time."""
            send_at = queues[target][0].send_at
            return max(
                self.pacer.ready_at(target),
                mono_base + (send_at - clock_base).total_seconds(),
            )

        heap = [(ready_at(t), n, t) for n, t in enumerate(order)]
        heapq.heapify(heap)
        # Rendered before its time: the id's workspace inputs token at rendering.
        ahead_tokens: dict[int, Hashable] = {}
        inputs_now = _InputCheck(self.engine, claims, self.clock, self.kinds)
        # One lock, three things to wait for: a channel ready to post (workers), a rendering
        # (workers), a reason to render (the renderer). Separate conditions wake only the
        # threads concerned: waking every thread on every post costs the GIL time the posts
        # need.
        lock = threading.Lock()
        channel_ready = threading.Condition(lock)
        rendered = threading.Condition(lock)
        render_wanted = threading.Condition(lock)
        outstanding = [len(queues)]
        sequence = itertools.count(len(order))
        prepared: dict[int, Outgoing | Exception | None] = {}
        waiting_for_render = [0]
        limited: dict[int, int] = defaultdict(int)
        timing = [False]  # a worker waits for the heap's first channel to be ready

        def next_target() -> str | None:
            with lock:
                while True:
                    if not heap:
                        if outstanding[0] == 0:
                            return None
                        channel_ready.wait()
                        continue
                    delay = heap[0][0] - monotime.monotonic()
                    if delay <= 0:
                        target = heapq.heappop(heap)[2]
                        if heap:
                            channel_ready.notify()  # another worker looks at the next one
                        if not heap or heap[0][0] > monotime.monotonic():
                            render_wanted.notify()  # nothing else ready: time to render
                        return target
                    if timing[0]:
                        # One worker with a timer is enough: a hundred channels ready a few
                        # ms apart would otherwise wake every idle worker for each of them.
                        channel_ready.wait()
                        continue
                    timing[0] = True
                    try:
                        channel_ready.wait(delay)
                    finally:
                        timing[0] = False

        def rendering_of(claim: Claim) -> Outgoing | Exception | None:
            with lock:
                if claim.id not in prepared:
                    waiting_for_render[0] += 1
                    render_wanted.notify()
                    rendered.wait_for(lambda: claim.id in prepared)
                    waiting_for_render[0] -= 1
                found = prepared[claim.id]
                # Checked once, at the first try: a retry after a 429 posts what was kept.
                token = ahead_tokens.pop(claim.id, _NOT_AHEAD)
            if token is not _NOT_AHEAD and inputs_now.moved(claim, token):
                log.info("outbox message %s changed since rendered; again", claim.id)
                found = self._render([claim])[claim.id]
                with lock:
                    prepared[claim.id] = found
            return found

        def work() -> None:
            if isinstance(self.client, KeepAliveWebClient):
                # While the first messages render: their posts need not wait for a handshake.
                self.client.open_connection()
            while (target := next_target()) is not None:
                claim = queues[target].popleft()
                again = False
                try:
                    again = self._deliver_one(
                        claim,
                        rendering_of(claim),
                        stats,
                        may_wait=limited[claim.id] < RATE_LIMIT_TRIES,
                    )
                except Exception:
                    log.exception("outbox message %s failed unexpectedly", claim.id)
                    self._settle_retry(claim, "unexpected error", needs_check=True, stats=stats)
                finally:
                    with lock:
                        if again:
                            limited[claim.id] += 1
                            queues[target].appendleft(claim)
                        if queues[target]:
                            ready = ready_at(target)
                            heapq.heappush(heap, (ready, next(sequence), target))
                            if heap[0][2] == target:
                                # First in line now: the worker timing the old first (if
                                # any) and the idle ones must look again.
                                channel_ready.notify_all()
                        else:
                            outstanding[0] -= 1
                            if outstanding[0] == 0:
                                channel_ready.notify_all()  # all done: every worker may leave

        def render_now() -> bool:
            # With `lock` held: a worker waits for a rendering, or no channel is ready to post.
            if waiting_for_render[0] > 0 or not heap:
                return True
            return heap[0][0] > monotime.monotonic()

        futures = [self._pool.submit(work) for _ in range(min(self.max_workers, len(queues)))]
        started = monotime.perf_counter()
        # Every channel's first message renders straight away: those posts are due now. The
        # rest waits for a worker to need it or for a pause in the posting (render_now).
        first_level = len(order)
        chunk, position = RENDER_FIRST_CHUNK, 0
        while position < len(in_post_order):
            if position >= first_level:
                with lock:
                    # The timeout re-checks the heap when a channel's second passes unseen.
                    while not render_now():
                        render_wanted.wait(0.05)
            end = first_level if position < first_level else len(in_post_order)
            part = in_post_order[position : min(position + chunk, end)]
            try:
                out = self._render(part, ahead_tokens)
            except Exception as err:
                log.exception("rendering %d outbox message(s) failed", len(part))
                out = {claim.id: err for claim in part}
            with lock:
                prepared.update(out)
                rendered.notify_all()
            position += len(part)
            chunk = min(chunk * RENDER_GROWTH, RENDER_MAX_CHUNK)
        log.debug(
            "rendered %d message(s) in %.3f s", len(claims), monotime.perf_counter() - started
        )
        wait(futures)
        self._recorder.flush()
        for future in futures:
            if (error := future.exception()) is not None:
                log.error("outbox delivery crashed: %r", error)

    def _render(
        self, claims: list[Claim], ahead_tokens: dict[int, Hashable] | None = None
    ) -> dict[int, Outgoing | Exception | None]:
        """Render the batch kind by kind in one read session (shared lookups), and serialise
        each message once, as it will be posted.

        A message is rendered as of its time (`send_at`), or now if that has passed. For those
        rendered ahead, their workspace's inputs token is read first, before the rows, into
        `ahead_tokens`: a change after that read shows as a moved token."""
        clock_now = self.clock()
        out: dict[int, Outgoing | Exception | None] = {}
        groups: dict[tuple[str, datetime], list[Claim]] = defaultdict(list)
        for claim in claims:
            groups[(claim.kind, max(claim.send_at, clock_now))].append(claim)
        rendered: dict[int, RenderedMessage | None] = {}
        moment_of: dict[int, datetime] = {}
        with session_scope(self.engine) as session:
            for (name, moment), group in groups.items():
                ids = [claim.id for claim in group]
                kind = self.kinds.get(name)
                if kind is None:
                    out.update({i: None for i in ids})  # _deliver_one releases the row
                    continue
                try:
                    if moment > clock_now and kind.inputs is not None and ahead_tokens is not None:
                        tokens = kind.inputs(self.engine, [claim.team_id for claim in group])
                        ahead_tokens.update({c.id: tokens.get(c.team_id) for c in group})
                    rows = get_messages(session=session, ids=ids)
                    local = moment.astimezone(self.settings.timezone)
                    rendered.update(kind.render_all(session, rows, local))
                    moment_of.update({i: moment for i in ids})
                except Exception as err:
                    log.exception("rendering %d %r messages failed", len(ids), name)
                    out.update({i: err for i in ids})
        for claim in claims:
            if claim.id in out:
                continue
            message = rendered.get(claim.id)
            if message is None:
                out[claim.id] = None
                continue
            try:
                late = self._is_late(claim, moment_of[claim.id])
                out[claim.id] = self._outgoing(claim, message, late=late)
            except Exception as err:  # e.g. a renderer put something JSON cannot hold
                log.exception("outbox message %s cannot be serialised", claim.id)
                out[claim.id] = err
        return out

    def _is_late(self, claim: Claim, now: datetime) -> bool:
        return claim.late or now - claim.due_at > LATE_AFTER

    def _outgoing(self, claim: Claim, rendered: RenderedMessage, *, late: bool) -> Outgoing:
        blocks = _with_marker(rendered.blocks, outbox_marker(claim.id))
        if late:
            blocks.append(late_note(claim.due_at, self.settings.timezone).to_dict())
        body = json.dumps(
            {
                "text": rendered.text,
                "blocks": blocks,
                "unfurl_links": False,
                "unfurl_media": False,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        return Outgoing(rendered=rendered, late=late, rest=body[1:])

    # --- one message -------------------------------------------------------------------------

    def _write(self, fn: Callable[..., bool], **kwargs: Any) -> bool:
        with session_scope(self.engine, write=True) as session:
            return fn(session=session, worker=self.worker_id, **kwargs)

    def _deliver_one(
        self,
        claim: Claim,
        outgoing: Outgoing | Exception | None,
        stats: TickStats,
        *,
        may_wait: bool = False,
    ) -> bool:
        """Post or settle one claimed row. True when Slack said 429 and `may_wait`: the
        channel is held for Retry-After and the caller tries the row again after that."""
        now = self.clock()
        tz = self.settings.timezone
        if now >= claim.lease_until - self._margin:
            # Too little lease left to post safely; another tick takes it from the start.
            self._write(release, message_id=claim.id, available_at=now, now=now)
            stats.add("released")
            return False
        kind = self.kinds.get(claim.kind)
        if kind is None:
            log.warning("no renderer for outbox kind %r in this process", claim.kind)
            self._write(
                release, message_id=claim.id, available_at=now + timedelta(minutes=1), now=now
            )
            stats.add("released")
            return False
        if now - claim.due_at > self.grace:
            self._skip_missed(claim, now, stats)
            return False
        late = self._is_late(claim, now)
        if kind.quiet_hours and in_quiet_hours(now, tz):
            self._write(
                postpone, message_id=claim.id, until=next_allowed(now, tz), late=late, now=now
            )
            stats.add("postponed")
            return False
        if isinstance(outgoing, Exception):
            self._settle_retry(claim, f"render: {outgoing!r}"[:200], needs_check=False, stats=stats)
            return False
        if outgoing is None:
            self._write(mark_cancelled, message_id=claim.id, reason="not needed", now=now)
            stats.add("cancelled")
            return False
        if outgoing.late != late:  # it became late between rendering and now
            outgoing = self._outgoing(claim, outgoing.rendered, late=late)
        channel = self._channel_for(outgoing.rendered.channel or claim.target)
        if claim.needs_check:
            found = self._find_posted(channel, claim)
            if found is None:
                self._settle_retry(claim, "history check failed", needs_check=True, stats=stats)
                return False
            if found:
                self._write(mark_sent, message_id=claim.id, channel=channel, ts=found, now=now)
                stats.add("recovered")
                log.info("outbox message %s was already posted (ts %s)", claim.id, found)
                return False
        return self._post(claim, channel, outgoing, stats=stats, may_wait=may_wait)

    def _channel_for(self, target: str) -> str:
        """Users get a DM: open (or find) the conversation, so history can be read later."""
        if not target.startswith(("U", "W")):
            return target
        if target in self._dm_channels:
            return self._dm_channels[target]
        channel = str(self.client.conversations_open(users=target)["channel"]["id"])
        self._dm_channels[target] = channel
        return channel

    def _find_posted(self, channel: str, claim: Claim) -> str | None:
        """The ts of a message carrying this row's marker; "" if none; None if we can't tell."""
        marker = outbox_marker(claim.id)
        oldest = (claim.due_at - timedelta(minutes=5)).timestamp()
        cursor: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                args: dict[str, Any] = {"channel": channel, "oldest": f"{oldest:.6f}", "limit": 200}
                if cursor:
                    args["cursor"] = cursor
                response = self.client.conversations_history(**args)
                for message in response.get("messages") or []:
                    for block in message.get("blocks") or []:
                        if block.get("block_id") == marker:
                            return str(message["ts"])
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
                if not response.get("has_more") or not cursor:
                    return ""
        except SlackApiError as err:
            error = err.response.get("error")
            if error in CHANNEL_ERRORS:
                return ""  # nothing can be there; posting will fail and say why
            log.warning("history check for %s failed: %s", claim.id, error)
            return None
        except (URLError, OSError) as err:
            log.warning("history check for %s failed: %r", claim.id, err)
            return None
        # Beyond the pages we read: assume absent rather than lose the reminder.
        return ""

    def _post(
        self,
        claim: Claim,
        channel: str,
        outgoing: Outgoing,
        *,
        stats: TickStats,
        may_wait: bool = False,
    ) -> bool:
        with self.pacer.lock(channel):
            self.pacer.wait(channel)
            try:
                response = self._send(channel, outgoing)
            except SlackApiError as err:
                self.pacer.done(channel, claim.target)
                if err.response.status_code == 429:
                    # Nothing was posted; the channel rests as long as Slack asks.
                    self.pacer.hold(_retry_after(err.response.headers), channel, claim.target)
                    if may_wait:
                        stats.add("rate_limited")
                        return True
                self._slack_error(claim, channel, err, stats)
                return False
            except (URLError, OSError, TimeoutError) as err:
                # Slack may have posted it before the connection broke: look first next time.
                self.pacer.done(channel, claim.target)
                self._settle_retry(claim, f"network: {err!r}"[:200], needs_check=True, stats=stats)
                return False
            self.pacer.done(channel, claim.target)
        posted_channel = str(response.get("channel") or channel)
        self._recorder.add(claim.id, posted_channel, str(response["ts"]))
        stats.add("sent")
        if (claim.team_id, channel) in self._alerted:
            self._alerted.discard((claim.team_id, channel))
            with session_scope(self.engine, write=True) as session:
                clear_alerts(
                    session=session, team_id=claim.team_id, now=self.clock(), channel=channel
                )
        return False

    def _send(self, channel: str, outgoing: Outgoing) -> dict[str, Any]:
        body = outgoing.body(channel)
        if isinstance(self.client, KeepAliveWebClient):
            return self.client.post_json("chat.postMessage", body)
        return dict(self.client.api_call("chat.postMessage", json=json.loads(body)).data)  # type: ignore[arg-type]

    def _slack_error(
        self, claim: Claim, channel: str, err: SlackApiError, stats: TickStats
    ) -> None:
        error = str(err.response.get("error") or "")
        status = err.response.status_code
        now = self.clock()
        if status == 429:
            # Still limited after the client's own retries: come back when Slack says.
            self._settle_retry(
                claim,
                "ratelimited",
                needs_check=False,
                stats=stats,
                delay=_retry_after(err.response.headers),
            )
        elif status >= 500 or error in TRANSIENT_ERRORS:
            self._settle_retry(claim, error or f"http {status}", needs_check=True, stats=stats)
        elif error in CHANNEL_ERRORS:
            self._write(mark_failed, message_id=claim.id, reason=error, now=now)
            stats.add("failed")
            log.warning("outbox message %s: %s in %s", claim.id, error, channel)
            if claim.kind != ALERT_KIND:
                self._alert(claim, channel, error, now)
        else:
            self._write(mark_failed, message_id=claim.id, reason=error or str(status), now=now)
            stats.add("failed")
            log.warning("outbox message %s refused by Slack: %s", claim.id, error)

    def _settle_retry(
        self,
        claim: Claim,
        reason: str,
        *,
        needs_check: bool,
        stats: TickStats,
        delay: float | None = None,
    ) -> None:
        now = self.clock()
        if claim.attempts >= MAX_ATTEMPTS:
            self._write(mark_failed, message_id=claim.id, reason=f"gave_up: {reason}", now=now)
            stats.add("failed")
            log.error("outbox message %s: giving up after %d attempts", claim.id, claim.attempts)
            return
        if delay is None:
            delay = BACKOFF[min(claim.attempts, len(BACKOFF)) - 1]
        self._write(
            mark_retry,
            message_id=claim.id,
            retry_at=now + timedelta(seconds=delay),
            reason=reason,
            needs_check=needs_check or claim.needs_check,
            now=now,
        )
        stats.add("retried")

    def _skip_missed(self, claim: Claim, now: datetime, stats: TickStats) -> None:
        if claim.needs_check:
            try:
                found = self._find_posted(self._channel_for(claim.target), claim)
            except SlackApiError:
                found = None
            if found:
                self._write(mark_sent, message_id=claim.id, channel=claim.target, ts=found, now=now)
                stats.add("recovered")
                return
        self._write(mark_skipped, message_id=claim.id, reason="missed", now=now)
        stats.add("skipped")
        log.warning(
            "outbox message %s (%s, due %s) missed by more than %s: skipped",
            claim.id,
            claim.kind,
            claim.due_at.isoformat(),
            self.grace,
        )

    def _alert(self, claim: Claim, channel: str, error: str, now: datetime) -> None:
        """Tell the workspace's coordinators once that reminders cannot reach the channel."""
        self._alerted.add((claim.team_id, channel))
        with session_scope(self.engine, write=True) as session:
            alert = open_alert(
                session=session,
                team_id=claim.team_id,
                alert_key=f"channel:{channel}",
                reason=error,
                channel=channel,
                now=now,
            )
            if alert is None:
                return
            people = set(listed_coordinators(session=session, team_id=claim.team_id))
            change = last_channel_change(session=session, team_id=claim.team_id)
            if change is not None:
                people.add(change.user_id)
            for user_id in sorted(people):
                schedule_message(
                    session=session,
                    team_id=claim.team_id,
                    kind=ALERT_KIND,
                    unique_key=f"alert:{alert.id}:{alert.created_at}:{user_id}",
                    ref=f"alert:{alert.id}:",
                    due_at=now,
                    target=user_id,
                    payload={"channel": channel, "reason": error},
                    now=now,
                )
            log.warning(
                "reminders cannot reach %s in %s (%s); told %d coordinator(s)",
                channel,
                claim.team_id,
                error,
                len(people),
            )


class _InputCheck:
    """The current inputs tokens of a batch's workspaces, read when a message rendered ahead
    is due: one query per kind for all its workspaces, kept for the messages whose time had
    come when it was read, for at most INPUTS_FRESH_FOR."""

    def __init__(
        self, engine: Engine, claims: Sequence[Claim], clock: Clock, kinds: KindRegistry
    ) -> None:
        self._engine = engine
        self._kinds = kinds
        self._clock = clock
        self._teams: dict[str, set[str]] = defaultdict(set)
        for claim in claims:
            self._teams[claim.kind].add(claim.team_id)
        self._read: dict[str, tuple[datetime, float, Mapping[str, Hashable]]] = {}
        self._lock = threading.Lock()

    def moved(self, claim: Claim, token: Hashable) -> bool:
        """True unless the claim's workspace inputs are what they were at its rendering."""
        kind = self._kinds.get(claim.kind)
        if kind is None or kind.inputs is None:
            return True
        with self._lock:
            found = self._read.get(claim.kind)
            if (
                found is None
                or found[0] < claim.send_at
                or monotime.monotonic() - found[1] > INPUTS_FRESH_FOR
            ):
                try:
                    tokens = kind.inputs(self._engine, sorted(self._teams[claim.kind]))
                except SQLAlchemyError:
                    log.warning("could not check %s before posting; rendering again", claim.id)
                    return True
                found = (self._clock(), monotime.monotonic(), tokens)
                self._read[claim.kind] = found
        return found[2].get(claim.team_id) != token


def _with_marker(blocks: Iterable[Block | dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    # Only the first block is copied (it gets the marker); the others are serialised as they
    # are and never changed.
    out = [b.to_dict() if isinstance(b, Block) else b for b in blocks]
    if out:
        out[0] = {**out[0], "block_id": marker}
    else:
        out = [{"type": "section", "block_id": marker, "text": {"type": "mrkdwn", "text": " "}}]
    return out


# --- running it ---------------------------------------------------------------------------------


def build_scheduler(
    settings: Settings,
    *,
    engine: Engine,
    clock: Clock = system_clock,
    **options: Any,
) -> Scheduler:
    """A Scheduler with the outbox client, posting every kind the features declare."""
    return Scheduler(
        settings=settings,
        engine=engine,
        client=make_outbox_client(settings),
        clock=clock,
        **options,
    )


def start_in_process(settings: Settings) -> Scheduler:
    """For plain `dks-bot` (Socket Mode): the scheduler in the same process as the App."""
    from storage.db import make_engine

    return build_scheduler(settings, engine=make_engine(settings.database_url)).start()


def run_forever(
    settings: Settings,
    *,
    interval_seconds: float = 5.0,
    lease_seconds: float = 300.0,
    health_port: int | None = None,
    stop: threading.Event | None = None,
) -> None:
    """`dks-bot scheduler`: the clock process. Stops cleanly on SIGTERM / SIGINT."""
    from bot.app import create_app
    from bot.server import create_wsgi_app
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    # The App serves only the health check here.
    app = create_app(settings, engine=engine, token_verification_enabled=False)
    scheduler = build_scheduler(
        settings,
        engine=engine,
        interval_seconds=interval_seconds,
        lease=timedelta(seconds=lease_seconds),
    ).start()
    stop = stop or threading.Event()
    server = None
    if health_port is not None:
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

        wsgi = create_wsgi_app(app, engine, tick_age=scheduler.last_tick_age)
        server = make_server("0.0.0.0", health_port, wsgi, handler_class=Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        log.info("health check on :%d/healthz", health_port)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping the scheduler", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
        if server is not None:
            server.shutdown()
        engine.dispose()


def _retry_after(headers: Any) -> float:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(1.0, float(raw))
            except (TypeError, ValueError):
                break
    return 5.0
