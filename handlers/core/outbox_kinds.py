"""Outbox kinds: what each kind of scheduled message looks like.

A feature declares its kinds in its `Feature(outbox_kinds=[Kind(...)])`; the scheduler gets a
`KindRegistry` built from every feature's declarations (`handlers.outbox_kinds()`), so
importing a module has no side effects and nothing is registered in a module global.

The scheduler's tick renders what it claimed (at most a few seconds before posting it; a
channel takes one message a second), with a read session and "now" in the bot's time zone:

* return a `RenderedMessage` to post it;
* return None when the message should no longer go out (the item was deleted, the answer
  came in, the workspace paused reminders): the row becomes cancelled.

A kind may also give `inputs`: a reader of tokens, one per workspace, that change whenever
anything its renderer reads changes. Such a kind is claimed and rendered up to the scheduler's
lookahead *before* it is due, so a burst (every reminder of 09:00) goes out on the second
instead of waiting for its claim and rendering; when it is time to post, a message whose
workspace's token moved meanwhile is rendered again.

The tick replaces the first block's `block_id` with the row's marker (crash recovery finds
posted messages by it), and adds `late_note` when the message goes out late after downtime.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from sqlalchemy import Engine
from sqlmodel import Session

from handlers.core.format import day_text, slack_time
from handlers.core.i18n import N_, _
from storage.models import OutboxMessage


@dataclass(frozen=True)
class RenderedMessage:
    text: str  # the notification / fallback text
    # slack_sdk.models blocks, or their dicts (`Block.to_dict()`), e.g. from a batch renderer.
    blocks: Sequence[Block | dict[str, Any]] = ()
    # Post somewhere else than the row's target (e.g. a DM falls back to a channel).
    channel: str | None = None


Renderer = Callable[[Session, OutboxMessage, datetime], RenderedMessage | None]
# Optional: render many rows of one kind at once (shared lookups); keyed by row id.
BatchRenderer = Callable[
    [Session, Sequence[OutboxMessage], datetime], Mapping[int, RenderedMessage | None]
]
# The current input token of each of these workspaces (one query for all of them).
InputsReader = Callable[[Engine, Sequence[str]], Mapping[str, Hashable]]


@dataclass(frozen=True)
class Kind:
    name: str
    render: Renderer
    # Nothing of this kind is posted between 21:00 and 07:00 (in the bot's time zone).
    quiet_hours: bool = True
    render_many: BatchRenderer | None = None
    inputs: InputsReader | None = None

    def render_all(
        self, session: Session, rows: Sequence[OutboxMessage], now: datetime
    ) -> dict[int, RenderedMessage | None]:
        if self.render_many is not None:
            rendered = dict(self.render_many(session, rows, now))
            return {row.id or 0: rendered.get(row.id or 0) for row in rows}
        return {row.id or 0: self.render(session, row, now) for row in rows}


class KindRegistry:
    """The kinds one scheduler can post; built once from the features' declarations."""

    def __init__(self, kinds: Sequence[Kind] = ()) -> None:
        self._kinds: dict[str, Kind] = {}
        for kind in kinds:
            self.add(kind)

    def add(self, kind: Kind) -> None:
        if not kind.name or len(kind.name) > 40:
            raise ValueError("an outbox kind is 1 to 40 characters")
        if kind.name in self._kinds:
            raise ValueError(f"outbox kind {kind.name!r} is declared twice")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> Kind | None:
        return self._kinds.get(name)

    def rendered_ahead(self) -> list[str]:
        """The kinds that may be claimed and rendered before they are due (they have `inputs`)."""
        return sorted(name for name, kind in self._kinds.items() if kind.inputs is not None)

    def names(self) -> list[str]:
        return sorted(self._kinds)


# The late note's sentence when the bot was down; a kind may give its own (see `late_note`).
LATE_DOWN = N_(
    ":hourglass_flowing_sand: Denne meldingen kommer for sent: den skulle vært sendt "
    "%(when)s, men boten var nede."
)


def late_note(due_at: datetime, tz: ZoneInfo, *, why: str = LATE_DOWN) -> ContextBlock:
    """Added by the tick to anything posted late after downtime; a kind may add it with its own
    reason, as a reminder planned late does: `why` is the whole sentence, a catalog message
    (marked with `N_`) with a `%(when)s` for when it should have been sent. Written in the
    language in force (the scheduler sets the recipient's)."""
    when = _("%(when)s kl. %(time)s") % {
        "when": day_text(due_at.astimezone(tz).date()),
        "time": slack_time(due_at, tz),
    }
    return ContextBlock(elements=[MarkdownTextObject(text=_(why) % {"when": when})])
