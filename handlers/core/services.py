"""What every listener needs, injected into Bolt's `context["services"]` by the app factory.

One `Services` per App (per process): settings, the engine, the clock, the role checker, the
per-process snapshots, and what the features declared for each other (Home sections, event
subscribers). Bolt deep-copies a request's context for lazy listeners; `Services` is shared,
never copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.settings import Settings
from handlers.core.feature import EventBus, HomeSection
from handlers.core.roles import RoleChecker
from storage.db import session_scope
from storage.snapshot import SnapshotCache, WorkspaceSnapshot

if TYPE_CHECKING:
    from handlers.core.commands import Subcommand
    from storage.installations import RecentInstallations

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    clock: Clock = system_clock
    roles: RoleChecker = field(init=False)
    snapshots: SnapshotCache = field(init=False)
    # Filled by handlers.register_all from the features' declarations.
    subcommands: list[Subcommand] = field(default_factory=list)
    home_sections: list[HomeSection] = field(default_factory=list)
    events: EventBus = field(default_factory=EventBus)
    # Many workspaces (OAuth): the installation store; None with one SLACK_BOT_TOKEN.
    installations: RecentInstallations | None = None

    def __post_init__(self) -> None:
        self.snapshots = SnapshotCache(self.engine)
        self.roles = RoleChecker(self.engine, clock=self.clock, snapshots=self.snapshots)

    def __deepcopy__(self, memo: dict[int, Any]) -> Services:
        # Lazy listeners get a deep copy of the request's context: they share this one.
        return self

    def snapshot(self, team_id: str) -> WorkspaceSnapshot:
        """The workspace's calendar, directory and settings as stored now, from memory."""
        return self.snapshots.get(team_id)

    def now(self) -> datetime:
        """Now, in the bot's time zone."""
        return self.clock().astimezone(self.settings.timezone)

    def today(self) -> date:
        return self.now().date()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        with session_scope(self.engine, write=write) as session:
            yield session
