"""What every table module shares: the clock and the UTC instant column type.

Instants the bot acts on (outbox, audit, done marks) are stored in UTC; calendar items keep
*local* dates and wall-clock times instead (see storage.models.calendar).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both backends.

    SQLite has no time zone type and hands back naive values; storing every instant as naive
    UTC there (and comparing them as strings in one format) keeps ordering and `<=` correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("outbox instants must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_column(*, nullable: bool = True) -> Any:
    """A UTCDateTime field, None until set."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))
