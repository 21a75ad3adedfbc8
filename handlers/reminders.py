"""`/dks påminnelser`: reminders before deadlines and network meetings.

The scheduler (bot/scheduler.py) posts what the outbox holds; this module decides what a
reminder says (the "reminder" outbox kind), keeps the outbox in step when settings or items
change (`after_item_change`), and handles the buttons on posted reminders.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine
from sqlmodel import Session

from handlers.core.commands import COMMAND, CommandRequest, Reply, Subcommand
from handlers.core.feature import Changed
from handlers.core.format import escape, norsk_dato
from handlers.core.outbox_kinds import Kind, RenderedMessage
from handlers.core.services import Services
from handlers.views.reminders import (
    DONE_ACTION,
    SNOOZE_ACTION,
    UNDO_ACTION,
    USE_CHANNEL_ACTION,
    ListedReminder,
    ReminderRef,
    ReminderView,
    cancelled_note,
    changed_blocks,
    channel_chosen_blocks,
    channel_offer_blocks,
    done_blocks,
    list_blocks,
    moved_note,
    parse_reminder_value,
    reminder_blocks,
    reminder_text,
    simple_blocks,
    when_posted,
)
from storage.calendar import upcoming
from storage.folding import fold
from storage.models import Deadline, Meeting, OutboxMessage, OutboxState, Workspace
from storage.outbox import (
    cancel_messages,
    cancel_team,
    clear_alerts,
    count_upcoming,
    get_message,
    last_sent,
    messages_for_ref,
    open_alerts,
    recent_problems,
    upcoming_messages,
    update_payload,
)
from storage.reminders import (
    ALERT_KIND,
    DEFAULT_OFFSETS,
    REMINDER_KIND,
    SNOOZE_PREFIX,
    WINDOW_DAYS,
    ItemKind,
    OffsetError,
    forget_item,
    format_offsets,
    get_done,
    is_done,
    item_ref,
    last_channel_change,
    load_item,
    mark_done,
    occurs_on,
    parse_offsets,
    plan,
    reconcile,
    schedule_snooze,
    set_reminder_channel,
    undo_done,
)
from storage.snapshot import read_versions
from storage.workspaces import get_or_create_workspace, get_workspace

INVITE_HINT = "Inviter meg ved å skrive `/invite @dks-boten` i kanalen"
LIST_COUNT = 10
PROBLEM_DAYS = 30

# Slack's errors for a channel the bot cannot post in, in the words a coordinator needs.
CHANNEL_REASONS = {
    "channel_not_found": "finner ikke kanalen (slettet, eller privat uten at boten er med)",
    "not_in_channel": "boten er ikke med i kanalen",
    "is_archived": "kanalen er arkivert",
}
OTHER_REASONS = {
    "missed": "ble ikke sendt: boten var nede lenger enn ventetiden",
    "gave_up": "ga opp etter flere feil hos Slack",
    "account_inactive": "boten er ikke lenger installert",
    "invalid_auth": "boten er ikke lenger installert",
    "token_revoked": "boten er ikke lenger installert",
    "msg_too_long": "meldingen ble for lang",
    "invalid_blocks": "Slack godtok ikke meldingen",
}


def reason_text(reason: str | None) -> str:
    code = (reason or "").split(":")[0].strip()
    return CHANNEL_REASONS.get(code) or OTHER_REASONS.get(code) or (reason or "ukjent feil")


def _model(kind: str) -> type[Deadline] | type[Meeting]:
    return Deadline if kind == "deadline" else Meeting


def _tz(now: datetime) -> ZoneInfo:
    tz = now.tzinfo
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo("Europe/Oslo")


def _occurrence_end(item: Deadline | Meeting, occurrence: date) -> date | None:
    first = item.due_date if isinstance(item, Deadline) else item.start_date
    if item.end_date is None or first is None:
        return None
    return occurrence + (item.end_date - first)


# --- outbox kinds ---------------------------------------------------------------------------


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
    return ReminderView.from_item(
        item, occurrence, expected=expected, end=_occurrence_end(item, occurrence)
    )


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


OUTBOX_KINDS = [
    Kind(REMINDER_KIND, render_reminder, render_many=render_reminders, inputs=reminder_inputs),
    # Quiet hours hold the alert DM too: one at 03:00 would buzz a coordinator's phone.
    Kind(ALERT_KIND, render_alert),
]


# --- keeping the outbox in step -------------------------------------------------------------


def refresh_workspace(
    services: Services, team_id: str, *, only: tuple[ItemKind, int] | None = None
) -> None:
    with services.session(write=True) as session:
        reconcile(
            session=session,
            team_id=team_id,
            now=services.clock(),
            tz=services.settings.timezone,
            grace=timedelta(hours=services.settings.reminder_grace_hours),
            only=only,
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

    Pending reminders are created, moved or cancelled; reminders already posted for an
    occurrence that moved or went away are edited to say «Endret: ny dato …» or «Avlyst».
    """
    now = services.clock()
    tz = services.settings.timezone
    today = now.astimezone(tz).date()
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
            )
        posted = messages_for_ref(
            session=session,
            team_id=team_id,
            ref_prefix=item_ref(kind, item_id),
            states=[OutboxState.SENT.value],
            kinds=[REMINDER_KIND],
        )
        for row in posted:
            edit = _edit_for(session, row, item, kind, team_id, today, tz)
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
    today: date,
    tz: ZoneInfo,
) -> _Edit | None:
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
        text = f"{note.split('*')[1] if '*' in note else note} {view.title}".strip()
    else:
        ref = ReminderRef(kind, int(payload["item_id"]), view.occurrence, row.id or 0)
        blocks = reminder_blocks(view, ref, today=today, tz=tz)
        text = reminder_text(view, today)
    blocks[0].block_id = marker_id
    return _Edit(row.id or 0, row.channel, row.ts, text, blocks)


