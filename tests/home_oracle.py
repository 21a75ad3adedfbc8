"""The SQL reference for the Home tab: what the in-memory snapshot must answer.

The Home tab reads storage.snapshot; tests/test_snapshot.py checks that its answers are the
ones these queries give on SQLite and PostgreSQL. They used to be the Home tab's own reads,
so they are written as production reads are: only the columns the tab shows (plain SQLAlchemy
Core rows, no ORM entities), counts folded into one round trip, one query per list.
`next_occurrences` is the same question asked with whole ORM rows, as `/dks frist` and
`/dks møte` see them (tests/test_editing_storage.py checks it against storage.calendar).

Recurrence and ordering come from storage.calendar, as in the snapshot: the oracle checks the
reads, not a second copy of the rules.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from functools import lru_cache
from typing import Any, TypeVar, cast

from sqlalchemy import Date, Integer, String, and_, bindparam, exists, func, literal, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage import reminders as reminder_store
from storage.calendar import (
    HomeItem,
    HomeKind,
    HomeOccurrence,
    Occurrence,
    next_day_not_done,
    sort_key,
    start_of,
)
from storage.items import KULTURKONTAKT
from storage.models import Contact, Deadline, DeadlineDone, Meeting, Municipality, School, Workspace
from storage.snapshot import HomeCounts

Item = TypeVar("Item", Deadline, Meeting)


def _columns(kind: HomeKind) -> list[Any]:
    """The shown columns, in HomeItem's order after `kind`, then the first date and end_date."""
    if kind == "deadline":
        d = Deadline
        return [
            col(d.id),
            col(d.title),
            col(d.precision),
            col(d.date_note),
            col(d.audience),
            col(d.rrule),
            col(d.due_time),
            literal(None).label("end_time"),
            literal(None).label("place"),
            literal(None).label("form"),
            col(d.due_date),
            col(d.end_date),
        ]
    m = Meeting
    return [
        col(m.id),
        col(m.title),
        col(m.precision),
        col(m.date_note),
        col(m.audience),
        col(m.rrule),
        col(m.start_time),
        col(m.end_time),
        col(m.place),
        col(m.form),
        col(m.start_date),
        col(m.end_date),
    ]


def _item(kind: HomeKind, row: Any) -> HomeItem:
    return HomeItem(kind, *row[:10])


@lru_cache(maxsize=8)
def _one_off_stmt(kind: HomeKind) -> Any:
    """Dated one-off rows still running on or after :start, soonest first, :limit of them.

    Built once: composing a statement costs about as much as SQLite takes to run it."""
    model: Any = Deadline if kind == "deadline" else Meeting
    date_col, time_col = _date_time(kind)
    team = _team()
    stmt = sa_select(*_columns(kind)).where(
        col(model.team_id) == team,
        col(model.rrule).is_(None),
        date_col.is_not(None),
        func.coalesce(col(model.end_date), date_col) >= bindparam("start", type_=Date),
    )
    if kind == "deadline":
        stmt = stmt.where(
            ~exists().where(
                col(DeadlineDone.team_id) == team,
                col(DeadlineDone.deadline_id) == col(Deadline.id),
                col(DeadlineDone.occurrence) == col(Deadline.due_date),
            )
        )
    return stmt.order_by(date_col, time_col, col(model.title), col(model.id)).limit(_limit())


@lru_cache(maxsize=8)
def _recurring_stmt(kind: HomeKind) -> Any:
    """Every dated recurring row (few), with confirmed_until and, for deadlines, one row per
    done mark (its occurrence; NULL without any): they ride along instead of costing a query."""
    model: Any = Deadline if kind == "deadline" else Meeting
    date_col, _ = _date_time(kind)
    team = _team()
    if kind == "deadline":
        stmt = sa_select(
            *_columns(kind), col(model.confirmed_until), col(DeadlineDone.occurrence)
        ).outerjoin(
            DeadlineDone,
            and_(
                col(DeadlineDone.team_id) == team,
                col(DeadlineDone.deadline_id) == col(Deadline.id),
            ),
        )
    else:
        stmt = sa_select(*_columns(kind), col(model.confirmed_until))
    return stmt.where(
        col(model.team_id) == team, col(model.rrule).is_not(None), date_col.is_not(None)
    )


