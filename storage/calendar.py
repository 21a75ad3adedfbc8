"""Upcoming occurrences of deadlines and meetings, recurrence included.

The one home of the rules every read path shares: how a recurring item's days are expanded
(`rule_days`, `next_day_not_done`), what an item's first day and clock time are (`start_of`,
`time_of`) and how occurrences are ordered (`sort_key`). The SQL reads here and the in-memory
copies in storage.snapshot both use them, so the two cannot drift apart.

Also which days are working days (no weekends, Norwegian public holidays or extra closed
days): reminders move to the working day before, snoozes and feedback follow-ups to the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar

import holidays
from dateutil.rrule import rrule, rrulestr
from sqlalchemy import ColumnElement, and_, func, literal_column, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.folding import like_pattern
from storage.models import DatePrecision, Deadline, Meeting

Item = TypeVar("Item", bound=Deadline | Meeting)


# --- working days ---------------------------------------------------------------------------


# Not public holidays in `holidays`, but Norwegian offices close (month, day).
DEFAULT_EXTRA_CLOSED_DAYS: tuple[tuple[int, int], ...] = ((12, 24), (12, 31))
_extra_closed_days: frozenset[tuple[int, int]] = frozenset(DEFAULT_EXTRA_CLOSED_DAYS)


def set_extra_closed_days(days: Iterable[tuple[int, int]]) -> None:
    """Days of the year (month, day) closed besides weekends and public holidays.

    Process-wide, set from `DKS_EXTRA_CLOSED_DAYS` when the settings are read: the scheduler's
    refresh, the CLI's preview and the feedback follow-ups plan without settings in hand, and
    every process must agree on the working days or they would move each other's reminders.
    """
    global _extra_closed_days
    _extra_closed_days = frozenset(days)


@lru_cache(maxsize=64)
def _norwegian_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("NO", years=[year]).keys())


def is_working_day(day: date) -> bool:
    return (
        day.weekday() < 5
        and (day.month, day.day) not in _extra_closed_days
        and day not in _norwegian_holidays(day.year)
    )


def previous_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the closest working day before it."""
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def next_working_day(after: date) -> date:
    """The first working day strictly after `after`."""
    day = after + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


# --- occurrences ----------------------------------------------------------------------------


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


HomeKind = Literal["deadline", "meeting"]


@dataclass(frozen=True, slots=True)
class HomeItem:
    """What the Home tab shows of a deadline or a meeting (hashable: rows are cached by it)."""

    kind: HomeKind
    id: int
    title: str
    precision: str = "day"
    date_note: str | None = None
    audience: str | None = None
    rrule: str | None = None
    start_time: time | None = None  # a deadline's due_time, a meeting's start_time
    end_time: time | None = None  # meetings only
    place: str | None = None  # meetings only
    form: str | None = None  # meetings only


@dataclass(frozen=True, slots=True)
class HomeOccurrence:
    """An Occurrence as the Home tab shows it: of a HomeItem, not of a whole row."""

    item: HomeItem
    start: date
    end: date | None
    # True for recurring dates after `confirmed_until`: shown as expected, not as fact.
    expected: bool = False


@lru_cache(maxsize=4096)
def parse_rule(rule: str, start: date) -> rrule:
    """The parsed rule, shared: parsing costs more than using it, and with `cache=True` the rrule
    keeps the dates it has produced, so expanding it again on the next request is a list walk.
    Callers must not change the returned object (rrule has no setters; `replace` copies)."""
    parsed = rrulestr(rule, dtstart=datetime.combine(start, time()), cache=True)
    assert isinstance(parsed, rrule)
    return parsed


def start_of(item: Deadline | Meeting) -> date | None:
    """A deadline's due date, a meeting's start date: the first day of the item."""
    return item.due_date if isinstance(item, Deadline) else item.start_date


def time_of(item: Deadline | Meeting | HomeItem) -> time | None:
    """A deadline's due time, a meeting's start time (a HomeItem carries either as start_time)."""
    return item.due_time if isinstance(item, Deadline) else item.start_time


def sort_key(occ: Occurrence[Any] | HomeOccurrence) -> tuple[date, time, str]:
    """How lists order occurrences: by day, then clock time (untimed first), then title.

    Ties keep the order they were found in (the sort is stable); reads that must break them
    (the Home tab) add the item id: `(*sort_key(occ), occ.item.id)`."""
    return occ.start, time_of(occ.item) or time(), occ.item.title


# (start, end, expected) of one occurrence.
Span = tuple[date, date | None, bool]


