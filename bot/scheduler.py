"""The outbox scheduler: an APScheduler 3 job that posts what the outbox says is due.

One `BackgroundScheduler` (memory job store, explicit time zone) runs one interval job with
a stable id (`replace_existing=True`, `max_instances=1`, `coalesce=True`): the tick. Each tick

1. now and then re-plans every workspace's reminders for the rolling window,
2. claims due rows (storage.outbox.claim_due: SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
   SQLite) under a lease,
3. posts them, channels in parallel and each channel at most one message a second (Slack's
   limit, so the rate limiter is rarely met at all), and records Slack's `ts`.

Exactly once: a row is marked sent in the same breath as Slack answers. A process killed in
between leaves the row claimed; when its lease runs out another tick claims it with
`needs_check`, looks for the row's marker (its id in the first block's `block_id`) in the
channel's recent history, and only posts if the message is not there. See README, "Reminders".

Web workers never build a Scheduler: only `dks-bot scheduler` and plain `dks-bot` (Socket
Mode) do.
"""

from __future__ import annotations

import heapq
import http.client
import io
import itertools
import logging
import os
import select
import signal
import socket
import threading
import time as monotime
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine

from bot.outbox_kinds import RenderedMessage, get_kind
from bot.services import Clock, system_clock
from bot.settings import Settings
from handlers.views.reminders import late_note
from storage.db import session_scope
from storage.models_outbox import outbox_marker
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
    in_quiet_hours,
    last_channel_change,
    next_allowed,
    reconcile,
    reminder_teams,
)
from storage.workspaces import listed_coordinators

log = logging.getLogger(__name__)

JOB_ID = "dks-outbox-tick"
ALERT_KIND = "reminder_alert"
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
HISTORY_PAGES = 5
# The first posts of a batch wait only for this many messages to render (then 2×, 4×, …).
RENDER_FIRST_CHUNK = 16


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


_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


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


@dataclass
class TickStats:
    claimed: int = 0
    sent: int = 0
    recovered: int = 0  # found already posted by the marker check
    retried: int = 0
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


