"""Tables of the scheduled outbox and the reminders built on it.

The outbox is the one source of truth for every message the bot sends on a schedule:
reminders, and (from the feedback feature) prompts and follow-ups. One row is one intended
message; its `unique_key` makes scheduling idempotent and its `state` moves
pending → claimed → sent (or cancelled / failed / skipped).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# Instants are UTCDateTime columns (storage.models.base): done marks and channel changes
# use the same type.
from storage.models.base import utc_column


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
    due_at: datetime = utc_column(nullable=False)
    # When the tick may next look at the row: the due time, a retry time, or a lease's end.
    available_at: datetime = utc_column(nullable=False)
    attempts: int = 0
    # The row may already have been posted (a lost lease, a timeout): look before re-sending.
    needs_check: bool = False
    # Moved forward after downtime; the message says that it is late.
    late: bool = False
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = utc_column()
    # The first post not yet settled (recorded before posting): Slack may hold the message
    # from then on. Only such rows need the look in the channel's history after a takeover.
    attempted_at: datetime | None = utc_column()
    # The latest moment that post can have reached Slack (the lease end of the process that
    # attempted it, or when its answer failed): the look reads history up to here.
    check_until: datetime | None = utc_column()
    sent_at: datetime | None = utc_column()
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=300)
    created_at: datetime | None = utc_column()
    updated_at: datetime | None = utc_column()

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
    created_at: datetime | None = utc_column()
    # Set when the problem went away (a post there succeeded, or the channel was changed).
    cleared_at: datetime | None = utc_column()
