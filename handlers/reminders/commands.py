"""`/dks påminnelser [verb …]`: the subcommand's words and what each one does.

Everyone may list the next reminders and read the status; the verbs that change the
workspace's reminders (`kanal`, `av`, `på`, `dager`) are for coordinators, declared with
`writes` on the subcommand so the router refuses before anything here runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.core.commands import CommandRequest, Reply
from handlers.core.format import day_text, escape, mention, truncate
from handlers.core.i18n import _, ngettext
from handlers.core.services import Services
from handlers.reminders.sync import choose_channel, refresh_workspace
from handlers.reminders.views import (
    INVITE,
    ListedReminder,
    list_blocks,
    offsets_text,
    reason_text,
    simple_blocks,
    when_posted,
)
from handlers.reminders.words import CHANNEL, DAYS, DEFAULT, OFF, ON, STATUS, Word, command
from storage.feedback import FOLLOWUP_KIND, PROMPT_KIND
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
    ALERT_KIND,
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
            intro = _preview_intro(paused=workspace.reminders_paused, any_items=bool(items))
            blocks = list_blocks(heading=_("Påminnelser"), intro=intro, items=items, tz=tz)
            return Reply(intro, blocks)
        rows = upcoming_messages(
            session=session, team_id=request.team_id, kinds=[REMINDER_KIND], limit=LIST_COUNT
        )
        total = count_upcoming(session=session, team_id=request.team_id, kinds=[REMINDER_KIND])
        channel = workspace.reminder_channel_id
    items = _listed(rows)
    if items:
        intro = _("De neste påminnelsene i <#%(channel)s>, med når de blir postet:") % {
            "channel": channel
        }
    else:
        intro = ngettext(
            "Ingen påminnelser den neste %(n)d dagen i <#%(channel)s>. Frister og møter med "
            "dato får påminnelser automatisk.",
            "Ingen påminnelser de neste %(n)d dagene i <#%(channel)s>. Frister og møter med "
            "dato får påminnelser automatisk.",
            WINDOW_DAYS,
        ) % {"n": WINDOW_DAYS, "channel": channel}
    footer = _(
        "Påminnelser postes kl. 09:00 på virkedager. `%(days)s 14,7,1` endrer hvor mange dager "
        "før, `%(off)s` setter dem på pause."
    ) % {"days": command(DAYS), "off": command(OFF)}
    if total > len(items):
        shown = ngettext(
            "Viser de %(shown)d første av %(n)d påminnelse.",
            "Viser de %(shown)d første av %(n)d påminnelser.",
            total,
        ) % {"shown": len(items), "n": total}
        footer = f"{shown} {footer}"
    blocks = list_blocks(
        heading=_("Neste påminnelser"), intro=intro, items=items, tz=tz, footer=footer
    )
    listed = "; ".join(f"{escape(truncate(i.title, 80))} ({when_posted(i.at, tz)})" for i in items)
    return Reply(truncate(f"{intro} {listed}", 3000), blocks)


def _preview_intro(*, paused: bool, any_items: bool) -> str:
    """Why nothing is posted, and (when there is any) that the list is what would come."""
    if paused and any_items:
        text = _(
            ":double_vertical_bar: Påminnelsene er satt på pause, så ingenting blir postet. "
            "`%(on)s` starter dem igjen. Dette ville kommet:"
        )
    elif paused:
        text = _(
            ":double_vertical_bar: Påminnelsene er satt på pause, så ingenting blir postet. "
            "`%(on)s` starter dem igjen."
        )
    elif any_items:
        text = _(
            "Det er ikke valgt noen kanal for påminnelser ennå, så ingenting blir postet. "
            "En koordinator velger med `%(channel)s #kanal`. Dette ville kommet:"
        )
    else:
        text = _(
            "Det er ikke valgt noen kanal for påminnelser ennå, så ingenting blir postet. "
            "En koordinator velger med `%(channel)s #kanal`."
        )
    return text % {"on": command(ON), "channel": command(CHANNEL)}


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
            return _(
                "Jeg finner ikke den kanalen. Er den privat, må jeg inviteres først: skriv "
                "%(invite)s i kanalen, og prøv igjen."
            ) % {"invite": INVITE}
        return _("Jeg fikk ikke sjekket kanalen hos Slack akkurat nå. Prøv igjen om litt.")
    if info.get("is_archived"):
        return _("<#%(channel)s> er arkivert. Velg en annen kanal.") % {"channel": channel}
    if not info.get("is_member"):
        return _(
            "Jeg er ikke med i <#%(channel)s> ennå. Inviter meg ved å skrive %(invite)s i "
            "kanalen, og prøv igjen."
        ) % {"channel": channel, "invite": INVITE}
    return None


def _next_line(services: Services, team_id: str) -> str:
    tz = services.settings.timezone
    with services.session() as session:
        rows = upcoming_messages(session=session, team_id=team_id, kinds=[REMINDER_KIND], limit=1)
    if not rows:
        return ngettext(
            "Ingen påminnelser er planlagt den neste %(n)d dagen.",
            "Ingen påminnelser er planlagt de neste %(n)d dagene.",
            WINDOW_DAYS,
        ) % {"n": WINDOW_DAYS}
    payload = rows[0].payload or {}
    return _("Neste: «%(title)s», %(when)s.") % {
        "title": escape(str(payload.get("title", ""))),
        "when": when_posted(rows[0].due_at, tz),
    }


def run_channel(request: CommandRequest, rest: str) -> Reply:
    channel = parse_channel(rest)
    if channel is None:
        text = _(
            "Skriv kanalen slik: `%(command)s #kanal` (velg kanalen i listen Slack viser når "
            "du skriver #)."
        ) % {"command": command(CHANNEL)}
        return Reply(text, simple_blocks(text))
    problem = check_channel(request.client, channel)
    if problem is not None:
        return Reply(problem, simple_blocks(problem))
    choose_channel(request.services, request.team_id, channel, request.user_id)
    text = _(":white_check_mark: Påminnelser kommer nå i <#%(channel)s>. %(next)s") % {
        "channel": channel,
        "next": _next_line(request.services, request.team_id),
    }
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
    values = {"on": command(ON), "channel": command(CHANNEL)}
    if paused:
        text = (
            _(
                ":double_vertical_bar: Påminnelsene er satt på pause. Ingenting blir postet før "
                "en koordinator skriver `%(on)s`."
            )
            if changed
            else _("Påminnelsene står allerede på pause. `%(on)s` starter dem.")
        ) % values
    elif channel is None:
        text = (
            _(
                "Påminnelsene er slått på, men det er ikke valgt noen kanal ennå: "
                "`%(channel)s #kanal`."
            )
            % values
        )
    else:
        text = (
            _(":arrow_forward: Påminnelsene er i gang igjen. %(next)s")
            if changed
            else _("Påminnelsene er på. %(next)s")
        ) % {"next": _next_line(services, request.team_id)}
    return Reply(text, simple_blocks(text))


def run_offsets(request: CommandRequest, rest: str) -> Reply:
    services = request.services
    word = fold(rest.strip())
    back_to_default = word in DEFAULT.folded()
    try:
        offsets = None if back_to_default else parse_offsets(rest)
        if offsets is None and not back_to_default:
            raise OffsetError(
                _(
                    "Skriv hvor mange dager før, for eksempel `%(days)s 14,7,1`, eller "
                    "`%(days)s %(default)s`."
                )
                % {"days": command(DAYS), "default": DEFAULT.word()}
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
            _(
                "Tilbake til standard: frister %(deadlines)s, møter %(meetings)s (og samme morgen "
                "for møter etter kl. 10)."
            )
            % _default_offsets()
        )
    else:
        text = _(
            "Påminnelser kommer nå %(when)s, kl. 09:00 på en virkedag. Frister og møter som "
            "har egne dager beholder dem."
        ) % {"when": offsets_text(offsets)}
    return Reply(text, simple_blocks(text))


def _default_offsets() -> dict[str, str]:
    return {
        "deadlines": offsets_text(DEFAULT_OFFSETS["deadline"]),
        "meetings": offsets_text(DEFAULT_OFFSETS["meeting"]),
    }


def problem_subject(row: OutboxMessage) -> str:
    """What a message that was not sent was, in words a user understands (never the kind's
    internal name): a reminder's title, the alert to a coordinator, a feedback question."""
    payload = row.payload or {}
    if row.kind == REMINDER_KIND:
        return _("«%(title)s»") % {"title": escape(truncate(str(payload.get("title") or ""), 80))}
    if row.kind == ALERT_KIND:
        return _("beskjeden til %(person)s om at kanalen ikke virker") % {
            "person": mention(row.target)
        }
    if row.kind == PROMPT_KIND:
        return _("spørsmålet om tilbakemelding etter en forestilling")
    if row.kind == FOLLOWUP_KIND:
        return _("påminnelsen om å gi tilbakemelding etter en forestilling")
    return _("en melding fra boten")


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
        lines.append(_(":no_entry: Boten ble avinstallert; ingen påminnelser blir sendt."))
    if workspace.reminder_channel_id:
        channel = {"channel": workspace.reminder_channel_id}
        if change is not None and change.changed_at is not None:
            lines.append(
                _("*Kanal:* <#%(channel)s> (valgt av %(person)s %(day)s)")
                % {
                    **channel,
                    "person": mention(change.user_id),
                    "day": day_text(change.changed_at.astimezone(tz).date()),
                }
            )
        else:
            lines.append(_("*Kanal:* <#%(channel)s>") % channel)
    else:
        lines.append(
            _("*Kanal:* ikke valgt – `%(command)s #kanal`") % {"command": command(CHANNEL)}
        )
    lines.append(_("*Pause:* ja") if workspace.reminders_paused else _("*Pause:* nei"))
    offsets = parse_offsets_safe(workspace.reminder_offsets_days)
    if offsets:
        lines.append(_("*Når:* %(when)s") % {"when": offsets_text(offsets)})
    else:
        lines.append(
            _("*Når:* som standard – frister %(deadlines)s, møter %(meetings)s")
            % _default_offsets()
        )
    if sent is not None and sent.sent_at is not None:
        lines.append(_("*Sist sendt:* %(when)s") % {"when": when_posted(sent.sent_at, tz)})
    if upcoming_rows:
        lines.append(_("*Neste:* %(when)s") % {"when": when_posted(upcoming_rows[0].due_at, tz)})
    for alert in alerts:
        lines.append(
            _(
                ":warning: <#%(channel)s>: %(reason)s – koordinatorene har fått beskjed. "
                "Inviter meg ved å skrive %(invite)s i kanalen, eller velg en annen kanal."
            )
            % {"channel": alert.channel, "reason": reason_text(alert.reason), "invite": INVITE}
        )
    if problems:
        lines.append(
            ngettext(
                "*Ikke sendt den siste %(n)d dagen:*",
                "*Ikke sendt de siste %(n)d dagene:*",
                PROBLEM_DAYS,
            )
            % {"n": PROBLEM_DAYS}
        )
        for row in problems:
            lines.append(
                _("• %(when)s – %(what)s: %(reason)s")
                % {
                    "when": when_posted(row.due_at, tz),
                    "what": problem_subject(row),
                    "reason": reason_text(row.error),
                }
            )
    else:
        lines.append(
            ngettext(
                "Ingen feil den siste %(n)d dagen.",
                "Ingen feil de siste %(n)d dagene.",
                PROBLEM_DAYS,
            )
            % {"n": PROBLEM_DAYS}
        )
    text = "\n".join(lines)
    return Reply(
        text[:3000],
        list_blocks(heading=_("Påminnelser – status"), intro=text[:3000], items=[], tz=tz),
    )


