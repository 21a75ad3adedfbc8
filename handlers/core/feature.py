"""What a feature declares, and how features reach each other without importing each other.

Every package under `handlers/` exposes one `FEATURE = Feature(...)`: its `/dks` subcommands,
its outbox kinds, the Home tab sections it adds, the events it listens to, and `register(app)`
for its Bolt listeners. `handlers.register_all` and the scheduler read these declarations; no
feature keeps a module-level registry, and no feature calls another one's functions to tell it
that something changed: it publishes an event on `services.events` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlmodel import Session

if TYPE_CHECKING:
    from handlers.core.commands import Subcommand
    from handlers.core.outbox_kinds import Kind
    from handlers.core.services import Services

log = logging.getLogger(__name__)

ItemKind = Literal["deadline", "meeting", "contact", "school"]


@dataclass(frozen=True)
class Changed:
    """Something a user (or an import) changed in a workspace; published after the commit.

    `items` names the rows that changed (created, edited, deleted or marked done); it is empty
    for a change of the workspace's settings (reminder channel, pause).
    """

    team_id: str
    user_id: str
    items: tuple[tuple[ItemKind, int], ...] = ()


Subscriber = Callable[..., None]  # fn(event, *, client, services, logger)


class EventBus:
    """In-process, synchronous: subscribers run in the publisher's thread, in feature order.

    Publish from work that runs after the ack (a lazy listener), never before it: a subscriber
    may call Slack (views.publish, chat.update). One subscriber failing is logged with its
    traceback and does not stop the others; the change itself is already stored.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        if subscriber not in self._subscribers:
            self._subscribers.append(subscriber)

    def publish(
        self, event: Changed, *, client: WebClient, services: Services, logger: logging.Logger
    ) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event, client=client, services=services, logger=logger)
            except Exception:
                logger.exception(
                    "%s failed for %s", getattr(subscriber, "__qualname__", subscriber), event
                )


@dataclass(frozen=True)
class SectionRequest:
    """What a Home tab section gets: an open read session and who is looking."""

    session: Session
    team_id: str
    user_id: str
    coordinator: bool
    now: datetime  # aware, in the bot's time zone


# Returns the section's blocks, or [] to show nothing.
HomeSection = Callable[[SectionRequest], Sequence[Block]]
Planner = Callable[..., int]  # fn(engine, team_ids, *, now, tz) -> rows scheduled or moved


@dataclass(frozen=True)
class Feature:
    """One feature package: what it adds to the bot."""

    name: str
    register: Callable[[App], None]
    subcommands: Sequence[Subcommand] = ()
    outbox_kinds: Sequence[Kind] = ()
    home_sections: Sequence[HomeSection] = ()
    subscribers: Sequence[Subscriber] = ()
    # Scheduled messages the feature plans on its own, not from a user's action (the January
    # report post): the scheduler's refresh calls each with (engine, team_ids, now=, tz=) and
    # it returns how many rows it scheduled or moved.
    planners: Sequence[Planner] = ()
    # Listeners Bolt should try first: it builds the arguments of every listener it tries,
    # so the requests that come on every keystroke or tab switch go to the front.
    busy: bool = field(default=False)


def no_listeners(app: App) -> None:
    """For a feature whose only entry is a `/dks` subcommand."""
