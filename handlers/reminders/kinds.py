"""What the scheduler posts for reminders: the outbox kinds "reminder" and "reminder_alert".

A reminder is rendered from the item as it is at posting time, not from what was planned: a
deadline moved, deleted or marked done meanwhile is not announced with stale words.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from handlers.core.commands import COMMAND
from handlers.core.outbox_kinds import RenderedMessage
from handlers.reminders.views import (
    INVITE_HINT,
    ReminderRef,
    ReminderView,
    reason_text,
    reminder_blocks,
    reminder_text,
    simple_blocks,
)
from storage.models import OutboxMessage, Workspace
from storage.reminders import is_done, load_item, occurs_on
from storage.snapshot import read_versions
from storage.workspaces import get_workspace


def _tz(now: datetime) -> ZoneInfo:
    tz = now.tzinfo
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo("Europe/Oslo")


def render_reminder(session: Session, row: OutboxMessage, now: datetime) -> RenderedMessage | None:
    """The reminder as it should look now; None when it should not go out any more (the item
    is gone or moved, the occurrence is done, the workspace paused or uninstalled).

    `now` is in the bot's time zone (the scheduler passes it so).
    """
    return render_reminders(session, [row], now).get(row.id or 0)


def render_reminders(
    session: Session, rows: Sequence[OutboxMessage], now: datetime
) -> dict[int, RenderedMessage | None]:
    """Many reminders at once: the lookups run once per occurrence, not once per message
    (1,000 reminders due at 09:00 are mostly the same few deadlines in many channels)."""
    tz = _tz(now)
    today = now.astimezone(tz).date()
    out: dict[int, RenderedMessage | None] = {}
    workspaces: dict[str, Workspace | None] = {}
    groups: dict[tuple[str, str, int, str, bool, str], list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        payload = row.payload or {}
        kind = payload.get("item_kind")
        try:
            key = (
                row.team_id,
                str(kind),
                int(payload["item_id"]),
                str(payload["occurrence"]),
                bool(payload.get("expected")),
                str(payload.get("snoozed_by") or ""),
            )
        except (KeyError, TypeError, ValueError):
            out[row.id or 0] = None
            continue
        groups[key].append(row)
    for (team_id, kind, item_id, occ_text, expected, snoozed_by), group in groups.items():
        if team_id not in workspaces:
            workspaces[team_id] = get_workspace(session=session, team_id=team_id)
        view = _current_view(
            session, workspaces[team_id], team_id, kind, item_id, occ_text, expected
        )
        if view is None:
            out.update({row.id or 0: None for row in group})
            continue
        first = ReminderRef(kind, item_id, view.occurrence, group[0].id or 0)
        blocks = [
            b.to_dict()
            for b in reminder_blocks(view, first, today=today, tz=tz, snoozed_by=snoozed_by or None)
        ]
        text = reminder_text(view, today)
        for row in group:
            ref = ReminderRef(kind, item_id, view.occurrence, row.id or 0)
            out[row.id or 0] = RenderedMessage(text, _with_button_values(blocks, ref.value()))
    return out


def _current_view(
    session: Session,
    workspace: Workspace | None,
    team_id: str,
    kind: str,
    item_id: int,
    occ_text: str,
    expected: bool,
) -> ReminderView | None:
    if kind not in ("deadline", "meeting"):
        return None
    if workspace is None or workspace.uninstalled_at is not None or workspace.reminders_paused:
        return None
    item = load_item(session=session, kind=kind, item_id=item_id)
    if item is None or item.team_id != team_id:
        return None
    try:
        occurrence = date.fromisoformat(occ_text)
    except ValueError:
        return None
    if kind == "deadline" and is_done(
        session=session, team_id=team_id, deadline_id=item_id, occurrence=occurrence
    ):
        return None
    if not occurs_on(
        session=session,
        team_id=team_id,
        kind=kind,  # type: ignore[arg-type]
        item_id=item_id,
        occurrence=occurrence,
    ):
        return None
    return ReminderView.for_occurrence(item, occurrence, expected=expected)


def _with_button_values(blocks: list[dict[str, Any]], value: str) -> list[dict[str, Any]]:
    """Copies of `blocks` whose buttons carry `value` (each message names its own row)."""
    out = []
    for block in blocks:
        if block.get("type") == "actions":
            block = {**block, "elements": [{**e, "value": value} for e in block["elements"]]}
        else:
            block = dict(block)
        out.append(block)
    return out


def render_alert(session: Session, row: OutboxMessage, now: datetime) -> RenderedMessage | None:
    """The one DM coordinators get when reminders cannot be posted in the channel."""
    payload = row.payload or {}
    channel = str(payload.get("channel") or "")
    reason = reason_text(str(payload.get("reason") or ""))
    text = (
        f":warning: Jeg fikk ikke postet en påminnelse i <#{channel}>: {reason}. "
        f"{INVITE_HINT}, eller velg en annen kanal med `{COMMAND} påminnelser kanal #kanal`. "
        f"`{COMMAND} påminnelser status` viser hva som ikke ble sendt."
    )
    return RenderedMessage(
        f"Jeg fikk ikke postet en påminnelse i kanalen: {reason}.", simple_blocks(text)
    )


def reminder_inputs(engine: Engine, team_ids: Sequence[str]) -> dict[str, Hashable]:
    """What a reminder's rendering reads, as one token per workspace: the calendar (items,
    «Ferdig» marks) and the settings (paused, uninstalled). Triggers move these counters on
    every write, so reminders can be rendered ahead and checked just before they go out."""
    return {
        team_id: (versions.calendar, versions.settings)
        for team_id, versions in read_versions(engine, team_ids).items()
    }
