"""In-memory copies of a workspace's calendar, directory and settings, for the hottest reads.

`/dks frist`, `/dks møte`, `/dks kontakt`, the Home tab and every role check read the same
few thousand rows of a workspace over and over, while coordinators change them a few times a
day. Each web process therefore keeps a read-only copy per workspace and, on every request,
reads three counters from `data_version` (one primary-key lookup). Database triggers
(migration 0006) bump the counters on every write from any process, the CLI included, so a
copy is never used after its rows have changed: a change is seen on the next request.

A copy is built in parts (calendar, directory, settings), each when first needed and again
only when its own counter moves. The counters are read before the rows, so a part is never
older than the counter it is filed under; at worst it is rebuilt once more than needed.

The functions here answer exactly what their SQL counterparts in storage.calendar and
storage.contacts answer, and what the SQL reference for the Home tab in tests/home_oracle.py
answers (tests compare them on both engines); the SQL ones in storage stay for the CLI,
exports and anything that must see the database itself. Recurrence, ordering and an item's
day and time come from storage.calendar, so both paths share one implementation of them.
"""

from __future__ import annotations

import heapq
import re
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from itertools import islice
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Engine, String, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.calendar import (
    HomeItem,
    HomeKind,
    HomeOccurrence,
    Occurrence,
    UpcomingPage,
    next_day_not_done,
    occurrences_of,
    sort_key,
    start_of,
    time_of,
)
from storage.contacts import ContactHit
from storage.db import read_one, session_scope
from storage.folding import fold, search_words
from storage.items import KULTURKONTAKT
from storage.models import (
    Contact,
    Coordinator,
    DataVersion,
    DatePrecision,
    Deadline,
    DeadlineDone,
    Meeting,
    Municipality,
    School,
    Workspace,
)
from storage.wordindex import WordIndex
from storage.workspaces import user_languages

Item = TypeVar("Item", Deadline, Meeting)
Part = TypeVar("Part")

# Rendered blocks and other per-part memos stop growing here; past it they are rebuilt.
MEMO_LIMIT = 50_000


# --- Search ----------------------------------------------------------------------------------


def query_terms(query: str | None) -> list[str]:
    """The folded words of a search, as the SQL search's LIKE patterns use them."""
    return [term for term in (fold(word) for word in (query or "").split()) if term]


_LETTERS = re.compile(r"[^\W\d_]+")
_DIGITS = re.compile(r"\d+")


class _Vocabulary:
    """Distinct pieces of the keys, in one string, each with the rows whose key has it."""

    def __init__(self, pieces_of_rows: Iterable[Iterable[str]]) -> None:
        postings: dict[str, list[int]] = {}
        for row, pieces in enumerate(pieces_of_rows):
            for piece in set(pieces):
                postings.setdefault(piece, []).append(row)
        pieces = list(postings)
        self._postings = [postings[p] for p in pieces]
        self._starts: list[int] = []
        offset = 0
        for piece in pieces:
            self._starts.append(offset)
            offset += len(piece) + 1
        self._text = "\n".join(pieces)

    def postings_of(self, term: str, max_pieces: int | None = None) -> list[list[int]] | None:
        """The row lists of every piece that contains `term`; None when more than
        `max_pieces` pieces do."""
        found: list[list[int]] = []
        text, starts, postings = self._text, self._starts, self._postings
        last = len(starts) - 1
        at = text.find(term)
        while at >= 0:
            if max_pieces is not None and len(found) >= max_pieces:
                return None
            piece = bisect_right(starts, at) - 1
            found.append(postings[piece])
            if piece == last:
                break
            at = text.find(term, starts[piece + 1])
        return found


