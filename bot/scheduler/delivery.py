"""Delivering claimed outbox rows: one message from its rendering to Slack and back.

Everything here that talks to Slack runs on the sender's event loop (sender.py); database
writes go to a worker thread (`asyncio.to_thread`), so a slow write never holds up a post.

- `Outgoing`: a rendered message as chat.postMessage will get it (with the row's marker in
  its first block, and the late note when it is late).
- `ChannelPacer`: one post per channel a second, and a 429's Retry-After per channel.
- `AttemptLog`: records that rows are about to be posted, many per write, before they are.
- `SentRecorder`: marks posted rows sent from its own thread, many per write.
- `MessageDelivery`: the Scheduler's part for one claimed row (engine.py's `Scheduler`
  inherits it): may it still go out (lease, grace, quiet hours), was it already posted (the
  history check after a takeover), the post, and what Slack's answer means for the row (sent,
  retried, failed, a coordinator alert).
- `TickStats`: what a tick did.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time as monotime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine

from bot.scheduler.history import Held, HistoryCheck, retry_after
from bot.scheduler.sender import AsyncSender, NoToken, Timing
from bot.settings import Settings
from handlers.core.i18n import SOURCE, use_language
from handlers.core.outbox_kinds import KindRegistry, RenderedMessage, late_note
from handlers.core.services import Clock
from storage.db import session_scope
from storage.models import outbox_marker
from storage.outbox import (
    Claim,
    clear_alerts,
    is_person,
    mark_attempting,
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
from storage.posting_times import in_quiet_hours, next_allowed
from storage.reminders import ALERT_KIND, last_channel_change
from storage.workspaces import listed_coordinators

log = logging.getLogger(__name__)

# Slack's errors that say this channel cannot take the message: retrying will not help.
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
# The workspace is gone for the bot: stop, don't retry.
AUTH_ERRORS = frozenset(
    {"account_inactive", "invalid_auth", "not_authed", "token_revoked", "team_access_not_granted"}
)
# The token ran out between reading and posting (rotation): read it again, post again.
EXPIRED_ERRORS = frozenset({"token_expired"})
# Slack said it failed on its side; the message may or may not have been posted.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
BACKOFF = (2.0, 10.0, 30.0, 120.0, 600.0, 1800.0)
MAX_ATTEMPTS = 8
LATE_AFTER = timedelta(minutes=15)
# The longest a row waits within its batch for Slack to allow a history read again.
WAIT_IN_BATCH = 5.0
# Slack's clock and ours see the same post a few milliseconds apart (scheduling, jitter on the
# way, more the longer the way): a post exactly a second after the last may count as too soon.
PACE_MARGIN = 0.02
PACE_MARGIN_PER_ROUND_TRIP = 0.1


@dataclass(frozen=True)
class Outgoing:
    """A rendered message as it will be posted: chat.postMessage's arguments less the channel
    (a DM's channel is known only once the conversation is open)."""

    rendered: RenderedMessage
    late: bool
    args: dict[str, Any]
    # The reader's language it was rendered in (the late note added later is in it too).
    language: str = SOURCE

    def body(self, channel: str) -> dict[str, Any]:
        return {"channel": channel, **self.args}


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
    """One post per channel per `interval`, counted from when Slack counted the previous one.

    Slack counts a post when it arrives: half a round trip after its request went on the wire
    over a kept connection, after the handshakes too over a new one; about half a round trip
    before its answer comes back. So the next post may leave `interval` after the later of
    (wire time) and (answer − round trip): one second from send to send on a kept connection,
    a little later after a handshake, and never before Slack counted the last one. The round
    trip is the shortest answer − wire seen over a kept connection: it must not be more than
    the real one (a post would then leave early and meet a 429), so it is learnt before a
    burst too (`learn`), when no call waits behind others. Until one is seen, the answer
    itself is the safe guess. Used on the sender's loop only (no locks); times are the loop's
    clock.
    """

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._round_trip: float | None = None
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, channel: str) -> asyncio.Lock:
        """Held from a post's wait for its channel's pace to Slack's answer."""
        found = self._locks.get(channel)
        if found is None:
            found = self._locks[channel] = asyncio.Lock()
        return found

    def ready_at(self, channel: str) -> float:
        return self._next.get(channel, 0.0)

    def learn(self, timing: Timing) -> None:
        """A call's round trip; only one over a kept connection tells it."""
        took = max(0.0, timing.answered - timing.sent)
        if timing.reused and (self._round_trip is None or took < self._round_trip):
            self._round_trip = took

    def answered(self, timing: Timing, *channels: str) -> None:
        """Slack answered a post to `channels` (a DM's target user and its D… channel)."""
        self.learn(timing)
        trip = self._round_trip if self._round_trip is not None else 0.0
        margin = PACE_MARGIN + PACE_MARGIN_PER_ROUND_TRIP * trip
        ready = max(timing.sent, timing.answered - trip) + self.interval + margin
        for channel in channels:
            self._next[channel] = max(self._next.get(channel, 0.0), ready)
        if len(self._next) > 10_000:  # forget channels idle for long
            self._next = {k: v for k, v in self._next.items() if v > timing.answered}
            self._locks = {k: v for k, v in self._locks.items() if v.locked() or k in self._next}

    def hold(self, until: float, *channels: str) -> None:
        """Slack said 429 for `channels`: nothing goes there before `until` (Retry-After)."""
        for channel in channels:
            self._next[channel] = max(self._next.get(channel, 0.0), until)


