"""Was it already posted? The look in a channel's history after a takeover.

A row whose post was attempted (`attempted_at`) but never settled may be in the channel: its
first block carries the row's marker (`dks-outbox-<id>`). The post can only have reached
Slack between its attempt and `check_until` (the lease end of the process that attempted it,
or when its answer failed), so that is the window read, newest first, until the marker turns
up or the window is read through.

Since 29 May 2025 Slack limits `conversations.history` for commercially distributed apps
outside the Marketplace to about one read a minute per workspace and 15 messages a read
(internal single-workspace apps are exempt). So:

- a read asks for 15 messages, in a fixed window (`oldest`/`latest`), so pages read in one
  tick stay valid in the next: a scan keeps its place across ticks (`HistoryCheck` lives as
  long as the scheduler), and the rows of one channel share it, as long as their posts can
  only have landed before it began (`check_until`);
- a 429 holds every read in that workspace for its Retry-After; a row waits in its batch for a
  few seconds at most, else goes back to the outbox (its look still ahead) without losing an
  attempt: a rate limit is not a failure.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from storage.models import outbox_marker
from storage.outbox import Claim

log = logging.getLogger(__name__)

# Messages a read asks for: what Slack gives limited apps; exempt apps just read again.
PAGE = 15
# Clocks of two scheduler hosts may differ a little: read this much either side.
CLOCK_MARGIN = timedelta(seconds=30)
# Windows start on these steps, so the rows of one takeover share a scan.
WINDOW_STEP = 600.0
# Rows left to be looked for by an older version (no attempt recorded): from their due time.
LEGACY_WINDOW = timedelta(minutes=5)
# A scan not used for this long is forgotten.
SCAN_KEPT = 3600.0
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
_MARKER_PREFIX = outbox_marker(0)[:-1]


@dataclass(frozen=True)
class Held:
    """Slack said 429: no read in this workspace for `seconds`."""

    seconds: float


# A message's ts; "" when it is surely not there; None when we cannot tell; or Held.
Found = str | None | Held


@dataclass
class _Scan:
    oldest: float
    latest: float
    used: float
    # Before its first read: it can only speak for posts that had landed by then.
    begun: datetime
    cursor: str | None = None
    complete: bool = False
    found: dict[str, str] = field(default_factory=dict)  # marker -> ts
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HistoryCheck:
    """The history reads of one scheduler: one scan per channel and window, kept across
    ticks, and when each workspace may read again."""

    def __init__(self) -> None:
        self._scans: dict[tuple[str, float, float], _Scan] = {}
        self._held: dict[str, float] = {}  # team -> loop time reads may resume

    @staticmethod
    def window(claim: Claim, now: datetime) -> tuple[float, float]:
        """[oldest, latest] to read for the claim, widened to steps shared by its neighbours."""
        since = claim.attempted_at or claim.due_at - LEGACY_WINDOW
        until = claim.check_until or now
        oldest = math.floor((since - CLOCK_MARGIN).timestamp() / WINDOW_STEP) * WINDOW_STEP
        latest = math.ceil((until + CLOCK_MARGIN).timestamp() / 60.0) * 60.0
        return oldest, latest

    async def find(
        self, client: AsyncWebClient, claim: Claim, channel: str, now: datetime
    ) -> Found:
        loop = asyncio.get_running_loop()
        oldest, latest = self.window(claim, now)
        self._forget_old(loop.time())
        key = (channel, oldest, latest)
        scan = self._scans.get(key)
        if scan is None or claim.check_until is None or scan.begun < claim.check_until:
            # A post may have landed after this scan began (another process's; this one's own
            # failed posts drop their channel's scans, `forget`).
            scan = _Scan(oldest=oldest, latest=latest, used=loop.time(), begun=now)
            self._scans[key] = scan
        scan.used = loop.time()
        marker = outbox_marker(claim.id)
        async with scan.lock:  # rows of one channel read its pages once, in turn
            while True:
                if marker in scan.found:
                    return scan.found[marker]
                if scan.complete:
                    return ""
                wait = self._held.get(claim.team_id, 0.0) - loop.time()
                if wait > 0:
                    return Held(wait)
                outcome = await self._read(client, claim, channel, scan)
                if outcome is not _AGAIN:
                    return outcome  # type: ignore[return-value]

    async def _read(
        self, client: AsyncWebClient, claim: Claim, channel: str, scan: _Scan
    ) -> Found | object:
        """One page into `scan`: _AGAIN when it was read (look again), else the answer."""
        args: dict[str, Any] = {
            "channel": channel,
            "oldest": f"{scan.oldest:.6f}",
            "latest": f"{scan.latest:.6f}",
            "inclusive": True,
            "limit": PAGE,
        }
        if scan.cursor:
            args["cursor"] = scan.cursor
        try:
            response = await client.conversations_history(**args)
        except SlackApiError as err:
            error = err.response.get("error")
            if err.response.status_code == 429:
                seconds = retry_after(err.response.headers)
                loop = asyncio.get_running_loop()
                self._held[claim.team_id] = loop.time() + seconds
                log.info("history reads in %s held %.0f s by Slack", claim.team_id, seconds)
                return Held(seconds)
            if error in CHANNEL_ERRORS:
                return ""  # nothing can be there; posting will fail and say why
            log.warning("history check for %s failed: %s", claim.id, error)
            return None
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            log.warning("history check for %s failed: %r", claim.id, err)
            return None
        for message in response.get("messages") or []:
            for block in message.get("blocks") or []:
                block_id = str(block.get("block_id") or "")
                if block_id.startswith(_MARKER_PREFIX):
                    scan.found.setdefault(block_id, str(message["ts"]))
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not response.get("has_more") or not cursor:
            scan.complete = True
        scan.cursor = cursor
        return _AGAIN

    def forget(self, channel: str) -> None:
        """A post to `channel` failed in a way that may have posted it: what the channel's
        scans read before it no longer says it is absent."""
        self._scans = {k: s for k, s in self._scans.items() if k[0] != channel}

    def _forget_old(self, now: float) -> None:
        if len(self._scans) > 100:
            self._scans = {k: s for k, s in self._scans.items() if now - s.used < SCAN_KEPT}


_AGAIN = object()


def retry_after(headers: Any) -> float:
    """Slack's Retry-After in seconds (at least 1; 5 when missing or unreadable)."""
    for key, value in dict(headers or {}).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(1.0, float(raw))
            except (TypeError, ValueError):
                break
    return 5.0
