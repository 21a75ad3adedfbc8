"""What every listener needs, injected into Bolt's `context` by the app factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from bot.roles import RoleChecker
from bot.settings import Settings
from storage.db import session_scope
from storage.snapshot import SnapshotCache, WorkspaceSnapshot

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

    def __post_init__(self) -> None:
        self.snapshots = SnapshotCache(self.engine)
        self.roles = RoleChecker(self.engine, clock=self.clock, snapshots=self.snapshots)

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
