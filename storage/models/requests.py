"""Requests already acted on: the replay guard's keys (storage/replay.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from storage.models.base import UTCDateTime, utcnow


class RequestReplay(SQLModel, table=True):
    """One row per request that wrote (its Slack signature) or event handled (its event_id),
    kept a little longer than Slack's five-minute signature window and then pruned."""

    __tablename__ = "request_replay"

    key: str = Field(primary_key=True, max_length=100)
    seen_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(UTCDateTime(), nullable=False, index=True),
    )