def _shifted(day: date, by: timedelta) -> date:
    """`day + by`, held at the first or last date there is: an item that spans millennia
    (year 1 to 9999, as only an old form or an import stores) must not make every list that
    holds it fail."""
    try:
        return day + by
    except OverflowError:
        return date.max if by > timedelta(0) else date.min


def _spans(
    first: date | None,
    end_date: date | None,
    rule: str | None,
    confirmed_until: date | None,
    start: date,
    end: date | None,
) -> list[Span]:
    """Occurrences of an item with these fields that overlap [start, end] (end None: the next)."""
    if first is None:
        return []
    length = (end_date - first) if end_date else None

    def span(day: date) -> Span:
        expected = bool(rule and confirmed_until is not None and day > confirmed_until)
        return day, _shifted(day, length) if length is not None else None, expected

    if not rule:
        last = end_date or first
        if last >= start and (end is None or first <= end):
            return [span(first)]
        return []
    # An occurrence that started before the window but is still running counts.
    look_from = _shifted(start, -length) if length else start
    return [span(day) for day in rule_days(rule, first, look_from, end)]


# One cache for the list reads (a window up to `end`) and the Home tab's (the next `count`):
# twice the size each of them had when they kept their own.
@lru_cache(maxsize=16384)
def rule_days(
    rule: str, first: date, look_from: date, end: date | None = None, count: int = 1
) -> tuple[date, ...]:
    """The days `rule` (first time `first`) gives from `look_from` on: every one up to `end`,
    or with end None the first `count` of them. Remembered, because every request of the day
    asks the same of the same rules, and parsing and expanding RRULEs was most of a reply's
    cost."""
    parsed = parse_rule(rule, first)
    since = datetime.combine(look_from, time())
    if end is None:
        return tuple(moment.date() for moment in parsed.xafter(since, count=count, inc=True))
    return tuple(d.date() for d in parsed.between(since, datetime.combine(end, time()), inc=True))


def next_day_not_done(
    rule: str,
    first: date,
    end: date | None,
    start: date,
    item_id: int,
    done: set[tuple[int, date]],
) -> date | None:
    """The first day of `rule` still running on or after `start` that is not done (`done`
    holds (item id, day) pairs; `end` is the first occurrence's last day, if it spans days)."""
    length = (end - first) if end else None
    look_from = _shifted(start, -length) if length else start
    wanted = 3
    while True:
        days = rule_days(rule, first, look_from, count=wanted)
        for day in days:
            if (item_id, day) not in done:
                return day
        if len(days) < wanted:
            return None
        wanted *= 2


def occurrences_of(item: Item, start: date, end: date | None) -> list[Occurrence[Item]]:
    """The item's occurrences that overlap [start, end] (end None: the next one)."""
    spans = _spans(start_of(item), item.end_date, item.rrule, item.confirmed_until, start, end)
    return [Occurrence(item, s, e, expected) for s, e, expected in spans]


def starts_on(item: Item, day: date) -> bool:
    """Whether one of the item's occurrences starts on that day."""
    return any(o.start == day for o in occurrences_of(item, day, day))


