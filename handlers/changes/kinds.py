"""The scheduled messages: the follow-up to a school that has answered neither way, five and two
working days before the round's closing date; and a request's new status, told in a DM.

storage.changes plans the rows when a round opens (never one whose time has passed: a short
round skips them, nothing is sent late), cancels a school's when it answers and plans them
again when it withdraws its last request. This renders them when they are due, and asks again
at send time: a school that answered meanwhile, a round that closed or went away, a school
with no performances left or nobody in Slack to ask, gets nothing.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.changes.views import invitation, status_message
from handlers.core.outbox_kinds import RenderedMessage
from handlers.core.values import row_id, whole_number
from storage.changes import get_request, get_round, round_is_open, school_in_round
from storage.models import OutboxMessage


def render_followup(session: Session, row: OutboxMessage, now: datetime) -> RenderedMessage | None:
    payload = row.payload or {}
    round_id = row_id(payload.get("round_id"))
    school_id = row_id(payload.get("school_id"))
    if round_id is None or school_id is None:
        return None
    round_ = get_round(session=session, team_id=row.team_id, round_id=round_id)
    if round_ is None:
        return None
    tz = ZoneInfo(str(payload.get("tz") or "Europe/Oslo"))
    if not round_is_open(round_, today=now.astimezone(tz).date()):
        return None
    school = school_in_round(
        session=session, team_id=row.team_id, round_id=round_id, school_id=school_id, tz=tz
    )
    if school is None or school.answer is not None or not school.performances:
        return None
    if not school.kulturkontakt_users:
        return None
    target = (
        row.target if row.target in school.kulturkontakt_users else school.kulturkontakt_users[0]
    )
    text, blocks = invitation(
        round_id=round_id,
        closing_date=round_.closing_date,
        school=school.school,
        followup=whole_number(payload.get("followup"), at_most=9) or 1,
    )
    return RenderedMessage(
        text=text, blocks=blocks, channel=None if target == row.target else target
    )


def render_status(session: Session, row: OutboxMessage, now: datetime) -> RenderedMessage | None:
    """A request's new status, told to one person (queued by storage.changes, e.g. when a new
    tour plan moved the performance to the wished date); nothing when the request is gone or
    its status has changed again since."""
    payload = row.payload or {}
    request_id = row_id(payload.get("request_id"))
    if request_id is None:
        return None
    tz = ZoneInfo(str(payload.get("tz") or "Europe/Oslo"))
    line = get_request(session=session, team_id=row.team_id, request_id=request_id, tz=tz)
    if line is None or line.status != payload.get("status"):
        return None
    text, blocks = status_message(line)
    return RenderedMessage(text=text, blocks=blocks)
