"""Tables for coordinators' own upkeep: the audit trail, pending imports and the workspace's
calendar feed. (Done marks on deadlines live in storage/models_outbox.py, shared with reminders.)

Instants are UTC. Anonymous feedback never reaches these tables: the audit records what
coordinators change in the calendar, contacts, schools and roles, never who answered what.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel, col

from storage.models import Contact, utcnow


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
    """A workspace's subscribable calendar: the secret token in its URL, and where Slack
    reaches the bot (learned from Slack's own signed requests, so the URL is right without
    configuration)."""

    __tablename__ = "calendar_feed"

    team_id: str = Field(primary_key=True, max_length=32)
    token: str | None = Field(default=None, max_length=64, unique=True)
    token_created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    token_created_by: str | None = Field(default=None, max_length=32)
    base_url: str | None = Field(default=None, max_length=300)


# «Skoler uten kulturkontakt» on every Home tab asks which schools have a current
# kulturkontakt; this covering index answers from the index alone, instead of reading every
# contact of the workspace (11 ms → under 1 ms at national scale). It belongs to the contact
# table but lives here, with the feature that needs it (storage/models.py is the foundation's).
KULTURKONTAKT_INDEX = Index(
    "ix_contact_team_role_school",
    col(Contact.team_id),
    col(Contact.role),
    col(Contact.historical),
    col(Contact.school_id),
)
