"""The scheduled messages: the prompt after a performance, its follow-ups, and the purge of
the keys that could tell who sent an answer once its edit window closes.

storage.feedback.sync_prompts plans the rows; these render them when they are due.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from handlers.core.outbox_kinds import RenderedMessage
from handlers.core.services import Services
from handlers.feedback.views import prompt_blocks
from storage.feedback import forget_expired, has_answer, prompt_plan
from storage.models import OutboxMessage
from storage.tourplan import feedback_target, get_performance


def render_prompt(session: Session, row: OutboxMessage, now: datetime) -> RenderedMessage | None:
    """Ask about a performance, unless it is gone, cancelled, moved or already answered."""
    payload = row.payload or {}
    performance_id = payload.get("performance_id")
    if not isinstance(performance_id, int):
        return None
    performance = get_performance(
        session=session, team_id=row.team_id, performance_id=performance_id
    )
    if performance is None or performance.cancelled:
        return None
    if has_answer(session=session, team_id=row.team_id, performance_id=performance_id):
        return None
    tz = ZoneInfo(str(payload.get("tz") or "Europe/Oslo"))
    if row.unique_key not in {key for _, key, _, _ in prompt_plan(performance, tz)}:
        return None  # the performance moved; the rows for its new time do the asking
    target = feedback_target(session=session, team_id=row.team_id, school_id=performance.school_id)
    if target is None:
        return None
    text, blocks = prompt_blocks(
        performance, tz, now=now, followup=int(payload.get("followup") or 0)
    )
    return RenderedMessage(
        text=text, blocks=blocks, channel=None if target == row.target else target
    )


def render_forget(session: Session, row: OutboxMessage, now: datetime) -> None:
    """An edit window closed: delete the keys that could tell who sent those answers.

    Nothing is posted (None); the purge gets its own write transaction, since the tick hands
    renderers a read session.
    """
    bind = session.get_bind()
    forget_expired(bind if isinstance(bind, Engine) else bind.engine, now=now)


def forget_quietly(services: Services, logger: logging.Logger) -> None:
    """Also purge on the way through feedback requests: if the scheduler was down when a
    window closed (its «forget» row is then skipped), the key still goes soon after."""
    try:
        forget_expired(services.engine, now=services.clock())
    except SQLAlchemyError:
        logger.warning("could not purge expired feedback keys now; the next request tries again")
