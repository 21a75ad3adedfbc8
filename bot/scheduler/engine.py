"""The clock's engine: `Scheduler`, the APScheduler job and its tick.

A tick re-plans reminders now and then (`refresh`), claims due rows under a lease (`_claim`),
renders them on the tick's thread (`_render`, ahead of their time for kinds that can be; each
in its reader's language: a channel's the workspace's, a DM the person's own) while
the sender's event loop posts them, every channel at once and each at Slack's pace
(`_post_batch`). A message rendered ahead is rendered again when its workspace's inputs moved
before its time (`_InputCheck`). What happens to each row, from its post to the history check
after a takeover, is delivery.py's `MessageDelivery`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import threading
import time as monotime
import uuid
from collections import defaultdict, deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

import handlers
from bot.scheduler.delivery import (
    AttemptLog,
    ChannelPacer,
    MessageDelivery,
    Outgoing,
    SentRecorder,
    TickStats,
)
from bot.scheduler.history import HistoryCheck
from bot.scheduler.retention import RetentionPurge
from bot.scheduler.sender import AsyncSender
from bot.settings import Settings
from handlers.core.i18n import pick, use_language
from handlers.core.outbox_kinds import KindRegistry, RenderedMessage, late_note
from handlers.core.services import Clock, system_clock
from storage.db import session_scope
from storage.outbox import Claim, claim_due, get_messages, is_person, recipient_languages
from storage.reminders import reconcile, reminder_teams

log = logging.getLogger(__name__)

JOB_ID = "dks-outbox-tick"
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
# The first posts of a batch wait only for this many messages to render (then 4×, 16×, …,
# up to RENDER_MAX_CHUNK).
RENDER_FIRST_CHUNK = 16
RENDER_MAX_CHUNK = 64  # about 50 ms of rendering: the longest the posts wait for a chunk
RENDER_GROWTH = 4
# A message answered with 429 is tried again in the same tick this many times (each after
# its channel's Retry-After), then goes back to the outbox.
RATE_LIMIT_TRIES = 3
# Interval ticks fall this long before each multiple of the interval (counted from a whole
# minute), so a row due on the minute is claimed, rendered and its connections opened before
# its time: 09:00's 1,000 reminders for 357 workspaces take about a second to render and as
# long to open their connections to Slack, side by side.
TICK_LEAD_SECONDS = 2.0
_TICK_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)
_NOT_AHEAD = object()  # a message rendered at its time: no inputs token to check
# A message rendered ahead of its time is posted only if its workspace's inputs, read at most
# this long before, are what they were at rendering.
INPUTS_FRESH_FOR = 0.5
# A batch for this many channels or more, claimed at least WARM_LEAD seconds before its time,
# opens its connections in that lead: the first posts then skip the handshakes.
WARM_CHANNELS = 16
WARM_LEAD = 0.5


class Scheduler(MessageDelivery):
    """Claims and posts outbox rows; `start()` runs `tick` on an APScheduler interval job."""

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        sender: AsyncSender,
        clock: Clock = system_clock,
        interval_seconds: float = 5.0,
        lease: timedelta = timedelta(minutes=5),
        refresh_every: timedelta = timedelta(minutes=15),
        worker_id: str | None = None,
        batch_size: int = 1000,
        per_target: int = 30,
        pace_seconds: float = 1.0,
        lookahead: timedelta | None = None,
        kinds: KindRegistry | None = None,
        teams: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        # Only these workspaces' rows are planned and claimed (the local shell's scheduler,
        # which moves its clock, shares the database with real ones); None: every workspace.
        self.teams = tuple(teams) if teams is not None else None
        # What each kind of row looks like: every feature's declared outbox kinds.
        self.kinds = kinds if kinds is not None else handlers.outbox_kinds()
        self.engine = engine
        self.sender = sender
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
        self._scheduler: BackgroundScheduler | None = None
        self._last_tick: float | None = None
        self._last_refresh: datetime | None = None
        self._dm_channels: dict[str, str] = {}
        self._alerted: set[tuple[str, str]] = set()
        self._tick_lock = threading.Lock()
        self._recorder = SentRecorder(engine, self.worker_id, clock)
        self._attempts = AttemptLog(self._write_attempts)
        self._history = HistoryCheck()
        # Workspaces uninstalled longer ago than DATA_RETENTION_DAYS: checked hourly. Never
        # from a scoped scheduler: it would delete other workspaces' data by its own clock.
        self._retention = (
            RetentionPurge(engine, settings.data_retention_days) if teams is None else None
        )
        # Leave this much of the lease unused: a post must end well before another process
        # may take the row over.
        self._margin = min(timedelta(seconds=30), lease / 3)

    # --- lifecycle ---------------------------------------------------------------------------

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
                    team_ids=self.teams,
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
        self.sender.close()

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

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
        """Re-plan every workspace's reminders (new window days, calendar imports), and what
        features plan on their own (`handlers.plan_outbox`); only `teams`' when scoped."""
        now = now or self.clock()
        with session_scope(self.engine) as session:
            teams = reminder_teams(session=session)
        if self.teams is not None:
            teams = [team_id for team_id in teams if team_id in self.teams]
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
        try:
            # What features plan on their own (the January report post); a no-op most weeks.
            changed += handlers.plan_outbox(self.engine, teams, now=now, tz=self.settings.timezone)
        except Exception:
            log.exception("could not plan the features' scheduled messages")
        if self._retention is not None:
            self._retention.run_if_due(now)
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
                team_ids=self.teams,
            )

    def _deliver(self, claims: list[Claim], stats: TickStats) -> None:
        """Post a claimed batch on the sender's loop; return when every row is settled."""
        queues: dict[str, deque[Claim]] = defaultdict(deque)
        for claim in claims:
            queues[claim.target].append(claim)
        batch = _Batch(
            order=sorted(queues, key=lambda t: -len(queues[t])),
            queues=queues,
            renders={},
            ahead_tokens={},
            inputs_now=_InputCheck(self.engine, claims, self.clock, self.kinds),
            stats=stats,
        )
        try:
            self.sender.prepare({claim.team_id for claim in claims})
        except Exception:
            # Each post asks for its token again; a workspace whose token cannot be read
            # fails alone.
            log.exception("reading the workspaces' tokens failed")
        try:
            self.sender.run(self._deliver_batch(batch))
        except Exception:
            log.exception("outbox delivery crashed")
        self._recorder.flush()

    async def _deliver_batch(self, batch: _Batch) -> None:
        """Render and post a batch, side by side on the loop.

        Every channel has its own coroutine, so every channel that may post has its post in
        flight at once; each waits for its next message's time and its pace (one a second).
        The busiest channels start first: their pacing bounds the batch, since k messages in
        one channel need (k − 1) seconds from the first post.

        Rendering runs here too, in the order the posts go out (every channel's first message,
        then every second one, …), a chunk at a time, starting small so the first posts wait
        only for a few, and letting the posts that became ready go out between chunks. It
        blocks the loop for a chunk on purpose: rendering is CPU work, and on another thread
        it would hold the GIL that every post's socket calls wait for (posts then crawl until
        it ends). Rows claimed ahead of their time are all rendered before it. A message
        rendered ahead is rendered again when its workspace's inputs changed between its
        rendering and its time (`_InputCheck`).
        """
        loop = asyncio.get_running_loop()
        batch.clock_base, batch.loop_base = self.clock(), loop.time()
        queues = batch.queues
        for queue in queues.values():
            for claim in queue:
                batch.renders[claim.id] = loop.create_future()
        posting = asyncio.create_task(self._post_batch(batch))
        depth = max(len(q) for q in queues.values())
        in_post_order = [
            queues[t][level]
            for level in range(depth)
            for t in batch.order
            if len(queues[t]) > level
        ]
        started = monotime.perf_counter()
        chunk, position = RENDER_FIRST_CHUNK, 0
        while position < len(in_post_order):
            part = in_post_order[position : position + chunk]
            try:
                out = self._render(part, batch.ahead_tokens)
            except Exception as err:
                log.exception("rendering %d outbox message(s) failed", len(part))
                out = {claim.id: err for claim in part}
            _settle_renders(batch.renders, out)
            position += len(part)
            chunk = min(chunk * RENDER_GROWTH, RENDER_MAX_CHUNK)
            await asyncio.sleep(0)  # the posts this chunk made ready go out first
        log.debug(
            "rendered %d message(s) in %.3f s",
            len(in_post_order),
            monotime.perf_counter() - started,
        )
        try:
            await posting
        finally:
            self._attempts.forget(batch.renders)

    async def _post_batch(self, batch: _Batch) -> None:
        first = min(batch.queues[t][0].send_at for t in batch.order)
        warming = None
        if (
            len(batch.order) >= WARM_CHANNELS
            and (first - batch.clock_base).total_seconds() >= WARM_LEAD
        ):
            team = batch.queues[batch.order[0]][0].team_id
            warming = asyncio.create_task(self._warm(team, len(batch.order)))
        results = await asyncio.gather(
            *(self._post_channel(batch, target) for target in batch.order),
            return_exceptions=True,
        )
        for error in results:
            if isinstance(error, BaseException):
                log.error("a channel's delivery crashed", exc_info=error)
        if warming is not None:
            await asyncio.gather(warming, return_exceptions=True)

    async def _warm(self, team_id: str, channels: int) -> None:
        started = monotime.perf_counter()
        timing = await self.sender.warm(team_id, channels)
        if timing is not None:
            self.pacer.learn(timing)
        log.debug(
            "opened connections for %d channel(s) in %.3f s",
            channels,
            monotime.perf_counter() - started,
        )

    async def _post_channel(self, batch: _Batch, target: str) -> None:
        """One channel's messages, in order, each at its time and the channel's pace."""
        loop = asyncio.get_running_loop()
        queue = batch.queues[target]
        tries = 0
        while queue:
            claim = queue[0]
            self._attempts.start(claim.id)  # written while the channel waits
            due = batch.loop_base + (claim.send_at - batch.clock_base).total_seconds()
            delay = max(self.pacer.ready_at(target), due) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            again: float | None = None
            try:
                outgoing = await self._ready_to_post(batch, claim)
                again = await self._deliver_one(
                    claim,
                    outgoing,
                    batch.stats,
                    self._history,
                    may_wait=tries < RATE_LIMIT_TRIES,
                )
            except Exception:
                log.exception("outbox message %s failed unexpectedly", claim.id)
                try:
                    await self._settle_retry(
                        claim, "unexpected error", needs_check=True, stats=batch.stats
                    )
                except Exception:
                    # The lease runs out and another tick takes the row, looking first.
                    log.exception("could not settle outbox message %s", claim.id)
            if again is None:
                queue.popleft()
                tries = 0
            else:
                tries += 1
                await asyncio.sleep(again)

    async def _ready_to_post(self, batch: _Batch, claim: Claim) -> Outgoing | Exception | None:
        """The claim's rendering, rendered again if its inputs moved since (rendered ahead)."""
        found = await batch.renders[claim.id]
        # Checked once, at the first try: a retry after a 429 posts what was kept.
        token = batch.ahead_tokens.pop(claim.id, _NOT_AHEAD)
        if token is not _NOT_AHEAD and await batch.inputs_now.moved(claim, token):
            log.info("outbox message %s changed since rendered; again", claim.id)
            found = (await asyncio.to_thread(self._render, [claim]))[claim.id]
        return found

    def _render(
        self, claims: list[Claim], ahead_tokens: dict[int, Hashable] | None = None
    ) -> dict[int, Outgoing | Exception | None]:
        """Render the batch kind by kind in one read session (shared lookups), and serialise
        each message once, as it will be posted.

        A message is rendered as of its time (`send_at`), or now if that has passed, and in
        its reader's language (`_Readers`): a channel's the workspace's, a person's their
        own, else the workspace's. For those rendered ahead, their workspace's inputs token is
        read first, before the rows, into `ahead_tokens`: a change after that read shows as a
        moved token."""
        clock_now = self.clock()
        out: dict[int, Outgoing | Exception | None] = {}
        rendered: dict[int, RenderedMessage | None] = {}
        moment_of: dict[int, datetime] = {}
        with session_scope(self.engine) as session:
            readers = _Readers(session, claims)
            groups: dict[tuple[str, datetime, str], list[Claim]] = defaultdict(list)
            for claim in claims:
                moment = max(claim.send_at, clock_now)
                groups[(claim.kind, moment, readers.of(claim))].append(claim)
            for (name, moment, language), group in groups.items():
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
                    with use_language(language):
                        found = kind.render_all(session, rows, local)
                    # A message the kind sends elsewhere (a DM that falls back to a channel)
                    # is written for the reader there.
                    for row in rows:
                        message = found.get(row.id or 0)
                        if message is not None and message.channel not in (None, row.target):
                            there = readers.of_target(row.team_id, str(message.channel))
                            if there != language:
                                readers.moved(row.id or 0, there)
                                with use_language(there):
                                    found.update(kind.render_all(session, [row], local))
                    rendered.update(found)
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
                out[claim.id] = self._outgoing(
                    claim, message, late=late, language=readers.of(claim)
                )
            except Exception as err:  # e.g. a renderer put something JSON cannot hold
                log.exception("outbox message %s cannot be serialised", claim.id)
                out[claim.id] = err
        return out


