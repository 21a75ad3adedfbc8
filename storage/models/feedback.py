"""Tour plan (productions, performances) and evaluation feedback after each performance.

Performances store their start and end as UTC instants: the bot acts on them (the prompt goes
out when a performance ends). Dates are shown in BOT_TIMEZONE.

Anonymous answers keep no Slack user id and no name. `respondent_key` is an HMAC of the
sender's user id (keyed with DKS_SECRET_KEY): it lets the sender edit, and stops a double
submit from storing two answers, and it is set to NULL when the edit window closes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.models.base import utcnow


class ArtForm(StrEnum):
    """The art forms DKS sorts its productions into (Kulturtanken's categories)."""

    MUSIC = "musikk"
    PERFORMING_ARTS = "scenekunst"
    VISUAL_ARTS = "visuell kunst"
    FILM = "film"
    LITERATURE = "litteratur"
    CULTURAL_HERITAGE = "kulturarv"
    INTERDISCIPLINARY = "tverrkunstnerisk"


class PupilHosts(StrEnum):
    """Did pupil hosts (elevarrangører) take part?"""

    YES = "ja"
    NO = "nei"
    UNKNOWN = "vet ikke"


class Production(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("team_id", "title_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    title: str = Field(max_length=200)
    # The folded title: one production per title, however a file spells its case or accents.
    title_key: str = Field(max_length=200)
    art_form: str = Field(sa_type=String(32))
    producer: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class Performance(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "external_key"),
        Index("ix_performance_team_start", "team_id", "starts_at"),
        # The Home tab's «Tilbakemeldinger som mangler»: the newest performances held.
        Index("ix_performance_team_ends", "team_id", "ends_at"),
        # Covers «performances held per production» (response rates) without touching rows.
        Index("ix_performance_team_production", "team_id", "production_id", "ends_at", "cancelled"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    # The tour plan's own id for the performance («forestilling_id»): re-imports match on it.
    external_key: str = Field(max_length=100)
    production_id: int = Field(foreign_key="production.id")
    school_id: int = Field(foreign_key="school.id")
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    venue: str | None = Field(default=None, max_length=200)
    grade_levels: str | None = Field(default=None, max_length=60)
    expected_pupils: int | None = None
    cancelled: bool = False
    # Folded production, school, municipality and date, for the type-ahead.
    search_key: str = Field(default="", max_length=800)


class TourplanState(SQLModel, table=True):
    """One row per workspace; `version` goes up whenever its performances change.

    Lets every process keep its type-ahead index in memory and know when it is stale.
    """

    team_id: str = Field(primary_key=True, max_length=32)
    version: int = 0
    changed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class FeedbackAnswer(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("team_id", "performance_id", "respondent_key"),
        # Covers the per-production summary (counts, averages, newest answer): with 100,000
        # answers the overview reads this index only, not the rows.
        Index(
            "ix_feedbackanswer_team_production",
            "team_id",
            "production_id",
            "performance_id",
            "created_at",
            "rating_overall",
            "rating_artistic",
            "rating_relevance",
            "rating_pupils",
            "rating_practical",
        ),
        Index("ix_feedbackanswer_performance", "performance_id"),
        Index("ix_feedbackanswer_team_respondent", "team_id", "respondent_key"),
        # Only answers that still carry a key (the last 14 days'): finding expired keys stays
        # quick however many old answers there are.
        Index(
            "ix_feedbackanswer_open_keys",
            "edit_until",
            sqlite_where=text("respondent_key IS NOT NULL"),
            postgresql_where=text("respondent_key IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    performance_id: int = Field(foreign_key="performance.id")
    # Copied from the performance so summaries group without a join.
    production_id: int = Field(foreign_key="production.id")
    anonymous: bool = False
    # NULL for anonymous answers.
    user_id: str | None = Field(default=None, max_length=32)
    # HMAC-SHA256 of team and user id, hex; NULL once the edit window has closed.
    respondent_key: str | None = Field(default=None, max_length=64)
    # Ratings 1 («ikke bra») to 5 («svært bra»).
    rating_overall: int
    rating_artistic: int
    rating_relevance: int
    rating_pupils: int
    rating_practical: int
    comment_overall: str | None = Field(default=None, max_length=1000)
    comment_artistic: str | None = Field(default=None, max_length=1000)
    comment_relevance: str | None = Field(default=None, max_length=1000)
    comment_pupils: str | None = Field(default=None, max_length=1000)
    comment_practical: str | None = Field(default=None, max_length=1000)
    pupil_hosts: str | None = Field(default=None, sa_type=String(16))
    pupils_attended: int | None = None
    free_comment: str | None = Field(default=None, max_length=3000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    edit_until: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
