"""Reminder planning: which reminders each deadline and meeting gets, and when.

Rules (all in the bot's time zone, so 09:00 stays 09:00 across daylight-saving changes):

* Deadlines get reminders 14, 7 and 1 days before, meetings 7 and 1 days before, at 09:00;
  a workspace (`Workspace.reminder_offsets_days`) or an item (`reminder_offsets_days`) may
  choose other days. Meetings that start after 10:00 also get one the same morning.
* A reminder that would fall on a Saturday, Sunday, Norwegian public holiday or extra closed
  day (Christmas Eve and New Year's Eve unless configured otherwise) moves to the working day
  before: it is a reminder *before* something, so earlier is safe, later is not.
* Nothing is posted between 21:00 and 07:00; anything moved later (a snooze, a late send after
  downtime) moves forward to the next allowed time, never back.
* A snooze never brings a reminder back after its item starts (or is due): close to the item,
  it offers times later that day instead of the next working morning.
* An occurrence still ahead whose reminder times had all passed when it was added, moved
  there, or when the channel was chosen, gets one catch-up reminder at the next working
  moment, saying why it is late (never one per missed time, never twice).

The outbox holds the planned reminders for a rolling window (`WINDOW_DAYS`); `reconcile`
brings it in step with the calendar: new rows, moved rows, cancelled rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from handlers.core.i18n import _, ngettext
from storage import audit
from storage.calendar import (
    Occurrence,
    previous_working_day,
    starts_on,
    upcoming,
)
from storage.models import (
    DatePrecision,
    Deadline,
    DeadlineDone,
    Meeting,
    OutboxMessage,
    OutboxState,
    ReminderChannelChange,
    Workspace,
)
from storage.outbox import cancel_messages, schedule_message
from storage.posting_times import (
    REMINDER_TIME,
    at_local,
    next_working_moment,
)

ItemKind = Literal["deadline", "meeting"]
REMINDER_KIND = "reminder"
# A DM to coordinators when reminders cannot be posted in the chosen channel.
ALERT_KIND = "reminder_alert"
DEFAULT_OFFSETS: dict[str, tuple[int, ...]] = {"deadline": (14, 7, 1), "meeting": (7, 1)}
SAME_MORNING_AFTER = time(10, 0)  # meetings starting later than this get a same-morning one
WINDOW_DAYS = 60  # how far ahead reminders are materialised in the outbox
MAX_OFFSET_DAYS = 90
MAX_OFFSETS = 6
# Only dates that say which day (or which weeks) can be reminded of.
_REMINDABLE = (DatePrecision.DAY.value, DatePrecision.WEEK.value)
PLAN_PREFIX = "plan:"
SNOOZE_PREFIX = "snooze:"
CATCH_UP_PREFIX = "catchup:"
# Why a catch-up reminder comes late: the channel was chosen, or the item added or moved there,
# after its last reminder time.
CatchUp = Literal["channel", "item"]


# --- offsets --------------------------------------------------------------------------------


class OffsetError(ValueError):
    """Offsets a user typed that cannot be used; the message is for the user, in the language
    in force."""


def parse_offsets(text: str | None) -> tuple[int, ...] | None:
    """«14,7,1» → (14, 7, 1); blank → None (inherit). Raises OffsetError with a friendly text."""
    if text is None or not text.strip():
        return None
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    values: set[int] = set()
    for part in parts:
        # ASCII digits only: «²».isdigit() is true, but int() refuses it.
        if not (part.isascii() and part.isdigit() and len(part) <= 6):
            raise OffsetError(
                _(
                    "«%(text)s» er ikke et antall dager. Skriv hele tall skilt med komma, "
                    "for eksempel 14,7,1."
                )
                % {"text": part[:20]}
            )
        value = int(part)
        if value > MAX_OFFSET_DAYS:
            raise OffsetError(
                ngettext(
                    "%(n)d dag er for lenge før; bruk høyst %(most)d.",
                    "%(n)d dager er for lenge før; bruk høyst %(most)d.",
                    value,
                )
                % {"n": value, "most": MAX_OFFSET_DAYS}
            )
        values.add(value)
    if len(values) > MAX_OFFSETS:
        raise OffsetError(
            ngettext(
                "Velg høyst %(n)d påminnelse per frist eller møte.",
                "Velg høyst %(n)d påminnelser per frist eller møte.",
                MAX_OFFSETS,
            )
            % {"n": MAX_OFFSETS}
        )
    return tuple(sorted(values, reverse=True))


def format_offsets(offsets: Sequence[int]) -> str:
    return ",".join(str(o) for o in offsets)


def offsets_for(item: Deadline | Meeting, kind: ItemKind, workspace: Workspace) -> tuple[int, ...]:
    """The item's own offsets, else the workspace's, else the defaults. Bad stored text (it
    can only come from outside the bot's validation) falls back rather than silencing."""
    for text in (item.reminder_offsets_days, workspace.reminder_offsets_days):
        try:
            parsed = parse_offsets(text)
        except OffsetError:
            parsed = None
        if parsed is not None:
            return parsed
    return DEFAULT_OFFSETS[kind]


# --- planning -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedReminder:
    item_kind: ItemKind
    item_id: int
    title: str
    occurrence: date
    offset: int
    at: datetime  # UTC
    target: str
    expected: bool

    @property
    def ref(self) -> str:
        return occurrence_ref(self.item_kind, self.item_id, self.occurrence)

    @property
    def unique_key(self) -> str:
        return (
            f"{PLAN_PREFIX}{self.item_kind}:{self.item_id}:{self.occurrence.isoformat()}:"
            f"{self.offset}:{self.target}"
        )


def load_item(*, session: Session, kind: str, item_id: int) -> Deadline | Meeting | None:
    if kind == "deadline":
        return session.get(Deadline, item_id)
    if kind == "meeting":
        return session.get(Meeting, item_id)
    return None


def item_ref(kind: str, item_id: int) -> str:
    """Prefix of every reminder row of one item (the trailing colon keeps 1 from matching 12)."""
    return f"{kind}:{item_id}:"


def occurrence_ref(kind: str, item_id: int, occurrence: date) -> str:
    return f"{kind}:{item_id}:{occurrence.isoformat()}"


def parse_ref(ref: str) -> tuple[ItemKind, int, date] | None:
    parts = ref.split(":")
    if len(parts) != 3 or parts[0] not in ("deadline", "meeting"):
        return None
    try:
        return parts[0], int(parts[1]), date.fromisoformat(parts[2])  # type: ignore[return-value]
    except ValueError:
        return None


def item_clock(item: Deadline | Meeting) -> time | None:
    return item.due_time if isinstance(item, Deadline) else item.start_time


def begins_at(kind: str, occurrence: date, clock: time | None, tz: ZoneInfo) -> datetime:
    """When the thing happens: a deadline without a time lasts the whole day."""
    if clock is None:
        if kind == "deadline":
            return at_local(occurrence + timedelta(days=1), time(0, 0), tz)
        return at_local(occurrence, time(0, 0), tz)
    return at_local(occurrence, clock, tz)


def starts_at(item: Deadline | Meeting, occurrence: date, tz: ZoneInfo) -> datetime:
    kind = "deadline" if isinstance(item, Deadline) else "meeting"
    return begins_at(kind, occurrence, item_clock(item), tz)


def plan_occurrence(
    occ: Occurrence[Any],
    kind: ItemKind,
    offsets: Sequence[int],
    target: str,
    tz: ZoneInfo,
) -> list[PlannedReminder]:
    """Every reminder of one occurrence, earliest first, one per instant."""
    item = occ.item
    assert item.id is not None
    days = list(offsets)
    clock = item_clock(item)
    if kind == "meeting" and clock is not None and clock > SAME_MORNING_AFTER and 0 not in days:
        days.append(0)
    begins = starts_at(item, occ.start, tz)
    planned: dict[datetime, PlannedReminder] = {}
    for offset in sorted(days, reverse=True):
        day = previous_working_day(occ.start - timedelta(days=offset))
        at = at_local(day, REMINDER_TIME, tz)
        if at >= begins or at in planned:
            continue
        planned[at] = PlannedReminder(
            item_kind=kind,
            item_id=item.id,
            title=item.title,
            occurrence=occ.start,
            offset=offset,
            at=at,
            target=target,
            expected=occ.expected,
        )
    return sorted(planned.values(), key=lambda p: p.at)


def _occurrences(
    *, session: Session, team_id: str, kind: ItemKind, start: date, end: date
) -> list[Occurrence[Any]]:
    model: type[Deadline] | type[Meeting] = Deadline if kind == "deadline" else Meeting
    found = upcoming(session=session, model=model, team_id=team_id, start=start, end=end)
    return [o for o in found if str(o.item.precision) in _REMINDABLE]


def done_occurrences(
    *, session: Session, team_id: str | None, deadline_ids: Iterable[int] | None = None
) -> set[tuple[int, date]]:
    stmt = select(col(DeadlineDone.deadline_id), col(DeadlineDone.occurrence))
    if team_id is not None:
        stmt = stmt.where(col(DeadlineDone.team_id) == team_id)
    if deadline_ids is not None:
        stmt = stmt.where(col(DeadlineDone.deadline_id).in_(list(deadline_ids)))
    return {(int(i), d) for i, d in session.exec(stmt).all()}


def plan(
    *,
    session: Session,
    workspace: Workspace,
    now: datetime,
    until: datetime,
    tz: ZoneInfo,
    target: str | None = None,
    only: tuple[ItemKind, int] | None = None,
    since: datetime | None = None,
) -> list[PlannedReminder]:
    """The reminders the calendar asks for between `since` (default `now`) and `until`.

    Ignores pause and whether a channel is set (callers decide); skips occurrences marked done.
    """
    target = target or workspace.reminder_channel_id or ""
    since = since or now
    today = now.astimezone(tz).date()
    first = since.astimezone(tz).date()
    last = until.astimezone(tz).date() + timedelta(days=MAX_OFFSET_DAYS + 1)
    result: list[PlannedReminder] = []
    kinds: tuple[ItemKind, ...] = (only[0],) if only else ("deadline", "meeting")
    for kind in kinds:
        occurrences = _occurrences(
            session=session,
            team_id=workspace.team_id,
            kind=kind,
            start=min(first, today),
            end=last,
        )
        if only is not None:
            occurrences = [o for o in occurrences if o.item.id == only[1]]
        done = (
            done_occurrences(
                session=session,
                team_id=workspace.team_id,
                deadline_ids={o.item.id for o in occurrences},
            )
            if kind == "deadline"
            else set()
        )
        for occ in occurrences:
            if (occ.item.id, occ.start) in done:
                continue
            offsets = offsets_for(occ.item, kind, workspace)
            for planned in plan_occurrence(occ, kind, offsets, target, tz):
                if since <= planned.at <= until:
                    result.append(planned)
    result.sort(key=lambda p: (p.at, p.item_kind, p.item_id))
    return result


def snapshot(item: Deadline | Meeting, occurrence: date) -> dict[str, Any]:
    """What a posted reminder said, kept so it can be edited after the item changes or goes."""
    clock = item_clock(item)
    end: date | None = None
    if item.end_date is not None:
        first = item.due_date if isinstance(item, Deadline) else item.start_date
        if first is not None:
            end = occurrence + (item.end_date - first)
    return {
        "title": item.title,
        "occurrence": occurrence.isoformat(),
        "end": end.isoformat() if end else None,
        "time": clock.strftime("%H:%M") if clock else None,
        "precision": str(item.precision),
    }


def lock_workspace(*, session: Session, team_id: str) -> Workspace | None:
    """The workspace row, locked on PostgreSQL: planning for one workspace runs one at a time,
    so a refresh that read the calendar before an edit cannot overwrite the edit's plan."""
    stmt = (
        select(Workspace)
        .where(col(Workspace.team_id) == team_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


@dataclass(frozen=True)
class ReconcileResult:
    scheduled: int
    cancelled: int


def _payload(planned: PlannedReminder, item: Deadline | Meeting) -> dict[str, Any]:
    return {
        "item_kind": planned.item_kind,
        "item_id": planned.item_id,
        "offset": planned.offset,
        "expected": planned.expected,
        **snapshot(item, planned.occurrence),
    }


def reconcile(
    *,
    session: Session,
    team_id: str,
    now: datetime,
    tz: ZoneInfo,
    grace: timedelta,
    only: tuple[ItemKind, int] | None = None,
    catch_up: CatchUp | None = None,
) -> ReconcileResult:
    """Bring the outbox's planned reminders in step with the calendar and the settings.

    New reminders inside the window are scheduled, moved ones are moved, ones the calendar no
    longer asks for are cancelled. Rows already due but unsent (downtime) are kept while the
    calendar still asks for them, and never created after the fact. With `catch_up` (an item
    was just saved, or the channel just chosen) occurrences whose reminder times all passed
    unplanned get one late reminder (`_catch_up`). Call in a write session.
    """
    workspace = lock_workspace(session=session, team_id=team_id)
    prefix = item_ref(*only) if only else ""
    if (
        workspace is None
        or workspace.uninstalled_at is not None
        or workspace.reminders_paused
        or not workspace.reminder_channel_id
    ):
        reason = "paused" if workspace is not None and workspace.reminders_paused else "no channel"
        if workspace is not None and workspace.uninstalled_at is not None:
            reason = "uninstalled"
        cancelled = cancel_messages(
            session=session,
            team_id=team_id,
            ref_prefix=prefix,
            kinds=[REMINDER_KIND],
            reason=reason,
            now=now,
        )
        return ReconcileResult(0, cancelled)
    pending_stmt = select(OutboxMessage).where(
        col(OutboxMessage.team_id) == team_id,
        col(OutboxMessage.kind) == REMINDER_KIND,
        col(OutboxMessage.state) == OutboxState.PENDING.value,
    )
    if prefix:
        pending_stmt = pending_stmt.where(
            col(OutboxMessage.ref).startswith(prefix, autoescape=True)
        )
    pending = {m.unique_key: m for m in session.exec(pending_stmt).all()}
    # Rows still waiting from before (downtime) are judged by the tick (late or skipped), so
    # the plan reaches back to the oldest of them: reconcile never mistakes them for stale.
    since = min([now - grace, *(m.due_at for m in pending.values())])
    wanted = plan(
        session=session,
        workspace=workspace,
        now=now,
        until=now + timedelta(days=WINDOW_DAYS),
        tz=tz,
        only=only,
        since=since,
    )
    items: dict[tuple[str, int], Deadline | Meeting | None] = {}
    wanted_keys: set[str] = set()
    scheduled = 0
    for planned in wanted:
        if planned.at < now and planned.unique_key not in pending:
            continue  # missed while nobody planned it: never invent a late reminder
        wanted_keys.add(planned.unique_key)
        key = (planned.item_kind, planned.item_id)
        if key not in items:
            items[key] = load_item(session=session, kind=planned.item_kind, item_id=planned.item_id)
        item = items[key]
        if item is None:
            continue
        existing = pending.get(planned.unique_key)
        payload = _payload(planned, item)
        if (
            existing is not None
            and existing.due_at == planned.at
            and existing.target == planned.target
            and existing.payload == payload
        ):
            continue
        schedule_message(
            session=session,
            team_id=team_id,
            kind=REMINDER_KIND,
            unique_key=planned.unique_key,
            ref=planned.ref,
            due_at=planned.at,
            target=planned.target,
            payload=payload,
            revive=True,
            now=now,
        )
        scheduled += 1
    stale: list[int] = []
    if catch_up is not None:
        scheduled += _catch_up(
            session=session, workspace=workspace, now=now, tz=tz, only=only, why=catch_up
        )
    cancelled = 0
    live = {(p.item_kind, p.item_id, p.occurrence) for p in wanted}
    for unique_key, message in pending.items():
        if unique_key.startswith(PLAN_PREFIX):
            if unique_key not in wanted_keys:
                stale.append(message.id or 0)
        elif unique_key.startswith((SNOOZE_PREFIX, CATCH_UP_PREFIX)):
            parsed = parse_ref(message.ref)
            # A snooze or catch-up lives as long as its occurrence does (done, moved or
            # deleted ends it).
            if (
                parsed is not None
                and parsed not in live
                and not _still_occurs(session=session, team_id=team_id, parsed=parsed)
            ):
                stale.append(message.id or 0)
    if stale:
        cancelled = _cancel_ids(session=session, ids=stale, reason="changed", now=now)
    return ReconcileResult(scheduled, cancelled)


def _catch_up(
    *,
    session: Session,
    workspace: Workspace,
    now: datetime,
    tz: ZoneInfo,
    only: tuple[ItemKind, int] | None,
    why: CatchUp,
) -> int:
    """One late reminder for each occurrence still ahead whose reminder times have all passed
    while none of its reminders was posted, is waiting, or was given up by the scheduler:
    the item was added or moved there late, or the channel chosen late. It goes out at the next
    working moment if that is before the item, stands in for the last missed time only, and
    has one key per occurrence, so it is never sent twice. Returns how many were scheduled.
    """
    horizon = timedelta(days=MAX_OFFSET_DAYS + 1)
    last: dict[str, PlannedReminder] = {}
    for planned in plan(
        session=session,
        workspace=workspace,
        now=now,
        until=now + horizon,
        tz=tz,
        only=only,
        since=now - horizon,
    ):
        last[planned.ref] = planned  # earliest first: the last one stays
    today = now.astimezone(tz).date()
    missed = {ref: p for ref, p in last.items() if p.at < now and p.occurrence >= today}
    if not missed:
        return 0
    rows = session.exec(
        select(OutboxMessage).where(
            col(OutboxMessage.team_id) == workspace.team_id,
            col(OutboxMessage.kind) == REMINDER_KIND,
            col(OutboxMessage.ref).in_(list(missed)),
        )
    ).all()
    handled = {r.ref for r in rows if r.state != OutboxState.CANCELLED.value}
    waiting = {
        r.ref: r
        for r in rows
        if r.unique_key.startswith(CATCH_UP_PREFIX) and r.state == OutboxState.PENDING.value
    }
    at = next_working_moment(now, tz)
    scheduled = 0
    for ref, planned in missed.items():
        item = load_item(session=session, kind=planned.item_kind, item_id=planned.item_id)
        if item is None:
            continue
        begins = starts_at(item, planned.occurrence, tz)
        if (row := waiting.get(ref)) is not None:
            # Already waiting: it keeps its time and follows the item's changes and channel,
            # unless the item now comes first.
            if row.due_at >= begins:
                _cancel_ids(session=session, ids=[row.id or 0], reason="changed", now=now)
                continue
            due = row.due_at
        elif ref in handled or at >= begins:
            continue
        else:
            due = at
        late = {"catch_up": why, "missed_at": planned.at.isoformat()}
        if row is not None:  # what made it late stays what it was
            late = {key: (row.payload or {}).get(key, value) for key, value in late.items()}
        payload = {**_payload(planned, item), **late}
        if row is not None and (row.target, row.payload) == (planned.target, payload):
            continue
        schedule_message(
            session=session,
            team_id=workspace.team_id,
            kind=REMINDER_KIND,
            unique_key=f"{CATCH_UP_PREFIX}{ref}",
            ref=ref,
            due_at=due,
            target=planned.target,
            payload=payload,
            revive=True,
            now=now,
        )
        scheduled += 1
    return scheduled


def occurs_on(
    *, session: Session, team_id: str, kind: ItemKind, item_id: int, occurrence: date
) -> bool:
    """Whether the item (still) has an occurrence on that day."""
    item = load_item(session=session, kind=kind, item_id=item_id)
    return item is not None and item.team_id == team_id and reminds_on(item, occurrence)


def reminds_on(item: Deadline | Meeting, day: date) -> bool:
    return str(item.precision) in _REMINDABLE and starts_on(item, day)


def is_done(*, session: Session, team_id: str, deadline_id: int, occurrence: date) -> bool:
    return (
        get_done(session=session, team_id=team_id, deadline_id=deadline_id, occurrence=occurrence)
        is not None
    )


def _still_occurs(*, session: Session, team_id: str, parsed: tuple[ItemKind, int, date]) -> bool:
    kind, item_id, occurrence = parsed
    if kind == "deadline" and is_done(
        session=session, team_id=team_id, deadline_id=item_id, occurrence=occurrence
    ):
        return False
    return occurs_on(
        session=session, team_id=team_id, kind=kind, item_id=item_id, occurrence=occurrence
    )


def _cancel_ids(*, session: Session, ids: list[int], reason: str, now: datetime) -> int:
    from sqlalchemy import update

    stmt = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(ids),
            col(OutboxMessage.state) == OutboxState.PENDING.value,
        )
        .values(state=OutboxState.CANCELLED.value, error=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def schedule_snooze(
    *,
    session: Session,
    team_id: str,
    item_kind: ItemKind,
    item_id: int,
    occurrence: date,
    target: str,
    user_id: str,
    at: datetime,
    now: datetime,
) -> OutboxMessage | None:
    """«Minn meg på …»: one more reminder of this occurrence at `at` (the caller checks that
    it comes before the item, `handlers/reminders/snooze.py`); None when the item is gone."""
    item = load_item(session=session, kind=item_kind, item_id=item_id)
    if item is None or item.team_id != team_id:
        return None
    due = at.astimezone(UTC)
    payload = {
        "item_kind": item_kind,
        "item_id": item_id,
        "offset": None,
        "expected": False,
        "snoozed_by": user_id,
        **snapshot(item, occurrence),
    }
    return schedule_message(
        session=session,
        team_id=team_id,
        kind=REMINDER_KIND,
        unique_key=(
            f"{SNOOZE_PREFIX}{item_kind}:{item_id}:{occurrence.isoformat()}:"
            f"{due:%Y-%m-%dT%H:%M}:{target}"
        ),
        ref=occurrence_ref(item_kind, item_id, occurrence),
        due_at=due,
        target=target,
        payload=payload,
        revive=True,
        now=now,
    )


# --- done marks -----------------------------------------------------------------------------


def get_done(
    *, session: Session, team_id: str, deadline_id: int, occurrence: date
) -> DeadlineDone | None:
    stmt = select(DeadlineDone).where(
        col(DeadlineDone.team_id) == team_id,
        col(DeadlineDone.deadline_id) == deadline_id,
        col(DeadlineDone.occurrence) == occurrence,
    )
    return session.exec(stmt).first()


def mark_done(
    *,
    session: Session,
    team_id: str,
    deadline_id: int,
    occurrence: date,
    user_id: str,
    now: datetime,
) -> tuple[DeadlineDone, bool]:
    """Close one occurrence for the workspace; (mark, True) when this call made it.

    The one way a deadline is marked done, from a reminder's «Ferdig» or the Home tab
    (storage.items.mark_deadline_done): the mark, the cancelled reminders and the audit entry
    («Merket som ferdig av …») are written in the caller's transaction, all or none of them.
    A deadline already done is left as it is, and nothing is audited. LookupError if the
    deadline is not in this workspace.
    """
    existing = get_done(
        session=session, team_id=team_id, deadline_id=deadline_id, occurrence=occurrence
    )
    if existing is not None:
        return existing, False
    deadline = session.get(Deadline, deadline_id)
    if deadline is None or deadline.team_id != team_id:
        raise LookupError(f"deadline {deadline_id}")
    mark = DeadlineDone(
        team_id=team_id,
        deadline_id=deadline_id,
        occurrence=occurrence,
        done_by=user_id,
        done_at=now,
    )
    session.add(mark)
    session.flush()
    cancel_messages(
        session=session,
        team_id=team_id,
        ref_prefix=occurrence_ref("deadline", deadline_id, occurrence),
        kinds=[REMINDER_KIND],
        reason="done",
        now=now,
    )
    audit.record(
        session=session,
        team_id=team_id,
        user_id=user_id,
        action="done",
        item_kind="deadline",
        item_id=deadline_id,
        summary=deadline.title,
        changes={"occurrence": occurrence},
        at=now,
    )
    session.flush()
    return mark, True


def undo_done(*, session: Session, team_id: str, deadline_id: int, occurrence: date) -> bool:
    stmt = delete(DeadlineDone).where(
        col(DeadlineDone.team_id) == team_id,
        col(DeadlineDone.deadline_id) == deadline_id,
        col(DeadlineDone.occurrence) == occurrence,
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def forget_item(*, session: Session, team_id: str, kind: ItemKind, item_id: int) -> None:
    """A deleted deadline's done marks go with it."""
    if kind == "deadline":
        session.execute(
            delete(DeadlineDone).where(
                col(DeadlineDone.team_id) == team_id, col(DeadlineDone.deadline_id) == item_id
            )
        )


# --- workspace settings ---------------------------------------------------------------------


def set_reminder_channel(
    *, session: Session, workspace: Workspace, channel_id: str, user_id: str, now: datetime
) -> None:
    workspace.reminder_channel_id = channel_id
    session.add(workspace)
    session.add(
        ReminderChannelChange(
            team_id=workspace.team_id, channel_id=channel_id, user_id=user_id, changed_at=now
        )
    )
    session.flush()


def last_channel_change(*, session: Session, team_id: str) -> ReminderChannelChange | None:
    stmt = (
        select(ReminderChannelChange)
        .where(col(ReminderChannelChange.team_id) == team_id)
        .order_by(
            col(ReminderChannelChange.changed_at).desc(), col(ReminderChannelChange.id).desc()
        )
        .limit(1)
    )
    return session.exec(stmt).first()


def reminder_teams(*, session: Session) -> list[str]:
    """Workspaces whose reminders the scheduler keeps materialised (or must cancel)."""
    stmt = select(Workspace.team_id).order_by(col(Workspace.team_id))
    return list(session.exec(stmt).all())
