"""Upcoming occurrences of deadlines and meetings, recurrence included."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar

from dateutil.rrule import rrule, rrulestr
from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from storage.folding import like_pattern
from storage.models import DatePrecision, Deadline, Meeting

Item = TypeVar("Item", bound=Deadline | Meeting)


@dataclass(frozen=True)
class Occurrence(Generic[Item]):
    item: Item
    start: date
    end: date | None
    # True for recurring dates after `confirmed_until`: shown as expected, not as fact.
    expected: bool = False

    @property
    def recurring(self) -> bool:
        return bool(self.item.rrule)


def parse_rule(rule: str, start: date) -> rrule:
    parsed = rrulestr(rule, dtstart=datetime.combine(start, time()))
    assert isinstance(parsed, rrule)
    return parsed


def _start_of(item: Deadline | Meeting) -> date | None:
    return item.due_date if isinstance(item, Deadline) else item.start_date


def _occurrences(item: Item, start: date, end: date | None) -> list[Occurrence[Item]]:
    first = _start_of(item)
    if first is None:
        return []
    length = (item.end_date - first) if item.end_date else None

    def occ(day: date) -> Occurrence[Item]:
        expected = bool(
            item.rrule and item.confirmed_until is not None and day > item.confirmed_until
        )
        return Occurrence(item, day, day + length if length is not None else None, expected)

    if not item.rrule:
        last = item.end_date or first
        if last >= start and (end is None or first <= end):
            return [occ(first)]
        return []
    rule = parse_rule(item.rrule, first)
    # An occurrence that started before the window but is still running counts.
    look_from = datetime.combine(start - (length or timedelta(0)), time())
    if end is None:
        nxt = rule.after(look_from, inc=True)
        return [occ(nxt.date())] if nxt else []
    days = rule.between(look_from, datetime.combine(end, time()), inc=True)
    return [occ(d.date()) for d in days]


def _filters(model: type[Item], team_id: str, query: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(model.team_id) == team_id]
    for term in (query or "").split():
        conditions.append(col(model.search_key).like(like_pattern(term), escape="\\"))
    return conditions


def upcoming(
    *,
    session: Session,
    model: type[Item],
    team_id: str,
    start: date,
    end: date | None,
    query: str | None = None,
) -> list[Occurrence[Item]]:
    """Occurrences overlapping [start, end] (end None: every upcoming one), soonest first.

    Non-recurring rows are filtered by the index on (team_id, date); recurring rows are few
    and expanded here, so the cost grows with what is shown, not with what is stored.
    """
    date_col = col(model.due_date) if model is Deadline else col(model.start_date)  # type: ignore[attr-defined]
    end_col = func.coalesce(col(model.end_date), date_col)
    window = [end_col >= start] if end is None else [end_col >= start, date_col <= end]
    stmt = select(model).where(
        *_filters(model, team_id, query),
        or_(and_(col(model.rrule).is_(None), *window), col(model.rrule).is_not(None)),
    )
    found: list[Occurrence[Item]] = []
    for item in session.exec(stmt):
        found.extend(_occurrences(item, start, end))
    found.sort(key=lambda o: (o.start, _time_of(o.item) or time(), o.item.title))
    return found


def undated(
    *, session: Session, model: type[Item], team_id: str, query: str | None = None
) -> Sequence[Item]:
    """Items known to happen that nobody has put a date on yet."""
    stmt = (
        select(model)
        .where(*_filters(model, team_id, query), col(model.precision) == DatePrecision.UNSET)
        .order_by(col(model.title))
    )
    return session.exec(stmt).all()


def count_items(*, session: Session, model: type[Item], team_id: str) -> int:
    stmt = select(func.count()).select_from(model).where(col(model.team_id) == team_id)
    return int(session.exec(stmt).one())


def _time_of(item: Deadline | Meeting) -> time | None:
    return item.due_time if isinstance(item, Deadline) else item.start_time
