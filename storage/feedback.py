"""Feedback answers: store (within a time budget, once), edit for 14 days, summarise.

Anonymous answers keep no user id. Every answer carries `respondent_key`, an HMAC of the
sender's team and user id, while it can still be edited: it finds the sender's own answer
again and makes a double submit update rather than insert. When the edit window closes the
key is set to NULL (`purge_expired_keys`), and from then on nobody — not even the bot — can
tell who sent an anonymous answer.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Engine, Integer, String, bindparam, func, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.calendar import next_working_day
from storage.db import is_sqlite, session_scope
from storage.models import (
    ArtForm,
    FeedbackAnswer,
    OutboxState,
    Performance,
    Production,
    School,
)
from storage.outbox import cancel_messages, messages_for_ref, schedule_message
from storage.tourplan import (
    PerformanceInfo,
    as_utc,
    feedback_target,
    get_performances,
    held_counts,
    local_to_utc,
)

log = logging.getLogger(__name__)

EDIT_WINDOW = timedelta(days=14)


def N_(message: str) -> str:
    """Marks a bokmål message for the catalogs; handlers translate it where it is shown
    (`_(QUESTION_LABELS[key])`). Storage imports no handlers, so it translates nothing."""
    return message


# The questions with a rating, in the order the modal asks them: (key, label).
RATING_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("overall", N_("Helhetsinntrykk")),
    ("artistic", N_("Kunstnerisk kvalitet")),
    ("relevance", N_("Relevans for elevene og læreplanen")),
    ("pupils", N_("Elevenes respons")),
    ("practical", N_("Praktisk gjennomføring")),
)
QUESTION_KEYS = tuple(k for k, _ in RATING_QUESTIONS)
QUESTION_LABELS = dict(RATING_QUESTIONS)
# 5 is best; the words are what the modal shows (translated there).
RATING_SCALE: tuple[tuple[int, str], ...] = (
    (5, N_("svært bra")),
    (4, N_("bra")),
    (3, N_("middels")),
    (2, N_("mindre bra")),
    (1, N_("ikke bra")),
)
RATING_WORDS = dict(RATING_SCALE)
# The art forms as the bot writes them (stored as the bokmål word; translated where shown).
ART_FORM_WORDS: dict[str, str] = {
    ArtForm.MUSIC.value: N_("musikk"),
    ArtForm.PERFORMING_ARTS.value: N_("scenekunst"),
    ArtForm.VISUAL_ARTS.value: N_("visuell kunst"),
    ArtForm.FILM.value: N_("film"),
    ArtForm.LITERATURE.value: N_("litteratur"),
    ArtForm.CULTURAL_HERITAGE.value: N_("kulturarv"),
    ArtForm.INTERDISCIPLINARY.value: N_("tverrkunstnerisk"),
}
MAX_COMMENT = 1000
MAX_FREE_COMMENT = 3000
MAX_PUPILS_ATTENDED = 2000


def respondent_key(secret_key: str, team_id: str, user_id: str) -> str:
    """HMAC-SHA256 of the sender; without the secret key it cannot be traced back."""
    message = f"{team_id}:{user_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AnswerInput:
    performance_id: int
    ratings: Mapping[str, int]
    comments: Mapping[str, str | None]
    pupil_hosts: str | None
    pupils_attended: int | None
    free_comment: str | None
    anonymous: bool


@dataclass(frozen=True)
class SaveResult:
    answer_id: int
    created: bool
    edit_until: datetime


class EditWindowClosed(Exception):
    """The sender's answer to this performance can no longer be changed."""

    def __init__(self, edit_until: datetime) -> None:
        super().__init__(edit_until)
        self.edit_until = edit_until


# --- Finding the sender's own answer ----------------------------------------------------------


def find_own_answer(
    *,
    session: Session,
    team_id: str,
    performance_id: int,
    key: str,
    user_id: str,
) -> FeedbackAnswer | None:
    """The sender's answer to a performance: by key while editable, by user id if not anonymous."""
    stmt = select(FeedbackAnswer).where(
        col(FeedbackAnswer.team_id) == team_id,
        col(FeedbackAnswer.performance_id) == performance_id,
        col(FeedbackAnswer.respondent_key) == key,
    )
    found = session.exec(stmt).first()
    if found is not None:
        return found
    stmt = select(FeedbackAnswer).where(
        col(FeedbackAnswer.team_id) == team_id,
        col(FeedbackAnswer.performance_id) == performance_id,
        col(FeedbackAnswer.user_id) == user_id,
    )
    return session.exec(stmt).first()


