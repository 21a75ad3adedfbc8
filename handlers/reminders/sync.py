"""Keeping reminders in step with what changed: the outbox, and the reminders already posted.

After a deadline or meeting is created, edited or deleted (the `Changed` event, or a direct
call from a test or a command), pending reminders are created, moved or cancelled, and a
reminder already posted for an occurrence that moved or went away is edited to say «Endret: ny
dato …» or «Avlyst». A change of the reminder settings (channel, pause, days before)
re-plans the whole workspace with `refresh_workspace`. A saved item, and a chosen channel, also
catch up: an occurrence still ahead whose reminder times all passed before anyone could get
them gets one late reminder (`storage.reminders.reconcile`'s `catch_up`). The scheduler's own
refresh never does: what it missed while down follows the grace period instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlmodel import Session

from handlers.core.feature import Changed
from handlers.core.i18n import use_language
from handlers.core.services import Services
from handlers.reminders.views import (
    ReminderRef,
    ReminderView,
    cancelled_note,
    changed_blocks,
    changed_text,
    moved_note,
    reminder_blocks,
    reminder_text,
)
from storage.calendar import upcoming
from storage.models import Deadline, Meeting, OutboxMessage, OutboxState
from storage.outbox import cancel_messages, clear_alerts, messages_for_ref, update_payload
from storage.reminders import (
    REMINDER_KIND,
    CatchUp,
    ItemKind,
    forget_item,
    item_ref,
    load_item,
    occurs_on,
    reconcile,
    set_reminder_channel,
)
from storage.workspaces import get_or_create_workspace, workspace_language


def _model(kind: str) -> type[Deadline] | type[Meeting]:
    return Deadline if kind == "deadline" else Meeting


def refresh_workspace(
    services: Services,
    team_id: str,
    *,
    only: tuple[ItemKind, int] | None = None,
    catch_up: CatchUp | None = None,
) -> None:
    """Re-plan the workspace's pending reminders (or only one item's) from what is stored."""
    with services.session(write=True) as session:
        reconcile(
            session=session,
            team_id=team_id,
            now=services.clock(),
            tz=services.settings.timezone,
            grace=timedelta(hours=services.settings.reminder_grace_hours),
            only=only,
            catch_up=catch_up,
        )


@dataclass(frozen=True)
class _Edit:
    message_id: int
    channel: str
    ts: str
    text: str
    blocks: list[Block]


def _current_when(
    session: Session, team_id: str, kind: ItemKind, item: Deadline | Meeting, today: date
) -> tuple[date | None, time | None]:
    """The item's next date from today (or its only date), and its time."""
    found = upcoming(session=session, model=_model(kind), team_id=team_id, start=today, end=None)
    for occ in found:
        if occ.item.id == item.id:
            return occ.start, (item.due_time if isinstance(item, Deadline) else item.start_time)
    first = item.due_date if isinstance(item, Deadline) else item.start_date
    return first, (item.due_time if isinstance(item, Deadline) else item.start_time)


def after_item_change(
    *,
    client: WebClient,
    services: Services,
    team_id: str,
    kind: Literal["deadline", "meeting"],
    item_id: int,
    logger: logging.Logger,
) -> None:
    """Call after a deadline or meeting was created, edited or deleted (row gone).

    Pending reminders are created, moved or cancelled (and one caught up if the item's last
    reminder time has passed unplanned); reminders already posted for an occurrence that moved
    or went away are edited to say «Endret: ny dato …» or «Avlyst».
    """
    now = services.clock()
    tz = services.settings.timezone
    edits: list[_Edit] = []
    with services.session(write=True) as session:
        item = load_item(session=session, kind=kind, item_id=item_id)
        if item is not None and item.team_id != team_id:
            return
        if item is None:
            forget_item(session=session, team_id=team_id, kind=kind, item_id=item_id)
            cancel_messages(
                session=session,
                team_id=team_id,
                ref_prefix=item_ref(kind, item_id),
                kinds=[REMINDER_KIND],
                reason="deleted",
                now=now,
            )
        else:
            reconcile(
                session=session,
                team_id=team_id,
                now=now,
                tz=tz,
                grace=timedelta(hours=services.settings.reminder_grace_hours),
                only=(kind, item_id),
                catch_up="item",
            )
        posted = messages_for_ref(
            session=session,
            team_id=team_id,
            ref_prefix=item_ref(kind, item_id),
            states=[OutboxState.SENT.value],
            kinds=[REMINDER_KIND],
        )
        # The posted reminders are in the channel: in the workspace's language, whoever
        # changed the item.
        language = workspace_language(session=session, team_id=team_id) if posted else None
        with use_language(language):
            for row in posted:
                edit = _edit_for(session, row, item, kind, team_id, now, tz)
                if edit is not None:
                    edits.append(edit)
    for edit in edits:
        try:
            client.chat_update(channel=edit.channel, ts=edit.ts, text=edit.text, blocks=edit.blocks)
        except SlackApiError as err:
            logger.warning(
                "could not edit posted reminder %s: %s", edit.message_id, err.response.get("error")
            )


