"""What each kind of outbox message looks like: a registry from kind to renderer.

A feature that schedules messages (reminders, feedback prompts, …) registers a renderer for
its kind from its `register(app)` function, which `create_app` calls — never at import time,
so importing a module has no side effects. Registering the same kind again replaces the
renderer (idempotent: every App built in a process registers the same functions).

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
posted messages by it), and adds a note when the message goes out late after downtime.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block
from sqlalchemy import Engine
from sqlmodel import Session

from storage.models_outbox import OutboxMessage


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


@dataclass
class _Registry:
    kinds: dict[str, Kind] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_registry = _Registry()


def register_kind(
    kind: str,
    render: Renderer,
    *,
    quiet_hours: bool = True,
    render_many: BatchRenderer | None = None,
    inputs: InputsReader | None = None,
) -> None:
    """Make the tick able to post messages of `kind`; call it again to replace the renderer."""
    if not kind or len(kind) > 40:
        raise ValueError("an outbox kind is 1 to 40 characters")
    with _registry.lock:
        _registry.kinds[kind] = Kind(kind, render, quiet_hours, render_many, inputs)


def get_kind(kind: str) -> Kind | None:
    with _registry.lock:
        return _registry.kinds.get(kind)


def kinds_rendered_ahead() -> list[str]:
    """The kinds that may be claimed and rendered before they are due (they have `inputs`)."""
    with _registry.lock:
        return sorted(name for name, kind in _registry.kinds.items() if kind.inputs is not None)


def registered_kinds() -> list[str]:
    with _registry.lock:
        return sorted(_registry.kinds)