# --- `/dks påminnelser` ---------------------------------------------------------------------


def _require_coordinator(request: CommandRequest) -> Reply | None:
    if request.services.roles.is_coordinator(
        client=request.client, team_id=request.team_id, user_id=request.user_id
    ):
        return None
    text = (
        "Bare koordinatorer kan endre påminnelsene. Spør en koordinator i arbeidsområdet, "
        f"eller se de neste påminnelsene med `{COMMAND} påminnelser`."
    )
    return Reply(text, simple_blocks(text))


def _listed(rows: list[OutboxMessage]) -> list[ListedReminder]:
    listed = []
    for row in rows:
        payload = row.payload or {}
        try:
            occurrence = date.fromisoformat(str(payload["occurrence"]))
        except (KeyError, ValueError):
            continue
        listed.append(
            ListedReminder(
                at=row.due_at,
                kind=str(payload.get("item_kind", "deadline")),
                title=str(payload.get("title", "")),
                occurrence=occurrence,
                offset=payload.get("offset"),
                snoozed=row.unique_key.startswith(SNOOZE_PREFIX),
            )
        )
    return listed


def run_list(request: CommandRequest) -> Reply:
    services = request.services
    tz = services.settings.timezone
    refresh_workspace(services, request.team_id)
    now = services.clock()
    with services.session() as session:
        workspace = get_or_create_workspace(session=session, team_id=request.team_id)
        if not workspace.reminder_channel_id or workspace.reminders_paused:
            planned = plan(
                session=session,
                workspace=workspace,
                now=now,
                until=now + timedelta(days=WINDOW_DAYS),
                tz=tz,
            )[:LIST_COUNT]
            items = [
                ListedReminder(p.at, p.item_kind, p.title, p.occurrence, p.offset, False)
                for p in planned
            ]
            if workspace.reminders_paused:
                intro = (
                    ":double_vertical_bar: Påminnelsene er satt på pause, så ingenting blir "
                    f"postet. `{COMMAND} påminnelser på` starter dem igjen. Dette ville kommet:"
                )
            else:
                intro = (
                    "Det er ikke valgt noen kanal for påminnelser ennå, så ingenting blir "
                    f"postet. En koordinator velger med `{COMMAND} påminnelser kanal #kanal`. "
                    "Dette ville kommet:"
                )
            if not items:
                intro = intro.removesuffix(" Dette ville kommet:")
            blocks = list_blocks(heading="Påminnelser", intro=intro, items=items, tz=tz)
            return Reply(intro, blocks)
        rows = upcoming_messages(
            session=session, team_id=request.team_id, kinds=[REMINDER_KIND], limit=LIST_COUNT
        )
        total = count_upcoming(session=session, team_id=request.team_id, kinds=[REMINDER_KIND])
        channel = workspace.reminder_channel_id
    items = _listed(rows)
    if items:
        intro = f"De neste påminnelsene i <#{channel}>, med når de blir postet:"
    else:
        intro = (
            f"Ingen påminnelser de neste {WINDOW_DAYS} dagene i <#{channel}>. "
            f"Frister og møter med dato får påminnelser automatisk."
        )
    footer = (f"Viser {len(items)} av {total}. " if total > len(items) else "") + (
        "Påminnelser postes kl. 09:00 på virkedager. "
        f"`{COMMAND} påminnelser dager 14,7,1` endrer hvor mange dager før, "
        f"`{COMMAND} påminnelser av` setter dem på pause."
    )
    blocks = list_blocks(
        heading="Neste påminnelser", intro=intro, items=items, tz=tz, footer=footer
    )
    text = intro + " " + "; ".join(f"{i.title} ({when_posted(i.at, tz)})" for i in items)
    return Reply(text[:3000], blocks)


