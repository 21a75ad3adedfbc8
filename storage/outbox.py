"""The scheduled outbox: schedule, cancel, claim and settle messages.

Every function takes the caller's session; the caller's transaction decides what commits
together. Claiming is the only place where two scheduler processes meet:

* PostgreSQL: the due rows are selected `FOR UPDATE SKIP LOCKED`, so a second process skips
  what the first is claiming instead of waiting for it or taking it too.
* SQLite: `SKIP LOCKED` does not exist (SQLAlchemy leaves the clause out); the write session
  starts with `BEGIN IMMEDIATE` (storage.db.session_scope(write=True)), which serialises
  claimers, and the claim is one `UPDATE … RETURNING`.

A claim sets a lease (`available_at` = lease end). The sender records `attempted_at` before it
posts (`mark_attempting`). A row whose lease ran out was claimed by a process that died or
stalled: when it carries `attempted_at` it is claimed again with `needs_check`, and the sender
looks for the message in the channel before posting it again; without, it was never posted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, case, func, or_, true, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import OutboxAlert, OutboxMessage, OutboxState, UserLanguage, Workspace

_ACTIVE = (OutboxState.PENDING.value, OutboxState.CLAIMED.value)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("outbox instants must be timezone-aware")
    return moment.astimezone(UTC)


def _get_by_key(*, session: Session, team_id: str, kind: str, unique_key: str) -> OutboxMessage:
    stmt = (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.team_id) == team_id,
            col(OutboxMessage.kind) == kind,
            col(OutboxMessage.unique_key) == unique_key,
        )
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).one()


def schedule_message(
    *,
    session: Session,
    team_id: str,
    kind: str,
    unique_key: str,
    ref: str,
    due_at: datetime,
    target: str,
    payload: dict[str, Any] | None = None,
    revive: bool = False,
    now: datetime | None = None,
) -> OutboxMessage:
    """Schedule one intended message; idempotent on (team_id, kind, unique_key).

    A row that already exists and is still pending gets the new due time, target, ref and
    payload. A row that was sent, failed or skipped is left alone, and so is one being posted
    right now. A cancelled row stays cancelled unless `revive` is true (reminders revive rows
    when a paused workspace resumes or a «Ferdig» is undone).

    One `INSERT … ON CONFLICT DO UPDATE … WHERE` statement, so two processes scheduling the
    same key at once cannot both insert it.
    """
    due = _aware(due_at)
    stamp = _aware(now) if now is not None else datetime.now(UTC)
    values = {
        "team_id": team_id,
        "kind": kind,
        "unique_key": unique_key,
        "ref": ref,
        "target": target,
        "payload": payload or {},
        "state": OutboxState.PENDING.value,
        "due_at": due,
        "available_at": due,
        "attempts": 0,
        "needs_check": False,
        "late": False,
        "created_at": stamp,
        "updated_at": stamp,
    }
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    insert = insert.values(**values)
    excluded = insert.excluded
    states = [OutboxState.PENDING.value]
    if revive:
        states.append(OutboxState.CANCELLED.value)
    was_cancelled = table.c.state == OutboxState.CANCELLED.value
    upsert = insert.on_conflict_do_update(
        index_elements=["team_id", "kind", "unique_key"],
        set_={
            "ref": excluded.ref,
            "target": excluded.target,
            "payload": excluded.payload,
            "due_at": excluded.due_at,
            # A row waiting for a retry keeps its retry time if that is later than the new due.
            "available_at": case(
                (
                    and_(
                        table.c.state == OutboxState.PENDING.value,
                        table.c.attempts > 0,
                        table.c.available_at > excluded.available_at,
                    ),
                    table.c.available_at,
                ),
                else_=excluded.available_at,
            ),
            "attempts": case((was_cancelled, 0), else_=table.c.attempts),
            "state": OutboxState.PENDING.value,
            "error": case((was_cancelled, None), else_=table.c.error),
            "updated_at": excluded.updated_at,
        },
        where=table.c.state.in_(states),
    )
    session.execute(upsert)
    return _get_by_key(session=session, team_id=team_id, kind=kind, unique_key=unique_key)


def cancel_messages(
    *,
    session: Session,
    team_id: str,
    ref_prefix: str,
    kinds: Sequence[str] | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> int:
    """Cancel the pending rows whose ref starts with `ref_prefix`; returns how many.

    End a prefix with a separator ("deadline:12:") so it cannot match "deadline:123:". Rows
    being posted right now are not touched: the renderer is asked again before posting.
    """
    stamp = _aware(now) if now is not None else datetime.now(UTC)
    escaped = ref_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions = [
        col(OutboxMessage.team_id) == team_id,
        col(OutboxMessage.state) == OutboxState.PENDING.value,
        col(OutboxMessage.ref).like(escaped + "%", escape="\\"),
    ]
    if kinds is not None:
        conditions.append(col(OutboxMessage.kind).in_(list(kinds)))
    stmt = (
        update(OutboxMessage)
        .where(*conditions)
        .values(state=OutboxState.CANCELLED.value, error=reason, updated_at=stamp)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def cancel_team(*, session: Session, team_id: str, reason: str, now: datetime) -> int:
    """Stop a workspace's outbox (uninstalled, tokens revoked): nothing of it is retried."""
    stmt = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.team_id) == team_id,
            col(OutboxMessage.state) == OutboxState.PENDING.value,
        )
        .values(state=OutboxState.CANCELLED.value, error=reason, updated_at=_aware(now))
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