class _Readers:
    """The language each message of a batch is written in, from the stored choices read in
    one or two queries for the whole batch (storage.outbox.recipient_languages)."""

    def __init__(self, session: Session, claims: Sequence[Claim]) -> None:
        self._session = session
        self._asked = {(claim.team_id, claim.target) for claim in claims}
        self._languages = recipient_languages(session=session, recipients=self._asked)
        self._moved: dict[int, str] = {}

    def of(self, claim: Claim) -> str:
        found = self._moved.get(claim.id)
        return found if found is not None else self.of_target(claim.team_id, claim.target)

    def of_target(self, team_id: str, target: str) -> str:
        known = self._languages
        if team_id not in known.workspaces or (
            is_person(target) and (team_id, target) not in self._asked
        ):
            # A reader this batch did not look up (a message the kind sends elsewhere).
            more = recipient_languages(session=self._session, recipients=[(team_id, target)])
            known.workspaces.update(more.workspaces)
            known.people.update(more.people)
            self._asked.add((team_id, target))
        return pick(*known.of(team_id, target))

    def moved(self, message_id: int, language: str) -> None:
        """The message goes to a reader of `language` (the kind sent it elsewhere)."""
        self._moved[message_id] = language


@dataclass
class _Batch:
    """One claimed batch on its way through the sender's loop."""

    order: list[str]
    queues: dict[str, deque[Claim]]
    renders: dict[int, asyncio.Future[Outgoing | Exception | None]]
    ahead_tokens: dict[int, Hashable]
    inputs_now: _InputCheck
    stats: TickStats
    clock_base: datetime = _LONG_AGO
    loop_base: float = 0.0


