"""Change requests on the tour plan (endringsønsker på turnéplanen), collected in rounds.

After the county's programme release a coordinator opens a *round* with a closing date; each
school with performances answers «changes» (by filing requests) or «no changes», and the
coordinator decides on each request and sends the lot to the county. Every row is scoped by
Slack workspace (`team_id`).

A request keeps the performance as it was when filed (the tour plan's `forestilling_id`, the
production's title, the start): a re-import may move or drop the performance, and the county
needs to see what was asked about. Reasons and statuses are stored as codes and shown in the
reader's language (storage.changes has the words).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.base import utc_column


class ChangeReason(StrEnum):
    """Why a school wants a performance changed."""

    DAY_OFF = "day_off"  # elevfri dag
    TEST = "test"  # prøve/eksamen
    TRIP = "trip"  # tur/leirskole
    PUPILS = "pupils"  # for mange/få elever
    VENUE = "venue"  # lokale
    OTHER = "other"  # annet


class ChangeStatus(StrEnum):
    """Where a request stands; NEW and SENT are still open."""

    NEW = "new"  # ny
    SENT = "sent"  # sendt til fylket
    REJECTED = "rejected"  # avslått
    CHANGED = "changed"  # endret (by hand, or resolved by a re-import)
    WITHDRAWN = "withdrawn"  # trukket


OPEN_STATUSES = (ChangeStatus.NEW.value, ChangeStatus.SENT.value)


class AnswerKind(StrEnum):
    """A school's answer in a round."""

    CHANGES = "changes"  # the school filed at least one request
    NO_CHANGES = "no_changes"  # «Alt ser bra ut»


class ChangeRound(SQLModel, table=True):
    """One round of change requests for a workspace; the newest is the current one."""

    __tablename__ = "change_round"
    __table_args__ = (Index("ix_change_round_team_opened", "team_id", "opened_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    # The last day (local) schools can file, edit or withdraw; inclusive.
    closing_date: date
    # The deadline «Endringsønsker til turnéplanen» the round created (reminders as usual). No
    # foreign key: deleting the deadline must not be blocked by the round.
    deadline_id: int | None = None
    opened_by: str = Field(max_length=32)
    opened_at: datetime | None = utc_column(nullable=False)


class ChangeAnswer(SQLModel, table=True):
    """A school's answer in a round: «changes» or «no changes». At most one per school."""

    __tablename__ = "change_answer"
    __table_args__ = (UniqueConstraint("round_id", "school_id", name="uq_change_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    round_id: int = Field(
        sa_column=Column(Integer, ForeignKey("change_round.id", ondelete="CASCADE"), nullable=False)
    )
    school_id: int = Field(foreign_key="school.id")
    answer: str = Field(sa_type=String(16))
    answered_by: str = Field(max_length=32)
    answered_at: datetime | None = utc_column(nullable=False)


class ChangeRequest(SQLModel, table=True):
    """One school's wish to change one performance."""

    __tablename__ = "change_request"
    __table_args__ = (
        Index("ix_change_request_round_school", "round_id", "school_id"),
        Index("ix_change_request_team_status", "team_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    round_id: int = Field(
        sa_column=Column(Integer, ForeignKey("change_round.id", ondelete="CASCADE"), nullable=False)
    )
    school_id: int = Field(foreign_key="school.id")
    # The performance in the bot's tour plan, and as it was when filed.
    performance_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("performance.id", ondelete="SET NULL"), nullable=True),
    )
    external_key: str = Field(max_length=100)  # the tour plan's forestilling_id
    production_title: str = Field(max_length=200)
    starts_at: datetime | None = utc_column(nullable=False)  # UTC, as filed
    reason: str = Field(sa_type=String(16))  # ChangeReason
    # The wish: a date (with an optional time), or «any day in ISO week N» (wished_week with
    # wished_year), or neither (e.g. «lokale»: same day, another room).
    wished_date: date | None = None
    wished_time: time | None = None
    wished_week: int | None = None
    wished_year: int | None = None
    contact_person: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=1000)
    status: str = Field(default=ChangeStatus.NEW.value, sa_type=String(16))  # ChangeStatus
    filed_by: str = Field(max_length=32)
    filed_at: datetime | None = utc_column(nullable=False)
    updated_by: str | None = Field(default=None, max_length=32)
    updated_at: datetime | None = utc_column()
    status_by: str | None = Field(default=None, max_length=32)
    status_at: datetime | None = utc_column()
    # Set when a re-import of the tour plan moved the performance to the wished date: the
    # instant and the file's name.
    resolved_at: datetime | None = utc_column()
    resolved_by_import: str | None = Field(default=None, max_length=200)