def parse_channel(text: str) -> str | None:
    """`<#C123|dks>` / `<#C123>` (Slack escapes #kanal so) or a bare channel id."""
    word = text.strip().split(" ")[0] if text.strip() else ""
    is_link = word.startswith("<#") and word.endswith(">")
    channel = word[2:-1].split("|")[0] if is_link else word
    if channel and channel[0] in "CG" and channel[1:].isalnum() and channel.isupper():
        return channel
    return None


def check_channel(client: WebClient, channel: str) -> str | None:
    """None when the bot can post in `channel`, else what to tell the user."""
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as err:
        error = err.response.get("error")
        if error == "channel_not_found":
            return (
                "Jeg finner ikke den kanalen. Er den privat, må jeg inviteres først: "
                f"{INVITE_HINT}, og prøv igjen."
            )
        return "Jeg fikk ikke sjekket kanalen hos Slack akkurat nå. Prøv igjen om litt."
    if info.get("is_archived"):
        return f"<#{channel}> er arkivert. Velg en annen kanal."
    if not info.get("is_member"):
        return f"Jeg er ikke med i <#{channel}> ennå. {INVITE_HINT}, og prøv igjen."
    return None


def choose_channel(services: Services, team_id: str, channel: str, user_id: str) -> None:
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
    refresh_workspace(services, team_id)


def _next_line(services: Services, team_id: str) -> str:
    tz = services.settings.timezone
    with services.session() as session:
        rows = upcoming_messages(session=session, team_id=team_id, kinds=[REMINDER_KIND], limit=1)
    if not rows:
        return "Ingen påminnelser er planlagt de neste 60 dagene."
    payload = rows[0].payload or {}
    return f"Neste: «{escape(str(payload.get('title', '')))}», {when_posted(rows[0].due_at, tz)}."


def run_channel(request: CommandRequest, rest: str) -> Reply:
    if (denied := _require_coordinator(request)) is not None:
        return denied
    channel = parse_channel(rest)
    if channel is None:
        text = (
            f"Skriv kanalen slik: `{COMMAND} påminnelser kanal #kanal` (velg kanalen i listen "
            "Slack viser når du skriver #)."
        )
        return Reply(text, simple_blocks(text))
    problem = check_channel(request.client, channel)
    if problem is not None:
        return Reply(problem, simple_blocks(problem))
    choose_channel(request.services, request.team_id, channel, request.user_id)
    text = f":white_check_mark: Påminnelser kommer nå i <#{channel}>. " + _next_line(
        request.services, request.team_id
    )
    return Reply(text, simple_blocks(text))


