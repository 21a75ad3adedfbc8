"""What the scheduler posts for reminders: the outbox kinds "reminder" and "reminder_alert".

A reminder is rendered from the item as it is at posting time, not from what was planned: a
deadline moved, deleted or marked done meanwhile is not announced with stale words. A catch-up
reminder (planned after its time had passed) says when it should have come, and why it did not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from handlers.core.i18n import _
from handlers.core.outbox_kinds import RenderedMessage, late_note
from handlers.reminders.views import (
    INVITE,
    ReminderRef,
    ReminderView,
    catch_up_reason,
    reason_text,
    reminder_blocks,
    reminder_text,
    simple_blocks,
)
from handlers.reminders.words import CHANNEL, STATUS, command
from storage.calendar import load_items
from storage.models import Deadline, Meeting, OutboxMessage
from storage.reminders import done_occurrences, reminds_on
from storage.snapshot import read_versions
from storage.workspaces import get_workspaces


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
    groups: dict[tuple[str, str, int, str, bool, str, str, str], list[OutboxMessage]] = defaultdict(
        list
    )
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
                str(payload.get("catch_up") or ""),
                str(payload.get("missed_at") or ""),
            )
        except (KeyError, TypeError, ValueError):
            out[row.id or 0] = None
            continue
        groups[key].append(row)
    current = _Current(session, groups)
    for key, group in groups.items():
        team_id, kind, item_id, occ_text, expected, snoozed_by, catch_up, missed_at = key
        view = current.view(team_id, kind, item_id, occ_text, expected)
        if view is None:
            out.update({row.id or 0: None for row in group})
            continue
        first = ReminderRef(kind, item_id, view.occurrence, group[0].id or 0)
        built = reminder_blocks(view, first, now=now, tz=tz, snoozed_by=snoozed_by or None)
        if catch_up and missed_at:
            why = catch_up_reason(catch_up, view)
            built.append(late_note(datetime.fromisoformat(missed_at), tz, why=why))
        blocks = [b.to_dict() for b in built]
        text = reminder_text(view, today)
        for row in group:
            ref = ReminderRef(kind, item_id, view.occurrence, row.id or 0)
            out[row.id or 0] = RenderedMessage(text, _with_button_values(blocks, ref.value()))
    return out


class _Current:
    """The workspaces, items and done marks a batch of reminders speaks of, read in a few
    queries for the whole batch (09:00 brings hundreds of workspaces' own deadlines)."""

    def __init__(self, session: Session, keys: Iterable[tuple[Any, ...]]) -> None:
        wanted: dict[str, set[int]] = defaultdict(set)
        teams: set[str] = set()
        for team_id, kind, item_id, *_rest in keys:
            teams.add(team_id)
            wanted[kind].add(item_id)
        self.workspaces = get_workspaces(session=session, team_ids=teams)
        self.items: dict[tuple[str, int], Deadline | Meeting] = {}
        for kind, model in (("deadline", Deadline), ("meeting", Meeting)):
            found = load_items(session=session, model=model, ids=wanted.get(kind, ()))
            self.items.update({(kind, item_id): item for item_id, item in found.items()})
        self.done = done_occurrences(
            session=session, team_id=None, deadline_ids=wanted.get("deadline", ())
        )

    def view(
        self, team_id: str, kind: str, item_id: int, occ_text: str, expected: bool
    ) -> ReminderView | None:
        """The reminder's item as it is now; None when nothing should be said of it."""
        workspace = self.workspaces.get(team_id)
        if workspace is None or workspace.uninstalled_at is not None or workspace.reminders_paused:
            return None
        item = self.items.get((kind, item_id))
        if item is None or item.team_id != team_id:
            return None
        try:
            occurrence = date.fromisoformat(occ_text)
        except ValueError:
            return None
        if kind == "deadline" and (item_id, occurrence) in self.done:
            return None
        if not reminds_on(item, occurrence):
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
    """The one DM coordinators get when reminders cannot be posted in the channel (in the
    language the scheduler set for the coordinator)."""
    payload = row.payload or {}
    values = {
        "channel": str(payload.get("channel") or ""),
        "reason": reason_text(str(payload.get("reason") or "")),
        "invite": INVITE,
        "choose": command(CHANNEL),
        "status": command(STATUS),
    }
    text = (
        _(
            ":warning: Jeg fikk ikke postet en påminnelse i <#%(channel)s>: %(reason)s. "
            "Inviter meg ved å skrive %(invite)s i kanalen, eller velg en annen kanal med "
            "`%(choose)s #kanal`. `%(status)s` viser hva som ikke ble sendt."
        )
        % values
    )
    return RenderedMessage(
        _("Jeg fikk ikke postet en påminnelse i kanalen: %(reason)s.") % values,
        simple_blocks(text),
    )


def reminder_inputs(engine: Engine, team_ids: Sequence[str]) -> dict[str, Hashable]:
    """What a reminder's rendering reads, as one token per workspace: the calendar (items,
    «Ferdig» marks) and the settings (paused, uninstalled). Triggers move these counters on
    every write, so reminders can be rendered ahead and checked just before they go out."""
    return {
        team_id: (versions.calendar, versions.settings)
        for team_id, versions in read_versions(engine, team_ids).items()
    }