def load_items(*, session: Session, model: type[Item], ids: Iterable[int]) -> dict[int, Item]:
    """Rows by id in one query (a burst's renderers need hundreds at once)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    found = session.exec(select(model).where(col(model.id).in_(wanted)))
    return {int(item.id or 0): item for item in found}


def _filters(model: type[Item], team_id: str, query: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(model.team_id) == team_id]
    for term in (query or "").split():
        conditions.append(col(model.search_key).like(like_pattern(term), escape="\\"))
    return conditions


def _date_column(model: type[Item]) -> Any:
    return col(model.due_date) if model is Deadline else col(model.start_date)  # type: ignore[attr-defined]


def _time_column(model: type[Item]) -> Any:
    return col(model.due_time) if model is Deadline else col(model.start_time)  # type: ignore[attr-defined]


def _window(model: type[Item], start: date, end: date | None) -> list[ColumnElement[bool]]:
    """One-off rows overlapping [start, end]: served by the index on (team_id, date)."""
    date_col = _date_column(model)
    end_col = func.coalesce(col(model.end_date), date_col)
    return [end_col >= start] if end is None else [end_col >= start, date_col <= end]


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
    stmt = select(model).where(
        *_filters(model, team_id, query),
        or_(
            and_(col(model.rrule).is_(None), *_window(model, start, end)),
            col(model.rrule).is_not(None),
        ),
    )
    found: list[Occurrence[Item]] = []
    for item in session.exec(stmt):
        found.extend(occurrences_of(item, start, end))
    found.sort(key=sort_key)
    return found


@dataclass(frozen=True)
class UpcomingPage(Generic[Item]):
    """A slice of what `upcoming` returns, and how many occurrences there are in all."""

    occurrences: list[Occurrence[Item]]
    total: int


def upcoming_page(
    *,
    session: Session,
    model: type[Item],
    team_id: str,
    start: date,
    end: date | None,
    query: str | None = None,
    offset: int = 0,
    limit: int,
) -> UpcomingPage[Item]:
    """`upcoming(...)[offset : offset + limit]` and `len(upcoming(...))`, without loading the rest.

    A national workspace has thousands of upcoming rows and shows five or fifteen of them, so
    one-off rows are counted and paged in SQL; recurring rows are expanded from a few columns
    and loaded whole only when they are on the page.
    """
    filters = _filters(model, team_id, query)
    one_off = [col(model.rrule).is_(None), *_window(model, start, end)]
    date_col, time_col = _date_column(model), _time_column(model)
    total = int(
        session.exec(select(func.count()).select_from(model).where(*filters, *one_off)).one()
    )

    # (sort key, recurring row id or None, occurrence span or the loaded one-off occurrence)
    candidates: list[tuple[tuple[date, time, str], int | None, Any]] = []
    # sqlmodel's select() stops at four columns; this is plain SQLAlchemy Core.
    recurring = sa_select(
        col(model.id),
        date_col,
        col(model.end_date),
        col(model.rrule),
        col(model.confirmed_until),
        time_col,
        col(model.title),
    ).where(*filters, col(model.rrule).is_not(None))
    for row_id, first, end_date, rule, confirmed, at, title in session.connection().execute(
        recurring
    ):
        for span in _spans(first, end_date, rule, confirmed, start, end):
            candidates.append(((span[0], at or time(), title), row_id, span))
    total += len(candidates)

    wanted = offset + limit
    if wanted > 0 and total > len(candidates):
        title_col = col(model.title)
        if session.get_bind().dialect.name == "postgresql":
            # The merge below sorts titles by code point, as SQLite's default collation does;
            # PostgreSQL's "C" collation agrees, so LIMIT keeps the same rows.
            title_col = title_col.collate("C")  # type: ignore[assignment]
        page = (
            select(model)
            .where(*filters, *one_off)
            .order_by(date_col, func.coalesce(time_col, time()), title_col, col(model.id))
            .limit(wanted)
        )
        for item in session.exec(page):
            for occ in occurrences_of(item, start, end):
                candidates.append((sort_key(occ), None, occ))
    candidates.sort(key=lambda c: c[0])
    chosen = candidates[offset : offset + limit]

    ids = [row_id for _, row_id, _ in chosen if row_id is not None]
    items: dict[int | None, Item] = {}
    if ids:
        items = {i.id: i for i in session.exec(select(model).where(col(model.id).in_(ids)))}
    shown: list[Occurrence[Item]] = []
    for _, row_id, found in chosen:
        if row_id is None:
            shown.append(found)
        else:
            day, last, expected = found
            shown.append(Occurrence(items[row_id], day, last, expected))
    return UpcomingPage(shown, total)


def _undated(model: type[Item]) -> ColumnElement[bool]:
    # Written out, not bound: the partial index on undated rows (migration 0005) matches only a
    # literal, and PostgreSQL's generic plans never see a bound value.
    return col(model.precision) == literal_column(f"'{DatePrecision.UNSET.value}'")


def undated(
    *, session: Session, model: type[Item], team_id: str, query: str | None = None
) -> Sequence[Item]:
    """Items known to happen that nobody has put a date on yet."""
    stmt = (
        select(model)
        .where(*_filters(model, team_id, query), _undated(model))
        .order_by(col(model.title))
    )
    return session.exec(stmt).all()


def undated_titles(
    *, session: Session, model: type[Item], team_id: str, query: str | None = None
) -> list[str]:
    """The titles of `undated(...)`, in the same order, without loading whole rows."""
    stmt = (
        select(col(model.title))
        .where(*_filters(model, team_id, query), _undated(model))
        .order_by(col(model.title))
    )
    return list(session.exec(stmt).all())


def count_items(*, session: Session, model: type[Item], team_id: str) -> int:
    stmt = select(func.count()).select_from(model).where(col(model.team_id) == team_id)
    return int(session.exec(stmt).one())
