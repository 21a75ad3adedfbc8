"""Change requests on the tour plan: rounds, schools' answers, requests, follow-ups, re-imports.

A coordinator opens a *round* with a closing date (`open_round`); that creates the deadline
«Endringsønsker til turnéplanen» (reminders as usual) and plans two follow-ups per school, five
and two working days before the closing date. The schools in a round are those with
performances in the imported tour plan from the day the round opened. Each school answers by
filing requests (`file_request`) or with «Alt ser bra ut» (`mark_no_changes`); an answer
cancels the school's follow-ups in the same transaction. Until the closing date (inclusive,
local) a kulturkontakt can edit or withdraw; after it every change from a school is refused
(`RoundClosed`). The coordinator sets statuses (`set_status`) and exports (storage.
changes_export). Importing a new tour plan resolves requests whose performance moved to the
wished date (`resolve_after_import`), and lists those it cannot: a performance that comes back
under a new forestilling_id is never matched silently.

Every write validates first, then writes, in the caller's one transaction (nothing
half-stored), and is audited. Who may act for a school: its current kulturkontakt (a contact
with the role «kulturkontakt» linked to the user's Slack id), or a coordinator — the caller
says which with `as_coordinator` (handlers.core.access decides that, storage does not).

Words (reasons, statuses) are bokmål msgids marked with N_; handlers translate them where they
are shown (`_(REASON_WORDS[code])`). Field errors are translated when raised: call inside
`use_language(...)` of the user.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session, col, func, select

from handlers.core.i18n import N_, _, use_language
from storage import audit
from storage.calendar import previous_working_day
from storage.folding import fold
from storage.items import save_item
from storage.models import (
    OPEN_STATUSES,
    AnswerKind,
    ChangeAnswer,
    ChangeReason,
    ChangeRequest,
    ChangeRound,
    ChangeStatus,
    Contact,
    Municipality,
    OutboxMessage,
    OutboxState,
    Performance,
    School,
)
from storage.outbox import cancel_messages, schedule_message
from storage.text import xml_safe
from storage.tourplan import (
    KULTURKONTAKT,
    PerformanceInfo,
    as_utc,
    get_performance,
    get_performances,
    local_to_utc,
)
from storage.workspaces import workspace_language

# --- Words (bokmål msgids; translated where shown) -------------------------------------------

DEADLINE_TITLE = N_("Endringsønsker til turnéplanen")
REASON_WORDS: dict[str, str] = {
    ChangeReason.DAY_OFF.value: N_("elevfri dag"),
    ChangeReason.TEST.value: N_("prøve/eksamen"),
    ChangeReason.TRIP.value: N_("tur/leirskole"),
    ChangeReason.PUPILS.value: N_("for mange/få elever"),
    ChangeReason.VENUE.value: N_("lokale"),
    ChangeReason.OTHER.value: N_("annet"),
}
STATUS_WORDS: dict[str, str] = {
    ChangeStatus.NEW.value: N_("ny"),
    ChangeStatus.SENT.value: N_("sendt til fylket"),
    ChangeStatus.REJECTED.value: N_("avslått"),
    ChangeStatus.CHANGED.value: N_("endret"),
    ChangeStatus.WITHDRAWN.value: N_("trukket"),
}
# What a coordinator may set by hand (withdrawing is the school's).
SETTABLE_STATUSES = (
    ChangeStatus.NEW.value,
    ChangeStatus.SENT.value,
    ChangeStatus.REJECTED.value,
    ChangeStatus.CHANGED.value,
)
MAX_CONTACT_PERSON = 200
MAX_COMMENT = 1000
# Follow-ups: five and two working days before the closing date, at 09:00 local.
FOLLOWUP_WORKING_DAYS = (5, 2)
FOLLOWUP_TIME = time(9, 0)
FOLLOWUP_KIND = "change_followup"
# A request's new status, told its filer and the school's kulturkontakter (after a re-import).
STATUS_KIND = "change_status"
CHANGE_KINDS = (FOLLOWUP_KIND, STATUS_KIND)
MAX_ROUND_LENGTH = timedelta(days=366)
# Audit trail kinds (at most 16 characters).
AUDIT_ROUND = "change_round"
AUDIT_ANSWER = "change_answer"
AUDIT_REQUEST = "change_request"
# Why a re-import could not settle a request (`Unresolved.why`).
WHY_MISSING = "missing"
WHY_CANCELLED = "cancelled"
WHY_OTHER_DATE = "other_date"
WHY_OTHER_TIME = "other_time"
WHY_MOVED = "moved"  # the request wished no particular day, and the performance moved

# Field ids of `RequestInput` / `InvalidRequest.errors` (D's form maps them to block ids).
FIELDS = (
    "school",
    "performance",
    "reason",
    "wished_date",
    "wished_time",
    "wished_week",
    "contact_person",
    "comment",
)


# --- Errors ----------------------------------------------------------------------------------


class ChangeError(Exception):
    """Base of the refusals below."""


class NoRound(ChangeError):
    """The round does not exist in this workspace (or there is none)."""


class RoundStillOpen(ChangeError):
    """A round is already open: `round_id`, closing on `closing_date`."""

    def __init__(self, round_id: int, closing_date: date) -> None:
        super().__init__(round_id, closing_date)
        self.round_id = round_id
        self.closing_date = closing_date


class RoundClosed(ChangeError):
    """The closing date has passed: schools can no longer file, edit or withdraw."""

    def __init__(self, closing_date: date) -> None:
        super().__init__(closing_date)
        self.closing_date = closing_date


class NotYourSchool(ChangeError):
    """The user is neither the school's kulturkontakt nor acting as coordinator."""


class RequestNotFound(ChangeError, LookupError):
    """No such request in this workspace."""


class RequestDecided(ChangeError):
    """The request is no longer «ny» (sent, decided or withdrawn): the school cannot change it."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class HasRequests(ChangeError):
    """«Alt ser bra ut» from a school that has requests still standing in the round."""


class InvalidInput(ChangeError, ValueError):
    """Field errors, translated (`errors`: field id → message); nothing was stored."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


# --- Plain results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolRef:
    id: int
    name: str
    municipality: str | None

    @property
    def label(self) -> str:
        """«Skole (Kommune)», or the name alone."""
        return f"{self.name} ({self.municipality})" if self.municipality else self.name


@dataclass(frozen=True)
class SchoolInRound:
    """A school in a round: who is asked, whether it answered, how many requests stand."""

    school: SchoolRef
    kulturkontakt_users: tuple[str, ...]  # Slack ids, oldest contact first; may be empty
    performances: int  # its performances in the plan from the round's opening day
    answer: str | None  # AnswerKind value, or None: no answer yet
    answered_at: datetime | None
    requests: int  # requests not withdrawn
    open_requests: int  # of those, still «ny» or «sendt til fylket»


@dataclass(frozen=True)
class RoundOpened:
    round: ChangeRound
    deadline_id: int
    schools: list[SchoolInRound]  # every school in the round
    without_kulturkontakt: list[SchoolInRound]  # those of them nobody in Slack can answer for
    followups: int  # follow-up messages planned