def _date_time(kind: HomeKind) -> tuple[Any, Any]:
    if kind == "deadline":
        return col(Deadline.due_date), col(Deadline.due_time)
    return col(Meeting.start_date), col(Meeting.start_time)


def next_home_occurrences(
    *, session: Session, kind: HomeKind, team_id: str, start: date, limit: int
) -> tuple[list[HomeOccurrence], bool]:
    """The first `limit` occurrences still running on or after `start`, soonest first, and
    whether there are more: every dated one-off item, and the next occurrence of each
    recurring one; deadline occurrences marked done are left out. Two queries: the one-off
    rows through the (team_id, date) index, and the recurring rows with their done marks."""
    conn = session.connection()
    found: list[HomeOccurrence] = []
    params = {"team_id": team_id, "start": start, "limit": limit + 1}
    for row in conn.execute(_one_off_stmt(kind), params).all():
        found.append(HomeOccurrence(_item(kind, row), row[10], row[11]))

    rows: dict[int, Any] = {}
    done: set[tuple[int, date]] = set()
    for row in conn.execute(_recurring_stmt(kind), {"team_id": team_id}).all():
        rows[row[0]] = row
        if kind == "deadline" and row[13] is not None:
            done.add((row[0], row[13]))

    # One occurrence per recurring item, as `/dks frist alle` shows them.
    candidates: list[tuple[date, time, str, int]] = []
    for item_id, row in rows.items():
        day = next_day_not_done(row[5], row[10], row[11], start, item_id, done)
        if day is not None:
            candidates.append((day, row[6] or time(), row[1], item_id))
    candidates.sort()
    for day, _, _, item_id in candidates[: limit + 1]:
        row = rows[item_id]
        first, end_date, confirmed = row[10], row[11], row[12]
        length: timedelta | None = (end_date - first) if end_date else None
        expected = confirmed is not None and day > confirmed
        found.append(
            HomeOccurrence(_item(kind, row), day, day + length if length else None, expected)
        )
    found.sort(key=lambda occ: (*sort_key(occ), occ.item.id))
    return found[:limit], len(found) > limit


def _team() -> Any:
    return bindparam("team_id", type_=String)


def _limit() -> Any:
    return bindparam("limit", type_=Integer)


@lru_cache(maxsize=1)
def _undated_stmt() -> Any:
    parts: list[Any] = [
        sa_select(
            literal(rank).label("rank"),
            col(model.id).label("id"),
            col(model.title).label("title"),
            col(model.date_note).label("date_note"),
        ).where(col(model.team_id) == _team(), date_col.is_(None))
        for rank, model, date_col in (
            (0, Deadline, col(Deadline.due_date)),
            (1, Meeting, col(Meeting.start_date)),
        )
    ]
    both = union_all(*parts).subquery()
    return sa_select(both).order_by(both.c.rank, both.c.title, both.c.id).limit(_limit())


def undated_home_items(*, session: Session, team_id: str, limit: int) -> list[HomeItem]:
    """The first `limit` items without a date: deadlines (by title) before meetings (by title)."""
    params = {"team_id": team_id, "limit": limit}
    return [
        HomeItem("deadline" if rank == 0 else "meeting", item_id, title, date_note=note)
        for rank, item_id, title, note in session.connection().execute(_undated_stmt(), params)
    ]


def _count(model: Any, *where: Any) -> Any:
    return sa_select(func.count()).select_from(model).where(*where).scalar_subquery()


@lru_cache(maxsize=1)
def _counts_stmt() -> Any:
    team = _team()
    return sa_select(
        _count(School, col(School.team_id) == team),
        _count(Deadline, col(Deadline.team_id) == team, col(Deadline.due_date).is_(None)),
        _count(Meeting, col(Meeting.team_id) == team, col(Meeting.start_date).is_(None)),
        sa_select(col(Workspace.reminder_channel_id))
        .where(col(Workspace.team_id) == team)
        .scalar_subquery(),
        sa_select(col(Workspace.reminders_paused))
        .where(col(Workspace.team_id) == team)
        .scalar_subquery(),
    )


def home_counts(*, session: Session, team_id: str) -> HomeCounts:
    """The schools, the undated items and the workspace's reminder settings, in one query."""
    found = session.connection().execute(_counts_stmt(), {"team_id": team_id}).one()
    schools, deadlines, meetings, channel, paused = found
    return HomeCounts(int(schools), int(deadlines) + int(meetings), channel, bool(paused))