# --- claiming -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A claimed row as the sender sees it (a plain copy, safe to use across threads)."""

    id: int
    team_id: str
    kind: str
    ref: str
    target: str
    due_at: datetime
    lease_until: datetime
    attempts: int
    needs_check: bool
    late: bool
    # Not to be posted before this instant: the due time of a row claimed ahead of it.
    send_at: datetime
    # The first unsettled post attempt and the latest it can have landed: a history check
    # reads between the two.
    attempted_at: datetime | None = None
    check_until: datetime | None = None


def claim_due(
    *,
    session: Session,
    now: datetime,
    worker: str,
    lease: timedelta,
    limit: int = 1000,
    per_target: int = 30,
    ahead: timedelta = timedelta(0),
    ahead_kinds: Sequence[str] = (),
    team_ids: Sequence[str] | None = None,
) -> list[Claim]:
    """Claim rows that are due (or whose lease ran out), oldest first.

    With `team_ids`, only those workspaces' rows (a scheduler scoped to the local shell's
    workspace never posts another's); None claims every workspace's.

    With `ahead`, pending rows of `ahead_kinds` due within that much of `now` are claimed too,
    so the sender can prepare them before their time (`Claim.send_at`). Only rows still at
    their planned time qualify (never moved by a retry, postponement or snooze, where the
    time the row may go out is not its due time), and never a row whose lease is running.

    At most `per_target` rows per target are taken, so one busy channel (paced at one message
    a second) cannot hold a batch longer than the lease. Call inside
    `session_scope(engine, write=True)`; the claim is final when that commits.

    One statement, one round trip: the candidates (locked `FOR UPDATE SKIP LOCKED` on
    PostgreSQL), ranked per target, updated and returned.
    """
    moment = _aware(now)
    # Core statements on the session's connection: the ORM's row machinery costs more than the
    # queries for a batch of a thousand, and the claim is what the first post waits for.
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    conn = session.connection()
    candidates = (
        core_select(table.c.id, table.c.target, table.c.available_at)
        .where(
            or_(
                table.c.state == OutboxState.PENDING.value,
                table.c.state == OutboxState.CLAIMED.value,
            ),
            table.c.team_id.in_(list(team_ids)) if team_ids is not None else true(),
            table.c.available_at <= moment + ahead,
            or_(
                table.c.available_at <= moment,
                and_(
                    table.c.state == OutboxState.PENDING.value,
                    table.c.kind.in_(list(ahead_kinds)),
                    table.c.available_at == table.c.due_at,
                ),
            )
            if ahead > timedelta(0) and ahead_kinds
            else true(),
        )
        .order_by(table.c.available_at, table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).cte("candidates")
    # At most `per_target` of the candidates per target, in the same order.
    ranked = core_select(
        candidates.c.id,
        func.row_number()
        .over(
            partition_by=candidates.c.target,
            order_by=(candidates.c.available_at, candidates.c.id),
        )
        .label("n"),
    ).cte("ranked")
    chosen = core_select(ranked.c.id).where(ranked.c.n <= per_target)
    lease_until = moment + lease
    stmt = (
        table.update()
        .where(table.c.id.in_(chosen))
        .values(
            # A row that was already claimed lost its lease: if its post was attempted, the
            # message may be in Slack, posted before that lease ended (the old available_at).
            check_until=case(
                (
                    and_(
                        table.c.state == OutboxState.CLAIMED.value,
                        table.c.attempted_at.is_not(None),
                    ),
                    table.c.available_at,
                ),
                else_=table.c.check_until,
            ),
            needs_check=case(
                (
                    and_(
                        table.c.state == OutboxState.CLAIMED.value,
                        table.c.attempted_at.is_not(None),
                    ),
                    True,
                ),
                else_=table.c.needs_check,
            ),
            state=OutboxState.CLAIMED.value,
            claimed_by=worker,
            claimed_at=moment,
            available_at=lease_until,
            attempts=table.c.attempts + 1,
            updated_at=moment,
        )
        # Only what the sender needs: the renderers read the rows themselves, and every
        # claim's lease ends at `lease_until`. A thousand payloads decoded here would delay
        # the first post of a burst.
        .returning(
            table.c.id,
            table.c.team_id,
            table.c.kind,
            table.c.ref,
            table.c.target,
            table.c.due_at,
            table.c.attempts,
            table.c.needs_check,
            table.c.late,
            table.c.attempted_at,
            table.c.check_until,
        )
    )
    claims = [
        Claim(
            **{**row._asdict(), "needs_check": bool(row.needs_check), "late": bool(row.late)},
            lease_until=lease_until,
            send_at=max(row.due_at, moment),
        )
        for row in conn.execute(stmt)
    ]
    claims.sort(key=lambda c: (c.due_at, c.id))
    return claims


class Due(NamedTuple):
    """A row `claim_due` takes next: which (to tell a row that keeps coming back) and when."""

    id: int
    team_id: str
    kind: str
    available_at: datetime


def next_due(
    *, session: Session, team_ids: Sequence[str] | None, after: datetime, until: datetime,
    kinds: Sequence[str] | None = None,
) -> Due | None:  # fmt: skip
    """The earliest row of `kinds` (None: any) a claim would take at a time in (`after`,
    `until`] (pending, or claimed with its lease ending then) of `team_ids` (None: every one)."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    stmt = (
        core_select(table.c.id, table.c.team_id, table.c.kind, table.c.available_at)
        .where(
            table.c.state.in_(_ACTIVE),
            table.c.team_id.in_(list(team_ids)) if team_ids is not None else true(),
            table.c.available_at > _aware(after),
            table.c.available_at <= _aware(until),
            table.c.kind.in_(list(kinds)) if kinds is not None else true(),
        )
        .order_by(table.c.available_at, table.c.id)
        .limit(1)
    )
    found = session.connection().execute(stmt).first()
    return Due(*found) if found is not None else None


def _settle(
    *, session: Session, message_id: int, worker: str, now: datetime, **values: Any
) -> bool:
    """Change a row this worker holds; False when its claim was lost meanwhile."""
    stmt = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.state) == OutboxState.CLAIMED.value,
            col(OutboxMessage.claimed_by) == worker,
        )
        .values(updated_at=_aware(now), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def mark_sent(
    *, session: Session, message_id: int, worker: str, channel: str, ts: str, now: datetime
) -> bool:
    return _settle(
        session=session,
        message_id=message_id,
        worker=worker,
        now=now,
        state=OutboxState.SENT.value,
        channel=channel,
        ts=ts,
        sent_at=_aware(now),
        needs_check=False,
        attempted_at=None,
        error=None,
    )


def mark_sent_many(
    *, session: Session, worker: str, sent: Sequence[tuple[int, str, str]], now: datetime
) -> int:
    """Record several posted messages (id, channel, ts) in one statement; returns how many
    were still held by this worker."""
    if not sent:
        return 0
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    stamp = _aware(now)
    stmt = (
        table.update()
        .where(
            table.c.id == bindparam("b_id"),
            table.c.state == OutboxState.CLAIMED.value,
            table.c.claimed_by == worker,
        )
        .values(
            state=OutboxState.SENT.value,
            channel=bindparam("b_channel"),
            ts=bindparam("b_ts"),
            sent_at=stamp,
            updated_at=stamp,
            needs_check=False,
            attempted_at=None,
            error=None,
        )
    )
    params = [{"b_id": i, "b_channel": c, "b_ts": t} for i, c, t in sent]
    result = session.connection().execute(stmt, params)
    return int(result.rowcount or 0)


def mark_failed(
    *, session: Session, message_id: int, worker: str, reason: str, now: datetime
) -> bool:
    return _settle(
        session=session,
        message_id=message_id,
        worker=worker,
        now=now,
        state=OutboxState.FAILED.value,
        error=reason[:300],
    )


def mark_cancelled(
    *, session: Session, message_id: int, worker: str, reason: str, now: datetime
) -> bool:
    return _settle(
        session=session,
        message_id=message_id,
        worker=worker,
        now=now,
        state=OutboxState.CANCELLED.value,
        error=reason[:300],
    )


def mark_skipped(
    *, session: Session, message_id: int, worker: str, reason: str, now: datetime
) -> bool:
    return _settle(
        session=session,
        message_id=message_id,
        worker=worker,
        now=now,
        state=OutboxState.SKIPPED.value,
        error=reason[:300],
    )


def mark_retry(
    *,
    session: Session,
    message_id: int,
    worker: str,
    retry_at: datetime,
    reason: str,
    needs_check: bool,
    now: datetime,
) -> bool:
    """Back to pending until `retry_at`; `needs_check` when Slack may have posted it anyway."""
    return _settle(
        session=session,
        message_id=message_id,
        worker=worker,
        now=now,
        state=OutboxState.PENDING.value,
        available_at=_aware(retry_at),
        needs_check=needs_check,
        # Nothing can be in Slack (e.g. a 429): forget the attempt; the next post starts anew.
        # Else the post that failed ended by now: the look reads up to here.
        **({"check_until": _aware(now)} if needs_check else {"attempted_at": None}),
        error=reason[:300],
        claimed_by=None,
    )


def mark_attempting(
    *, session: Session, worker: str, ids: Sequence[int], now: datetime
) -> set[int]:
    """Record that these held rows are about to be posted (one statement); returns the ids
    still held by this worker, the only ones that may be posted. An earlier unsettled attempt
    keeps its time: a history check must read from the first."""
    if not ids:
        return set()
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    stamp = _aware(now)
    stmt = (
        table.update()
        .where(
            table.c.id.in_(list(ids)),
            table.c.state == OutboxState.CLAIMED.value,
            table.c.claimed_by == worker,
        )
        .values(attempted_at=func.coalesce(table.c.attempted_at, stamp), updated_at=stamp)
        .returning(table.c.id)
    )
    return {row_id for (row_id,) in session.connection().execute(stmt)}


def _unless_checking() -> Any:
    # A row given back unposted forgets an attempt recorded ahead of its post, but not one
    # still to be looked for (needs_check): that one's window starts at it.
    return case((col(OutboxMessage.needs_check), col(OutboxMessage.attempted_at)), else_=None)


def release(
    *, session: Session, message_id: int, worker: str, available_at: datetime, now: datetime
) -> bool:
    """Give a claimed row back untouched (e.g. the lease is too short to post it safely)."""
    return _settle(
        session=session,
        message_id=message_id,
        worker=worker,
        now=now,
        state=OutboxState.PENDING.value,
        available_at=_aware(available_at),
        claimed_by=None,
        attempts=col(OutboxMessage.attempts) - 1,
        attempted_at=_unless_checking(),
    )


def postpone(
    *, session: Session, message_id: int, worker: str, until: datetime, late: bool, now: datetime
) -> bool:
    """Move a row forward to the next allowed time (quiet hours); it is due then."""
    return _settle(
        session=session,
        message_id=message_id,
        worker=worker,
        now=now,
        state=OutboxState.PENDING.value,
        due_at=_aware(until),
        available_at=_aware(until),
        late=late,
        claimed_by=None,
        attempts=col(OutboxMessage.attempts) - 1,
        attempted_at=_unless_checking(),
    )


# --- reading --------------------------------------------------------------------------------


def get_message(*, session: Session, message_id: int) -> OutboxMessage | None:
    stmt = (
        select(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def get_messages(*, session: Session, ids: Sequence[int]) -> list[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(ids)))
        .order_by(col(OutboxMessage.id))
        .execution_options(populate_existing=True)
    )
    return list(session.exec(stmt).all())


def messages_for_ref(
    *,
    session: Session,
    team_id: str,
    ref_prefix: str,
    states: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> list[OutboxMessage]:
    escaped = ref_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions = [
        col(OutboxMessage.team_id) == team_id,
        col(OutboxMessage.ref).like(escaped + "%", escape="\\"),
    ]
    if states is not None:
        conditions.append(col(OutboxMessage.state).in_(list(states)))
    if kinds is not None:
        conditions.append(col(OutboxMessage.kind).in_(list(kinds)))
    stmt = (
        select(OutboxMessage)
        .where(*conditions)
        .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        .execution_options(populate_existing=True)
    )
    return list(session.exec(stmt).all())


def upcoming_messages(
    *, session: Session, team_id: str, kinds: Sequence[str], limit: int = 10
) -> list[OutboxMessage]:
    """The next pending (or in-flight) messages of a workspace, soonest first."""
    stmt = (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.team_id) == team_id,
            col(OutboxMessage.state).in_(_ACTIVE),
            col(OutboxMessage.kind).in_(list(kinds)),
        )
        .order_by(col(OutboxMessage.due_at), col(OutboxMessage.id))
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def count_upcoming(*, session: Session, team_id: str, kinds: Sequence[str]) -> int:
    stmt = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            col(OutboxMessage.team_id) == team_id,
            col(OutboxMessage.state).in_(_ACTIVE),
            col(OutboxMessage.kind).in_(list(kinds)),
        )
    )
    return int(session.exec(stmt).one())


def recent_problems(
    *, session: Session, team_id: str, since: datetime, limit: int = 10
) -> list[OutboxMessage]:
    """Failed and skipped rows since `since`, newest first (for `/dks påminnelser status`)."""
    stmt = (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.team_id) == team_id,
            col(OutboxMessage.state).in_([OutboxState.FAILED.value, OutboxState.SKIPPED.value]),
            col(OutboxMessage.due_at) >= _aware(since),
        )
        .order_by(col(OutboxMessage.due_at).desc(), col(OutboxMessage.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def last_sent(*, session: Session, team_id: str, kinds: Sequence[str]) -> OutboxMessage | None:
    stmt = (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.team_id) == team_id,
            col(OutboxMessage.state) == OutboxState.SENT.value,
            col(OutboxMessage.kind).in_(list(kinds)),
        )
        .order_by(col(OutboxMessage.sent_at).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def update_payload(*, session: Session, message_id: int, payload: dict[str, Any]) -> None:
    """Replace a row's payload (e.g. remember that a posted message was edited)."""
    stmt = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(payload=payload)
        .execution_options(synchronize_session=False)
    )
    session.execute(stmt)