def editable_answer(
    *, session: Session, team_id: str, performance_id: int, key: str, user_id: str, now: datetime
) -> FeedbackAnswer | None:
    answer = find_own_answer(
        session=session, team_id=team_id, performance_id=performance_id, key=key, user_id=user_id
    )
    if answer is None or as_utc(answer.edit_until) <= as_utc(now):
        return None
    return answer


def editable_answers(
    *, session: Session, team_id: str, key: str, now: datetime, limit: int = 5
) -> list[tuple[FeedbackAnswer, str, datetime]]:
    """The sender's answers that can still be edited, newest first: (answer, title, starts_at)."""
    stmt = (
        select(FeedbackAnswer, Production.title, Performance.starts_at)
        .join(Performance, col(Performance.id) == col(FeedbackAnswer.performance_id))
        .join(Production, col(Production.id) == col(FeedbackAnswer.production_id))
        .where(
            col(FeedbackAnswer.team_id) == team_id,
            col(FeedbackAnswer.respondent_key) == key,
            col(FeedbackAnswer.edit_until) > as_utc(now),
        )
        .order_by(col(FeedbackAnswer.updated_at).desc())
        .limit(limit)
    )
    return [(a, t, as_utc(s)) for a, t, s in session.exec(stmt)]


def has_answer(*, session: Session, team_id: str, performance_id: int) -> bool:
    stmt = (
        select(FeedbackAnswer.id)
        .where(
            col(FeedbackAnswer.team_id) == team_id,
            col(FeedbackAnswer.performance_id) == performance_id,
        )
        .limit(1)
    )
    return session.exec(stmt).first() is not None


# --- Storing -----------------------------------------------------------------------------------


def save_answer(
    *,
    session: Session,
    team_id: str,
    user_id: str,
    key: str,
    performance: PerformanceInfo,
    answer: AnswerInput,
    now: datetime,
) -> SaveResult:
    """Insert the sender's answer, or update it while the edit window is open."""
    now = as_utc(now)
    row = find_own_answer(
        session=session,
        team_id=team_id,
        performance_id=performance.id,
        key=key,
        user_id=user_id,
    )
    created = row is None
    if row is None:
        row = FeedbackAnswer(
            team_id=team_id,
            performance_id=performance.id,
            production_id=performance.production_id,
            rating_overall=0,
            rating_artistic=0,
            rating_relevance=0,
            rating_pupils=0,
            rating_practical=0,
            created_at=now,
            edit_until=now + EDIT_WINDOW,
        )
    elif as_utc(row.edit_until) <= now:
        raise EditWindowClosed(as_utc(row.edit_until))
    for question in QUESTION_KEYS:
        setattr(row, f"rating_{question}", int(answer.ratings[question]))
        setattr(row, f"comment_{question}", answer.comments.get(question) or None)
    row.pupil_hosts = answer.pupil_hosts
    row.pupils_attended = answer.pupils_attended
    row.free_comment = answer.free_comment or None
    row.anonymous = answer.anonymous
    # Anonymous: no user id at all, only the key that expires with the edit window.
    row.user_id = None if answer.anonymous else user_id
    row.respondent_key = key
    row.updated_at = now
    session.add(row)
    session.flush()
    assert row.id is not None
    return SaveResult(answer_id=row.id, created=created, edit_until=as_utc(row.edit_until))


@contextmanager
def budgeted_write(engine: Engine, *, seconds: float) -> Iterator[Session]:
    """A write transaction that gives up (and rolls back) after about `seconds`.

    A view_submission must be acked within Slack's 3 seconds, and errors can only travel in
    that ack; a writer stuck behind a lock must fail in time for the user to see why.
    """
    ms = max(50, int(seconds * 1000))
    if is_sqlite(engine):
        with engine.connect() as conn:
            # Set before BEGIN IMMEDIATE, which is where a SQLite writer waits for the lock.
            raw: Any = conn.connection.dbapi_connection
            previous = raw.execute("PRAGMA busy_timeout").fetchone()[0]
            raw.execute(f"PRAGMA busy_timeout={ms}")
            try:
                conn.execution_options(sqlite_immediate=True)
                with Session(bind=conn, expire_on_commit=False) as session:
                    try:
                        yield session
                        session.commit()
                    except BaseException:
                        session.rollback()
                        raise
            finally:
                raw.execute(f"PRAGMA busy_timeout={int(previous)}")
        return
    with session_scope(engine, write=True) as session:
        session.execute(
            text(
                "SELECT set_config('statement_timeout', :ms, true), "
                "set_config('lock_timeout', :ms, true)"
            ),
            {"ms": f"{ms}ms"},
        )
        yield session