class TextIndex:
    """Which rows' folded search keys contain every word of a query (as `LIKE '%word%'`).

    A word has no spaces, so it can only occur inside one space-separated token of a key; a
    word of letters only, inside one run of letters; a number, inside one run of digits. The
    index finds the pieces containing a word in one string of all distinct pieces of that kind
    (a C-speed `str.find`) and unions their rows, instead of testing every key. The runs keep
    the common searches off the long, unique tokens (e-mail addresses): «kristiansen» is
    looked up among names and places, not among ten thousand addresses.
    """

    # Below this many candidates, testing their keys is cheaper than the index.
    _FILTER_BELOW = 256
    # A word found in more pieces than this is only used to narrow other words' rows.
    _MANY_PIECES = 48

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = list(keys)
        self._tokens = _Vocabulary(key.split() for key in self._keys)
        self._letters = _Vocabulary(_LETTERS.findall(key) for key in self._keys)
        self._digits = _Vocabulary(_DIGITS.findall(key) for key in self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def rows(self, terms: Sequence[str]) -> set[int] | None:
        """The rows matching every term; None when there are no terms (every row matches)."""
        if not terms:
            return None
        # Start from the rarest term (fewest rows), then test the others on those rows' keys
        # while there are few, or intersect with their rows. A term inside very many pieces
        # (a common syllable) is not looked up in full unless every term is: it only narrows.
        measured: list[tuple[str, list[list[int]]]] = []
        deferred: list[str] = []
        for term in sorted(dict.fromkeys(terms), key=len, reverse=True):
            lists = self._postings_of(term, max_pieces=self._MANY_PIECES)
            if lists is None:
                deferred.append(term)
            elif not any(lists):
                return set()  # no key contains this word
            else:
                measured.append((term, lists))
        if not measured:
            term = deferred.pop(0)
            measured.append((term, self._postings_of(term) or []))
        measured.sort(key=lambda found: sum(len(rows) for rows in found[1]))
        found: set[int] = set()
        for rows in measured[0][1]:
            found.update(rows)
        keys = self._keys
        for term, lists in measured[1:]:
            if len(found) < self._FILTER_BELOW:
                found = {row for row in found if term in keys[row]}
            else:
                matching: set[int] = set()
                for rows in lists:
                    matching.update(rows)
                found &= matching
        for term in deferred:
            found = {row for row in found if term in keys[row]}
        return found

    def _postings_of(self, term: str, *, max_pieces: int | None = None) -> list[list[int]] | None:
        if any(ch.isspace() for ch in term):
            return [[row for row, key in enumerate(self._keys) if term in key]]
        if _LETTERS.fullmatch(term):
            return self._letters.postings_of(term, max_pieces)
        if _DIGITS.fullmatch(term):
            return self._digits.postings_of(term, max_pieces)
        return self._tokens.postings_of(term, max_pieces)


def matches(key: str, terms: Sequence[str]) -> bool:
    return all(term in key for term in terms)


# --- Calendar --------------------------------------------------------------------------------


def _order(item: Deadline | Meeting) -> tuple[date, time, str, int]:
    """One-off items as SQL pages them: `sort_key` of their only occurrence, then the id."""
    return (cast(date, start_of(item)), time_of(item) or time(), item.title, item.id or 0)


class ItemList(Generic[Item]):
    """One kind of item (deadlines or meetings) of a workspace, arranged for paging."""

    def __init__(self, kind: HomeKind, items: Iterable[Item]) -> None:
        self.kind: HomeKind = kind
        every = list(items)
        self.count = len(every)
        # Dated one-off items, soonest first: the order every list shows them in.
        self.one_off: list[Item] = sorted(
            (i for i in every if not i.rrule and start_of(i) is not None), key=_order
        )
        self._first = [cast(date, start_of(i)) for i in self.one_off]
        self._last: list[date] = [i.end_date or cast(date, start_of(i)) for i in self.one_off]
        self._longest: timedelta = max(
            (last - first for first, last in zip(self._first, self._last, strict=True)),
            default=timedelta(0),
        )
        self.index = TextIndex([i.search_key for i in self.one_off])
        self.recurring: list[Item] = [i for i in every if i.rrule]
        self.unset: list[Item] = sorted(
            (i for i in every if i.precision == DatePrecision.UNSET), key=lambda i: i.title
        )
        # What the Home tab shows as «uten dato»: no date at all, by title.
        self.undated: list[Item] = sorted(
            (i for i in every if start_of(i) is None), key=lambda i: (i.title, i.id or 0)
        )
        self._home_items: dict[int, HomeItem] = {}
        self._next_by_start: dict[tuple[date, int], list[tuple[date, time, str, int, Item]]] = {}
        self._windows: dict[
            tuple[date, date | None], list[tuple[tuple[date, time, str], Occurrence[Item]]]
        ] = {}

    def _window(self, start: date, end: date | None) -> tuple[int, int]:
        """Positions in `one_off` that may overlap [start, end]: none outside, a few inside
        that ended before `start` (check `_last`)."""
        lo = bisect_left(self._first, start - self._longest)
        hi = len(self._first) if end is None else bisect_right(self._first, end)
        return lo, max(lo, hi)

    def upcoming_page(
        self, *, start: date, end: date | None, query: str | None, offset: int, limit: int
    ) -> UpcomingPage[Item]:
        """What storage.calendar.upcoming_page answers, from memory."""
        terms = query_terms(query)
        lo, hi = self._window(start, end)
        last = self._last
        rows = self.index.rows(terms)
        if rows is None:
            fresh = bisect_left(self._first, start, lo, hi)
            ended = sum(1 for i in range(lo, fresh) if last[i] < start)
            total = hi - lo - ended

            def in_order() -> Iterable[int]:
                return (i for i in range(lo, hi) if last[i] >= start)

            positions = in_order()
        else:
            chosen = sorted(i for i in rows if lo <= i < hi and last[i] >= start)
            total = len(chosen)
            positions = iter(chosen)

        candidates = [
            found
            for found in self._recurring_in(start, end)
            if not terms or matches(found[1].item.search_key, terms)
        ]
        total += len(candidates)
        wanted = offset + limit
        if wanted > 0:
            for taken, i in enumerate(positions):
                if taken >= wanted:
                    break
                item = self.one_off[i]
                for occ in occurrences_of(item, start, end):
                    candidates.append((sort_key(occ), occ))
        candidates.sort(key=lambda c: c[0])
        return UpcomingPage([occ for _, occ in candidates[offset : offset + limit]], total)

    def _recurring_in(
        self, start: date, end: date | None
    ) -> list[tuple[tuple[date, time, str], Occurrence[Item]]]:
        """Every occurrence of the recurring items in [start, end], with its sort key.

        Expanding a few hundred rules cost more than the rest of a reply, and a day's requests
        ask for the same few windows, so each window is expanded once per copy."""
        window = (start, end)
        found = self._windows.get(window)
        if found is None:
            found = [
                (sort_key(occ), occ)
                for item in self.recurring
                for occ in occurrences_of(item, start, end)
            ]
            if len(self._windows) >= 64:
                self._windows.clear()
            self._windows[window] = found
        return found

    def unset_titles(self, query: str | None) -> list[str]:
        """What storage.calendar.undated_titles answers: items marked «not dated yet»."""
        terms = query_terms(query)
        return [i.title for i in self.unset if not terms or matches(i.search_key, terms)]

    # The Home tab's view of the same items.

    def home_item(self, item: Item) -> HomeItem:
        found = self._home_items.get(item.id or 0)
        if found is None:
            meeting = item if isinstance(item, Meeting) else None
            found = HomeItem(
                self.kind,
                item.id or 0,
                item.title,
                item.precision,
                item.date_note,
                item.audience,
                item.rrule,
                time_of(item),
                meeting.end_time if meeting else None,
                meeting.place if meeting else None,
                meeting.form if meeting else None,
            )
            self._home_items[item.id or 0] = found
        return found

    def _next_recurring(
        self, start: date, done: set[tuple[int, date]]
    ) -> list[tuple[date, time, str, int, Item]]:
        """The next occurrence of each recurring item from `start` that is not done, soonest
        first: the same for every Home tab of the day, so worked out once per copy."""
        key = (start, id(done))
        found = self._next_by_start.get(key)
        if found is None:
            found = []
            for item in self.recurring:
                first_day = start_of(item)
                if first_day is None or item.rrule is None:
                    continue
                day = next_day_not_done(
                    item.rrule, first_day, item.end_date, start, item.id or 0, done
                )
                if day is not None:
                    found.append((day, time_of(item) or time(), item.title, item.id or 0, item))
            found.sort(key=lambda c: c[:4])
            if len(self._next_by_start) >= 64:
                self._next_by_start.clear()
            self._next_by_start[key] = found
        return found

    def next_home_occurrences(
        self, *, start: date, limit: int, done: set[tuple[int, date]]
    ) -> tuple[list[HomeOccurrence], bool]:
        """What the SQL reference (tests/home_oracle.py) answers, from memory. `done` holds
        deadline ids: meetings have no done marks, and their ids may equal a deadline's."""
        if self.kind != "deadline":
            done = set()
        found: list[HomeOccurrence] = []
        lo, hi = self._window(start, None)
        for i in range(lo, hi):
            if len(found) > limit:
                break
            item = self.one_off[i]
            first = self._first[i]
            if self._last[i] < start or (item.id or 0, first) in done:
                continue
            found.append(HomeOccurrence(self.home_item(item), first, item.end_date))
        candidates = self._next_recurring(start, done)
        for day, _, _, _, item in candidates[: limit + 1]:
            first_day = cast(date, start_of(item))
            length = (item.end_date - first_day) if item.end_date else None
            expected = item.confirmed_until is not None and day > item.confirmed_until
            found.append(
                HomeOccurrence(
                    self.home_item(item), day, day + length if length else None, expected
                )
            )
        found.sort(key=lambda o: (*sort_key(o), o.item.id))
        return found[:limit], len(found) > limit


@dataclass
class CalendarPart:
    deadlines: ItemList[Deadline]
    meetings: ItemList[Meeting]
    # (deadline id, occurrence) of every occurrence marked «Ferdig».
    done: set[tuple[int, date]]
    memo: dict[Hashable, Any] = field(default_factory=dict)

    def items(self, model: type[Deadline] | type[Meeting]) -> ItemList[Any]:
        return self.deadlines if model is Deadline else self.meetings

    def undated_home_items(self, limit: int) -> list[HomeItem]:
        both = (cast(ItemList[Any], self.deadlines), cast(ItemList[Any], self.meetings))
        found = (
            HomeItem(items.kind, item.id or 0, item.title, date_note=item.date_note)
            for items in both
            for item in items.undated
        )
        return list(islice(found, max(0, limit)))

    @property
    def undated_count(self) -> int:
        return len(self.deadlines.undated) + len(self.meetings.undated)


def load_calendar(session: Session, team_id: str) -> CalendarPart:
    deadlines = session.exec(select(Deadline).where(col(Deadline.team_id) == team_id)).all()
    meetings = session.exec(select(Meeting).where(col(Meeting.team_id) == team_id)).all()
    done = session.execute(
        sa_select(col(DeadlineDone.deadline_id), col(DeadlineDone.occurrence)).where(
            col(DeadlineDone.team_id) == team_id
        )
    ).all()
    return CalendarPart(
        deadlines=ItemList("deadline", deadlines),
        meetings=ItemList("meeting", meetings),
        done={(d, o) for d, o in done},
    )


# --- Directory -------------------------------------------------------------------------------


@dataclass
class DirectoryPart:
    # Contacts in the order a search shows them: current before historical, then by name.
    contacts: list[ContactHit]
    index: WordIndex
    roles: list[str]
    school_count: int
    # Schools where nobody current is «kulturkontakt», as (name, municipality), by
    # municipality and name.
    schools_missing: list[tuple[str, str | None]]
    memo: dict[Hashable, Any] = field(default_factory=dict)

    def search(self, query: str, limit: int) -> tuple[list[ContactHit], int]:
        """What storage.contacts.search_contacts answers, from memory: contacts with every
        word as typed first, then those found by folding, each in the contacts' order."""
        words = search_words(query)
        if words is None:
            return self.contacts[: max(0, limit)], len(self.contacts)
        if not words:
            return [], 0  # only punctuation or symbols: nothing to look for
        rows = self.index.rows(words)
        if limit < 1 or not rows:
            return [], len(rows)
        as_typed = self.index.as_typed(words, rows)
        first = _smallest(as_typed, limit)
        if len(first) < limit:
            first += _smallest(rows - as_typed, limit - len(first))
        return [self.contacts[i] for i in first], len(rows)


def _smallest(rows: set[int], limit: int) -> list[int]:
    return sorted(rows)[:limit] if len(rows) <= limit * 8 else heapq.nsmallest(limit, rows)


def _contact_order(hit: ContactHit) -> tuple[bool, str, str, int]:
    c = hit.contact
    return (c.historical, c.name or "", c.organisation or "", c.id or 0)


def load_directory(session: Session, team_id: str) -> DirectoryPart:
    municipalities = dict(
        session.exec(
            select(Municipality.id, Municipality.name).where(col(Municipality.team_id) == team_id)
        ).all()
    )
    schools = session.exec(select(School).where(col(School.team_id) == team_id)).all()
    school_by_id = {s.id: s for s in schools}
    # Plain rows, not ORM objects: they load several times faster, and nothing writes them.
    contacts = session.execute(
        sa_select(*Contact.__table__.columns).where(col(Contact.team_id) == team_id)  # type: ignore[attr-defined]
    ).all()
    hits = []
    covered: set[int] = set()
    for contact in contacts:
        school = school_by_id.get(contact.school_id) if contact.school_id else None
        muni_id = contact.municipality_id or (school.municipality_id if school else None)
        hits.append(
            ContactHit(contact, school.name if school else None, municipalities.get(muni_id))
        )
        if contact.school_id and contact.role == KULTURKONTAKT and not contact.historical:
            covered.add(contact.school_id)
    hits.sort(key=_contact_order)
    missing = sorted(
        (
            (municipalities.get(s.municipality_id) if s.municipality_id else None, s.name, s.id)
            for s in schools
            if s.id not in covered
        ),
        # Schools outside any municipality first, as SQLite sorts NULL.
        key=lambda m: (m[0] is not None, m[0] or "", m[1], m[2] or 0),
    )
    return DirectoryPart(
        contacts=hits,
        index=WordIndex([h.contact.search_key for h in hits]),
        roles=sorted({c.role for c in contacts}),
        school_count=len(schools),
        schools_missing=[(name, muni) for muni, name, _ in missing],
    )


# --- Settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsPart:
    reminder_channel_id: str | None
    reminders_paused: bool
    coordinators: frozenset[str]
    language: str | None = None  # the workspace's; None is bokmål
    user_languages: Mapping[str, str] = field(default_factory=dict)  # people's own choices


def load_settings(session: Session, team_id: str) -> SettingsPart:
    workspace = session.get(Workspace, team_id)
    listed = session.exec(
        select(Coordinator.user_id).where(col(Coordinator.team_id) == team_id)
    ).all()
    return SettingsPart(
        reminder_channel_id=workspace.reminder_channel_id if workspace else None,
        reminders_paused=bool(workspace.reminders_paused) if workspace else False,
        coordinators=frozenset(listed),
        language=workspace.language if workspace else None,
        user_languages=user_languages(session=session, team_id=team_id),
    )


# --- The cache -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeCounts:
    """The Home tab's figures and reminder settings (WorkspaceSnapshot.home_counts)."""

    schools: int
    undated: int  # deadlines and meetings without a date
    reminder_channel_id: str | None
    reminders_paused: bool


@dataclass(frozen=True)
class Versions:
    calendar: int = 0
    directory: int = 0
    settings: int = 0
    # When the workspace got its bundled calendar: a workspace deleted (data protection) and
    # installed again starts its counters afresh, so equal counters alone could let a process
    # keep serving the deleted rows.
    seeded: object = None  # as the database driver returns it: compared, never read


_LOADERS: dict[str, Callable[[Session, str], Any]] = {
    "calendar": load_calendar,
    "directory": load_directory,
    "settings": load_settings,
}

# What a `Versions` is read from, in its field order (both reads below).
_VERSION_COLUMNS = (
    col(DataVersion.calendar),
    col(DataVersion.directory),
    col(DataVersion.settings),
    col(Workspace.seeded_at),
)
_WITH_WORKSPACE = (Workspace, col(Workspace.team_id) == col(DataVersion.team_id))
_VERSIONS = (
    sa_select(*_VERSION_COLUMNS)
    .outerjoin(*_WITH_WORKSPACE)
    .where(col(DataVersion.team_id) == bindparam("team_id", type_=String))
)


def read_versions(engine: Engine, team_ids: Iterable[str]) -> dict[str, Versions]:
    """The counters of several workspaces in one query (a workspace never written to has
    none yet: zeros, as in `SnapshotCache.versions`)."""
    wanted = sorted(set(team_ids))
    if not wanted:
        return {}
    stmt = (
        sa_select(col(DataVersion.team_id), *_VERSION_COLUMNS)
        .outerjoin(*_WITH_WORKSPACE)
        .where(col(DataVersion.team_id).in_(wanted))
    )
    with engine.connect() as conn:
        found = {row[0]: Versions(*row[1:]) for row in conn.execute(stmt)}
    return {team_id: found.get(team_id, Versions()) for team_id in wanted}


class WorkspaceSnapshot:
    """One workspace's data as of `versions`; parts load on first use."""

    def __init__(
        self,
        engine: Engine,
        team_id: str,
        versions: Versions,
        previous: WorkspaceSnapshot | None = None,
    ) -> None:
        self._engine = engine
        self.team_id = team_id
        self.versions = versions
        self._parts: dict[str, Any] = {}
        self._lock = threading.Lock()
        if previous is not None and previous.versions.seeded == versions.seeded:
            # A list first: another thread may be adding a part to `previous` right now.
            for name, part in list(previous._parts.items()):
                if getattr(previous.versions, name) == getattr(versions, name):
                    self._parts[name] = part

    def _part(self, name: str) -> Any:
        part = self._parts.get(name)
        if part is None:
            with self._lock:
                part = self._parts.get(name)
                if part is None:
                    with session_scope(self._engine) as session:
                        part = _LOADERS[name](session, self.team_id)
                    self._parts[name] = part
        return part

    @property
    def calendar(self) -> CalendarPart:
        return cast(CalendarPart, self._part("calendar"))

    @property
    def directory(self) -> DirectoryPart:
        return cast(DirectoryPart, self._part("directory"))

    @property
    def settings(self) -> SettingsPart:
        return cast(SettingsPart, self._part("settings"))

    def home_counts(self) -> HomeCounts:
        settings = self.settings
        return HomeCounts(
            schools=self.directory.school_count,
            undated=self.calendar.undated_count,
            reminder_channel_id=settings.reminder_channel_id,
            reminders_paused=settings.reminders_paused,
        )


class SnapshotCache:
    """The current WorkspaceSnapshot of each workspace this process has served lately."""

    # One county installation serves up to all 357 municipalities: every workspace a web
    # process serves stays loaded (bench.workspaces: about 0.1 MB each), or each request from
    # a workspace pushed out reloads its calendar (~7 ms).
    def __init__(self, engine: Engine, *, max_workspaces: int = 512) -> None:
        self._engine = engine
        self._max = max_workspaces
        self._snapshots: OrderedDict[str, WorkspaceSnapshot] = OrderedDict()
        self._lock = threading.Lock()

    def versions(self, team_id: str) -> Versions:
        row = read_one(self._engine, _VERSIONS, {"team_id": team_id})
        return Versions(*row) if row is not None else Versions()

    def get(self, team_id: str) -> WorkspaceSnapshot:
        """The workspace's data as the database holds it now (one primary-key read)."""
        versions = self.versions(team_id)
        with self._lock:
            current = self._snapshots.get(team_id)
            if current is not None and current.versions == versions:
                self._snapshots.move_to_end(team_id)
                return current
            fresh = WorkspaceSnapshot(self._engine, team_id, versions, previous=current)
            self._snapshots[team_id] = fresh
            self._snapshots.move_to_end(team_id)
            while len(self._snapshots) > self._max:
                self._snapshots.popitem(last=False)
            return fresh


def remember(memo: dict[Hashable, Any], key: Hashable, build: Callable[[], Part]) -> Part:
    """`build()`, kept in `memo` under `key` (a part's memo lives as long as its data)."""
    found = memo.get(key)
    if found is None:
        found = build()
        if len(memo) >= MEMO_LIMIT:
            memo.clear()
        memo[key] = found
    return cast(Part, found)
