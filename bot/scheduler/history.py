"""Was it already posted? The look in a channel's history after a takeover.

A row whose post was attempted (`attempted_at`) but never settled may be in the channel: its
first block carries the row's marker (`dks-outbox-<id>`). This reads the channel's history
from the first attempt onwards, newest first, until the marker turns up or the history ends.

Since 29 May 2025 Slack limits `conversations.history` for commercially distributed apps
outside the Marketplace to about one read a minute per workspace and 15 messages a read
(internal single-workspace apps are exempt). So:

- a read asks for 15 messages, and only from the first attempt on (a post is sent within
  seconds of its attempt being recorded, so the marker is almost always on the first page);
- a 429 holds every read in that workspace for its Retry-After (`HistoryLimits`), and the
  row waits without losing an attempt: a rate limit is not a failure;
- the pages read so far are kept for the batch, so rows of one channel share them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from storage.models import outbox_marker
from storage.outbox import Claim

log = logging.getLogger(__name__)

# Messages a read asks for: what Slack gives limited apps; exempt apps just read again.
PAGE = 15
# Clocks of two scheduler hosts may differ a little: read from this long before the attempt.
CLOCK_MARGIN = timedelta(seconds=30)
# Rows posted before attempts were recorded (an older version's takeover): from their due time.
LEGACY_WINDOW = timedelta(minutes=5)
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
    cursor: str | None = None
    complete: bool = False
    found: dict[str, str] = field(default_factory=dict)  # marker -> ts
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HistoryLimits:
    """When each workspace may read history again (loop time). Lives as long as the sender:
    a 429 in one tick still holds in the next."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def wait(self, team_id: str, now: float) -> float:
        return max(0.0, self._until.get(team_id, 0.0) - now)

    def hold(self, team_id: str, until: float) -> None:
        self._until[team_id] = max(self._until.get(team_id, 0.0), until)


class HistoryCheck:
    """The history reads of one batch: one scan per channel, shared by its rows."""

    def __init__(self, limits: HistoryLimits) -> None:
        self._limits = limits
        self._scans: dict[str, _Scan] = {}

    async def find(self, client: AsyncWebClient, claim: Claim, channel: str) -> Found:
        since = (
            claim.attempted_at - CLOCK_MARGIN
            if claim.attempted_at is not None
            else claim.due_at - LEGACY_WINDOW
        )
        oldest = since.timestamp()
        scan = self._scans.get(channel)
        if scan is None or scan.oldest > oldest:
            scan = self._scans[channel] = _Scan(oldest=oldest)
        marker = outbox_marker(claim.id)
        loop = asyncio.get_running_loop()
        async with scan.lock:  # rows of one channel read its pages once, in turn
            while True:
                if marker in scan.found:
                    return scan.found[marker]
                if scan.complete:
                    return ""
                wait = self._limits.wait(claim.team_id, loop.time())
                if wait > 0:
                    return Held(wait)
                outcome = await self._read(client, claim, channel, scan)
                if outcome is not _AGAIN:
                    return outcome  # type: ignore[return-value]

    async def _read(
        self, client: AsyncWebClient, claim: Claim, channel: str, scan: _Scan
    ) -> Found | object:
        """One page into `scan`: _AGAIN when it was read (look again), else the answer."""
        args: dict[str, Any] = {"channel": channel, "oldest": f"{scan.oldest:.6f}", "limit": PAGE}
        if scan.cursor:
            args["cursor"] = scan.cursor
        try:
            response = await client.conversations_history(**args)
        except SlackApiError as err:
            error = err.response.get("error")
            if err.response.status_code == 429:
                seconds = retry_after(err.response.headers)
                self._limits.hold(claim.team_id, asyncio.get_running_loop().time() + seconds)
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
