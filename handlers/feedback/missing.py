"""The Home tab's «Tilbakemeldinger som mangler»: held performances nobody has answered for.

Its blocks are kept per workspace and language for a minute. With a national tour plan,
finding the newest unanswered performances costs PostgreSQL several milliseconds, more than
the rest of the Home tab, which is published every time someone opens it. An answer stored
by this process clears its workspace at once, in every language (`MISSING_CACHE.forget`);
one stored by another process shows within the minute.

The cache is a module global keyed by engine, not by `Services`: a Home section only gets a
`SectionRequest` (its session knows the engine), and each App, like each test, has its own
engine, so per engine is per App.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC
from typing import cast
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block
from sqlalchemy import Engine

from handlers.core.feature import SectionRequest
from handlers.core.frozen import FrozenBlock
from handlers.core.i18n import current_language
from handlers.feedback.views import missing_feedback_blocks
from storage.feedback import performances_without_feedback

MISSING_DAYS = 30  # how far back the section looks
MISSING_SHOWN = 5


# What the cache keeps per engine: (team_id, language) -> (expires, blocks).
_Kept = dict[tuple[str, str], tuple[float, list[Block]]]


class MissingFeedbackCache:
    """The section's blocks per engine, workspace and reader's language, built and serialised
    once per `ttl`."""

    def __init__(self, ttl: float = 60.0) -> None:
        self._ttl = ttl
        self._found: weakref.WeakKeyDictionary[Engine, _Kept] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, engine: Engine, team_id: str, build: Callable[[], list[Block]]) -> list[Block]:
        """The blocks `build()` makes in the language in force (kept per language)."""
        now = time.monotonic()
        key = (team_id, current_language())
        with self._lock:
            kept = self._found.get(engine, {}).get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        blocks: list[Block] = [FrozenBlock(b.to_dict()) for b in build()]
        with self._lock:
            self._found.setdefault(engine, {})[key] = (now + self._ttl, blocks)
        return blocks

    def forget(self, engine: Engine, team_id: str) -> None:
        """The workspace's blocks in every language."""
        with self._lock:
            found = self._found.get(engine, {})
            for key in [k for k in found if k[0] == team_id]:
                del found[key]


MISSING_CACHE = MissingFeedbackCache()


def missing_feedback_section(request: SectionRequest) -> list[Block]:
    """Nothing until the workspace has a tour plan with performances held and unanswered."""
    engine = cast(Engine, request.session.get_bind())
    tz = request.now.tzinfo
    assert isinstance(tz, ZoneInfo), "SectionRequest.now is in the bot's time zone"

    def build() -> list[Block]:
        rows, total = performances_without_feedback(
            engine=engine,
            team_id=request.team_id,
            now=request.now.astimezone(UTC),
            days=MISSING_DAYS,
            limit=MISSING_SHOWN,
        )
        return missing_feedback_blocks(rows, total, days=MISSING_DAYS, tz=tz)

    return MISSING_CACHE.get(engine, request.team_id, build)