class AttemptLog:
    """Records that rows are about to be posted (`attempted_at`), many per write: while one
    write runs, the next rows gather for the one after. A post goes out only once its row's
    attempt is written, so after a crash only rows that may be in Slack need a history read.

    A channel's next row is recorded while the channel waits for its time or its pace (the
    rows of a burst while they wait for 09:00), so the write is rarely what a post waits for.
    """

    def __init__(self, write: Callable[[list[int]], set[int]]) -> None:
        self._write = write
        self._waiting: list[tuple[int, asyncio.Future[bool]]] = []
        self._started: dict[int, asyncio.Future[bool]] = {}
        self._writer: asyncio.Task[None] | None = None

    def start(self, message_id: int) -> asyncio.Future[bool]:
        """The row's attempt, written soon (or already): True once it is written and the row
        is still ours to post. Starting it again returns the same future."""
        found = self._started.get(message_id)
        if found is None:
            found = asyncio.get_running_loop().create_future()
            self._started[message_id] = found
            self._waiting.append((message_id, found))
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(self._run())
        return found

    def forget(self, ids: Iterable[int]) -> None:
        for message_id in ids:
            self._started.pop(message_id, None)

    async def _run(self) -> None:
        await asyncio.sleep(0)  # the rows of this loop round join the first write
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                held = await asyncio.to_thread(self._write, [i for i, _ in batch])
            except Exception:
                log.exception("recording %d post attempt(s) failed; not posting them", len(batch))
                held = set()
            for message_id, future in batch:
                if not future.done():
                    future.set_result(message_id in held)