def run_pause(request: CommandRequest, paused: bool) -> Reply:
    if (denied := _require_coordinator(request)) is not None:
        return denied
    services = request.services
    with services.session(write=True) as session:
        workspace = get_or_create_workspace(session=session, team_id=request.team_id)
        changed = workspace.reminders_paused != paused
        workspace.reminders_paused = paused
        if not paused:
            workspace.uninstalled_at = None
        session.add(workspace)
        channel = workspace.reminder_channel_id
    refresh_workspace(services, request.team_id)
    if paused:
        text = (
            ":double_vertical_bar: Påminnelsene er satt på pause. Ingenting blir postet før en "
            f"koordinator skriver `{COMMAND} påminnelser på`."
            if changed
            else f"Påminnelsene står allerede på pause. `{COMMAND} påminnelser på` starter dem."
        )
    elif channel is None:
        text = (
            "Påminnelsene er slått på, men det er ikke valgt noen kanal ennå: "
            f"`{COMMAND} påminnelser kanal #kanal`."
        )
    else:
        text = (
            ":arrow_forward: Påminnelsene er i gang igjen. " if changed else "Påminnelsene er på. "
        ) + _next_line(services, request.team_id)
    return Reply(text, simple_blocks(text))


def run_offsets(request: CommandRequest, rest: str) -> Reply:
    if (denied := _require_coordinator(request)) is not None:
        return denied
    services = request.services
    word = fold(rest.strip())
    try:
        offsets = None if word in ("standard", "default") else parse_offsets(rest)
        if offsets is None and word not in ("standard", "default"):
            raise OffsetError(
                f"Skriv hvor mange dager før, for eksempel `{COMMAND} påminnelser dager 14,7,1`, "
                f"eller `{COMMAND} påminnelser dager standard`."
            )
    except OffsetError as err:
        return Reply(str(err), simple_blocks(str(err)))
    with services.session(write=True) as session:
        workspace = get_or_create_workspace(session=session, team_id=request.team_id)
        workspace.reminder_offsets_days = format_offsets(offsets) if offsets else None
        session.add(workspace)
    refresh_workspace(services, request.team_id)
    if offsets is None:
        text = (
            "Tilbake til standard: frister 14, 7 og 1 dag før, møter 7 og 1 dag før "
            "(og samme morgen for møter etter kl. 10)."
        )
    else:
        days = ", ".join(str(o) for o in offsets)
        text = (
            f"Påminnelser kommer nå {days} dager før, kl. 09:00 på en virkedag. Frister og "
            "møter som har egne dager beholder dem."
        )
    return Reply(text, simple_blocks(text))