def parse_offsets_safe(text: str | None) -> tuple[int, ...] | None:
    try:
        return parse_offsets(text)
    except OffsetError:
        return None


def usage_reply(word: str) -> Reply:
    lines = [
        _("Jeg forstår ikke «%(word)s». Dette kan du skrive:") % {"word": escape(word[:40])},
        _("• `%(command)s` – de neste påminnelsene") % {"command": command()},
        _("• `%(command)s #kanal` – hvor de postes") % {"command": command(CHANNEL)},
        _("• `%(off)s` / `%(on)s` – pause og start") % {"off": command(OFF), "on": ON.word()},
        _("• `%(command)s 14,7,1` – hvor mange dager før") % {"command": command(DAYS)},
        _("• `%(command)s` – hva som ikke ble sendt") % {"command": command(STATUS)},
    ]
    text = "\n".join(lines)
    return Reply(text, simple_blocks(text))


Verb = Callable[[CommandRequest, str], Reply]


def _verbs(table: Sequence[tuple[Word, Verb]]) -> dict[str, Verb]:
    """Keyed by every folded word of every language, so «på», «pa» (a phone without å) and
    «on» are the same verb."""
    return {key: run for word, run in table for key in word.folded()}


WRITING_VERBS: dict[str, Verb] = _verbs(
    [(CHANNEL, run_channel), (OFF, run_pause), (ON, run_resume), (DAYS, run_offsets)]
)
READING_VERBS: dict[str, Verb] = _verbs([(STATUS, run_status)])


def _verb(args: str) -> tuple[str, str, str]:
    word, _sep, rest = args.partition(" ")
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
