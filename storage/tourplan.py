"""Tour plan queries: performances, the type-ahead over them, and who gets the prompt.

The type-ahead («produksjon – skole – dato», newest first) answers inside the ack of a
`block_suggestion`, on every keystroke, so it has to be fast with tens of thousands of
performances. A LIKE '%term%' scan cannot use an index, so each process keeps a per-workspace
PerformanceIndex in memory (word → rows, and bitsets for common words). A one-row read of
`TourplanState.version` per request, on a pooled DBAPI connection, tells a process when its
copy is stale: every change to performances goes through the importer, which bumps it.
"""

from __future__ import annotations

import re
import threading
import weakref
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache, reduce
from itertools import accumulate
from operator import and_
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import Engine, String, bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.db import read_one
from storage.folding import fold, like_pattern
from storage.models import (
    Contact,
    Municipality,
    Performance,
    Production,
    School,
    TourplanState,
    Workspace,
)

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
    # Search data, not copy: stored in the search key, so it is one language for every reader
    # (nynorsk writes its months as bokmål does).
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


_VERSION = sa_select(col(TourplanState.version)).where(
    col(TourplanState.team_id) == bindparam("team_id", type_=String)
)


def tourplan_version(*, session: Session, team_id: str) -> int:
    """The workspace's tour plan version as `session` sees it (its own writes included)."""
    found = session.connection().execute(_VERSION, {"team_id": team_id}).scalar()
    return int(found) if found is not None else 0


def read_tourplan_version(engine: Engine, team_id: str) -> int:
    """The workspace's tour plan version, asked on every type-ahead keystroke: the cheapest
    read there is (storage.db.read_one)."""
    row = read_one(engine, _VERSION, {"team_id": team_id})
    return int(row[0]) if row is not None else 0


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


IndexRow = tuple[int, datetime, str, str, str, int, int]
# Where a byte of a bitset has its set bits, for each of the 256 byte values.
_BITS_OF_BYTE = tuple(tuple(bit for bit in range(8) if value >> bit & 1) for value in range(256))
_NONZERO_BYTE = re.compile(rb"[^\x00]")