def _settle_renders(
    renders: Mapping[int, asyncio.Future[Outgoing | Exception | None]],
    out: Mapping[int, Outgoing | Exception | None],
) -> None:
    # On the loop's thread: an asyncio future is set only there.
    for message_id, value in out.items():
        future = renders.get(message_id)
        if future is not None and not future.done():
            future.set_result(value)


class _InputCheck:
    """The current inputs tokens of a batch's workspaces, read when a message rendered ahead
    is due: one query per kind for all its workspaces (on a worker thread; every message due
    meanwhile waits for the same read), kept for the messages whose time had come when it
    started, for at most INPUTS_FRESH_FOR. Used on the sender's loop."""

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
        self._reading: dict[str, asyncio.Task[bool]] = {}

    def _fresh(self, claim: Claim) -> Mapping[str, Hashable] | None:
        found = self._read.get(claim.kind)
        if (
            found is None
            or found[0] < claim.send_at
            or monotime.monotonic() - found[1] > INPUTS_FRESH_FOR
        ):
            return None
        return found[2]

    async def moved(self, claim: Claim, token: Hashable) -> bool:
        """True unless the claim's workspace inputs are what they were at its rendering."""
        kind = self._kinds.get(claim.kind)
        if kind is None or kind.inputs is None:
            return True
        for _ in range(3):
            tokens = self._fresh(claim)
            if tokens is not None:
                return tokens.get(claim.team_id) != token
            reading = self._reading.get(claim.kind)
            if reading is None or reading.done():
                reading = asyncio.create_task(self._fetch(claim.kind))
                self._reading[claim.kind] = reading
            if not await reading:
                log.warning("could not check %s before posting; rendering again", claim.id)
                return True
        return True

    async def _fetch(self, name: str) -> bool:
        kind = self._kinds.get(name)
        assert kind is not None and kind.inputs is not None
        started, mono = self._clock(), monotime.monotonic()
        try:
            tokens = await asyncio.to_thread(kind.inputs, self._engine, sorted(self._teams[name]))
        except SQLAlchemyError:
            return False
        self._read[name] = (started, mono, tokens)
        return True
