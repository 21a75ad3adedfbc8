"""Tour plan queries: performances, the type-ahead over them, and who gets the prompt.

The type-ahead («produksjon – skole – dato», newest first) answers inside the ack of a
`block_suggestion`, so it has to be fast with tens of thousands of performances. A LIKE
'%term%' scan cannot use an index, so each process keeps a per-workspace index in memory:
the folded search keys, newest first, joined into one string that `str.find` scans at C speed.
A one-row lookup of `TourplanState.version` per request tells a process when its copy is stale.
"""

from __future__ import annotations

import re
import threading
import weakref
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.folding import fold, like_pattern
from storage.models import Contact, Municipality, School, Workspace
from storage.models_feedback import Performance, Production, TourplanState

KULTURKONTAKT = "kulturkontakt"
_NOT_WORD = re.compile(r"[^\w.\-]+")
MAX_SUGGESTIONS = 100  # Slack shows at most 100 options


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored instant is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_to_utc(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


@lru_cache(maxsize=4096)
def _long_date(day: date) -> str:
    return format_date(day, "d. MMMM y", locale="nb_NO")


def performance_search_key(
    *, title: str, school: str, municipality: str | None, day: date, venue: str | None = None
) -> str:
    """What the type-ahead matches: production, school, municipality, venue and the date
    written the ways people type it (24.11.2026, 2026-11-24, 24. november 2026)."""
    parts = [title, school, municipality or "", venue or ""]
    dates = [f"{day.day:02d}.{day.month:02d}.{day.year}", day.isoformat(), _long_date(day)]
    return " " + search_words(" ".join(p for p in (*parts, *dates) if p))[:798]


def search_words(text: str) -> str:
    """Folded words separated by single spaces; punctuation other than «.» and «-» is a space,
    so «Brødrene Løvehjerte – en fortelling» matches a query for «løvehjerte»."""
    return " ".join(_NOT_WORD.sub(" ", fold(text)).split())


# --- Versions ----------------------------------------------------------------------------------


def tourplan_version(*, session: Session, team_id: str) -> int:
    # A Core query on the session's connection: asked on every type-ahead keystroke, and the
    # ORM's identity-map machinery would cost more than the query.
    stmt = sa_select(col(TourplanState.version)).where(col(TourplanState.team_id) == team_id)
    found = session.connection().execute(stmt).scalar()
    return int(found) if found is not None else 0


def bump_tourplan_version(*, session: Session, team_id: str, now: datetime) -> int:
    state = session.get(TourplanState, team_id)
    if state is None:
        state = TourplanState(team_id=team_id, version=0)
    state.version += 1
    state.changed_at = now
    session.add(state)
    session.flush()
    return state.version


# --- Single performances -----------------------------------------------------------------------


@dataclass(frozen=True)
class PerformanceInfo:
    id: int
    team_id: str
    external_key: str
    production_id: int
    title: str
    art_form: str
    producer: str | None
    school_id: int
    school: str
    municipality: str | None
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    venue: str | None
    grade_levels: str | None
    expected_pupils: int | None
    cancelled: bool


def _info_query() -> Any:
    return (
        select(Performance, Production, School.name, Municipality.name)
        .join(Production, col(Production.id) == col(Performance.production_id))
        .join(School, col(School.id) == col(Performance.school_id))
        .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
    )


def _info(
    perf: Performance, prod: Production, school: str, municipality: str | None
) -> PerformanceInfo:
    assert perf.id is not None and prod.id is not None
    return PerformanceInfo(
        id=perf.id,
        team_id=perf.team_id,
        external_key=perf.external_key,
        production_id=prod.id,
        title=prod.title,
        art_form=prod.art_form,
        producer=prod.producer,
        school_id=perf.school_id,
        school=school,
        municipality=municipality,
        starts_at=as_utc(perf.starts_at),
        ends_at=as_utc(perf.ends_at),
        venue=perf.venue,
        grade_levels=perf.grade_levels,
        expected_pupils=perf.expected_pupils,
        cancelled=perf.cancelled,
    )


def get_performance(
    *, session: Session, team_id: str, performance_id: int
) -> PerformanceInfo | None:
    stmt = _info_query().where(
        col(Performance.team_id) == team_id, col(Performance.id) == performance_id
    )
    row = session.exec(stmt).first()
    return _info(*row) if row is not None else None


def get_performances(
    *, session: Session, team_id: str, performance_ids: Iterable[int]
) -> dict[int, PerformanceInfo]:
    ids = sorted(set(performance_ids))
    found: dict[int, PerformanceInfo] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        stmt = _info_query().where(
            col(Performance.team_id) == team_id, col(Performance.id).in_(chunk)
        )
        for row in session.exec(stmt):
            info = _info(*row)
            found[info.id] = info
    return found


# --- Who is asked ------------------------------------------------------------------------------


def kulturkontakt_user(*, session: Session, team_id: str, school_id: int) -> str | None:
    """The Slack user of the school's kulturkontakt, if one is linked."""
    stmt = (
        select(Contact.role, Contact.slack_user_id)
        .where(
            col(Contact.team_id) == team_id,
            col(Contact.school_id) == school_id,
            col(Contact.slack_user_id).is_not(None),
            col(Contact.historical).is_(False),
        )
        .order_by(col(Contact.id))
    )
    for role, user_id in session.exec(stmt):
        if fold(role) == KULTURKONTAKT and user_id:
            return str(user_id)
    return None


def feedback_target(*, session: Session, team_id: str, school_id: int) -> str | None:
    """Where the prompt goes: the kulturkontakt's DM, else the workspace's reminder channel."""
    user = kulturkontakt_user(session=session, team_id=team_id, school_id=school_id)
    if user is not None:
        return user
    workspace = session.get(Workspace, team_id)
    return workspace.reminder_channel_id if workspace is not None else None


# --- Held performances, for response rates ------------------------------------------------------


def held_counts(
    *,
    session: Session,
    team_id: str,
    now: datetime,
    production_ids: Sequence[int] | None = None,
) -> dict[int, int]:
    """Performances that have ended and were not cancelled, per production."""
    stmt = (
        select(Performance.production_id, func.count())
        .where(
            col(Performance.team_id) == team_id,
            col(Performance.ends_at) <= as_utc(now),
            col(Performance.cancelled).is_(False),
        )
        .group_by(col(Performance.production_id))
    )
    if production_ids is not None:
        stmt = stmt.where(col(Performance.production_id).in_(list(production_ids)))
    return {int(p): int(n) for p, n in session.exec(stmt)}


# --- Productions -------------------------------------------------------------------------------


def find_productions(
    *, session: Session, team_id: str, query: str, limit: int = 10
) -> tuple[list[Production], int]:
    """Productions whose title contains every word of `query` (folded); an exact title wins.

    Returns (the first `limit` by title, how many match)."""
    key = fold(query)
    exact = session.exec(
        select(Production).where(
            col(Production.team_id) == team_id, col(Production.title_key) == key
        )
    ).first()
    if exact is not None:
        return [exact], 1
    conditions = [col(Production.team_id) == team_id]
    for term in key.split():
        conditions.append(col(Production.title_key).like(like_pattern(term), escape="\\"))
    total = session.exec(select(func.count()).select_from(Production).where(*conditions)).one()
    hits = session.exec(
        select(Production).where(*conditions).order_by(col(Production.title_key)).limit(limit)
    ).all()
    return list(hits), int(total)


# --- The type-ahead ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One type-ahead option's data; the label is built by the view."""

    performance_id: int
    title: str
    school: str
    starts_at: datetime  # UTC
    # Another performance of the same production at the same school the same day: show time.
    needs_time: bool


class _TeamIndex:
    """One workspace's started-or-not performances, newest first, ready to search.

    Held as parallel lists of plain values (str, int, float, datetime) and tuples of ints,
    which the garbage collector does not track: 50,000 rows add no GC pauses to requests.

    A query's words match at the start of a word of a performance's search key. Words that
    few rows contain are looked up in an inverted index (word → row numbers) and intersected,
    rarest first; words that many rows contain («a», «skole») are checked on those rows, or,
    when every word is that common, found by scanning all keys joined into one string with
    `str.find` (C speed), newest first, stopping at the limit.
    """

    # A word in more rows than this is checked on the candidates rather than intersected.
    BROAD = 8_000
    # A prefix that starts this many distinct words is broad whatever their rows.
    BROAD_WORDS = 500

    def __init__(self, version: int, rows: list[tuple[int, datetime, str, str, str, int, int]]):
        # rows: (id, starts_at, search_key, title, school, production_id, school_id), newest first
        self.version = version
        self.ids = [r[0] for r in rows]
        self.starts = [as_utc(r[1]) for r in rows]
        self.neg_starts = [-s.timestamp() for s in self.starts]
        self.titles = [r[3] for r in rows]
        self.schools = [r[4] for r in rows]
        same_day: dict[tuple[int, int, date], int] = {}
        days = [(r[5], r[6], s.date()) for r, s in zip(rows, self.starts, strict=True)]
        for day in days:
            same_day[day] = same_day.get(day, 0) + 1
        self.needs_time = [same_day[day] > 1 for day in days]
        self.keys = [" " + r[2].replace("\n", " ").lstrip() for r in rows]
        postings: dict[str, list[int]] = {}
        for row, key in enumerate(self.keys):
            for word in set(key.split()):
                postings.setdefault(word, []).append(row)
        self.vocabulary = sorted(postings)
        self.postings = [tuple(postings[w]) for w in self.vocabulary]
        self.offsets: list[int] = []
        position = 0
        for key in self.keys:
            self.offsets.append(position)
            position += len(key) + 1
        self.blob = "\n".join(self.keys)

    def choice(self, row: int) -> Choice:
        return Choice(
            self.ids[row], self.titles[row], self.schools[row], self.starts[row],
            self.needs_time[row],
        )  # fmt: skip

    def _prefix_range(self, term: str) -> tuple[int, int]:
        low = bisect_left(self.vocabulary, term)
        high = bisect_left(self.vocabulary, term[:-1] + chr(ord(term[-1]) + 1))
        return low, high

    def search(self, terms: list[str], now: datetime, limit: int) -> list[Choice]:
        first = bisect_left(self.neg_starts, -now.timestamp())
        if first >= len(self.ids):
            return []
        if not terms:
            return [self.choice(row) for row in range(first, min(first + limit, len(self.ids)))]
        narrow: list[tuple[int, int, int]] = []
        broad: list[str] = []
        for term in set(terms):
            low, high = self._prefix_range(term)
            if low == high:
                return []  # no performance has a word starting like this
            if high - low > self.BROAD_WORDS:
                broad.append(term)
                continue
            size = sum(len(p) for p in self.postings[low:high])
            if size > self.BROAD:
                broad.append(term)
            else:
                narrow.append((size, low, high))
        if not narrow:
            return self._scan(broad, first, limit)
        # The rarest word drives: its rows, newest first, checked for every other word.
        narrow.sort()
        _, low, high = narrow[0]
        if high - low == 1:
            rows: Iterable[int] = self.postings[low][bisect_left(self.postings[low], first) :]
        else:
            rows = sorted(r for r in set().union(*self.postings[low:high]) if r >= first)
        driver = self.vocabulary[low] if high - low == 1 else None
        # Rarer words first, so most rows fail on the first check.
        sizes = {self.vocabulary[lo]: size for size, lo, hi in narrow if hi - lo == 1}
        ordered = sorted(set(terms), key=lambda t: sizes.get(t, len(self.ids)))
        checks = [" " + t for t in ordered if driver is None or t != driver]
        keys = self.keys
        found: list[Choice] = []
        for row in rows:
            key = keys[row]
            if all(c in key for c in checks):
                found.append(self.choice(row))
                if len(found) >= limit:
                    break
        return found

    def _scan(self, terms: list[str], first: int, limit: int) -> list[Choice]:
        """Every term is common: walk the keys newest first and stop at the limit."""
        ordered = sorted((" " + t for t in terms), key=len, reverse=True)
        lead, rest = ordered[0], ordered[1:]
        found: list[Choice] = []
        position = self.offsets[first]
        blob, offsets, keys = self.blob, self.offsets, self.keys
        while len(found) < limit:
            hit = blob.find(lead, position)
            if hit < 0:
                break
            row = bisect_right(offsets, hit) - 1
            key = keys[row]
            if all(t in key for t in rest):
                found.append(self.choice(row))
            position = offsets[row] + len(key) + 1
        return found


class _IndexCache:
    def __init__(self) -> None:
        self._by_engine: weakref.WeakKeyDictionary[Engine, dict[str, _TeamIndex]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._build_locks: dict[tuple[int, str], threading.Lock] = {}

    def get(self, session: Session, team_id: str) -> _TeamIndex:
        version = tourplan_version(session=session, team_id=team_id)
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        with self._lock:
            teams = self._by_engine.setdefault(engine, {})
            index = teams.get(team_id)
            build_lock = self._build_locks.setdefault((id(engine), team_id), threading.Lock())
        if index is not None and index.version == version:
            return index
        with build_lock:
            with self._lock:
                index = teams.get(team_id)
            if index is not None and index.version == version:
                return index
            index = _TeamIndex(version, _index_rows(session, team_id))
            with self._lock:
                teams[team_id] = index
            return index


_CACHE = _IndexCache()


def _index_rows(
    session: Session, team_id: str
) -> list[tuple[int, datetime, str, str, str, int, int]]:
    stmt = (
        sa_select(
            col(Performance.id),
            col(Performance.starts_at),
            col(Performance.search_key),
            col(Production.title),
            col(School.name),
            col(Performance.production_id),
            col(Performance.school_id),
        )
        .join(Production, col(Production.id) == col(Performance.production_id))
        .join(School, col(School.id) == col(Performance.school_id))
        .where(col(Performance.team_id) == team_id, col(Performance.cancelled).is_(False))
        .order_by(col(Performance.starts_at).desc(), col(Performance.id).desc())
    )
    return [tuple(r) for r in session.execute(stmt)]


def suggest_performances(
    *, session: Session, team_id: str, query: str, now: datetime, limit: int = MAX_SUGGESTIONS
) -> list[Choice]:
    """Performances that have started, newest first, matching every word of `query`."""
    index = _CACHE.get(session, team_id)
    return index.search(search_words(query).split(), as_utc(now), min(limit, MAX_SUGGESTIONS))