def _edit_for(
    session: Session,
    row: OutboxMessage,
    item: Deadline | Meeting | None,
    kind: ItemKind,
    team_id: str,
    now: datetime,
    tz: ZoneInfo,
) -> _Edit | None:
    today = now.astimezone(tz).date()
    payload = dict(row.payload or {})
    if not row.channel or not row.ts or "occurrence" not in payload:
        return None
    view = ReminderView.from_snapshot(kind, payload)
    if (view.end or view.occurrence) < today:
        return None  # long past: nobody needs to hear about it
    previous = payload.get("edit")
    if item is None:
        note_key, note = "cancelled", cancelled_note(kind)
    else:
        still = occurs_on(
            session=session,
            team_id=team_id,
            kind=kind,
            item_id=item.id or 0,
            occurrence=view.occurrence,
        )
        clock = item.due_time if isinstance(item, Deadline) else item.start_time
        same_time = (clock.strftime("%H:%M") if clock else None) == payload.get("time")
        if still and same_time:
            if not previous:
                return None
            note_key, note = "", ""  # changed back: show the reminder as it was
        else:
            new_day, new_time = (
                (view.occurrence, clock)
                if still
                else _current_when(session, team_id, kind, item, today)
            )
            note_key = f"moved:{new_day}:{new_time}"
            note = moved_note(kind, new_day, new_time)
    if note_key == (previous or ""):
        return None
    payload["edit"] = note_key
    update_payload(session=session, message_id=row.id or 0, payload=payload)
    marker_id = row.marker
    if note_key:
        blocks = changed_blocks(view, today=today, tz=tz, note=note)
        text = changed_text(view, cancelled=note_key == "cancelled")
    else:
        ref = ReminderRef(kind, int(payload["item_id"]), view.occurrence, row.id or 0)
        blocks = reminder_blocks(view, ref, now=now, tz=tz)
        text = reminder_text(view, today)
    blocks[0].block_id = marker_id
    return _Edit(row.id or 0, row.channel, row.ts, text, blocks)


def choose_channel(services: Services, team_id: str, channel: str, user_id: str) -> None:
    """Post reminders in `channel` from now on; alerts about the old or this channel are moot."""
    now = services.clock()
    with services.session(write=True) as session:
        workspace = get_or_create_workspace(session=session, team_id=team_id)
        old = workspace.reminder_channel_id
        # A slash command or click from the workspace shows the app is installed again.
        workspace.uninstalled_at = None
        set_reminder_channel(
            session=session, workspace=workspace, channel_id=channel, user_id=user_id, now=now
        )
        if old:
            clear_alerts(session=session, team_id=team_id, now=now, channel=old)
        clear_alerts(session=session, team_id=team_id, now=now, channel=channel)
    refresh_workspace(services, team_id, catch_up="channel")


def on_change(
    event: Changed, *, client: WebClient, services: Services, logger: logging.Logger
) -> None:
    """Deadlines or meetings changed: keep their reminders in step."""
    for kind, item_id in event.items:
        if kind == "deadline" or kind == "meeting":
            after_item_change(
                client=client,
                services=services,
                team_id=event.team_id,
                kind=kind,
                item_id=item_id,
                logger=logger,
            )