@dataclass(frozen=True)
class RoundOverview:
    """What the coordinators' Home section shows of a round, read in a few queries."""

    schools: int  # schools in the round (as schools_in_round counts them)
    changes: int  # answered «changes»
    no_changes: int  # answered «alt ser bra ut»
    silent: int  # answered neither way
    requests: int  # requests not withdrawn
    silent_schools: list[SchoolRef]  # the first `names` of the silent, by name_key
    first: list[
        RequestLine
    ]  # the first `limit` requests: ny, sendt, endret, avslått; school, start


@dataclass(frozen=True)
class RequestInput:
    """What the form sends; validated by `validate_request`.

    The wish is a date (optionally with a time), or «any day in week N» (`wished_week`, the ISO
    week of the year the performance is in, or the next one if that week has passed), or
    nothing (e.g. «lokale»: same day, another room). Date and week together is a field error.
    """

    school_id: int | None
    performance_id: int | None
    reason: str | None
    wished_date: date | None = None
    wished_time: time | None = None
    wished_week: int | None = None
    contact_person: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class RequestLine:
    """A request as lists, DMs and the export show it (times local, in the `tz` asked for)."""

    id: int
    round_id: int
    school: SchoolRef
    performance_id: int | None
    external_key: str
    production_title: str
    starts_at: datetime  # UTC, as filed
    day: date  # local date as filed
    start: time  # local start as filed
    reason: str  # ChangeReason value
    wished_date: date | None
    wished_time: time | None
    wished_week: int | None
    wished_year: int | None
    contact_person: str | None
    comment: str | None
    status: str  # ChangeStatus value
    filed_by: str
    filed_at: datetime
    status_at: datetime | None
    resolved_at: datetime | None
    resolved_by_import: str | None


@dataclass(frozen=True)
class StatusChange:
    request: RequestLine
    previous: str
    changed: bool  # False: it already had that status
    notify: tuple[str, ...]  # Slack ids to tell: the filer and the school's kulturkontakter


@dataclass(frozen=True)
class Unresolved:
    """A request a re-import could not settle, and why.

    `why`: "missing" (its forestilling_id is not in the file), "cancelled" (the file cancels
    it), "other_date" (moved, but not to the wished date/week), "other_time" (moved to the
    wished date, another time), "moved" (moved, and the request wished no day). `now` is the
    performance in the plan after the import (None when missing); `candidates` are
    performances new in this import at the same school and of the same production — possibly
    the same one under a new id, for the coordinator to match (never matched by the bot).
    """

    request: RequestLine
    why: str
    now: PerformanceInfo | None
    candidates: tuple[PerformanceInfo, ...] = ()


@dataclass(frozen=True)
class Resolved:
    """A request a re-import settled: now «endret»; `now` is its performance after the import."""

    request: RequestLine
    now: PerformanceInfo


@dataclass
class Resolution:
    """What `resolve_after_import` found among the workspace's open requests."""

    resolved: list[Resolved] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    notify: dict[int, tuple[str, ...]] = field(default_factory=dict)  # request id → Slack ids

    def __bool__(self) -> bool:
        return bool(self.resolved or self.unresolved)


# --- Reading ---------------------------------------------------------------------------------


_NORWEGIAN_LAST = str.maketrans({"æ": "~1", "ä": "~1", "ø": "~2", "ö": "~2", "å": "~3"})


def name_key(text: str | None) -> str:
    """Sorts names as Norwegian does: case-insensitive, with æ, ø, å after z."""
    return (text or "").casefold().translate(_NORWEGIAN_LAST)


def _today(now: datetime, tz: ZoneInfo) -> date:
    return as_utc(now).astimezone(tz).date()


def round_is_open(round_: ChangeRound, *, today: date) -> bool:
    """Schools can still file, edit and withdraw (today ≤ closing date, local)."""
    return today <= round_.closing_date


def round_since(round_: ChangeRound, tz: ZoneInfo) -> datetime:
    """Midnight (local) of the day the round opened, UTC: its performances start from then."""
    assert round_.opened_at is not None
    return local_to_utc(as_utc(round_.opened_at).astimezone(tz).date(), time(), tz)


def get_round(*, session: Session, team_id: str, round_id: int) -> ChangeRound | None:
    """The round if it is this workspace's."""
    found = session.get(ChangeRound, round_id)
    return found if found is not None and found.team_id == team_id else None