def store_answer(
    *,
    engine: Engine,
    seconds: float,
    team_id: str,
    user_id: str,
    key: str,
    performance: PerformanceInfo,
    answer: AnswerInput,
    now: datetime,
) -> SaveResult:
    """Save within the time budget. Two submits racing: the loser retries as an update."""
    deadline = monotonic() + seconds
    for attempt in (1, 2):
        try:
            with budgeted_write(engine, seconds=max(0.05, deadline - monotonic())) as session:
                result = save_answer(
                    session=session,
                    team_id=team_id,
                    user_id=user_id,
                    key=key,
                    performance=performance,
                    answer=answer,
                    now=now,
                )
                # In the same transaction: an answer and «no more follow-ups» commit together.
                cancel_prompts(
                    session=session, team_id=team_id, performance_id=performance.id, now=now
                )
                if result.created:
                    schedule_forget(
                        session=session,
                        team_id=team_id,
                        answer_id=result.answer_id,
                        at=result.edit_until,
                        now=now,
                    )
                purge_expired_keys(session=session, now=now)
                return result
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("concurrent submit for performance %s; retrying as an edit", performance.id)
    raise AssertionError("unreachable")


def purge_expired_keys(*, session: Session, now: datetime) -> int:
    """Forget who sent answers whose edit window has closed (every workspace)."""
    stmt = (
        update(FeedbackAnswer)
        .where(
            col(FeedbackAnswer.respondent_key).is_not(None),
            col(FeedbackAnswer.edit_until) <= as_utc(now),
        )
        .values(respondent_key=None)
    )
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def has_expired_keys(*, session: Session, now: datetime) -> bool:
    stmt = (
        select(FeedbackAnswer.id)
        .where(
            col(FeedbackAnswer.respondent_key).is_not(None),
            col(FeedbackAnswer.edit_until) <= as_utc(now),
        )
        .limit(1)
    )
    return session.exec(stmt).first() is not None


def forget_expired(engine: Engine, *, now: datetime) -> int:
    """Purge expired keys if there are any (a read first: most calls find nothing to do)."""
    with session_scope(engine) as session:
        if not has_expired_keys(session=session, now=now):
            return 0
    with session_scope(engine, write=True) as session:
        return purge_expired_keys(session=session, now=now)


# --- Summaries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductionSummary:
    production_id: int
    title: str
    art_form: str
    answers: int
    answered_performances: int
    held_performances: int
    averages: Mapping[str, float | None]
    last_answer_at: datetime | None

    @property
    def response_rate(self) -> float | None:
        """Share of held performances with at least one answer."""
        if not self.held_performances:
            return None
        return min(1.0, self.answered_performances / self.held_performances)


@dataclass(frozen=True)
class Comment:
    question: str | None  # None: the free comment
    text: str


@dataclass(frozen=True)
class AnswerComments:
    anonymous: bool
    user_id: str | None
    school: str
    starts_at: datetime
    updated_at: datetime
    comments: list[Comment] = field(default_factory=list)


def _aggregate_columns() -> list[Any]:
    return [
        col(FeedbackAnswer.production_id),
        func.count(),
        func.count(func.distinct(FeedbackAnswer.performance_id)),
        *(func.avg(getattr(FeedbackAnswer, f"rating_{q}")) for q in QUESTION_KEYS),
        func.max(FeedbackAnswer.created_at),
    ]


def _aggregates(
    session: Session, team_id: str, production_ids: Sequence[int] | None
) -> list[tuple[Any, ...]]:
    """(production_id, answers, answered performances, averages…, last answer) per production."""
    stmt = (
        select(*_aggregate_columns())
        .where(col(FeedbackAnswer.team_id) == team_id)
        .group_by(col(FeedbackAnswer.production_id))
    )
    if production_ids is not None:
        stmt = stmt.where(col(FeedbackAnswer.production_id).in_(list(production_ids)))
    return [tuple(r) for r in session.exec(stmt)]