def run_status(request: CommandRequest) -> Reply:
    services = request.services
    tz = services.settings.timezone
    now = services.clock()
    with services.session() as session:
        workspace = get_workspace(session=session, team_id=request.team_id) or Workspace(
            team_id=request.team_id
        )
        change = last_channel_change(session=session, team_id=request.team_id)
        problems = recent_problems(
            session=session, team_id=request.team_id, since=now - timedelta(days=PROBLEM_DAYS)
        )
        alerts = open_alerts(session=session, team_id=request.team_id)
        sent = last_sent(session=session, team_id=request.team_id, kinds=[REMINDER_KIND])
        upcoming_rows = upcoming_messages(
            session=session, team_id=request.team_id, kinds=[REMINDER_KIND], limit=1
        )
    lines = []
    if workspace.uninstalled_at is not None:
        lines.append(":no_entry: Boten ble avinstallert; ingen påminnelser blir sendt.")
    if workspace.reminder_channel_id:
        line = f"*Kanal:* <#{workspace.reminder_channel_id}>"
        if change is not None and change.changed_at is not None:
            day = norsk_dato(change.changed_at.astimezone(tz).date())
            line += f" (valgt av <@{change.user_id}> {day})"
        lines.append(line)
    else:
        lines.append(f"*Kanal:* ikke valgt – `{COMMAND} påminnelser kanal #kanal`")
    lines.append("*Pause:* ja" if workspace.reminders_paused else "*Pause:* nei")
    offsets = parse_offsets_safe(workspace.reminder_offsets_days)
    lines.append(
        "*Dager før:* "
        + (
            ", ".join(str(o) for o in offsets)
            if offsets
            else f"standard ({format_offsets(DEFAULT_OFFSETS['deadline'])} for frister, "
            f"{format_offsets(DEFAULT_OFFSETS['meeting'])} for møter)"
        )
    )
    if sent is not None and sent.sent_at is not None:
        lines.append(f"*Sist sendt:* {when_posted(sent.sent_at, tz)}")
    if upcoming_rows:
        lines.append(f"*Neste:* {when_posted(upcoming_rows[0].due_at, tz)}")
    for alert in alerts:
        lines.append(
            f":warning: <#{alert.channel}>: {reason_text(alert.reason)} – koordinatorene har fått "
            f"beskjed. {INVITE_HINT}, eller velg en annen kanal."
        )
    if problems:
        lines.append(f"*Ikke sendt de siste {PROBLEM_DAYS} dagene:*")
        for row in problems:
            title = escape(str((row.payload or {}).get("title", row.kind)))
            lines.append(f"• {when_posted(row.due_at, tz)} – «{title}»: {reason_text(row.error)}")
    else:
        lines.append(f"Ingen feil de siste {PROBLEM_DAYS} dagene.")
    text = "\n".join(lines)
    return Reply(
        text[:3000], list_blocks(heading="Påminnelser – status", intro=text[:3000], items=[], tz=tz)
    )


def parse_offsets_safe(text: str | None) -> tuple[int, ...] | None:
    try:
        return parse_offsets(text)
    except OffsetError:
        return None


def usage_reply(word: str) -> Reply:
    text = (
        f"Jeg forstår ikke «{escape(word[:40])}». Dette kan du skrive:\n"
        f"• `{COMMAND} påminnelser` – de neste påminnelsene\n"
        f"• `{COMMAND} påminnelser kanal #kanal` – hvor de postes\n"
        f"• `{COMMAND} påminnelser av` / `på` – pause og start\n"
        f"• `{COMMAND} påminnelser dager 14,7,1` – hvor mange dager før\n"
        f"• `{COMMAND} påminnelser status` – hva som ikke ble sendt"
    )
    return Reply(text, simple_blocks(text))


def run_reminders(request: CommandRequest) -> Reply:
    word, _, rest = request.args.partition(" ")
    key = fold(word)
    if not key:
        return run_list(request)
    if key in ("kanal", "channel"):
        return run_channel(request, rest)
    if key in ("av", "pause", "stopp", "off"):
        return run_pause(request, True)
    if key in ("pa", "start", "on", "fortsett"):
        return run_pause(request, False)
    if key in ("dager", "dag", "days"):
        return run_offsets(request, rest)
    if key == "status":
        return run_status(request)
    return usage_reply(word)


SUBCOMMANDS = [
    Subcommand(
        name="påminnelser",
        aliases=("påminnelse", "reminders", "reminder"),
        summary=(
            "de neste påminnelsene om frister og møter. Koordinatorer velger kanal "
            "(`kanal #kanal`), pause (`av`/`på`) og dager før (`dager 14,7,1`); "
            "`status` viser feil."
        ),
        example=f"{COMMAND} påminnelser kanal #dks",
        run=run_reminders,
    )
]


# --- buttons and events ---------------------------------------------------------------------


def _message_location(body: dict[str, Any]) -> tuple[str, str] | None:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts")
    if not channel or not ts:
        return None
    return str(channel), str(ts)


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def _team(body: dict[str, Any], context: BoltContext) -> str:
    return context.team_id or (body.get("team") or {}).get("id") or ""