# --- who reads it -----------------------------------------------------------------------------


def is_person(target: str) -> bool:
    """A row's target is a person (a DM) rather than a channel: Slack's user ids."""
    return target.startswith(("U", "W"))


@dataclass(frozen=True)
class Languages:
    """The stored language choices of some workspaces and people (codes as stored; None or
    absent where nobody chose). `handlers.core.i18n.pick` decides what a reader gets."""

    workspaces: dict[str, str | None]
    people: dict[tuple[str, str], str]

    def of(self, team_id: str, target: str) -> tuple[str | None, str | None]:
        """(the person's own choice, the workspace's) for a message to `target`; a channel
        has no person."""
        person = self.people.get((team_id, target)) if is_person(target) else None
        return person, self.workspaces.get(team_id)


def recipient_languages(*, session: Session, recipients: Iterable[tuple[str, str]]) -> Languages:
    """The language choices the readers of messages to these (team, target) read: the
    workspaces' in one query, the people's own in one more (only when some are people)."""
    wanted = set(recipients)
    teams = sorted({team for team, _target in wanted})
    if not teams:
        return Languages({}, {})
    found = session.exec(
        select(Workspace.team_id, Workspace.language).where(col(Workspace.team_id).in_(teams))
    ).all()
    workspaces: dict[str, str | None] = dict.fromkeys(teams)
    workspaces.update(dict(found))
    people: dict[tuple[str, str], str] = {}
    users = sorted({target for _team, target in wanted if is_person(target)})
    if users:
        rows = session.exec(
            select(UserLanguage.team_id, UserLanguage.user_id, UserLanguage.language).where(
                col(UserLanguage.team_id).in_(teams), col(UserLanguage.user_id).in_(users)
            )
        ).all()
        people = {(team, user): language for team, user, language in rows if (team, user) in wanted}
    return Languages(workspaces, people)


