"""`/dks påminnelser [verb …]`: the subcommand's words and what each one does.

Everyone may list the next reminders and read the status; the verbs that change the
workspace's reminders (`kanal`, `av`, `på`, `dager`) are for coordinators, declared with
`writes` on the subcommand so the router refuses before anything here runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.core.commands import COMMAND, CommandRequest, Reply
from handlers.core.format import day_text, escape, mention, truncate
from handlers.core.services import Services
from handlers.reminders.sync import choose_channel, refresh_workspace
from handlers.reminders.views import (
    INVITE_HINT,
    ListedReminder,
    list_blocks,
    reason_text,
    simple_blocks,
    when_posted,
)
from storage.folding import fold
from storage.models import OutboxMessage, Workspace
from storage.outbox import (
    count_upcoming,
    last_sent,
    open_alerts,
    recent_problems,
    upcoming_messages,
)
from storage.reminders import (
    DEFAULT_OFFSETS,
    REMINDER_KIND,
    SNOOZE_PREFIX,
    WINDOW_DAYS,
    OffsetError,
    format_offsets,
    last_channel_change,
    parse_offsets,
    plan,
)
from storage.workspaces import get_or_create_workspace, get_workspace

LIST_COUNT = 10
PROBLEM_DAYS = 30


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
    listed = "; ".join(f"{escape(truncate(i.title, 80))} ({when_posted(i.at, tz)})" for i in items)
    return Reply(truncate(f"{intro} {listed}", 3000), blocks)


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


def _next_line(services: Services, team_id: str) -> str:
    tz = services.settings.timezone
    with services.session() as session:
        rows = upcoming_messages(session=session, team_id=team_id, kinds=[REMINDER_KIND], limit=1)
    if not rows:
        return "Ingen påminnelser er planlagt de neste 60 dagene."
    payload = rows[0].payload or {}
    return f"Neste: «{escape(str(payload.get('title', '')))}», {when_posted(rows[0].due_at, tz)}."


def run_channel(request: CommandRequest, rest: str) -> Reply:
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


def run_pause(request: CommandRequest, rest: str) -> Reply:
    return _set_paused(request, True)


def run_resume(request: CommandRequest, rest: str) -> Reply:
    return _set_paused(request, False)


def _set_paused(request: CommandRequest, paused: bool) -> Reply:
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


def run_status(request: CommandRequest, rest: str) -> Reply:
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
            day = day_text(change.changed_at.astimezone(tz).date())
            line += f" (valgt av {mention(change.user_id)} {day})"
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


Verb = Callable[[CommandRequest, str], Reply]

# Keyed by the folded word, so «på» and «pa» (a phone without å) are the same verb.
WRITING_VERBS: dict[str, Verb] = {
    **dict.fromkeys(("kanal", "channel"), run_channel),
    **dict.fromkeys(("av", "pause", "stopp", "off"), run_pause),
    **dict.fromkeys(("pa", "start", "on", "fortsett"), run_resume),
    **dict.fromkeys(("dager", "dag", "days"), run_offsets),
}
READING_VERBS: dict[str, Verb] = {"status": run_status}


def _verb(args: str) -> tuple[str, str, str]:
    word, _, rest = args.partition(" ")
    return word, fold(word), rest


def writes(args: str) -> bool:
    """Whether `/dks påminnelser <args>` changes anything (so needs a coordinator)."""
    return _verb(args)[1] in WRITING_VERBS


def run_reminders(request: CommandRequest) -> Reply:
    word, key, rest = _verb(request.args)
    if not key:
        return run_list(request)
    verb = WRITING_VERBS.get(key) or READING_VERBS.get(key)
    if verb is None:
        return usage_reply(word)
    return verb(request, rest)
