"""The clock's engine: `Scheduler`, the APScheduler job and its tick.

A tick re-plans reminders now and then (`refresh`), claims due rows under a lease (`_claim`),
renders them beside the posting (`_render`, ahead of their time for kinds that can be), and
posts a batch channels in parallel (`_deliver`). A message rendered ahead is rendered again
when its workspace's inputs moved before its time (`_InputCheck`). What happens to each row,
from its post to the marker check after a takeover, is delivery.py's `MessageDelivery`.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
import os
import socket
import threading
import time as monotime
import uuid
from collections import defaultdict, deque
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import handlers
from bot.scheduler.client import KeepAliveWebClient
from bot.scheduler.delivery import (
    ChannelPacer,
    MessageDelivery,
    Outgoing,
    SentRecorder,
    TickStats,
)
from bot.settings import Settings
from handlers.core.outbox_kinds import KindRegistry, RenderedMessage, late_note
from handlers.core.services import Clock, system_clock
from storage.db import session_scope
from storage.outbox import Claim, claim_due, get_messages
from storage.reminders import reconcile, reminder_teams

log = logging.getLogger(__name__)

JOB_ID = "dks-outbox-tick"
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
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


class Scheduler(MessageDelivery):
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
