"""Tables of the scheduled outbox and the reminders built on it.

The outbox is the one source of truth for every message the bot sends on a schedule:
reminders, and (from the feedback feature) prompts and follow-ups. One row is one intended
message; its `unique_key` makes scheduling idempotent and its `state` moves
pending → claimed → sent (or cancelled / failed / skipped).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


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


def _utc_column(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class OutboxState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"  # a scheduler process is posting it; `available_at` is its lease end
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"  # Slack refused it for good (reason in `error`)
    SKIPPED = "skipped"  # missed by more than the grace period (downtime)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("team_id", "kind", "unique_key", name="uq_outbox_key"),
        # The tick's claim reads only what is due: cost grows with that, not with the table.
        Index("ix_outbox_state_available", "state", "available_at"),
        Index("ix_outbox_team_ref", "team_id", "ref"),
        Index("ix_outbox_team_state_due", "team_id", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    kind: str = Field(max_length=40)
    unique_key: str = Field(max_length=255)
    # What the message is about, e.g. "deadline:12:2027-02-12"; prefixes cancel groups of rows.
    ref: str = Field(max_length=255)
    # A channel id (C…/G…/D…) or a user id (U…/W…) for a direct message.
    target: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=OutboxState.PENDING, max_length=16)
    # When the message is meant to go out (moves only by re-scheduling or a quiet-hours shift).
    due_at: datetime = _utc_column(nullable=False)
    # When the tick may next look at the row: the due time, a retry time, or a lease's end.
    available_at: datetime = _utc_column(nullable=False)
    attempts: int = 0
    # The row may already have been posted (a lost lease, a timeout): look before re-sending.
    needs_check: bool = False
    # Moved forward after downtime; the message says that it is late.
    late: bool = False
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = _utc_column()
    sent_at: datetime | None = _utc_column()
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=300)
    created_at: datetime | None = _utc_column()
    updated_at: datetime | None = _utc_column()

    @property
    def marker(self) -> str:
        """Goes into the posted message's first block_id, so recovery can find the message."""
        return outbox_marker(self.id or 0)


def outbox_marker(message_id: int) -> str:
    return f"dks-outbox-{message_id}"


class OutboxAlert(SQLModel, table=True):
    """A failure coordinators have been told about once (e.g. the bot left the channel)."""

    __tablename__ = "outbox_alert"
    __table_args__ = (UniqueConstraint("team_id", "alert_key", name="uq_outbox_alert_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    alert_key: str = Field(max_length=200)
    reason: str = Field(max_length=100)
    channel: str | None = Field(default=None, max_length=32)
    created_at: datetime | None = _utc_column()
    # Set when the problem went away (a post there succeeded, or the channel was changed).
    cleared_at: datetime | None = _utc_column()


class DeadlineDone(SQLModel, table=True):
    """One occurrence of a deadline marked «Ferdig» for the whole workspace."""

    __tablename__ = "deadline_done"
    __table_args__ = (
        UniqueConstraint("team_id", "deadline_id", "occurrence", name="uq_deadline_done"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    # No foreign key: deleting a deadline must not be blocked by its done marks.
    deadline_id: int
    occurrence: date
    done_by: str = Field(max_length=32)
    done_at: datetime | None = _utc_column()


class ReminderChannelChange(SQLModel, table=True):
    """Who chose the reminder channel, and when: shown in status, told about failures."""

    __tablename__ = "reminder_channel_change"
    __table_args__ = (Index("ix_reminder_channel_change_team", "team_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    channel_id: str | None = Field(default=None, max_length=32)
    user_id: str = Field(max_length=32)
    changed_at: datetime | None = _utc_column()