def _summaries(
    session: Session,
    team_id: str,
    rows: Sequence[tuple[Any, ...]],
    held: Mapping[int, int],
    extra_ids: Sequence[int] = (),
) -> list[ProductionSummary]:
    ids = list(dict.fromkeys([*(int(r[0]) for r in rows), *extra_ids]))
    productions = {
        p.id: p
        for p in session.exec(
            select(Production).where(
                col(Production.team_id) == team_id, col(Production.id).in_(ids)
            )
        )
    }
    summaries: list[ProductionSummary] = []
    seen: set[int] = set()
    for row in rows:
        production_id = int(row[0])
        production = productions.get(production_id)
        if production is None:
            continue
        averages = {
            q: (float(v) if v is not None else None)
            for q, v in zip(QUESTION_KEYS, row[3 : 3 + len(QUESTION_KEYS)], strict=True)
        }
        summaries.append(
            ProductionSummary(
                production_id=production_id,
                title=production.title,
                art_form=production.art_form,
                answers=int(row[1]),
                answered_performances=int(row[2]),
                held_performances=held.get(production_id, 0),
                averages=averages,
                last_answer_at=as_utc(row[-1]) if row[-1] is not None else None,
            )
        )
        seen.add(production_id)
    # Asked-for productions without answers yet still get a line (0 answers).
    for production_id in extra_ids:
        production = productions.get(production_id)
        if production_id in seen or production is None:
            continue
        summaries.append(
            ProductionSummary(
                production_id=production_id,
                title=production.title,
                art_form=production.art_form,
                answers=0,
                answered_performances=0,
                held_performances=held.get(production_id, 0),
                averages=dict.fromkeys(QUESTION_KEYS),
                last_answer_at=None,
            )
        )
    return summaries