def _rerender(
    session: Session, services: Services, team_id: str, ref: ReminderRef, now: datetime
) -> tuple[ReminderView, OutboxMessage | None] | None:
    item = load_item(session=session, kind=ref.kind, item_id=ref.item_id)
    if item is None or item.team_id != team_id:
        return None
    row = get_message(session=session, message_id=ref.message_id)
    expected = bool((row.payload or {}).get("expected")) if row is not None else False
    view = ReminderView.from_item(
        item, ref.occurrence, expected=expected, end=_occurrence_end(item, ref.occurrence)
    )
    return view, row


def _update_message(
    client: WebClient,
    logger: logging.Logger,
    location: tuple[str, str],
    text: str,
    blocks: list[Block],
    marker: str | None,
) -> None:
    if marker:
        blocks[0].block_id = marker
    try:
        client.chat_update(channel=location[0], ts=location[1], text=text, blocks=blocks)
    except SlackApiError as err:
        logger.warning("could not update reminder message: %s", err.response.get("error"))


def handle_done(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    ack()
    services: Services = context["services"]
    team_id = _team(body, context)
    user_id = (body.get("user") or {}).get("id", "")
    ref = parse_reminder_value(action.get("value", ""))
    location = _message_location(body)
    if ref is None or ref.kind != "deadline" or location is None:
        _ephemeral(respond, "Den knappen forstår jeg ikke. Prøv `/dks frist` i stedet.")
        return
    now = services.clock()
    tz = services.settings.timezone
    with services.session(write=True) as session:
        found = _rerender(session, services, team_id, ref, now)
        if found is None:
            _ephemeral(respond, "Fristen finnes ikke lenger i kalenderen.")
            return
        view, row = found
        mark, created = mark_done(
            session=session,
            team_id=team_id,
            deadline_id=ref.item_id,
            occurrence=ref.occurrence,
            user_id=user_id,
            now=now,
        )
        done_by, done_at = mark.done_by, mark.done_at or now
    today = now.astimezone(tz).date()
    blocks = done_blocks(view, ref, today=today, tz=tz, done_by=done_by, done_at=done_at)
    text = f"{view.title}: markert som ferdig av {done_by}."
    _update_message(client, logger, location, text, blocks, row.marker if row else None)
    if not created:
        _ephemeral(respond, f"Denne fristen var allerede markert som ferdig av <@{done_by}>.")


def handle_undo(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    ack()
    services: Services = context["services"]
    team_id = _team(body, context)
    ref = parse_reminder_value(action.get("value", ""))
    location = _message_location(body)
    if ref is None or ref.kind != "deadline" or location is None:
        _ephemeral(respond, "Den knappen forstår jeg ikke. Prøv `/dks frist` i stedet.")
        return
    now = services.clock()
    tz = services.settings.timezone
    with services.session(write=True) as session:
        found = _rerender(session, services, team_id, ref, now)
        if found is None:
            _ephemeral(respond, "Fristen finnes ikke lenger i kalenderen.")
            return
        view, row = found
        undo_done(
            session=session, team_id=team_id, deadline_id=ref.item_id, occurrence=ref.occurrence
        )
    refresh_workspace(services, team_id, only=("deadline", ref.item_id))
    today = now.astimezone(tz).date()
    blocks = reminder_blocks(view, ref, today=today, tz=tz)
    _update_message(
        client, logger, location, reminder_text(view, today), blocks, row.marker if row else None
    )


def handle_snooze(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    respond: Respond,
) -> None:
    ack()
    services: Services = context["services"]
    team_id = _team(body, context)
    user_id = (body.get("user") or {}).get("id", "")
    ref = parse_reminder_value(action.get("value", ""))
    location = _message_location(body)
    if ref is None or location is None:
        _ephemeral(respond, "Den knappen forstår jeg ikke. Prøv `/dks påminnelser` i stedet.")
        return
    now = services.clock()
    tz = services.settings.timezone
    with services.session(write=True) as session:
        if ref.kind == "deadline" and (
            mark := get_done(
                session=session,
                team_id=team_id,
                deadline_id=ref.item_id,
                occurrence=ref.occurrence,
            )
        ):
            _ephemeral(respond, f"Fristen er allerede markert som ferdig av <@{mark.done_by}>.")
            return
        row = schedule_snooze(
            session=session,
            team_id=team_id,
            item_kind=ref.kind,  # type: ignore[arg-type]
            item_id=ref.item_id,
            occurrence=ref.occurrence,
            target=location[0],
            user_id=user_id,
            now=now,
            tz=tz,
        )
    if row is None:
        _ephemeral(respond, "Den finnes ikke lenger i kalenderen, så jeg minner ikke om den.")
        return
    _ephemeral(
        respond,
        f":zzz: Greit, jeg minner om den igjen {when_posted(row.due_at, tz)}.",
    )


def handle_use_channel(
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    logger: logging.Logger,
    respond: Respond,
) -> None:
    ack()
    services: Services = context["services"]
    team_id = _team(body, context)
    user_id = (body.get("user") or {}).get("id", "")
    location = _message_location(body)
    if location is None:
        return
    if not services.roles.is_coordinator(client=client, team_id=team_id, user_id=user_id):
        _ephemeral(
            respond,
            "Bare koordinatorer kan velge kanal for påminnelser. Spør en koordinator om å trykke.",
        )
        return
    choose_channel(services, team_id, location[0], user_id)
    _update_message(
        client,
        logger,
        location,
        "Påminnelser kommer nå i denne kanalen.",
        channel_chosen_blocks(location[0], user_id),
        None,
    )


def handle_member_joined(
    event: dict[str, Any], client: WebClient, context: BoltContext, logger: logging.Logger
) -> None:
    """Invited into a channel while no reminder channel is set: offer this one."""
    if not context.bot_user_id or event.get("user") != context.bot_user_id:
        return
    services: Services = context["services"]
    team_id = context.team_id or event.get("team", "")
    channel = event.get("channel")
    if not team_id or not channel:
        return
    with services.session() as session:
        workspace = get_workspace(session=session, team_id=team_id)
        if workspace is not None and workspace.reminder_channel_id:
            return
    try:
        client.chat_postMessage(
            channel=channel,
            text="Vil dere ha påminnelser om frister og møter i denne kanalen?",
            blocks=channel_offer_blocks(),
        )
    except SlackApiError as err:
        logger.warning("could not offer channel %s: %s", channel, err.response.get("error"))


def stop_workspace(services: Services, team_id: str, reason: str) -> int:
    """app_uninstalled / tokens_revoked: stop the workspace's outbox for good."""
    now = services.clock()
    with services.session(write=True) as session:
        workspace = get_or_create_workspace(session=session, team_id=team_id)
        workspace.uninstalled_at = now
        session.add(workspace)
        return cancel_team(session=session, team_id=team_id, reason=reason, now=now)


def handle_uninstalled(
    event: dict[str, Any], body: dict[str, Any], context: BoltContext, logger: logging.Logger
) -> None:
    team_id = context.team_id or body.get("team_id", "")
    if team_id:
        stopped = stop_workspace(context["services"], team_id, "uninstalled")
        logger.info("app uninstalled from %s: %d outbox messages cancelled", team_id, stopped)


def handle_tokens_revoked(
    event: dict[str, Any], body: dict[str, Any], context: BoltContext, logger: logging.Logger
) -> None:
    team_id = context.team_id or body.get("team_id", "")
    bot_tokens = (event.get("tokens") or {}).get("bot") or []
    if team_id and bot_tokens:
        stopped = stop_workspace(context["services"], team_id, "tokens_revoked")
        logger.info("bot token revoked in %s: %d outbox messages cancelled", team_id, stopped)


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


SUBSCRIBERS = [on_change]


def register(app: App) -> None:
    app.action(DONE_ACTION)(handle_done)
    app.action(UNDO_ACTION)(handle_undo)
    app.action(SNOOZE_ACTION)(handle_snooze)
    app.action(USE_CHANNEL_ACTION)(handle_use_channel)
    app.event("member_joined_channel")(handle_member_joined)
    app.event("app_uninstalled")(handle_uninstalled)
    app.event("tokens_revoked")(handle_tokens_revoked)
