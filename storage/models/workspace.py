"""A workspace's settings and coordinators' own upkeep: who coordinates, where reminders go,
the calendar feed, pending imports, the audit trail, and the data version counters.

Instants are UTC. Anonymous feedback never reaches these tables: the audit records what
coordinators change in the calendar, contacts, schools and roles, never who answered what.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from storage.models.base import utc_column, utcnow


class Workspace(SQLModel, table=True):
    """Per-workspace settings row; later features fill in more."""

    team_id: str = Field(primary_key=True, max_length=32)
    reminder_channel_id: str | None = Field(default=None, max_length=32)
    reminders_paused: bool = False
    reminder_offsets_days: str | None = Field(default=None, max_length=64)
    seeded_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    uninstalled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # The workspace's written standard (nb, nn, en): channel posts, exports, the calendar feed.
    language: str | None = Field(default=None, max_length=8)


class DataVersion(SQLModel, table=True):
    """How often each part of a workspace's data has changed; bumped by database triggers.

    Each web process keeps the workspace's calendar and directory in memory (storage.snapshot)
    and compares these counters on every request: triggers (migration 0006) catch every
    writer, the CLI and other processes included, so no code path can forget to bump them.
    """

    __tablename__ = "data_version"
    team_id: str = Field(primary_key=True, max_length=32)
    calendar: int = 0  # deadline, meeting, deadline_done
    directory: int = 0  # contact, school, municipality
    settings: int = 0  # workspace, coordinator


class Coordinator(SQLModel, table=True):
    """People a coordinator has added (workspace admins and owners are coordinators anyway)."""

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    added_by: str | None = Field(default=None, max_length=32)


class UserLanguage(SQLModel, table=True):
    """A person's own language choice: it wins over the workspace's in what only they read
    (ephemeral replies, modals, their Home tab, DMs)."""

    __tablename__ = "user_language"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    language: str = Field(max_length=8)


class ReminderChannelChange(SQLModel, table=True):
    """Who chose the reminder channel, and when: shown in status, told about failures."""

    __tablename__ = "reminder_channel_change"
    __table_args__ = (Index("ix_reminder_channel_change_team", "team_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    channel_id: str | None = Field(default=None, max_length=32)
    user_id: str = Field(max_length=32)
    changed_at: datetime | None = utc_column()


class AuditEntry(SQLModel, table=True):
    """One change: who (Slack user, or None for the command line), when, what."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_item", "team_id", "item_kind", "item_id", "at"),
        Index("ix_audit_team_at", "team_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    user_id: str | None = Field(default=None, max_length=32)
    # "slack" or "cli": where the change came from.
    source: str = Field(default="slack", max_length=16)
    # create, update, delete, done, import, add, remove, rotate
    action: str = Field(max_length=16)
    # deadline, meeting, contact, school, municipality, coordinator, calendar_feed, import
    item_kind: str = Field(max_length=16)
    item_id: int | None = None
    # What a person reads: the item's title or name, or a short description.
    summary: str = Field(default="", max_length=300)
    # JSON {"field": [old, new], …} for updates; the whole row for creates and deletes.
    changes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class PendingImport(SQLModel, table=True):
    """A file uploaded in Slack, validated and previewed, waiting for the coordinator's «ok».

    The preview modal carries only `id` (random, unguessable); the confirmation imports what
    was previewed, from this row, and deletes it.
    """

    __tablename__ = "pending_import"

    id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=32, index=True)
    user_id: str = Field(max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    filename: str = Field(max_length=200)
    # "kontakter" (CSV) or "kalender" (YAML)
    kind: str = Field(max_length=16)
    content: str = Field(sa_column=Column(Text, nullable=False))


class CalendarFeed(SQLModel, table=True):
    """A workspace's subscribable calendar: the SHA-256 of the secret token in its URL (the
    token itself is shown once, when made; storage.ics), and where Slack reaches the bot."""

    __tablename__ = "calendar_feed"

    team_id: str = Field(primary_key=True, max_length=32)
    token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    token_created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    token_created_by: str | None = Field(default=None, max_length=32)
    base_url: str | None = Field(default=None, max_length=300)