@lru_cache(maxsize=1)
def _schools_missing_stmt() -> Any:
    team = _team()
    covered = (
        sa_select(col(Contact.school_id))
        .where(
            col(Contact.team_id) == team,
            col(Contact.school_id).is_not(None),
            col(Contact.role) == KULTURKONTAKT,
            col(Contact.historical).is_(False),
        )
        .distinct()
    )
    return (
        sa_select(col(School.name), col(Municipality.name), func.count().over())
        .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
        .where(col(School.team_id) == team, col(School.id).not_in(covered))
        .order_by(col(Municipality.name), col(School.name), col(School.id))
        .limit(_limit())
    )


def schools_missing_kulturkontakt(
    *, session: Session, team_id: str, limit: int
) -> tuple[list[tuple[str, str | None]], int]:
    """The first `limit` schools where nobody current is «kulturkontakt», as (name,
    municipality) by municipality and name, and how many there are."""
    params = {"team_id": team_id, "limit": limit}
    found = session.connection().execute(_schools_missing_stmt(), params).all()
    return [(name, muni) for name, muni, _ in found], int(found[0][2]) if found else 0


def next_occurrences(
    *, session: Session, model: type[Item], team_id: str, start: date, limit: int
) -> tuple[list[Occurrence[Item]], bool]:
    """The first `limit` occurrences still running on or after `start`, soonest first, and
    whether there are more: every dated one-off item, and the next occurrence of each
    recurring one. Deadline occurrences marked done are left out."""
    date_col = col(Deadline.due_date) if model is Deadline else col(Meeting.start_date)
    end_col = func.coalesce(col(model.end_date), date_col)
    plain = select(model).where(
        col(model.team_id) == team_id,
        col(model.rrule).is_(None),
        date_col.is_not(None),
        end_col >= start,
    )
    if model is Deadline:
        plain = plain.where(
            ~exists().where(
                col(DeadlineDone.team_id) == team_id,
                col(DeadlineDone.deadline_id) == col(Deadline.id),
                col(DeadlineDone.occurrence) == col(Deadline.due_date),
            )
        )
    time_col = col(Deadline.due_time) if model is Deadline else col(Meeting.start_time)
    plain = plain.order_by(date_col, time_col, col(model.title), col(model.id)).limit(limit + 1)
    found: list[Occurrence[Item]] = []
    for item in session.exec(plain):
        first = cast(date, start_of(item))
        found.append(Occurrence(item, first, item.end_date))
    # Recurring items are read as plain columns first: most of them are not shown, and
    # building ORM rows for all of them cost more than the rest of the Home tab.
    light = sa_select(
        col(model.id), col(model.rrule), date_col, col(model.end_date), col(model.title), time_col
    ).where(col(model.team_id) == team_id, col(model.rrule).is_not(None), date_col.is_not(None))
    recurring = [tuple(row) for row in session.execute(light)]
    done = (
        reminder_store.done_occurrences(
            session=session, team_id=team_id, deadline_ids=[r[0] for r in recurring]
        )
        if model is Deadline and recurring
        else set()
    )
    # One occurrence per recurring item, as `/dks frist alle` shows them: a monthly meeting
    # must not crowd everything else off a short list.
    candidates: list[tuple[date, time, str, int]] = []
    for item_id, rule, first, end, title, clock in recurring:
        day = next_day_not_done(rule, first, end, start, item_id, done)
        if day is not None:
            candidates.append((day, clock or time(), title, item_id))
    candidates.sort()
    chosen = candidates[: limit + 1]
    rows = (
        {
            row.id: row
            for row in session.exec(select(model).where(col(model.id).in_([c[3] for c in chosen])))
        }
        if chosen
        else {}
    )
    for day, _, _, item_id in chosen:
        item = rows[item_id]
        first = cast(date, start_of(item))
        length = (item.end_date - first) if item.end_date else None
        expected = item.confirmed_until is not None and day > item.confirmed_until
        found.append(Occurrence(item, day, day + length if length else None, expected))
    found.sort(key=lambda occ: (*sort_key(occ), occ.item.id or 0))
    return found[:limit], len(found) > limit
