"""Delivering claimed outbox rows: one message from its rendering to Slack and back.

- `Outgoing`: a rendered message serialised once, as chat.postMessage will get it (with the
  row's marker in its first block, and the late note when it is late).
- `ChannelPacer`: at most one post per channel a second, and a 429's Retry-After per channel.
- `SentRecorder`: marks posted rows sent from its own thread, many per write.
- `MessageDelivery`: the Scheduler's part for one claimed row (engine.py's `Scheduler`
  inherits it): may it still go out (lease, grace, quiet hours), was it already posted (the
  marker check after a takeover), the post, and what Slack's answer means for the row (sent,
  retried, failed, a coordinator alert).
- `TickStats`: what a tick did, counted by the threads that post.
"""

from __future__ import annotations

import json
import logging
import threading
import time as monotime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine

from bot.scheduler.client import KeepAliveWebClient
from bot.settings import Settings
from handlers.core.outbox_kinds import KindRegistry, RenderedMessage, late_note
from handlers.core.services import Clock
from storage.db import session_scope
from storage.models import outbox_marker
from storage.outbox import (
    Claim,
    clear_alerts,
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
)
from storage.workspaces import listed_coordinators

log = logging.getLogger(__name__)

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


class MessageDelivery:
    """The Scheduler's handling of one claimed row, from its rendering to Slack's answer.

    `Scheduler` (engine.py) inherits it and sets these attributes in its `__init__`.
    """

    settings: Settings
    kinds: KindRegistry
    engine: Engine
    client: WebClient
    clock: Clock
    worker_id: str
    grace: timedelta
    pacer: ChannelPacer
    _margin: timedelta
    _dm_channels: dict[str, str]
    _alerted: set[tuple[str, str]]
    _recorder: SentRecorder

    # --- serialising -------------------------------------------------------------------------

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


def _with_marker(blocks: Iterable[Block | dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    # Only the first block is copied (it gets the marker); the others are serialised as they
    # are and never changed.
    out = [b.to_dict() if isinstance(b, Block) else b for b in blocks]
    if out:
        out[0] = {**out[0], "block_id": marker}
    else:
        out = [{"type": "section", "block_id": marker, "text": {"type": "mrkdwn", "text": " "}}]
    return out


def _retry_after(headers: Any) -> float:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(1.0, float(raw))
            except (TypeError, ValueError):
                break
    return 5.0