def current_round(*, session: Session, team_id: str) -> ChangeRound | None:
    """The workspace's newest round, open or closed; None if it never had one."""
    stmt = (
        select(ChangeRound)
        .where(col(ChangeRound.team_id) == team_id)
        .order_by(col(ChangeRound.opened_at).desc(), col(ChangeRound.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def _require_round(session: Session, team_id: str, round_id: int) -> ChangeRound:
    found = get_round(session=session, team_id=team_id, round_id=round_id)
    if found is None:
        raise NoRound(round_id)
    return found


def _school_refs(session: Session, team_id: str, ids: Iterable[int]) -> dict[int, SchoolRef]:
    wanted = sorted(set(ids))
    refs: dict[int, SchoolRef] = {}
    for start in range(0, len(wanted), 500):
        stmt = (
            select(School.id, School.name, Municipality.name)
            .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
            .where(col(School.team_id) == team_id, col(School.id).in_(wanted[start : start + 500]))
        )
        for school_id, name, municipality in session.exec(stmt):
            if school_id is not None:
                refs[int(school_id)] = SchoolRef(int(school_id), name, municipality)
    return refs


def _kulturkontakter(
    session: Session, team_id: str, school_ids: Collection[int] | None = None
) -> dict[int, tuple[str, ...]]:
    """Slack ids of each school's current kulturkontakter, oldest contact first."""
    stmt = (
        select(Contact.school_id, Contact.role, Contact.slack_user_id)
        .where(
            col(Contact.team_id) == team_id,
            col(Contact.school_id).is_not(None),
            col(Contact.slack_user_id).is_not(None),
            col(Contact.historical).is_(False),
        )
        .order_by(col(Contact.id))
    )
    found: dict[int, list[str]] = {}
    for school_id, role, user_id in session.exec(stmt):
        if school_id is None or not user_id or fold(role) != KULTURKONTAKT:
            continue
        if school_ids is not None and school_id not in school_ids:
            continue
        users = found.setdefault(int(school_id), [])
        if user_id not in users:
            users.append(str(user_id))
    return {school_id: tuple(users) for school_id, users in found.items()}


def schools_of(*, session: Session, team_id: str, user_id: str) -> list[SchoolRef]:
    """The schools this Slack user is the current kulturkontakt of, by name."""
    stmt = select(Contact.school_id, Contact.role).where(
        col(Contact.team_id) == team_id,
        col(Contact.slack_user_id) == user_id,
        col(Contact.school_id).is_not(None),
        col(Contact.historical).is_(False),
    )
    ids = [
        int(s) for s, role in session.exec(stmt) if s is not None and fold(role) == KULTURKONTAKT
    ]
    refs = _school_refs(session, team_id, ids)
    return sorted(refs.values(), key=lambda r: (name_key(r.name), name_key(r.municipality), r.id))


def may_act_for(
    *, session: Session, team_id: str, user_id: str, school_id: int, as_coordinator: bool
) -> bool:
    """A coordinator may act for any school of the workspace; anyone else only for theirs."""
    school = session.get(School, school_id)
    if school is None or school.team_id != team_id:
        return False
    if as_coordinator:
        return True
    return any(
        ref.id == school_id for ref in schools_of(session=session, team_id=team_id, user_id=user_id)
    )


def performances_of(
    *, session: Session, team_id: str, school_id: int, since: datetime | None = None
) -> list[PerformanceInfo]:
    """The school's performances (cancelled ones too, flagged), by start; from `since` if
    given (a round passes `round_since`)."""
    stmt = select(col(Performance.id)).where(
        col(Performance.team_id) == team_id, col(Performance.school_id) == school_id
    )
    if since is not None:
        stmt = stmt.where(col(Performance.starts_at) >= as_utc(since))
    ids = [int(i) for i in session.exec(stmt) if i is not None]
    found = get_performances(session=session, team_id=team_id, performance_ids=ids)
    return sorted(found.values(), key=lambda p: (p.starts_at, p.title, p.id))


def _answers(session: Session, round_id: int) -> dict[int, ChangeAnswer]:
    stmt = select(ChangeAnswer).where(col(ChangeAnswer.round_id) == round_id)
    return {a.school_id: a for a in session.exec(stmt)}


def _request_counts(session: Session, round_id: int) -> dict[int, tuple[int, int]]:
    """School id → (requests not withdrawn, of those still open)."""
    stmt = (
        select(ChangeRequest.school_id, ChangeRequest.status, func.count())
        .where(
            col(ChangeRequest.round_id) == round_id,
            col(ChangeRequest.status) != ChangeStatus.WITHDRAWN.value,
        )
        .group_by(col(ChangeRequest.school_id), col(ChangeRequest.status))
    )
    counts: dict[int, tuple[int, int]] = {}
    for school_id, status, count in session.exec(stmt):
        total, still_open = counts.get(int(school_id), (0, 0))
        counts[int(school_id)] = (
            total + int(count),
            still_open + (int(count) if status in OPEN_STATUSES else 0),
        )
    return counts


def _schools(
    session: Session, team_id: str, round_: ChangeRound, tz: ZoneInfo, only: int | None = None
) -> list[SchoolInRound]:
    assert round_.id is not None
    stmt = (
        select(Performance.school_id, func.count())
        .where(
            col(Performance.team_id) == team_id,
            col(Performance.starts_at) >= round_since(round_, tz),
            col(Performance.cancelled).is_(False),
        )
        .group_by(col(Performance.school_id))
    )
    if only is not None:
        stmt = stmt.where(col(Performance.school_id) == only)
    performances = {int(s): int(n) for s, n in session.exec(stmt)}
    answers = _answers(session, round_.id)
    counts = _request_counts(session, round_.id)
    ids = set(performances) | set(answers) | set(counts)
    if only is not None:
        ids = {only}
    refs = _school_refs(session, team_id, ids)
    contacts = _kulturkontakter(session, team_id, ids)
    lines = []
    for school_id, ref in refs.items():
        answer = answers.get(school_id)
        total, still_open = counts.get(school_id, (0, 0))
        lines.append(
            SchoolInRound(
                school=ref,
                kulturkontakt_users=contacts.get(school_id, ()),
                performances=performances.get(school_id, 0),
                answer=answer.answer if answer is not None else None,
                answered_at=as_utc(answer.answered_at)
                if answer is not None and answer.answered_at
                else None,
                requests=total,
                open_requests=still_open,
            )
        )
    return sorted(
        lines,
        key=lambda s: (name_key(s.school.municipality), name_key(s.school.name), s.school.id),
    )


def schools_in_round(
    *, session: Session, team_id: str, round_id: int, tz: ZoneInfo
) -> list[SchoolInRound]:
    """Every school in the round, by municipality and name: those with performances (not
    cancelled) in the plan from the round's opening day, plus any that answered or filed."""
    round_ = _require_round(session, team_id, round_id)
    return _schools(session, team_id, round_, tz)


def school_in_round(
    *, session: Session, team_id: str, round_id: int, school_id: int, tz: ZoneInfo
) -> SchoolInRound | None:
    """One school's line in the round (None: not this workspace's school)."""
    round_ = _require_round(session, team_id, round_id)
    found = _schools(session, team_id, round_, tz, only=school_id)
    return found[0] if found else None


NEVER = datetime.min.replace(tzinfo=UTC)

# The order the Home section lists requests in: what needs the coordinator first.
_STATUS_RANK = {
    ChangeStatus.NEW.value: 0,
    ChangeStatus.SENT.value: 1,
    ChangeStatus.CHANGED.value: 2,
    ChangeStatus.REJECTED.value: 3,
}


def round_overview(
    *,
    session: Session,
    team_id: str,
    round_id: int,
    tz: ZoneInfo,
    limit: int = 6,
    names: int = 40,
) -> RoundOverview:
    """Counts per answer, the first silent schools and the first requests of a round, without
    reading every school's contacts or every request's row (the Home tab asks on every open).
    Raises NoRound."""
    round_ = _require_round(session, team_id, round_id)
    performing = select(Performance.school_id).where(
        col(Performance.team_id) == team_id,
        col(Performance.starts_at) >= round_since(round_, tz),
        col(Performance.cancelled).is_(False),
    )
    in_round = {int(school_id) for school_id in session.exec(performing.distinct())}
    answers = {
        int(school_id): answer
        for school_id, answer in session.exec(
            select(ChangeAnswer.school_id, ChangeAnswer.answer).where(
                col(ChangeAnswer.round_id) == round_id
            )
        )
    }
    standing: list[tuple[int, str, int, datetime]] = [
        (int(request_id or 0), status, int(school_id), starts or NEVER)
        for request_id, status, school_id, starts in session.exec(
            select(
                ChangeRequest.id,
                ChangeRequest.status,
                ChangeRequest.school_id,
                ChangeRequest.starts_at,
            ).where(
                col(ChangeRequest.round_id) == round_id,
                col(ChangeRequest.status) != ChangeStatus.WITHDRAWN.value,
            )
        )
    ]
    in_round |= set(answers) | {school_id for _id, _status, school_id, _starts in standing}
    silent_ids = [school_id for school_id in in_round if school_id not in answers]
    refs = _school_refs(
        session, team_id, {*silent_ids, *(school_id for _i, _s, school_id, _t in standing)}
    )
    silent = sorted(
        (refs[i] for i in silent_ids if i in refs),
        key=lambda r: (name_key(r.name), name_key(r.municipality), r.id),
    )
    school_keys = {school_id: name_key(ref.name) for school_id, ref in refs.items()}
    ranked = sorted(
        (row for row in standing if row[2] in refs),
        key=lambda row: (
            _STATUS_RANK.get(row[1], len(_STATUS_RANK)),
            school_keys[row[2]],
            row[3],
            row[0],
        ),
    )[: max(limit, 0)]
    rows: dict[int, ChangeRequest] = {}
    if ranked:
        stmt = select(ChangeRequest).where(col(ChangeRequest.id).in_([row[0] for row in ranked]))
        rows = {int(r.id or 0): r for r in session.exec(stmt)}
    first = [_line(rows[row[0]], refs[row[2]], tz) for row in ranked if row[0] in rows]
    in_round_answers = [answers[i] for i in in_round if i in answers]
    return RoundOverview(
        schools=len(in_round),
        changes=sum(1 for a in in_round_answers if a == AnswerKind.CHANGES.value),
        no_changes=sum(1 for a in in_round_answers if a == AnswerKind.NO_CHANGES.value),
        silent=len(silent_ids),
        requests=len(standing),
        silent_schools=silent[: max(names, 0)],
        first=first,
    )


def unanswered_schools(
    *, session: Session, team_id: str, round_id: int, tz: ZoneInfo
) -> list[SchoolInRound]:
    """The schools in the round that have answered neither way."""
    return [
        s
        for s in schools_in_round(session=session, team_id=team_id, round_id=round_id, tz=tz)
        if s.answer is None
    ]


def _line(request: ChangeRequest, school: SchoolRef, tz: ZoneInfo) -> RequestLine:
    assert request.id is not None and request.starts_at is not None
    assert request.filed_at is not None
    starts = as_utc(request.starts_at)
    local = starts.astimezone(tz)
    return RequestLine(
        id=request.id,
        round_id=request.round_id,
        school=school,
        performance_id=request.performance_id,
        external_key=request.external_key,
        production_title=request.production_title,
        starts_at=starts,
        day=local.date(),
        start=local.time().replace(tzinfo=None),
        reason=request.reason,
        wished_date=request.wished_date,
        wished_time=request.wished_time,
        wished_week=request.wished_week,
        wished_year=request.wished_year,
        contact_person=request.contact_person,
        comment=request.comment,
        status=request.status,
        filed_by=request.filed_by,
        filed_at=as_utc(request.filed_at),
        status_at=as_utc(request.status_at) if request.status_at else None,
        resolved_at=as_utc(request.resolved_at) if request.resolved_at else None,
        resolved_by_import=request.resolved_by_import,
    )


def _lines(
    session: Session, team_id: str, rows: Sequence[ChangeRequest], tz: ZoneInfo
) -> list[RequestLine]:
    refs = _school_refs(session, team_id, (r.school_id for r in rows))
    return [_line(r, refs[r.school_id], tz) for r in rows if r.school_id in refs]


def _load_request(session: Session, team_id: str, request_id: int) -> ChangeRequest:
    found = session.get(ChangeRequest, request_id)
    if found is None or found.team_id != team_id:
        raise RequestNotFound(request_id)
    return found


def get_request(
    *, session: Session, team_id: str, request_id: int, tz: ZoneInfo
) -> RequestLine | None:
    """The request if it is this workspace's."""
    found = session.get(ChangeRequest, request_id)
    if found is None or found.team_id != team_id:
        return None
    lines = _lines(session, team_id, [found], tz)
    return lines[0] if lines else None


def requests_in_round(
    *,
    session: Session,
    team_id: str,
    round_id: int,
    tz: ZoneInfo,
    school_id: int | None = None,
    include_withdrawn: bool = False,
) -> list[RequestLine]:
    """The round's requests by municipality, school, performance start."""
    stmt = select(ChangeRequest).where(
        col(ChangeRequest.team_id) == team_id, col(ChangeRequest.round_id) == round_id
    )
    if school_id is not None:
        stmt = stmt.where(col(ChangeRequest.school_id) == school_id)
    if not include_withdrawn:
        stmt = stmt.where(col(ChangeRequest.status) != ChangeStatus.WITHDRAWN.value)
    lines = _lines(session, team_id, list(session.exec(stmt)), tz)
    return sorted(
        lines,
        key=lambda r: (
            name_key(r.school.municipality),
            name_key(r.school.name),
            r.school.id,
            r.starts_at,
            r.id,
        ),
    )


# --- Opening a round and its follow-ups ------------------------------------------------------


def followup_key(round_id: int, school_id: int, number: int) -> str:
    return f"{_followup_prefix(round_id, school_id)}followup{number}"


def _followup_prefix(round_id: int, school_id: int) -> str:
    return f"changes:{round_id}:{school_id}:"


def _working_days_before(day: date, count: int) -> date:
    for _step in range(count):
        day = previous_working_day(day - timedelta(days=1))
    return day


def followup_plan(round_: ChangeRound, tz: ZoneInfo) -> list[tuple[int, datetime]]:
    """(follow-up number, due UTC) five and two working days before the closing date at
    09:00 local (no weekends, no public holidays)."""
    return [
        (
            number,
            local_to_utc(_working_days_before(round_.closing_date, days), FOLLOWUP_TIME, tz),
        )
        for number, days in enumerate(FOLLOWUP_WORKING_DAYS, start=1)
    ]


def _followup_payload(round_id: int, school_id: int, number: int, tz: ZoneInfo) -> dict[str, Any]:
    return {"round_id": round_id, "school_id": school_id, "followup": number, "tz": tz.key}


def _plan_followups(
    session: Session,
    team_id: str,
    round_: ChangeRound,
    school: SchoolInRound,
    now: datetime,
    tz: ZoneInfo,
) -> int:
    """Schedule the school's follow-ups still ahead (past ones are skipped, never sent late);
    rows cancelled by an earlier answer come back."""
    assert round_.id is not None
    planned = 0
    for number, due in followup_plan(round_, tz):
        if due <= as_utc(now):
            continue
        key = followup_key(round_.id, school.school.id, number)
        schedule_message(
            session=session,
            team_id=team_id,
            kind=FOLLOWUP_KIND,
            unique_key=key,
            ref=key,
            due_at=due,
            # Resolved again when rendered: a kulturkontakt linked later still gets it.
            target=school.kulturkontakt_users[0] if school.kulturkontakt_users else "",
            payload=_followup_payload(round_.id, school.school.id, number, tz),
            revive=True,
            now=now,
        )
        planned += 1
    return planned


def _plan_round_followups(
    session: Session,
    team_id: str,
    round_: ChangeRound,
    schools: Sequence[SchoolInRound],
    now: datetime,
    tz: ZoneInfo,
) -> int:
    """Every school's follow-ups of a round just opened, in one batch: the round is new, so
    none of its rows can exist yet (their keys hold its id). A county's 500 schools are 1,000
    rows; one upsert each (storage.outbox.schedule_message) took seconds, more than a modal's
    submission may wait."""
    assert round_.id is not None
    stamp = as_utc(now)
    rows = [
        {
            "team_id": team_id,
            "kind": FOLLOWUP_KIND,
            "unique_key": followup_key(round_.id, school.school.id, number),
            "ref": followup_key(round_.id, school.school.id, number),
            "target": school.kulturkontakt_users[0] if school.kulturkontakt_users else "",
            "payload": _followup_payload(round_.id, school.school.id, number, tz),
            "state": OutboxState.PENDING.value,
            "due_at": due,
            "available_at": due,
            "attempts": 0,
            "needs_check": False,
            "late": False,
            "created_at": stamp,
            "updated_at": stamp,
        }
        for number, due in followup_plan(round_, tz)
        if due > stamp
        for school in schools
    ]
    if rows:
        session.execute(insert(OutboxMessage), rows)
    return len(rows)


def _cancel_followups(
    session: Session, team_id: str, round_id: int, school_id: int, now: datetime
) -> int:
    return cancel_messages(
        session=session,
        team_id=team_id,
        ref_prefix=_followup_prefix(round_id, school_id),
        kinds=[FOLLOWUP_KIND],
        reason="answered",
        now=now,
    )


def open_round(
    *,
    session: Session,
    team_id: str,
    closing_date: date,
    user_id: str,
    now: datetime,
    tz: ZoneInfo,
) -> RoundOpened:
    """Open a round closing on `closing_date` (local, inclusive): create its deadline
    (DEADLINE_TITLE in the workspace's language, due that day) and plan the follow-ups.

    Raises InvalidInput({"closing_date": …}) for a date before tomorrow or more than a year
    ahead, or when the plan has no performances from today (nothing to ask about),
    RoundStillOpen while another round's closing date has not passed. The caller DMs
    `schools`' kulturkontakter and re-plans the deadline's reminders
    (handlers.reminders.sync.after_item_change with `deadline_id`).
    """
    today = _today(now, tz)
    if closing_date <= today:
        raise InvalidInput({"closing_date": _("Fristen må være etter i dag.")})
    if closing_date > today + MAX_ROUND_LENGTH:
        raise InvalidInput({"closing_date": _("Fristen kan være høyst ett år fram i tid.")})
    latest = current_round(session=session, team_id=team_id)
    if latest is not None and round_is_open(latest, today=today):
        raise RoundStillOpen(int(latest.id or 0), latest.closing_date)
    ahead = session.exec(
        select(Performance.id)
        .where(
            col(Performance.team_id) == team_id,
            col(Performance.starts_at) >= local_to_utc(today, time(), tz),
            col(Performance.cancelled).is_(False),
        )
        .limit(1)
    ).first()
    if ahead is None:
        raise InvalidInput(
            {
                "closing_date": _(
                    "Turnéplanen har ingen forestillinger fra i dag av. Importer den nye "
                    "turnéplanen først."
                )
            }
        )
    with use_language(workspace_language(session=session, team_id=team_id)):
        values = {
            "title": _(DEADLINE_TITLE),
            "description": _(
                "Skolene melder endringsønsker på turnéplanen til koordinatoren innen denne datoen."
            ),
            "due_date": closing_date,
        }
    deadline = save_item(
        session=session,
        kind="deadline",
        team_id=team_id,
        item_id=None,
        values=values,
        user_id=user_id,
        at=now,
    ).row
    round_ = ChangeRound(
        team_id=team_id,
        closing_date=closing_date,
        deadline_id=deadline.id,
        opened_by=user_id,
        opened_at=as_utc(now),
    )
    session.add(round_)
    session.flush()
    assert round_.id is not None
    audit.record(
        session=session,
        team_id=team_id,
        user_id=user_id,
        action="create",
        item_kind=AUDIT_ROUND,
        item_id=round_.id,
        summary=str(values["title"]),
        changes=audit.diff({}, {"closing_date": closing_date, "deadline_id": deadline.id}),
        at=now,
    )
    schools = _schools(session, team_id, round_, tz)
    planned = _plan_round_followups(session, team_id, round_, schools, now, tz)
    session.flush()
    return RoundOpened(
        round=round_,
        deadline_id=int(deadline.id),
        schools=schools,
        without_kulturkontakt=[s for s in schools if not s.kulturkontakt_users],
        followups=planned,
    )


# --- The school's answer and its requests ----------------------------------------------------


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = xml_safe(text).strip()
    return cleaned or None


def _wished_year(week: int, performance_day: date, today: date) -> int | None:
    """The year of «any day in week `week`»: the performance's ISO year, or the next one if
    that week has passed; None if no such week exists then."""
    for year in (performance_day.isocalendar().year, performance_day.isocalendar().year + 1):
        try:
            sunday = date.fromisocalendar(year, week, 7)
        except ValueError:
            continue
        if sunday >= today:
            return year
    return None


@dataclass(frozen=True)
class _Valid:
    school: SchoolRef
    performance: PerformanceInfo
    values: dict[str, Any]


def _validate(
    session: Session,
    team_id: str,
    round_: ChangeRound,
    data: RequestInput,
    tz: ZoneInfo,
    today: date,
    editing: ChangeRequest | None,
) -> tuple[dict[str, str], _Valid | None]:
    assert round_.id is not None
    errors: dict[str, str] = {}
    school = None
    if data.school_id is None:
        errors["school"] = _("Velg skolen.")
    else:
        school = _school_refs(session, team_id, [data.school_id]).get(data.school_id)
        if school is None:
            errors["school"] = _("Fant ikke skolen. Velg en annen.")
    performance = None
    if data.performance_id is None:
        errors["performance"] = _("Velg forestillingen som skal endres.")
    else:
        performance = get_performance(
            session=session, team_id=team_id, performance_id=data.performance_id
        )
        if (
            performance is None
            or performance.starts_at < round_since(round_, tz)
            or (
                editing is not None
                and performance.id != editing.performance_id
                and performance.cancelled
            )
            or (editing is None and performance.cancelled)
        ):
            errors["performance"] = _("Forestillingen finnes ikke i turnéplanen. Velg en annen.")
            performance = None
        elif school is not None and performance.school_id != school.id:
            errors["performance"] = _(
                "Forestillingen er ikke på %(school)s. Velg en av skolens."
            ) % {"school": school.name}
            performance = None
        else:
            duplicate = select(ChangeRequest.id).where(
                col(ChangeRequest.round_id) == round_.id,
                col(ChangeRequest.performance_id) == performance.id,
                col(ChangeRequest.status) != ChangeStatus.WITHDRAWN.value,
            )
            if editing is not None:
                duplicate = duplicate.where(col(ChangeRequest.id) != editing.id)
            if session.exec(duplicate).first() is not None:
                errors["performance"] = _(
                    "Skolen har allerede meldt en endring for denne forestillingen. "
                    "Endre den i stedet."
                )
    if data.reason not in REASON_WORDS:
        errors["reason"] = _("Velg en grunn.")
    comment = _clean(data.comment)
    contact = _clean(data.contact_person)
    if data.reason == ChangeReason.OTHER.value and comment is None:
        errors["comment"] = _("Skriv hva som må endres når grunnen er «annet».")
    if comment is not None and len(comment) > MAX_COMMENT:
        errors["comment"] = _("Kommentaren kan ha høyst %(max)d tegn.") % {"max": MAX_COMMENT}
    if contact is not None and len(contact) > MAX_CONTACT_PERSON:
        errors["contact_person"] = _("Kontaktpersonen kan ha høyst %(max)d tegn.") % {
            "max": MAX_CONTACT_PERSON
        }
    wished_year = None
    if data.wished_date is not None and data.wished_week is not None:
        errors["wished_week"] = _("Velg enten en dato eller en uke, ikke begge.")
    elif data.wished_date is not None:
        if data.wished_date < today:
            errors["wished_date"] = _("Ønsket dato har vært.")
        elif performance is not None:
            local = performance.starts_at.astimezone(tz)
            same_time = data.wished_time is None or data.wished_time == local.time().replace(
                tzinfo=None
            )
            if data.wished_date == local.date() and same_time:
                errors["wished_date"] = _("Forestillingen er allerede denne dagen.")
    elif data.wished_week is not None:
        if not 1 <= data.wished_week <= 53:
            errors["wished_week"] = _("Uke må være et tall fra 1 til 53.")
        elif performance is not None:
            wished_year = _wished_year(
                data.wished_week, performance.starts_at.astimezone(tz).date(), today
            )
            if wished_year is None:
                errors["wished_week"] = _("Uke %(week)d finnes ikke i år eller neste år.") % {
                    "week": data.wished_week
                }
    if data.wished_time is not None and data.wished_date is None and "wished_week" not in errors:
        errors["wished_time"] = _("Et klokkeslett trenger en dato.")
    if errors or school is None or performance is None:
        return errors, None
    values: dict[str, Any] = {
        "school_id": school.id,
        "performance_id": performance.id,
        "external_key": performance.external_key,
        "production_title": performance.title,
        "starts_at": performance.starts_at,
        "reason": data.reason,
        "wished_date": data.wished_date,
        "wished_time": data.wished_time if data.wished_date is not None else None,
        "wished_week": data.wished_week if data.wished_date is None else None,
        "wished_year": wished_year,
        "contact_person": contact,
        "comment": comment,
    }
    return {}, _Valid(school, performance, values)


def validate_request(
    *,
    session: Session,
    team_id: str,
    round_id: int,
    data: RequestInput,
    now: datetime,
    tz: ZoneInfo,
    request_id: int | None = None,
) -> dict[str, str]:
    """Field errors (field id → message in the current language); empty when valid. With
    `request_id`, as an edit of that request."""
    round_ = _require_round(session, team_id, round_id)
    editing = _load_request(session, team_id, request_id) if request_id is not None else None
    errors, _valid = _validate(session, team_id, round_, data, tz, _today(now, tz), editing)
    return errors


def _check_open(round_: ChangeRound, now: datetime, tz: ZoneInfo) -> None:
    if not round_is_open(round_, today=_today(now, tz)):
        raise RoundClosed(round_.closing_date)


def _check_school(
    session: Session, team_id: str, user_id: str, school_id: int | None, as_coordinator: bool
) -> None:
    if school_id is not None and not may_act_for(
        session=session,
        team_id=team_id,
        user_id=user_id,
        school_id=school_id,
        as_coordinator=as_coordinator,
    ):
        raise NotYourSchool(school_id)


def _answer(
    session: Session,
    team_id: str,
    round_id: int,
    school_id: int,
    answer: AnswerKind,
    user_id: str,
    now: datetime,
) -> ChangeAnswer:
    found = session.exec(
        select(ChangeAnswer).where(
            col(ChangeAnswer.round_id) == round_id, col(ChangeAnswer.school_id) == school_id
        )
    ).first()
    if found is None:
        found = ChangeAnswer(
            team_id=team_id, round_id=round_id, school_id=school_id, answer="", answered_by=""
        )
    if found.answer != answer.value:
        found.answer = answer.value
        found.answered_by = user_id
        found.answered_at = as_utc(now)
        session.add(found)
    _cancel_followups(session, team_id, round_id, school_id, now)
    return found


def file_request(
    *,
    session: Session,
    team_id: str,
    round_id: int,
    data: RequestInput,
    user_id: str,
    as_coordinator: bool,
    now: datetime,
    tz: ZoneInfo,
) -> RequestLine:
    """File a request: the school's answer becomes «changes» and its follow-ups are cancelled.

    Raises NoRound, RoundClosed, NotYourSchool, InvalidInput (nothing stored).
    """
    round_ = _require_round(session, team_id, round_id)
    _check_open(round_, now, tz)
    _check_school(session, team_id, user_id, data.school_id, as_coordinator)
    errors, valid = _validate(session, team_id, round_, data, tz, _today(now, tz), None)
    if errors or valid is None:
        raise InvalidInput(errors)
    request = ChangeRequest(
        team_id=team_id,
        round_id=round_id,
        filed_by=user_id,
        filed_at=as_utc(now),
        status=ChangeStatus.NEW.value,
        **valid.values,
    )
    session.add(request)
    _answer(session, team_id, round_id, valid.school.id, AnswerKind.CHANGES, user_id, now)
    session.flush()
    assert request.id is not None
    audit.record(
        session=session,
        team_id=team_id,
        user_id=user_id,
        action="create",
        item_kind=AUDIT_REQUEST,
        item_id=request.id,
        summary=f"{valid.school.name}: {valid.performance.title}",
        changes=audit.diff({}, valid.values),
        at=now,
    )
    return _line(request, valid.school, tz)


def _school_may_change(request: ChangeRequest) -> None:
    if request.status != ChangeStatus.NEW.value:
        raise RequestDecided(request.status)


def update_request(
    *,
    session: Session,
    team_id: str,
    request_id: int,
    data: RequestInput,
    user_id: str,
    as_coordinator: bool,
    now: datetime,
    tz: ZoneInfo,
) -> RequestLine:
    """Change a request still «ny» (the school stays the same: `data.school_id` None or the
    request's). Raises RequestNotFound, RoundClosed, NotYourSchool, RequestDecided,
    InvalidInput."""
    request = _load_request(session, team_id, request_id)
    round_ = _require_round(session, team_id, request.round_id)
    _check_open(round_, now, tz)
    _check_school(session, team_id, user_id, request.school_id, as_coordinator)
    _school_may_change(request)
    if data.school_id is not None and data.school_id != request.school_id:
        raise InvalidInput({"school": _("En endring kan ikke flyttes til en annen skole.")})
    data = replace(data, school_id=request.school_id)
    errors, valid = _validate(session, team_id, round_, data, tz, _today(now, tz), request)
    if errors or valid is None:
        raise InvalidInput(errors)
    before = {name: getattr(request, name) for name in valid.values}
    changes = audit.diff(before, valid.values)
    if changes:
        for name, value in valid.values.items():
            setattr(request, name, value)
        request.updated_by = user_id
        request.updated_at = as_utc(now)
        session.add(request)
        session.flush()
        audit.record(
            session=session,
            team_id=team_id,
            user_id=user_id,
            action="update",
            item_kind=AUDIT_REQUEST,
            item_id=request.id,
            summary=f"{valid.school.name}: {valid.performance.title}",
            changes=changes,
            at=now,
        )
    return _line(request, valid.school, tz)


def withdraw_request(
    *,
    session: Session,
    team_id: str,
    request_id: int,
    user_id: str,
    as_coordinator: bool,
    now: datetime,
    tz: ZoneInfo,
) -> RequestLine:
    """Withdraw a request still «ny». When it was the school's last request standing, the
    school is unanswered again (its follow-ups still ahead are planned again). Raises
    RequestNotFound, RoundClosed, NotYourSchool, RequestDecided."""
    request = _load_request(session, team_id, request_id)
    round_ = _require_round(session, team_id, request.round_id)
    _check_open(round_, now, tz)
    _check_school(session, team_id, user_id, request.school_id, as_coordinator)
    _school_may_change(request)
    request.status = ChangeStatus.WITHDRAWN.value
    request.updated_by = user_id
    request.updated_at = as_utc(now)
    session.add(request)
    session.flush()
    audit.record(
        session=session,
        team_id=team_id,
        user_id=user_id,
        action="withdraw",
        item_kind=AUDIT_REQUEST,
        item_id=request.id,
        summary=request.production_title,
        changes=audit.diff({"status": ChangeStatus.NEW.value}, {"status": request.status}),
        at=now,
    )
    standing = session.exec(
        select(ChangeRequest.id).where(
            col(ChangeRequest.round_id) == round_.id,
            col(ChangeRequest.school_id) == request.school_id,
            col(ChangeRequest.status) != ChangeStatus.WITHDRAWN.value,
        )
    ).first()
    if standing is None:
        answer = session.exec(
            select(ChangeAnswer).where(
                col(ChangeAnswer.round_id) == round_.id,
                col(ChangeAnswer.school_id) == request.school_id,
            )
        ).first()
        if answer is not None:
            session.delete(answer)
            session.flush()
        line = _schools(session, team_id, round_, tz, only=request.school_id)
        if line:
            _plan_followups(session, team_id, round_, line[0], now, tz)
    refs = _school_refs(session, team_id, [request.school_id])
    return _line(request, refs[request.school_id], tz)


def mark_no_changes(
    *,
    session: Session,
    team_id: str,
    round_id: int,
    school_id: int,
    user_id: str,
    as_coordinator: bool,
    now: datetime,
    tz: ZoneInfo,
) -> SchoolInRound:
    """«Alt ser bra ut»: the school answered «no changes»; its follow-ups are cancelled.
    Idempotent. Raises NoRound, RoundClosed, NotYourSchool, HasRequests."""
    round_ = _require_round(session, team_id, round_id)
    _check_open(round_, now, tz)
    _check_school(session, team_id, user_id, school_id, as_coordinator)
    standing = session.exec(
        select(ChangeRequest.id).where(
            col(ChangeRequest.round_id) == round_id,
            col(ChangeRequest.school_id) == school_id,
            col(ChangeRequest.status) != ChangeStatus.WITHDRAWN.value,
        )
    ).first()
    if standing is not None:
        raise HasRequests(school_id)
    answer = _answer(session, team_id, round_id, school_id, AnswerKind.NO_CHANGES, user_id, now)
    session.flush()
    audit.record(
        session=session,
        team_id=team_id,
        user_id=user_id,
        action="answer",
        item_kind=AUDIT_ANSWER,
        item_id=answer.id,
        summary=AnswerKind.NO_CHANGES.value,
        changes={"school_id": school_id},
        at=now,
    )
    line = _schools(session, team_id, round_, tz, only=school_id)
    return line[0]


# --- The coordinator's decisions -------------------------------------------------------------


def _notify(
    session: Session,
    team_id: str,
    request: ChangeRequest,
    actor: str | None,
    contacts: dict[int, tuple[str, ...]] | None = None,
) -> tuple[str, ...]:
    """Who hears of a new status: the filer and the school's kulturkontakter, not the actor.
    `contacts`: the kulturkontakter by school, when the caller has read them already."""
    if contacts is None:
        contacts = _kulturkontakter(session, team_id, {request.school_id})
    users = [request.filed_by, *contacts.get(request.school_id, ())]
    seen: list[str] = []
    for user in users:
        if user and user != actor and user not in seen:
            seen.append(user)
    return tuple(seen)


def set_status(
    *,
    session: Session,
    team_id: str,
    request_id: int,
    status: str,
    user_id: str,
    now: datetime,
    tz: ZoneInfo,
) -> StatusChange:
    """Coordinator's decision (one of SETTABLE_STATUSES), audited; any time, also after the
    closing date. Raises RequestNotFound, InvalidInput({"status": …}) for a status not
    settable or on a withdrawn request. The caller DMs `notify` when `changed`."""
    request = _load_request(session, team_id, request_id)
    if status not in SETTABLE_STATUSES:
        raise InvalidInput({"status": _("Velg en gyldig status.")})
    if request.status == ChangeStatus.WITHDRAWN.value:
        raise InvalidInput({"status": _("Skolen har trukket denne endringen.")})
    previous = request.status
    changed = previous != status
    if changed:
        request.status = status
        request.status_by = user_id
        request.status_at = as_utc(now)
        if status != ChangeStatus.CHANGED.value:
            request.resolved_at = None
            request.resolved_by_import = None
        session.add(request)
        session.flush()
        audit.record(
            session=session,
            team_id=team_id,
            user_id=user_id,
            action="status",
            item_kind=AUDIT_REQUEST,
            item_id=request.id,
            summary=request.production_title,
            changes=audit.diff({"status": previous}, {"status": status}),
            at=now,
        )
    refs = _school_refs(session, team_id, [request.school_id])
    return StatusChange(
        request=_line(request, refs[request.school_id], tz),
        previous=previous,
        changed=changed,
        notify=_notify(session, team_id, request, user_id) if changed else (),
    )


def status_ref(request_id: int) -> str:
    return f"changes:status:{request_id}:"


def schedule_status_notices(
    *,
    session: Session,
    team_id: str,
    request_id: int,
    status: str,
    previous: str,
    users: Sequence[str],
    now: datetime,
    tz: ZoneInfo,
    resolved_by_import: str | None = None,
) -> int:
    """Queue a DM to each of `users` saying the request is now `status` (STATUS_KIND, due
    now; the scheduler writes it in the recipient's language). In the caller's transaction:
    a change that rolls back tells nobody. Returns how many were queued."""
    stamp = as_utc(now).strftime("%Y%m%dT%H%M%S")
    for user in users:
        key = f"{status_ref(request_id)}{status}:{stamp}:{user}"
        schedule_message(
            session=session,
            team_id=team_id,
            kind=STATUS_KIND,
            unique_key=key,
            ref=key,
            due_at=now,
            target=user,
            payload={
                "request_id": request_id,
                "status": status,
                "previous": previous,
                "resolved_by_import": resolved_by_import,
                "tz": tz.key,
            },
            now=now,
        )
    return len(users)


def rematch_request(
    *,
    session: Session,
    team_id: str,
    request_id: int,
    performance_id: int,
    user_id: str,
    now: datetime,
    tz: ZoneInfo,
) -> RequestLine:
    """A coordinator's match: the request's performance came back under a new forestilling_id
    (see Unresolved.candidates); point the request at `performance_id`, a performance of the
    same school. The production and time as filed stay (they are what was asked about).
    Audited. Raises RequestNotFound, InvalidInput({"performance": …})."""
    request = _load_request(session, team_id, request_id)
    performance = get_performance(session=session, team_id=team_id, performance_id=performance_id)
    if performance is None or performance.school_id != request.school_id:
        raise InvalidInput({"performance": _("Velg en forestilling på samme skole.")})
    before = {"performance_id": request.performance_id, "external_key": request.external_key}
    after = {"performance_id": performance.id, "external_key": performance.external_key}
    changes = audit.diff(before, after)
    if changes:
        request.performance_id = performance.id
        request.external_key = performance.external_key
        request.updated_by = user_id
        request.updated_at = as_utc(now)
        session.add(request)
        session.flush()
        audit.record(
            session=session,
            team_id=team_id,
            user_id=user_id,
            action="rematch",
            item_kind=AUDIT_REQUEST,
            item_id=request.id,
            summary=request.production_title,
            changes=changes,
            at=now,
        )
    refs = _school_refs(session, team_id, [request.school_id])
    return _line(request, refs[request.school_id], tz)


# --- After a tour plan import ----------------------------------------------------------------


def _settles(request: ChangeRequest, now_at: datetime, tz: ZoneInfo) -> str | None:
    """None when the performance now at `now_at` is what was wished; else why not."""
    local = as_utc(now_at).astimezone(tz)
    if request.wished_date is not None:
        if local.date() != request.wished_date:
            return WHY_OTHER_DATE
        if (
            request.wished_time is not None
            and local.time().replace(tzinfo=None) != request.wished_time
        ):
            return WHY_OTHER_TIME
        return None
    iso = local.date().isocalendar()
    if (iso.year, iso.week) == (request.wished_year, request.wished_week):
        return None
    return WHY_OTHER_DATE


def _by_keys(session: Session, team_id: str, keys: Collection[str]) -> dict[str, Performance]:
    wanted = sorted(set(keys))
    found: dict[str, Performance] = {}
    for start in range(0, len(wanted), 500):
        stmt = select(Performance).where(
            col(Performance.team_id) == team_id,
            col(Performance.external_key).in_(wanted[start : start + 500]),
        )
        for perf in session.exec(stmt):
            found[perf.external_key] = perf
    return found


def _schools_of_keys(session: Session, team_id: str, keys: Collection[str]) -> set[int]:
    """The schools of the workspace's performances with these forestilling_ids."""
    wanted = sorted(keys)
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        stmt = (
            select(Performance.school_id)
            .where(
                col(Performance.team_id) == team_id,
                col(Performance.external_key).in_(wanted[start : start + 500]),
            )
            .distinct()
        )
        found.update(int(school_id) for school_id in session.exec(stmt))
    return found


def resolve_after_import(
    *,
    session: Session,
    team_id: str,
    file_keys: Collection[str],
    created_ids: Sequence[int],
    source: str,
    user_id: str | None,
    now: datetime,
    tz: ZoneInfo,
    file_school_ids: Collection[int] | None = None,
) -> Resolution:
    """After a tour plan import, in its transaction: every open request («ny», «sendt til
    fylket») with a wished date or week whose performance is now on that date (and time, if
    one was wished) or in that week becomes «endret», resolved by `source` (the file's name).

    Listed as Unresolved (see there), never matched: open requests whose performance the file
    cancels, moves elsewhere, or moves to the wished date at another time; and those whose
    forestilling_id the file lacks while it has other performances at that school (the plan
    for the school was sent again without it) — with the performances new in this import at
    that school and of that production as candidates. A file about other schools leaves a
    request alone. `file_keys`: the file's forestilling_ids; `created_ids`: the performances
    this import created; `file_school_ids`: the schools the file names (read from `file_keys`
    when not given). The filer and the school's kulturkontakter of each resolved request
    are told through the outbox (`schedule_status_notices`).
    """
    result = Resolution()
    keys = set(file_keys)
    requests = list(
        session.exec(
            select(ChangeRequest)
            .where(
                col(ChangeRequest.team_id) == team_id,
                col(ChangeRequest.status).in_(list(OPEN_STATUSES)),
            )
            .order_by(col(ChangeRequest.id))
        )
    )
    if not requests:
        return result
    # Only the performances the open requests are about are read, and in one go.
    in_file = _by_keys(session, team_id, {r.external_key for r in requests} & keys)
    infos = get_performances(
        session=session, team_id=team_id, performance_ids=[int(p.id or 0) for p in in_file.values()]
    )
    if file_school_ids is None and any(r.external_key not in in_file for r in requests):
        file_school_ids = _schools_of_keys(session, team_id, keys)
    schools_in_file = set(file_school_ids or ())
    contacts = _kulturkontakter(session, team_id, {r.school_id for r in requests})
    created = get_performances(session=session, team_id=team_id, performance_ids=created_ids)
    current = {
        p.id: p
        for p in get_performances(
            session=session,
            team_id=team_id,
            performance_ids=[r.performance_id for r in requests if r.performance_id is not None],
        ).values()
    }
    refs = _school_refs(session, team_id, (r.school_id for r in requests))
    for request in requests:
        if request.school_id not in refs:
            continue
        school = refs[request.school_id]
        perf = in_file.get(request.external_key)
        if perf is None:
            if request.school_id not in schools_in_file:
                continue
            original = current.get(request.performance_id or -1)
            title = fold(original.title if original else request.production_title)
            candidates = tuple(
                sorted(
                    (
                        c
                        for c in created.values()
                        if c.school_id == request.school_id and fold(c.title) == title
                    ),
                    key=lambda c: (c.starts_at, c.id),
                )
            )
            result.unresolved.append(
                Unresolved(_line(request, school, tz), WHY_MISSING, None, candidates)
            )
            continue
        info = infos.get(int(perf.id or 0))
        if info is None:
            continue
        if info.cancelled:
            result.unresolved.append(Unresolved(_line(request, school, tz), WHY_CANCELLED, info))
            continue
        wished = request.wished_date is not None or request.wished_week is not None
        moved = as_utc(perf.starts_at) != as_utc(request.starts_at or perf.starts_at)
        why = _settles(request, perf.starts_at, tz) if wished else None
        if wished and why is None:
            previous = request.status
            request.status = ChangeStatus.CHANGED.value
            request.status_by = user_id
            request.status_at = as_utc(now)
            request.resolved_at = as_utc(now)
            request.resolved_by_import = source[:200] or None
            session.add(request)
            audit.record(
                session=session,
                team_id=team_id,
                user_id=user_id,
                action="status",
                item_kind=AUDIT_REQUEST,
                item_id=request.id,
                summary=request.production_title,
                changes=audit.diff({"status": previous}, {"status": request.status}),
                source="import",
                at=now,
            )
            line = _line(request, school, tz)
            result.resolved.append(Resolved(line, info))
            result.notify[line.id] = _notify(session, team_id, request, user_id, contacts)
            schedule_status_notices(
                session=session,
                team_id=team_id,
                request_id=line.id,
                status=line.status,
                previous=previous,
                users=result.notify[line.id],
                now=now,
                tz=tz,
                resolved_by_import=line.resolved_by_import,
            )
        elif moved:
            result.unresolved.append(
                Unresolved(_line(request, school, tz), why if wished and why else WHY_MOVED, info)
            )
    session.flush()
    return result
