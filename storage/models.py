"""SQLModel tables. Every row is scoped by Slack workspace (`team_id`).

Calendar items keep *local* dates and wall-clock times (interpreted in BOT_TIMEZONE):
a meeting «kl. 09:00» stays at 09:00 across daylight-saving changes and yearly recurrences.
Instants the bot acts on (outbox, audit) are stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class DatePrecision(StrEnum):
    """How exact a stored date is: real schedules say «oktober 2024» or «uke 40–44»."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    UNSET = "unset"  # known to happen (e.g. «to ganger i året») but not yet dated


class MeetingForm(StrEnum):
    DIGITAL = "digital"
    PHYSICAL = "fysisk"
    HYBRID = "hybrid"
    UNKNOWN = "ukjent"


class Workspace(SQLModel, table=True):
    """Per-workspace settings row; later features fill in more."""

    team_id: str = Field(primary_key=True, max_length=32)
    reminder_channel_id: str | None = Field(default=None, max_length=32)
    reminders_paused: bool = False
    reminder_offsets_days: str | None = Field(default=None, max_length=64)
    seeded_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    uninstalled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


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


class MunicipalityBase(SQLModel):
    team_id: str = Field(index=True, max_length=32)
    name: str = Field(max_length=200)
    county: str | None = Field(default=None, max_length=200)
    number: str | None = Field(default=None, max_length=8)


class Municipality(MunicipalityBase, table=True):
    __table_args__ = (UniqueConstraint("team_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)


class SchoolBase(SQLModel):
    team_id: str = Field(index=True, max_length=32)
    name: str = Field(max_length=200)
    municipality_id: int | None = Field(default=None, foreign_key="municipality.id")


class School(SchoolBase, table=True):
    __table_args__ = (UniqueConstraint("team_id", "municipality_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)


class ContactBase(SQLModel):
    team_id: str = Field(max_length=32)
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=100)
    organisation: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    purpose: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=500)
    historical: bool = False
    slack_user_id: str | None = Field(default=None, max_length=32)
    school_id: int | None = Field(default=None, foreign_key="school.id")
    municipality_id: int | None = Field(default=None, foreign_key="municipality.id")
    external_key: str | None = Field(default=None, max_length=100)


class Contact(ContactBase, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "external_key"),
        Index("ix_contact_team_search", "team_id", "search_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    search_key: str = Field(default="", max_length=2000)


class CalendarItemBase(SQLModel):
    """Fields shared by deadlines and meetings."""

    team_id: str = Field(max_length=32)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    link: str | None = Field(default=None, max_length=500)
    audience: str | None = Field(default=None, max_length=200)
    # Plain strings, not native enums: portable, and new values need no ALTER TYPE.
    precision: DatePrecision = Field(default=DatePrecision.DAY, sa_type=String(16))
    # Free text for dates no precision captures, e.g. «juni eller august 2025».
    date_note: str | None = Field(default=None, max_length=200)
    # RFC 5545 RRULE (without DTSTART), e.g. "FREQ=YEARLY;UNTIL=20200901".
    rrule: str | None = Field(default=None, max_length=300)
    # Occurrences after this date are shown as expected until a coordinator confirms them.
    confirmed_until: date | None = None
    reminder_offsets_days: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=300)
    external_key: str | None = Field(default=None, max_length=100)


class DeadlineBase(CalendarItemBase):
    due_date: date | None = None
    due_time: time | None = None
    end_date: date | None = None


class Deadline(DeadlineBase, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "external_key"),
        Index("ix_deadline_team_due", "team_id", "due_date"),
        # Partial indexes (migration 0005): the few recurring and undated rows every list reads.
        Index(
            "ix_deadline_team_recurring",
            "team_id",
            "due_date",
            "end_date",
            "rrule",
            "confirmed_until",
            "due_time",
            "title",
            sqlite_where=text("rrule IS NOT NULL"),
            postgresql_where=text("rrule IS NOT NULL"),
        ),
        Index(
            "ix_deadline_team_undated",
            "team_id",
            "title",
            sqlite_where=text("precision = 'unset'"),
            postgresql_where=text("precision = 'unset'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    search_key: str = Field(default="", max_length=3000)


class MeetingBase(CalendarItemBase):
    kind: str = Field(default="møte", max_length=60)
    start_date: date | None = None
    start_time: time | None = None
    end_date: date | None = None
    end_time: time | None = None
    place: str | None = Field(default=None, max_length=200)
    form: MeetingForm = Field(default=MeetingForm.UNKNOWN, sa_type=String(16))


class Meeting(MeetingBase, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "external_key"),
        Index("ix_meeting_team_start", "team_id", "start_date"),
        # Partial indexes (migration 0005): the few recurring and undated rows every list reads.
        Index(
            "ix_meeting_team_recurring",
            "team_id",
            "start_date",
            "end_date",
            "rrule",
            "confirmed_until",
            "start_time",
            "title",
            sqlite_where=text("rrule IS NOT NULL"),
            postgresql_where=text("rrule IS NOT NULL"),
        ),
        Index(
            "ix_meeting_team_undated",
            "team_id",
            "title",
            sqlite_where=text("precision = 'unset'"),
            postgresql_where=text("precision = 'unset'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    search_key: str = Field(default="", max_length=3000)