def production_summaries(
    *, session: Session, team_id: str, now: datetime, production_ids: Sequence[int]
) -> list[ProductionSummary]:
    """Answers, response rate and averages for these productions, latest answered first."""
    rows = sorted(
        _aggregates(session, team_id, production_ids),
        key=lambda r: as_utc(r[-1]) if r[-1] is not None else datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    held = held_counts(session=session, team_id=team_id, now=now, production_ids=production_ids)
    return _summaries(session, team_id, rows, held, production_ids)


@dataclass(frozen=True)
class Totals:
    answers: int
    productions: int
    held_performances: int
    answered_performances: int


def overview(
    *, session: Session, team_id: str, now: datetime, limit: int = 10
) -> tuple[Totals, list[ProductionSummary]]:
    """The workspace's totals and the `limit` productions with the newest answers.

    One pass over the answers serves both: a performance belongs to one production, so the
    answered performances per production add up to the workspace's.
    """
    rows = _aggregates(session, team_id, None)
    held = held_counts(session=session, team_id=team_id, now=now)
    totals = Totals(
        answers=sum(int(r[1]) for r in rows),
        productions=len(rows),
        held_performances=sum(held.values()),
        answered_performances=sum(int(r[2]) for r in rows),
    )
    newest = sorted(rows, key=lambda r: as_utc(r[-1]), reverse=True)[:limit]
    return totals, _summaries(session, team_id, newest, held)


def latest_comments(
    *, session: Session, team_id: str, production_id: int, limit: int = 5
) -> list[AnswerComments]:
    """The newest answers to a production that have any comment."""
    has_comment = [
        col(getattr(FeedbackAnswer, f"comment_{q}")).is_not(None) for q in QUESTION_KEYS
    ] + [col(FeedbackAnswer.free_comment).is_not(None)]
    stmt = (
        select(FeedbackAnswer, School.name, Performance.starts_at)
        .join(Performance, col(Performance.id) == col(FeedbackAnswer.performance_id))
        .join(School, col(School.id) == col(Performance.school_id))
        .where(
            col(FeedbackAnswer.team_id) == team_id,
            col(FeedbackAnswer.production_id) == production_id,
            or_(*has_comment),
        )
        .order_by(col(FeedbackAnswer.updated_at).desc(), col(FeedbackAnswer.id).desc())
        .limit(limit)
    )
    found: list[AnswerComments] = []
    for answer, school, starts_at in session.exec(stmt):
        comments = [
            Comment(q, getattr(answer, f"comment_{q}"))
            for q in QUESTION_KEYS
            if getattr(answer, f"comment_{q}")
        ]
        if answer.free_comment:
            comments.append(Comment(None, answer.free_comment))
        found.append(
            AnswerComments(
                anonymous=answer.anonymous,
                user_id=None if answer.anonymous else answer.user_id,
                school=school,
                starts_at=as_utc(starts_at),
                updated_at=as_utc(answer.updated_at),
                comments=comments,
            )
        )
    return found


# --- Prompts and follow-ups through the outbox ---------------------------------------------------

PROMPT_KIND = "feedback_prompt"
FOLLOWUP_KIND = "feedback_followup"
# Posts nothing: when an answer's edit window closes, the scheduler's tick runs its renderer,
# which forgets who sent the answers whose windows have closed (purge_expired_keys).
FORGET_KIND = "feedback_forget"
FEEDBACK_KINDS = (PROMPT_KIND, FOLLOWUP_KIND)
FOLLOWUP_WORKING_DAYS = (2, 5)
FOLLOWUP_TIME = time(9, 0)


def prompt_ref_prefix(performance_id: int) -> str:
    return f"feedback:{performance_id}:"


def _stamp(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y%m%dT%H%M")


def prompt_plan(performance: PerformanceInfo, tz: ZoneInfo) -> list[tuple[str, str, datetime, int]]:
    """(kind, unique key, due, follow-up number) for a performance: the prompt when it ends,
    follow-ups at 09:00 two and five working days later (no weekends, no public holidays).

    The key holds the end time, so a performance that moves gets new rows, not stale ones.
    """
    base = f"{prompt_ref_prefix(performance.id)}{_stamp(performance.ends_at)}:"
    plan = [(PROMPT_KIND, base + "prompt", performance.ends_at, 0)]
    day = performance.ends_at.astimezone(tz).date()
    count = 0
    for number, wanted in enumerate(FOLLOWUP_WORKING_DAYS, start=1):
        while count < wanted:
            day = next_working_day(day)
            count += 1
        plan.append(
            (
                FOLLOWUP_KIND,
                base + f"followup{number}",
                local_to_utc(day, FOLLOWUP_TIME, tz),
                number,
            )
        )
    return plan


@dataclass
class PromptSync:
    scheduled: int = 0
    cancelled: int = 0
    without_target: int = 0


def sync_prompts(
    *,
    session: Session,
    team_id: str,
    performance_ids: Sequence[int],
    tz: ZoneInfo,
    now: datetime,
    grace: timedelta = timedelta(hours=12),
) -> PromptSync:
    """Bring the outbox in step with these performances (new, moved, cancelled, answered).

    Idempotent: unchanged performances keep their rows. Rows due more than `grace` ago are
    not created (importing last month's plan must not post last month's prompts), and a
    performance that already has an answer gets no prompt and no follow-ups.
    """
    result = PromptSync()
    now = as_utc(now)
    performances = get_performances(
        session=session, team_id=team_id, performance_ids=performance_ids
    )
    for performance_id in performance_ids:
        performance = performances.get(performance_id)
        wanted: list[tuple[str, str, datetime, int]] = []
        if (
            performance is not None
            and not performance.cancelled
            and not has_answer(session=session, team_id=team_id, performance_id=performance_id)
        ):
            wanted = [p for p in prompt_plan(performance, tz) if p[2] > now - grace]
        keys = {p[1] for p in wanted}
        for row in messages_for_ref(
            session=session,
            team_id=team_id,
            ref_prefix=prompt_ref_prefix(performance_id),
            states=[OutboxState.PENDING.value],
            kinds=FEEDBACK_KINDS,
        ):
            if row.unique_key not in keys:
                result.cancelled += cancel_messages(
                    session=session,
                    team_id=team_id,
                    ref_prefix=row.ref,
                    kinds=[row.kind],
                    reason="performance changed or cancelled",
                    now=now,
                )
        if not wanted or performance is None:
            continue
        target = feedback_target(session=session, team_id=team_id, school_id=performance.school_id)
        if target is None:
            result.without_target += 1
        for kind, key, due, number in wanted:
            schedule_message(
                session=session,
                team_id=team_id,
                kind=kind,
                unique_key=key,
                ref=key,
                due_at=due,
                # Resolved again when the message is rendered: a kulturkontakt linked later
                # still gets it.
                target=target or "",
                payload={"performance_id": performance_id, "followup": number, "tz": tz.key},
                revive=True,
                now=now,
            )
            result.scheduled += 1
    return result


def cancel_prompts(*, session: Session, team_id: str, performance_id: int, now: datetime) -> int:
    """An answer came in: no more prompts or follow-ups about this performance."""
    return cancel_messages(
        session=session,
        team_id=team_id,
        ref_prefix=prompt_ref_prefix(performance_id),
        kinds=FEEDBACK_KINDS,
        reason="answered",
        now=now,
    )


def schedule_forget(
    *, session: Session, team_id: str, answer_id: int, at: datetime, now: datetime
) -> None:
    """Make sure the sender's key is deleted when the edit window closes, even if nothing
    else happens in the workspace by then (the outbox survives restarts)."""
    schedule_message(
        session=session,
        team_id=team_id,
        kind=FORGET_KIND,
        unique_key=f"forget:{answer_id}",
        ref=f"feedback-forget:{answer_id}",
        due_at=at,
        target="",
        payload={},
        now=now,
    )


# --- performances nobody has given feedback on ---------------------------------------------------


@dataclass(frozen=True)
class MissingFeedback:
    performance_id: int
    production: str
    school: str
    starts_at: datetime
    ends_at: datetime


# Counting stops here: a Home tab says «over 100», and reading thousands of rows to say more
# would cost more than the rest of the tab.
MISSING_COUNT_CAP = 100


def _missing_where(performance: Any) -> list[Any]:
    # A correlated count, not NOT EXISTS: PostgreSQL turns NOT EXISTS into an anti-join that
    # reads every answer of every workspace (100,000 rows: 20 ms), where probing the index on
    # performance_id for the few rows the LIMITs let through is well under a millisecond.
    answers = (
        sa_select(func.count())
        .select_from(FeedbackAnswer)
        .where(col(FeedbackAnswer.performance_id) == performance.id)
        .scalar_subquery()
    )
    return [
        performance.team_id == bindparam("team_id", type_=String),
        performance.cancelled.is_(False),
        performance.ends_at >= bindparam("since", type_=DateTime(timezone=True)),
        performance.ends_at <= bindparam("now", type_=DateTime(timezone=True)),
        answers == 0,
    ]


@lru_cache(maxsize=1)
def _missing_stmt() -> Any:
    """The newest `limit` unanswered performances, joined to their names, and (in the same
    round trip) how many there are, up to MISSING_COUNT_CAP + 1. Newest by end time, so the
    index on (team_id, ends_at) (migration 0007) is read backwards and both stop early."""
    counted = aliased(Performance)
    capped = (
        sa_select(counted.id).where(*_missing_where(counted)).limit(MISSING_COUNT_CAP + 1)  # type: ignore[call-overload]
    ).subquery()
    total = sa_select(func.count()).select_from(capped).scalar_subquery()
    newest = (
        sa_select(col(Performance.id))
        .where(*_missing_where(Performance))
        .order_by(col(Performance.ends_at).desc(), col(Performance.id).desc())
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    return (
        sa_select(
            col(Performance.id),
            col(Production.title),
            col(School.name),
            col(Performance.starts_at),
            col(Performance.ends_at),
            total,
        )
        .join(newest, newest.c.id == col(Performance.id))
        .join(Production, col(Production.id) == col(Performance.production_id))
        .join(School, col(School.id) == col(Performance.school_id))
        .order_by(col(Performance.ends_at).desc(), col(Performance.id).desc())
    )


def performances_without_feedback(
    *, engine: Engine, team_id: str, now: datetime, days: int, limit: int
) -> tuple[list[MissingFeedback], int]:
    """Performances held in the last `days` days that nobody has answered for, newest first:
    the first `limit` and how many there are (at most MISSING_COUNT_CAP + 1).

    Read on every Home tab, so in one statement, and on PostgreSQL outside a transaction:
    one round trip (the index on team and end time finds the window)."""
    reader = (
        engine.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "postgresql"
        else engine
    )
    params = {"team_id": team_id, "since": now - timedelta(days=days), "now": now, "limit": limit}
    with reader.connect() as conn:
        rows = conn.execute(_missing_stmt(), params).all()
    found = [MissingFeedback(r[0], r[1], r[2], r[3], r[4]) for r in rows]
    return found, int(rows[0][5]) if rows else 0