class SentRecorder:
    """Records posted messages as sent from its own thread, many per transaction when many
    finish at once (one commit per burst, not per message), without holding up the threads
    that post. `flush()` returns once everything added so far is written."""

    def __init__(self, engine: Engine, worker: str, clock: Clock) -> None:
        self._engine = engine
        self._worker = worker
        self._clock = clock
        self._queue: list[tuple[int, str, str]] = []
        self._busy = False
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
            self._cond.notify_all()

    def flush(self, timeout: float = 60.0) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._queue and not self._busy, timeout=timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: bool(self._queue), timeout=30.0):
                    self._thread = None
                    return  # idle: a later add() starts a new thread
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
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client
        self.clock = clock
        self.interval = interval_seconds
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

    def start(self) -> Scheduler:
        # APScheduler logs every run at INFO: a line a tick says nothing an operator needs.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = BackgroundScheduler(timezone=self.settings.timezone)
        scheduler.add_job(
            self._run_tick,
            trigger="interval",
            seconds=self.interval,
            id=JOB_ID,
            name="post due outbox messages",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(self.settings.timezone),
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
            )

    def _deliver(self, claims: list[Claim], stats: TickStats) -> None:
        """Post a claimed batch: channels in parallel, each channel paced.

        A channel waiting for its second is not a thread asleep: the workers take whichever
        channel is ready next (a heap ordered by readiness, busiest channels first on ties),
        so a few threads keep hundreds of channels moving. The busiest channels go first
        because their pacing clock bounds the whole batch: a channel with k messages needs
        (k - 1) seconds from its first post.

        Rendering runs beside the posting, in the order the posts go out (every channel's first
        message, then every second one, …), starting with a small chunk: the first posts do
        not wait for the whole batch to render, and later messages are ready long before their
        channel's next second.
        """
        queues: dict[str, deque[Claim]] = defaultdict(deque)
        for claim in claims:
            queues[claim.target].append(claim)
        order = sorted(queues, key=lambda t: -len(queues[t]))
        depth = max(len(q) for q in queues.values())
        in_post_order = [
            queues[t][level] for level in range(depth) for t in order if len(queues[t]) > level
        ]
        heap = [(self.pacer.ready_at(t), n, t) for n, t in enumerate(order)]
        heapq.heapify(heap)
        cond = threading.Condition()
        outstanding = [len(queues)]
        sequence = itertools.count(len(order))
        rendered: dict[int, RenderedMessage | Exception | None] = {}
        render_done: set[int] = set()
        render_cond = threading.Condition()

        def next_target() -> str | None:
            with cond:
                while True:
                    if not heap:
                        if outstanding[0] == 0:
                            return None
                        cond.wait()
                        continue
                    delay = heap[0][0] - monotime.monotonic()
                    if delay <= 0:
                        return heapq.heappop(heap)[2]
                    cond.wait(delay)

        def rendering_of(claim: Claim) -> RenderedMessage | Exception | None:
            with render_cond:
                render_cond.wait_for(lambda: claim.id in render_done)
                return rendered.get(claim.id)

        def work() -> None:
            while (target := next_target()) is not None:
                claim = queues[target].popleft()
                try:
                    self._deliver_one(claim, rendering_of(claim), stats)
                except Exception:
                    log.exception("outbox message %s failed unexpectedly", claim.id)
                    self._settle_retry(claim, "unexpected error", needs_check=True, stats=stats)
                finally:
                    with cond:
                        if queues[target]:
                            ready = self.pacer.ready_at(target)
                            heapq.heappush(heap, (ready, next(sequence), target))
                            cond.notify()  # one idle worker is enough to take it
                        else:
                            outstanding[0] -= 1
                            if outstanding[0] == 0:
                                cond.notify_all()  # all done: every worker may leave

        futures = [self._pool.submit(work) for _ in range(min(self.max_workers, len(queues)))]
        started = monotime.perf_counter()
        chunk, position = RENDER_FIRST_CHUNK, 0
        while position < len(in_post_order):
            part = in_post_order[position : position + chunk]
            try:
                out = self._render(part)
            except Exception as err:
                log.exception("rendering %d outbox message(s) failed", len(part))
                out = {claim.id: err for claim in part}
            with render_cond:
                rendered.update(out)
                render_done.update(claim.id for claim in part)
                render_cond.notify_all()
            position += len(part)
            chunk *= 2
        log.debug(
            "rendered %d message(s) in %.3f s", len(claims), monotime.perf_counter() - started
        )
        wait(futures)
        self._recorder.flush()
        for future in futures:
            if (error := future.exception()) is not None:
                log.error("outbox delivery crashed: %r", error)

    def _render(self, claims: list[Claim]) -> dict[int, RenderedMessage | Exception | None]:
        """Render the batch kind by kind in one read session (shared lookups)."""
        now = self.clock().astimezone(self.settings.timezone)
        out: dict[int, RenderedMessage | Exception | None] = {}
        by_kind: dict[str, list[int]] = defaultdict(list)
        for claim in claims:
            by_kind[claim.kind].append(claim.id)
        with session_scope(self.engine) as session:
            for name, ids in by_kind.items():
                kind = get_kind(name)
                if kind is None:
                    continue
                rows = get_messages(session=session, ids=ids)
                try:
                    out.update(kind.render_all(session, rows, now))
                except Exception as err:
                    log.exception("rendering %d %r messages failed", len(rows), name)
                    out.update({i: err for i in ids})
        return out

    # --- one message -------------------------------------------------------------------------

    def _write(self, fn: Callable[..., bool], **kwargs: Any) -> bool:
        with session_scope(self.engine, write=True) as session:
            return fn(session=session, worker=self.worker_id, **kwargs)

    def _deliver_one(
        self, claim: Claim, rendered: RenderedMessage | Exception | None, stats: TickStats
    ) -> None:
        now = self.clock()
        tz = self.settings.timezone
        if now >= claim.lease_until - self._margin:
            # Too little lease left to post safely; another tick takes it from the start.
            self._write(release, message_id=claim.id, available_at=now, now=now)
            stats.add("released")
            return
        kind = get_kind(claim.kind)
        if kind is None:
            log.warning("no renderer for outbox kind %r in this process", claim.kind)
            self._write(
                release, message_id=claim.id, available_at=now + timedelta(minutes=1), now=now
            )
            stats.add("released")
            return
        if now - claim.due_at > self.grace:
            self._skip_missed(claim, now, stats)
            return
        late = claim.late or now - claim.due_at > LATE_AFTER
        if kind.quiet_hours and in_quiet_hours(now, tz):
            self._write(
                postpone, message_id=claim.id, until=next_allowed(now, tz), late=late, now=now
            )
            stats.add("postponed")
            return
        if isinstance(rendered, Exception):
            self._settle_retry(claim, f"render: {rendered!r}"[:200], needs_check=False, stats=stats)
            return
        if rendered is None:
            self._write(mark_cancelled, message_id=claim.id, reason="not needed", now=now)
            stats.add("cancelled")
            return
        channel = self._channel_for(rendered.channel or claim.target)
        if claim.needs_check:
            found = self._find_posted(channel, claim)
            if found is None:
                self._settle_retry(claim, "history check failed", needs_check=True, stats=stats)
                return
            if found:
                self._write(mark_sent, message_id=claim.id, channel=channel, ts=found, now=now)
                stats.add("recovered")
                log.info("outbox message %s was already posted (ts %s)", claim.id, found)
                return
        self._post(claim, channel, rendered, late=late, stats=stats)

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
        self, claim: Claim, channel: str, rendered: RenderedMessage, *, late: bool, stats: TickStats
    ) -> None:
        blocks = _with_marker(rendered.blocks, outbox_marker(claim.id))
        if late:
            blocks.append(late_note(claim.due_at, self.settings.timezone).to_dict())
        with self.pacer.lock(channel):
            self.pacer.wait(channel)
            try:
                response = self.client.chat_postMessage(
                    channel=channel,
                    text=rendered.text,
                    blocks=blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as err:
                self.pacer.done(channel, claim.target)
                self._slack_error(claim, channel, err, stats)
                return
            except (URLError, OSError, TimeoutError) as err:
                # Slack may have posted it before the connection broke: look first next time.
                self.pacer.done(channel, claim.target)
                self._settle_retry(claim, f"network: {err!r}"[:200], needs_check=True, stats=stats)
                return
            self.pacer.done(channel, claim.target)
        now = self.clock()
        posted_channel = str(response.get("channel") or channel)
        self._recorder.add(claim.id, posted_channel, str(response["ts"]))
        stats.add("sent")
        if (claim.team_id, channel) in self._alerted:
            self._alerted.discard((claim.team_id, channel))
            with session_scope(self.engine, write=True) as session:
                clear_alerts(session=session, team_id=claim.team_id, now=now, channel=channel)

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


def _with_marker(blocks: Iterable[Block | dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    out = [b.to_dict() if isinstance(b, Block) else dict(b) for b in blocks]
    if out:
        out[0]["block_id"] = marker
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
    """A Scheduler with the outbox client. The caller builds the App first (create_app), which
    registers every feature's outbox kinds in this process."""
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
    # Building the App registers every feature's outbox kinds; it serves no requests here.
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