def _bitset(rows: Sequence[int], size: int) -> int:
    """Row numbers as one int, bit r for row r: ANDing two 50,000-bit ints takes a microsecond."""
    if len(rows) < 1_000:
        packed = bytearray((size + 7) // 8)
        for row in rows:
            packed[row >> 3] |= 1 << (row & 7)
        return int.from_bytes(packed, "little")
    # Many rows: one byte per bit is quicker to fill, and int() reads base 2 at C speed.
    digits = bytearray(b"0") * size
    top = size - 1
    for row in rows:
        digits[top - row] = 49  # «1»
    return int(digits, 2)


class PerformanceIndex:
    """One workspace's performances (cancelled ones left out), newest first, ready to search.

    A query's words match at the start of a word of a performance's search key. The key's
    words are indexed (word → row numbers, rows newest first). A query is answered in one
    of two ways, both in C-speed steps rather than a Python loop over many rows:

    - its rarest word is in at most DRIVE rows: those rows, newest first, filtered by the
      bitsets of the other words where they are at hand, else by a substring test;
    - every word is common: each word's rows as a bitset (an int, bit r = row r), ANDed,
      and the first set bits from the first started performance on are the answer.

    A word's bitset is ready for every word in DENSE or more rows, and for every prefix that
    would be slow to assemble at query time (one letter, «2026-1»); any other prefix of a
    common word is assembled from those and a few small row lists in well under 0.1 ms.

    Held in a few lists of values the garbage collector does not track (str, int, float,
    datetime, tuples of ints) and ints: 50,000 rows add next to nothing to a collection.
    Options rendered for the type-ahead are kept per row (`rendered`), so they live exactly
    as long as this version of the index.
    """

    # A word in at least this many rows gets its bitset when the index is built.
    DENSE = 256
    # A query whose rarest word is in at most this many rows checks those rows one by one.
    DRIVE = 1024
    # A prefix spanning several words gets a ready bitset when assembling one at query time
    # would cost more than this many microseconds: about one per ready bitset ORed in, and
    # ROW_COST per row of a rarer word set bit by bit.
    ASSEMBLY_BUDGET = 25.0
    ROW_COST = 0.1
    # Distinct renderings kept (one per time zone in practice).
    RENDER_KEYS = 8

    def __init__(self, version: int, rows: Sequence[IndexRow]) -> None:
        # rows: (id, starts_at, search_key, title, school, production_id, school_id), newest first
        self.version = version
        self.size = len(rows)
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
        self._nbytes = (self.size + 7) // 8
        # Running totals over the vocabulary: any prefix's row count in O(1).
        self._rows_before = [0, *accumulate(len(p) for p in self.postings)]
        self._word_bits = {
            i: _bitset(p, self.size) for i, p in enumerate(self.postings) if len(p) >= self.DENSE
        }
        self._ready_from: dict[int, tuple[int, int]] = {}
        self._prefix_bits = self._ready_prefixes()
        self._rendered: dict[Hashable, list[str | None]] = {}

    def _ready_prefixes(self) -> dict[str, int]:
        dense_before = [0, *accumulate(i in self._word_bits for i in range(len(self.vocabulary)))]
        sparse_before = [
            0,
            *accumulate(0 if i in self._word_bits else len(p) for i, p in enumerate(self.postings)),
        ]
        wanted: list[tuple[str, int, int]] = []
        previous = ""
        for low, word in enumerate(self.vocabulary):
            # Prefixes shared with the previous word were looked at with it.
            shared = 0
            for a, b in zip(previous, word, strict=False):
                if a != b:
                    break
                shared += 1
            previous = word
            for length in range(shared + 1, len(word) + 1):
                prefix = word[:length]
                high = self._prefix_end(prefix, low)
                rows = self._rows_before[high] - self._rows_before[low]
                if high - low < 2 or rows <= self.DRIVE:
                    break  # longer prefixes of this word span fewer words and rows still
                dense = dense_before[high] - dense_before[low]
                sparse = sparse_before[high] - sparse_before[low]
                if dense + sparse * self.ROW_COST > self.ASSEMBLY_BUDGET:
                    wanted.append((prefix, low, high))
        # Longest first: a prefix is then mostly the OR of longer ones made before it.
        ready: dict[str, int] = {}
        for prefix, low, high in sorted(wanted, key=lambda w: -len(w[0])):
            bits = self._assemble(low, high)
            ready[prefix] = bits
            # The widest ready prefix starting at each word (shorter ones come later).
            self._ready_from[low] = (high, bits)
        return ready

    def _prefix_end(self, prefix: str, low: int = 0) -> int:
        return bisect_left(self.vocabulary, prefix[:-1] + chr(ord(prefix[-1]) + 1), low)

    def _assemble(self, low: int, high: int) -> int:
        """The rows of words `low` to `high` as a bitset, from ready ones where possible."""
        bits = 0
        sparse: list[int] = []
        at = low
        while at < high:
            ready = self._ready_from.get(at)
            if ready is not None and ready[0] <= high:
                bits |= ready[1]
                at = ready[0]
                continue
            found = self._word_bits.get(at)
            if found is None:
                sparse.extend(self.postings[at])
            else:
                bits |= found
            at += 1
        return bits | _bitset(sparse, self.size) if sparse else bits

    def _ready_bits(self, term: str, low: int, high: int) -> int | None:
        found = self._prefix_bits.get(term)
        if found is None and high - low == 1:
            found = self._word_bits.get(low)
        return found

    def choice(self, row: int) -> Choice:
        return Choice(
            self.ids[row], self.titles[row], self.schools[row], self.starts[row],
            self.needs_time[row],
        )  # fmt: skip

    def search(self, query: str, now: datetime, limit: int = MAX_SUGGESTIONS) -> list[int]:
        """Rows of performances started by `now` matching every word of `query`, newest
        first, at most `limit`."""
        first = bisect_left(self.neg_starts, -as_utc(now).timestamp())
        if limit <= 0 or first >= self.size:
            return []
        terms = set(search_words(query).split())
        if not terms:
            return list(range(first, min(first + limit, self.size)))
        spans: list[tuple[int, str, int, int]] = []
        for term in terms:
            low = bisect_left(self.vocabulary, term)
            high = self._prefix_end(term, low)
            rows = self._rows_before[high] - self._rows_before[low]
            if rows == 0:
                return []  # no performance has a word starting like this
            spans.append((rows, term, low, high))
        spans.sort()
        rows, _, low, high = spans[0]
        if rows <= self.DRIVE:
            return self._filter(self._rows_from(low, high, first), spans[1:], limit)
        both = -1  # every bit set: ANDing starts from it
        for _, term, low, high in spans:
            ready = self._ready_bits(term, low, high)
            both &= self._assemble(low, high) if ready is None else ready
            if not both:
                return []
        return self._set_bits(both, first, limit)

    def _rows_from(self, low: int, high: int, first: int) -> Sequence[int]:
        if high - low == 1:
            posting = self.postings[low]
            return posting[bisect_left(posting, first) :]
        merged = sorted(set().union(*self.postings[low:high]))
        return merged[bisect_left(merged, first) :]

    def _filter(
        self, candidates: Sequence[int], others: list[tuple[int, str, int, int]], limit: int
    ) -> list[int]:
        checks: list[str] = []
        masks: list[int] = []
        # For a handful of rows a substring test beats turning a bitset into bytes.
        use_masks = len(candidates) > 16
        for _, term, low, high in others:
            ready = self._ready_bits(term, low, high) if use_masks else None
            if ready is None:
                checks.append(" " + term)
            else:
                masks.append(ready)
        if masks:
            data = reduce(and_, masks).to_bytes(self._nbytes, "little")
            candidates = [r for r in candidates if data[r >> 3] >> (r & 7) & 1]
        if not checks:
            return list(candidates[:limit])
        keys = self.keys
        found: list[int] = []
        for row in candidates:
            key = keys[row]
            if all(c in key for c in checks):
                found.append(row)
                if len(found) >= limit:
                    break
        return found

    def _set_bits(self, bits: int, first: int, limit: int) -> list[int]:
        data = bits.to_bytes(self._nbytes, "little")
        found: list[int] = []
        for match in _NONZERO_BYTE.finditer(data, first >> 3):
            at = match.start()
            base = at << 3
            for bit in _BITS_OF_BYTE[data[at]]:
                if base + bit >= first:
                    found.append(base + bit)
                    if len(found) >= limit:
                        return found
        return found

    def rendered(
        self, rows: Sequence[int], key: Hashable, render: Callable[[Choice], str]
    ) -> list[str]:
        """`render(choice)` of each row, made once per row, `key` and version of the index."""
        memo = self._rendered.get(key)
        if memo is None:
            if len(self._rendered) >= self.RENDER_KEYS:
                self._rendered.clear()
            memo = self._rendered.setdefault(key, [None] * self.size)
        out: list[str] = []
        for row in rows:
            text = memo[row]
            if text is None:
                # Another thread may render the same row at the same moment; both agree.
                text = memo[row] = render(self.choice(row))
            out.append(text)
        return out


class _IndexCache:
    """The current PerformanceIndex of each workspace, per engine."""

    def __init__(self) -> None:
        self._by_engine: weakref.WeakKeyDictionary[Engine, dict[str, PerformanceIndex]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._build_locks: dict[tuple[int, str], threading.Lock] = {}

    def get(
        self, engine: Engine, team_id: str, version: int, load: Callable[[], Sequence[IndexRow]]
    ) -> PerformanceIndex:
        with self._lock:
            teams = self._by_engine.setdefault(engine, {})
            index = teams.get(team_id)
        if index is not None and index.version == version:
            return index
        with self._lock:
            build_lock = self._build_locks.setdefault((id(engine), team_id), threading.Lock())
        with build_lock:
            # Another thread may have built it while this one waited.
            with self._lock:
                index = teams.get(team_id)
            if index is not None and index.version == version:
                return index
            index = PerformanceIndex(version, load())
            with self._lock:
                teams[team_id] = index
            return index


_CACHE = _IndexCache()


def _index_query(team_id: str) -> Any:
    return (
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


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def performance_index(engine: Engine, team_id: str) -> PerformanceIndex:
    """The workspace's type-ahead index as the database holds it now.

    Costs one primary-key read (see read_tourplan_version) while the index is current; the
    version is read before the rows, so an index is never older than the version it is filed
    under (at worst it is built once more than needed).
    """
    version = read_tourplan_version(engine, team_id)

    def load() -> list[IndexRow]:
        with Session(engine) as session:
            return [tuple(r) for r in session.execute(_index_query(team_id))]

    return _CACHE.get(engine, team_id, version, load)


def suggest_performances(
    *, session: Session, team_id: str, query: str, now: datetime, limit: int = MAX_SUGGESTIONS
) -> list[Choice]:
    """Performances that have started, newest first, matching every word of `query`, as
    `session` sees them."""
    version = tourplan_version(session=session, team_id=team_id)

    def load() -> list[IndexRow]:
        return [tuple(r) for r in session.execute(_index_query(team_id))]

    index = _CACHE.get(_engine_of(session), team_id, version, load)
    return [index.choice(row) for row in index.search(query, now, min(limit, MAX_SUGGESTIONS))]
