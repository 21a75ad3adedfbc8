"""Deadlines and meetings, and the done marks on deadline occurrences.

Calendar items keep *local* dates and wall-clock times (interpreted in BOT_TIMEZONE):
a meeting «kl. 09:00» stays at 09:00 across daylight-saving changes and yearly recurrences.
Every row is scoped by Slack workspace (`team_id`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.models.base import utc_column


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


# The type a meeting has when nobody named one: stored as data, shown in the reader's words.
PLAIN_MEETING_KIND = "møte"


class MeetingBase(CalendarItemBase):
    kind: str = Field(default=PLAIN_MEETING_KIND, max_length=60)
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
    done_at: datetime | None = utc_column()