# --- alerts ---------------------------------------------------------------------------------


def open_alert(
    *,
    session: Session,
    team_id: str,
    alert_key: str,
    reason: str,
    channel: str | None,
    now: datetime,
) -> OutboxAlert | None:
    """Record a problem once; returns the new alert, or None when it is already open.

    A cleared alert with the same key opens again (a new incident is told again).
    """
    table = OutboxAlert.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    stamp = _aware(now)
    stmt = insert.values(
        team_id=team_id,
        alert_key=alert_key,
        reason=reason,
        channel=channel,
        created_at=stamp,
        cleared_at=None,
    ).on_conflict_do_update(
        index_elements=["team_id", "alert_key"],
        set_={"reason": reason, "created_at": stamp, "cleared_at": None},
        where=table.c.cleared_at.is_not(None),
    )
    if session.execute(stmt.returning(table.c.id)).first() is None:
        return None
    found = session.exec(
        select(OutboxAlert)
        .where(col(OutboxAlert.team_id) == team_id, col(OutboxAlert.alert_key) == alert_key)
        .execution_options(populate_existing=True)
    ).one()
    return found


def clear_alerts(
    *, session: Session, team_id: str, now: datetime, channel: str | None = None
) -> int:
    conditions = [col(OutboxAlert.team_id) == team_id, col(OutboxAlert.cleared_at).is_(None)]
    if channel is not None:
        conditions.append(col(OutboxAlert.channel) == channel)
    stmt = (
        update(OutboxAlert)
        .where(*conditions)
        .values(cleared_at=_aware(now))
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def open_alerts(*, session: Session, team_id: str) -> list[OutboxAlert]:
    stmt = (
        select(OutboxAlert)
        .where(col(OutboxAlert.team_id) == team_id, col(OutboxAlert.cleared_at).is_(None))
        .order_by(col(OutboxAlert.created_at).desc())
    )
    return list(session.exec(stmt).all())