class SentRecorder:
    """Records posted messages as sent from its own thread, many per transaction (a post
    waits at most `every` seconds to share a write with the posts answered after it: one
    commit per burst, not per message), without holding up the posts. `flush()`
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
                # Each write holds the GIL the sender's loop needs in a burst: gather.
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


class MessageDelivery:
    """The Scheduler's handling of one claimed row, from its rendering to Slack's answer.

    `Scheduler` (engine.py) inherits it and sets these attributes in its `__init__`. The
    coroutines run on the sender's loop.
    """

    settings: Settings
    kinds: KindRegistry
    engine: Engine
    sender: AsyncSender
    clock: Clock
    worker_id: str
    grace: timedelta
    pacer: ChannelPacer
    _margin: timedelta
    _dm_channels: dict[str, str]
    _alerted: set[tuple[str, str]]
    _recorder: SentRecorder
    _attempts: AttemptLog
    _history: HistoryCheck

    # --- serialising -------------------------------------------------------------------------

    def _is_late(self, claim: Claim, now: datetime) -> bool:
        return claim.late or now - claim.due_at > LATE_AFTER

    def _outgoing(
        self, claim: Claim, rendered: RenderedMessage, *, late: bool, language: str
    ) -> Outgoing:
        blocks = _with_marker(rendered.blocks, outbox_marker(claim.id))
        if late:
            with use_language(language):
                blocks.append(late_note(claim.due_at, self.settings.timezone).to_dict())
        args = {
            "text": rendered.text,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        return Outgoing(rendered=rendered, late=late, args=args, language=language)

    # --- writes ------------------------------------------------------------------------------

    def _write(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        with session_scope(self.engine, write=True) as session:
            return fn(session=session, worker=self.worker_id, **kwargs)

    async def _awrite(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._write, fn, **kwargs)

    def _write_attempts(self, ids: list[int]) -> set[int]:
        held: set[int] = self._write(mark_attempting, ids=ids, now=self.clock())
        return held

    # --- one message -------------------------------------------------------------------------

    async def _deliver_one(
        self,
        claim: Claim,
        outgoing: Outgoing | Exception | None,
        stats: TickStats,
        history: HistoryCheck,
        *,
        may_wait: bool = False,
    ) -> float | None:
        """Post or settle one claimed row. Returns seconds to wait before trying the row again
        in this batch (a 429 with `may_wait`, or a history read held by Slack), else None."""
        now = self.clock()
        tz = self.settings.timezone
        if now >= claim.lease_until - self._margin:
            # Too little lease left to post safely; another tick takes it from the start.
            await self._awrite(release, message_id=claim.id, available_at=now, now=now)
            stats.add("released")
            return None
        kind = self.kinds.get(claim.kind)
        if kind is None:
            log.warning("no renderer for outbox kind %r in this process", claim.kind)
            await self._awrite(
                release, message_id=claim.id, available_at=now + timedelta(minutes=1), now=now
            )
            stats.add("released")
            return None
        if now - claim.due_at > self.grace:
            await self._skip_missed(claim, now, stats, history)
            return None
        late = self._is_late(claim, now)
        if kind.quiet_hours and in_quiet_hours(now, tz):
            await self._awrite(
                postpone, message_id=claim.id, until=next_allowed(now, tz), late=late, now=now
            )
            stats.add("postponed")
            return None
        if isinstance(outgoing, Exception):
            await self._settle_retry(
                claim, f"render: {outgoing!r}"[:200], needs_check=False, stats=stats
            )
            return None
        if outgoing is None:
            await self._awrite(mark_cancelled, message_id=claim.id, reason="not needed", now=now)
            stats.add("cancelled")
            return None
        if outgoing.late != late:  # it became late between rendering and now
            outgoing = self._outgoing(
                claim, outgoing.rendered, late=late, language=outgoing.language
            )
        try:
            client = self.sender.client(claim.team_id)
            channel = await self._channel_for(claim, outgoing.rendered.channel or claim.target)
        except NoToken:
            await self._awrite(mark_failed, message_id=claim.id, reason="no_token", now=now)
            stats.add("failed")
            log.warning("outbox message %s: no bot token for %s", claim.id, claim.team_id)
            return None
        except SlackApiError as err:
            await self._slack_error(claim, claim.target, err, stats)
            return None
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            await self._settle_retry(
                claim, f"network: {err!r}"[:200], needs_check=False, stats=stats
            )
            return None
        if claim.needs_check:
            found = await history.find(client, claim, channel, now)
            if isinstance(found, Held):
                return await self._wait_or_release(claim, found.seconds, stats)
            if found is None:
                await self._settle_retry(
                    claim, "history check failed", needs_check=True, stats=stats
                )
                return None
            if found:
                await self._awrite(
                    mark_sent, message_id=claim.id, channel=channel, ts=found, now=now
                )
                stats.add("recovered")
                log.info("outbox message %s was already posted (ts %s)", claim.id, found)
                return None
        return await self._post(claim, channel, outgoing, stats=stats, may_wait=may_wait)

    async def _wait_or_release(
        self, claim: Claim, seconds: float, stats: TickStats
    ) -> float | None:
        """Slack holds history reads: wait in this batch if the lease allows, else give the row
        back (its look still ahead) for when Slack allows again. Not counted as an attempt."""
        now = self.clock()
        if now + timedelta(seconds=seconds) < claim.lease_until - self._margin:
            return seconds
        await self._awrite(
            release, message_id=claim.id, available_at=now + timedelta(seconds=seconds), now=now
        )
        stats.add("released")
        return None

    async def _channel_for(self, claim: Claim, target: str) -> str:
        """Users get a DM: open (or find) the conversation, so history can be read later."""
        if not is_person(target):
            return target
        key = f"{claim.team_id}:{target}"
        if key not in self._dm_channels:
            response = await self.sender.client(claim.team_id).conversations_open(users=target)
            self._dm_channels[key] = str(response["channel"]["id"])
        return self._dm_channels[key]

    async def _post(
        self,
        claim: Claim,
        channel: str,
        outgoing: Outgoing,
        *,
        stats: TickStats,
        may_wait: bool = False,
    ) -> float | None:
        if not await self._attempts.start(claim.id):
            stats.add("released")  # the claim was lost meanwhile: its new holder posts it
            return None
        loop = asyncio.get_running_loop()
        timing = Timing()
        # Targets that post to one channel (a fallback) take turns and keep its pace.
        async with self.pacer.lock(channel):
            delay = self.pacer.ready_at(channel) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = self.clock()
            if now >= claim.lease_until - self._margin:
                # The look or the wait took the lease's margin: another process may hold the
                # row by the time this post lands. Give it back; it is looked for first.
                await self._awrite(
                    mark_retry,
                    message_id=claim.id,
                    retry_at=now,
                    reason="lease ran short",
                    needs_check=True,
                    now=now,
                )
                stats.add("released")
                return None
            return await self._send(claim, channel, outgoing, timing, stats, may_wait=may_wait)

    async def _send(
        self,
        claim: Claim,
        channel: str,
        outgoing: Outgoing,
        timing: Timing,
        stats: TickStats,
        *,
        may_wait: bool,
    ) -> float | None:
        loop = asyncio.get_running_loop()
        try:
            response = await self.sender.call(
                claim.team_id, "chat.postMessage", timing, outgoing.body(channel)
            )
        except SlackApiError as err:
            self.pacer.answered(timing, channel, claim.target)
            status = err.response.status_code
            if status >= 500 or err.response.get("error") in TRANSIENT_ERRORS:
                self._history.forget(channel)  # it may be there now
            if status == 429:
                # Nothing was posted; the channel rests as long as Slack asks.
                wait = retry_after(err.response.headers)
                self.pacer.hold(loop.time() + wait, channel, claim.target)
                if may_wait:
                    stats.add("rate_limited")
                    return wait
            await self._slack_error(claim, channel, err, stats)
            return None
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            # Slack may have posted it before the connection broke: look first next time.
            self.pacer.answered(timing, channel, claim.target)
            self._history.forget(channel)
            await self._settle_retry(
                claim, f"network: {err!r}"[:200], needs_check=True, stats=stats
            )
            return None
        self.pacer.answered(timing, channel, claim.target)
        posted_channel = str(response.get("channel") or channel)
        self._recorder.add(claim.id, posted_channel, str(response["ts"]))
        stats.add("sent")
        if (claim.team_id, channel) in self._alerted:
            self._alerted.discard((claim.team_id, channel))
            try:
                await asyncio.to_thread(self._clear_alerts, claim.team_id, channel)
            except Exception:
                # The post stands; the alert stays open until the next one clears it.
                log.exception("could not clear the alerts of %s in %s", channel, claim.team_id)
        return None

    def _clear_alerts(self, team_id: str, channel: str) -> None:
        with session_scope(self.engine, write=True) as session:
            clear_alerts(session=session, team_id=team_id, now=self.clock(), channel=channel)

    async def _slack_error(
        self, claim: Claim, channel: str, err: SlackApiError, stats: TickStats
    ) -> None:
        error = str(err.response.get("error") or "")
        status = err.response.status_code
        now = self.clock()
        if status == 429:
            # Still limited after the tries within the batch: come back when Slack says.
            await self._settle_retry(
                claim,
                "ratelimited",
                needs_check=False,
                stats=stats,
                delay=retry_after(err.response.headers),
            )
        elif error in EXPIRED_ERRORS:
            # Slack refused the call, so nothing was posted: no look in the history needed.
            self.sender.forget(claim.team_id)
            await self._settle_retry(claim, error, needs_check=False, stats=stats, delay=0.0)
        elif status >= 500 or error in TRANSIENT_ERRORS:
            await self._settle_retry(
                claim, error or f"http {status}", needs_check=True, stats=stats
            )
        elif error in CHANNEL_ERRORS:
            await self._awrite(mark_failed, message_id=claim.id, reason=error, now=now)
            stats.add("failed")
            log.warning("outbox message %s: %s in %s", claim.id, error, channel)
            if claim.kind != ALERT_KIND:
                await asyncio.to_thread(self._alert, claim, channel, error, now)
        else:
            if error in AUTH_ERRORS:
                self.sender.forget(claim.team_id)
            await self._awrite(
                mark_failed, message_id=claim.id, reason=error or str(status), now=now
            )
            stats.add("failed")
            log.warning("outbox message %s refused by Slack: %s", claim.id, error)

    async def _settle_retry(self, claim: Claim, reason: str, **options: Any) -> None:
        """`_settle_retry_now` on a worker thread (it writes)."""
        await asyncio.to_thread(self._settle_retry_now, claim, reason, **options)

    def _settle_retry_now(
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

    async def _skip_missed(
        self, claim: Claim, now: datetime, stats: TickStats, history: HistoryCheck
    ) -> None:
        if claim.needs_check:
            found: Any = None
            try:
                client = self.sender.client(claim.team_id)
                channel = await self._channel_for(claim, claim.target)
                found = await history.find(client, claim, channel, now)
            except (NoToken, SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as err:
                log.warning("could not look for missed message %s: %r", claim.id, err)
            if isinstance(found, str) and found:
                await self._awrite(
                    mark_sent, message_id=claim.id, channel=channel, ts=found, now=now
                )
                stats.add("recovered")
                return
        await self._awrite(mark_skipped, message_id=claim.id, reason="missed", now=now)
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
    # Only the first block is copied (it gets the marker); the others are serialised as they
    # are and never changed.
    out = [b.to_dict() if isinstance(b, Block) else b for b in blocks]
    if out:
        out[0] = {**out[0], "block_id": marker}
    else:
        out = [{"type": "section", "block_id": marker, "text": {"type": "mrkdwn", "text": " "}}]
    return out
