"""Block Kit for reminders: the posted reminder, its done / changed / cancelled states, the
channel offer, the replies of `/dks påminnelser`, and the words for why one was not posted."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from babel.lists import format_list
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.calendar.views import FORM_LABELS
from handlers.core.format import (
    date_span,
    day_text,
    distance,
    escape,
    how_far,
    klokkeslett,
    link,
    mention,
    slack_time,
    truncate,
)
from handlers.core.i18n import N_, _, babel_locale, ngettext
from handlers.core.values import MAX_ROW_ID, row_id, whole_number
from handlers.reminders.snooze import TOMORROW, snooze_choices
from handlers.reminders.words import command
from storage.models import DatePrecision, Deadline, Meeting, MeetingForm
from storage.reminders import begins_at

DONE_ACTION = "reminder_done"
UNDO_ACTION = "reminder_undo"
# «Minn meg på i morgen» keeps the plain id (messages already posted carry it); the same-day
# choices add theirs: `reminder_snooze:1h`. Slack wants each button's id unique in its block.
SNOOZE_ACTION = "reminder_snooze"
SNOOZE_ACTIONS = re.compile(rf"^{SNOOZE_ACTION}(:\w+)?$")
# When each choice brings the reminder back, as a sentence says it, and its button.
SNOOZE_WORDS = {
    TOMORROW: N_("i morgen"),
    "1h": N_("om 1 time"),
    "12": N_("kl. 12"),
    "15": N_("kl. 15"),
}
SNOOZE_BUTTONS = {
    TOMORROW: N_("Minn meg på i morgen"),
    "1h": N_("Minn meg på om 1 time"),
    "12": N_("Minn meg på kl. 12"),
    "15": N_("Minn meg på kl. 15"),
}
USE_CHANNEL_ACTION = "reminder_use_channel"
REMINDER_ACTIONS_BLOCK_ID = "reminder_actions"
USE_CHANNEL_BLOCK_ID = "reminder_use_channel"
TITLE_LIMIT = 150
DESCRIPTION_LIMIT = 500

# What a coordinator types to let the bot into a channel (Slack's own command).
INVITE = "`/invite @dks-boten`"

# Slack's errors for a channel the bot cannot post in, in the words a coordinator needs.
CHANNEL_REASONS = {
    "channel_not_found": N_("finner ikke kanalen (slettet, eller privat uten at boten er med)"),
    "not_in_channel": N_("boten er ikke med i kanalen"),
    "is_archived": N_("kanalen er arkivert"),
}
_NOT_INSTALLED = N_("boten er ikke lenger installert")
OTHER_REASONS = {
    "missed": N_("ble ikke sendt: boten var nede lenger enn ventetiden"),
    "gave_up": N_("ga opp etter flere feil hos Slack"),
    "account_inactive": _NOT_INSTALLED,
    "invalid_auth": _NOT_INSTALLED,
    "not_authed": _NOT_INSTALLED,
    "token_revoked": _NOT_INSTALLED,
    "team_access_not_granted": _NOT_INSTALLED,
    "no_token": _NOT_INSTALLED,
    "msg_too_long": N_("meldingen ble for lang"),
    "invalid_blocks": N_("Slack godtok ikke meldingen"),
}


def reason_text(reason: str | None) -> str:
    """Why a message was not posted, in words; an error code we have no words for is shown
    as Slack wrote it, after words that say it is an error (it helps whoever looks into it)."""
    code = (reason or "").split(":")[0].strip()
    known = CHANNEL_REASONS.get(code) or OTHER_REASONS.get(code)
    if known:
        return _(known)
    if not code:
        return _("ukjent feil")
    return _("ukjent feil (%(code)s)") % {"code": escape(truncate(code, 60))}


# --- button values --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderRef:
    """What a reminder's buttons carry: the item, the occurrence and the outbox row."""

    kind: str
    item_id: int
    occurrence: date
    message_id: int

    def value(self) -> str:
        return json.dumps(
            {
                "k": self.kind,
                "i": self.item_id,
                "o": self.occurrence.isoformat(),
                "m": self.message_id,
            }
        )


def snooze_action_id(choice: str) -> str:
    return SNOOZE_ACTION if choice == TOMORROW else f"{SNOOZE_ACTION}:{choice}"


def snooze_choice(action_id: str) -> str | None:
    """The choice a snooze button stands for; None for an id these buttons never had."""
    if not SNOOZE_ACTIONS.match(action_id):
        return None
    choice = action_id.partition(":")[2] or TOMORROW
    return choice if choice in SNOOZE_BUTTONS else None


def parse_reminder_value(value: str) -> ReminderRef | None:
    """None for anything that is not a value these buttons made (a crafted payload)."""
    try:
        data = json.loads(value)
        kind = str(data["k"])
        item_id = row_id(data["i"])
        message_id = whole_number(data["m"], at_most=MAX_ROW_ID)
        if kind not in ("deadline", "meeting") or item_id is None or message_id is None:
            return None
        return ReminderRef(kind, item_id, date.fromisoformat(str(data["o"])), message_id)
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


# --- the reminder message -------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderView:
    """Everything a reminder message shows, from the item (fresh) or the row's snapshot."""

    kind: str  # deadline | meeting
    title: str
    occurrence: date
    end: date | None
    start_time: time | None
    end_time: time | None
    precision: str
    expected: bool
    description: str | None = None
    link: str | None = None
    audience: str | None = None
    meeting_kind: str | None = None
    form: str | None = None
    place: str | None = None
    date_note: str | None = None

    @classmethod
    def from_item(
        cls, item: Deadline | Meeting, occurrence: date, *, expected: bool, end: date | None
    ) -> ReminderView:
        if isinstance(item, Deadline):
            return cls(
                kind="deadline",
                title=item.title,
                occurrence=occurrence,
                end=end,
                start_time=item.due_time,
                end_time=None,
                precision=str(item.precision),
                expected=expected,
                description=item.description,
                link=item.link,
                audience=item.audience,
            )
        return cls(
            kind="meeting",
            title=item.title,
            occurrence=occurrence,
            end=end,
            start_time=item.start_time,
            end_time=item.end_time,
            precision=str(item.precision),
            expected=expected,
            description=item.description,
            link=item.link,
            audience=item.audience,
            meeting_kind=item.kind,
            form=str(item.form),
            place=item.place,
        )

    @classmethod
    def for_occurrence(
        cls, item: Deadline | Meeting, occurrence: date, *, expected: bool
    ) -> ReminderView:
        """The item as it is now, on one of its dates (a span keeps its length)."""
        return cls.from_item(
            item, occurrence, expected=expected, end=occurrence_end(item, occurrence)
        )

    @classmethod
    def from_snapshot(cls, kind: str, payload: dict[str, Any]) -> ReminderView:
        clock = payload.get("time")
        end = payload.get("end")
        return cls(
            kind=kind,
            title=str(payload.get("title") or ""),
            occurrence=date.fromisoformat(str(payload["occurrence"])),
            end=date.fromisoformat(end) if end else None,
            start_time=time.fromisoformat(clock) if clock else None,
            end_time=None,
            precision=str(payload.get("precision") or DatePrecision.DAY.value),
            expected=bool(payload.get("expected")),
        )

    @property
    def is_deadline(self) -> bool:
        return self.kind == "deadline"

    def begins(self, tz: ZoneInfo) -> datetime:
        return begins_at(self.kind, self.occurrence, self.start_time, tz)


def occurrence_end(item: Deadline | Meeting, occurrence: date) -> date | None:
    first = item.due_date if isinstance(item, Deadline) else item.start_date
    if item.end_date is None or first is None:
        return None
    return occurrence + (item.end_date - first)


def when_line(view: ReminderView, today: date, tz: ZoneInfo) -> str:
    """«Frist: *fredag 12. februar 2027* kl. <!date…> · om 80 dager»."""
    if view.precision == DatePrecision.DAY.value and view.end in (None, view.occurrence):
        when = f"*{day_text(view.occurrence, weekday=True)}*"
    else:
        when = f"*{date_span(view.occurrence, view.end, precision=view.precision)}*"
    if view.start_time is not None:
        start = datetime.combine(view.occurrence, view.start_time, tzinfo=tz)
        clock = slack_time(start, tz)
        if view.end_time is not None:
            end = datetime.combine(view.end or view.occurrence, view.end_time, tzinfo=tz)
            clock += f"–{slack_time(end, tz)}"
        when = _("%(when)s kl. %(time)s") % {"when": when, "time": clock}
    away = how_far(view.occurrence, view.end, today, deadline=view.is_deadline)
    line = (
        _("Frist: %(when)s · *%(away)s*") if view.is_deadline else _("Møte: %(when)s · *%(away)s*")
    )
    return line % {"when": when, "away": away}


def reminder_text(view: ReminderView, today: date) -> str:
    """The notification text (and fallback): what, and how far away."""
    values = {
        "title": escape(truncate(view.title, TITLE_LIMIT)),
        "day": day_text(view.occurrence),
        "away": distance(view.occurrence, today, end=view.end),
    }
    if view.is_deadline:
        return _("Påminnelse: %(title)s – fristen er %(day)s (%(away)s).") % values
    return _("Påminnelse: %(title)s – møtet er %(day)s (%(away)s).") % values


def done_text(view: ReminderView, done_by: str) -> str:
    """The notification text of a reminder after «Ferdig»: who, as a mention."""
    return _("%(title)s: markert som ferdig av %(person)s.") % {
        "title": escape(truncate(view.title, TITLE_LIMIT)),
        "person": mention(done_by),
    }


def changed_text(view: ReminderView, *, cancelled: bool) -> str:
    """The notification text of a posted reminder whose item moved or was deleted."""
    title = escape(truncate(view.title, TITLE_LIMIT))
    if cancelled:
        return _("Avlyst: %(title)s") % {"title": title}
    return _("Endret: %(title)s") % {"title": title}


def _details(view: ReminderView) -> list[str]:
    lines: list[str] = []
    if view.kind == "meeting":
        details = []
        if view.meeting_kind and view.meeting_kind.casefold() != "møte":
            details.append(escape(view.meeting_kind.capitalize()))
        if view.form and view.form in {f.value for f in MeetingForm}:
            label = FORM_LABELS.get(MeetingForm(view.form))
            if label:
                details.append(_(label))
        if view.place:
            details.append(_("sted: %(place)s") % {"place": escape(truncate(view.place, 100))})
        if details:
            lines.append(" · ".join(details))
    if view.description:
        lines.append(escape(truncate(view.description, DESCRIPTION_LIMIT)))
    extra = []
    if view.link:
        extra.append(link(view.link, _("Åpne lenke")))
    if view.audience:
        extra.append(_("Gjelder: %(who)s") % {"who": escape(truncate(view.audience, 100))})
    if extra:
        lines.append(" · ".join(extra))
    return lines


def _summary(view: ReminderView, today: date, tz: ZoneInfo, *, struck: bool = False) -> str:
    title = escape(truncate(view.title, TITLE_LIMIT))
    heading = f"~{title}~" if struck else title
    return "\n".join([f":bell: *{heading}*" if not struck else heading, when_line(view, today, tz)])


def snooze_buttons(ref: ReminderRef, choices: Sequence[str]) -> list[ButtonElement]:
    return [
        ButtonElement(
            text=_(SNOOZE_BUTTONS[choice]),
            action_id=snooze_action_id(choice),
            value=ref.value(),
        )
        for choice in choices
    ]


def reminder_blocks(
    view: ReminderView,
    ref: ReminderRef,
    *,
    now: datetime,
    tz: ZoneInfo,
    snoozed_by: str | None = None,
) -> list[Block]:
    """The reminder as posted: what, when, how far away, details, and its buttons (the snooze
    choices that still come before the item, as of `now`)."""
    lines = [_summary(view, now.astimezone(tz).date(), tz), *_details(view)]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]
    notes = []
    if view.expected:
        notes.append(_("Forventet dato – sjekk den med fylket før dere planlegger etter den."))
    if snoozed_by:
        notes.append(
            _("Du ba om en ny påminnelse i dag (%(person)s).") % {"person": mention(snoozed_by)}
        )
    choices = snooze_choices(now, view.begins(tz), tz)
    if not choices:
        notes.append(
            _("Fristen er så nær at påminnelsen ikke kan utsettes.")
            if view.is_deadline
            else _("Møtet er så nært at påminnelsen ikke kan utsettes.")
        )
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" ".join(notes))]))
    buttons = []
    if view.is_deadline:
        buttons.append(
            ButtonElement(
                text=_("Ferdig"), action_id=DONE_ACTION, value=ref.value(), style="primary"
            )
        )
    buttons.extend(snooze_buttons(ref, choices))
    if buttons:
        blocks.append(ActionsBlock(block_id=REMINDER_ACTIONS_BLOCK_ID, elements=buttons))
    return blocks


# A choice whose time has passed today («Kl. 12 er allerede passert.»).
_PASSED = {
    "12": N_("Kl. 12 er allerede passert."),
    "15": N_("Kl. 15 er allerede passert."),
}
_PASSED_OTHER = N_("Det tidspunktet er allerede passert.")


def snooze_refusal(
    view: ReminderView,
    choice: str,
    *,
    at: datetime,
    now: datetime,
    tz: ZoneInfo,
    instead: Sequence[str],
) -> str:
    """Why a snooze choice does not fit (any more), for the one who clicked it."""
    words = _(SNOOZE_WORDS[choice])
    if at >= view.begins(tz):
        when = distance(view.occurrence, now.astimezone(tz).date())
        if view.start_time is not None:
            when = _("%(when)s kl. %(time)s") % {
                "when": when,
                "time": klokkeslett(view.start_time),
            }
        first = (
            _("Fristen er %(when)s, så jeg kan ikke minne deg på den %(choice)s.")
            if view.is_deadline
            else _("Møtet er %(when)s, så jeg kan ikke minne deg på det %(choice)s.")
        ) % {"when": when, "choice": words}
    elif at <= now:
        first = _(_PASSED.get(choice, _PASSED_OTHER))
    else:
        first = (
            _(
                "Jeg kan ikke minne deg på den %(choice)s: jeg poster påminnelser bare "
                "på hverdager mellom kl. 07 og 21."
            )
            if view.is_deadline
            else _(
                "Jeg kan ikke minne deg på det %(choice)s: jeg poster påminnelser bare "
                "på hverdager mellom kl. 07 og 21."
            )
        ) % {"choice": words}
    if instead:
        then = (
            _("Velg heller et tidspunkt før fristen:")
            if view.is_deadline
            else _("Velg heller et tidspunkt før møtet:")
        )
    else:
        then = _("Det er for kort tid igjen til å utsette påminnelsen.")
    return f"{first} {then}"


def catch_up_reason(why: str, view: ReminderView) -> str:
    """Why a catch-up reminder is late: the whole late note, for `late_note(why=…)`, marked
    for the catalogs and translated there."""
    if why == "channel":
        return N_(
            ":hourglass_flowing_sand: Denne meldingen kommer for sent: den skulle vært sendt "
            "%(when)s, men da var det ikke valgt noen kanal for påminnelser."
        )
    if view.is_deadline:
        return N_(
            ":hourglass_flowing_sand: Denne meldingen kommer for sent: den skulle vært sendt "
            "%(when)s, men da sto ikke fristen i kalenderen med denne datoen."
        )
    return N_(
        ":hourglass_flowing_sand: Denne meldingen kommer for sent: den skulle vært sendt "
        "%(when)s, men da sto ikke møtet i kalenderen med denne datoen."
    )


def done_blocks(
    view: ReminderView,
    ref: ReminderRef,
    *,
    today: date,
    tz: ZoneInfo,
    done_by: str,
    done_at: datetime,
) -> list[Block]:
    """After «Ferdig»: who closed it, and «Angre»."""
    local = done_at.astimezone(tz)
    lines = [_summary(view, today, tz), *_details(view)]
    when = _("%(when)s kl. %(time)s") % {
        "when": day_text(local.date()),
        "time": slack_time(done_at, tz),
    }
    return [
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        SectionBlock(
            text=MarkdownTextObject(
                text=_(
                    ":white_check_mark: Markert som ferdig av %(person)s %(when)s. "
                    "Det kommer ingen flere påminnelser om denne fristen."
                )
                % {"person": mention(done_by), "when": when}
            )
        ),
        ActionsBlock(
            block_id=REMINDER_ACTIONS_BLOCK_ID,
            elements=[ButtonElement(text=_("Angre"), action_id=UNDO_ACTION, value=ref.value())],
        ),
    ]


def changed_blocks(view: ReminderView, *, today: date, tz: ZoneInfo, note: str) -> list[Block]:
    """A posted reminder whose item moved or was deleted: say so first, drop the buttons."""
    return [
        SectionBlock(text=MarkdownTextObject(text=note)),
        SectionBlock(text=MarkdownTextObject(text=_summary(view, today, tz, struck=True))),
    ]


def moved_note(kind: str, new_day: date | None, new_time: time | None) -> str:
    if new_day is None:
        return _(":warning: *Endret:* datoen er ikke satt ennå. Se `/dks frist` eller `/dks møte`.")
    day = day_text(new_day, weekday=True)
    if new_time is None:
        return _(":warning: *Endret:* ny dato %(day)s.") % {"day": day}
    return _(":warning: *Endret:* ny dato %(day)s kl. %(time)s.") % {
        "day": day,
        "time": klokkeslett(new_time),
    }


def cancelled_note(kind: str) -> str:
    if kind == "deadline":
        return _(":x: *Avlyst:* Fristen er fjernet fra kalenderen.")
    return _(":x: *Avlyst:* Møtet er fjernet fra kalenderen.")


# --- channel offer --------------------------------------------------------------------------


def channel_offer_text() -> str:
    return _("Vil dere ha påminnelser om frister og møter i denne kanalen?")


def channel_offer_blocks() -> list[Block]:
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=_(
                    "Hei! Jeg kan poste påminnelser om frister og nettverksmøter her. "
                    "Det er ikke valgt noen påminnelseskanal ennå."
                )
            )
        ),
        ActionsBlock(
            block_id=USE_CHANNEL_BLOCK_ID,
            elements=[
                ButtonElement(
                    text=_("Bruk denne kanalen til påminnelser"),
                    action_id=USE_CHANNEL_ACTION,
                    value="use",
                    style="primary",
                )
            ],
        ),
    ]


def channel_chosen_text() -> str:
    return _("Påminnelser kommer nå i denne kanalen.")


def channel_chosen_blocks(channel_id: str, user_id: str) -> list[Block]:
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=_(
                    ":white_check_mark: Påminnelser kommer nå i <#%(channel)s> "
                    "(valgt av %(person)s). Se de neste med `%(command)s`."
                )
                % {"channel": channel_id, "person": mention(user_id), "command": command()}
            )
        )
    ]


# --- `/dks påminnelser` replies -------------------------------------------------------------


@dataclass(frozen=True)
class ListedReminder:
    at: datetime
    kind: str
    title: str
    occurrence: date
    offset: int | None
    snoozed: bool


def when_posted(at: datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    return _("%(when)s kl. %(time)s") % {
        "when": day_text(local.date(), weekday=True),
        "time": klokkeslett(local),
    }


def listed_line(item: ListedReminder, tz: ZoneInfo) -> str:
    values = {"title": escape(truncate(item.title, 80)), "day": day_text(item.occurrence)}
    if item.kind == "deadline":
        what = _("«%(title)s» (fristen %(day)s)") % values
    else:
        what = _("«%(title)s» (møtet %(day)s)") % values
    if item.snoozed:
        what = _("%(what)s – utsatt") % {"what": what}
    return f"• *{when_posted(item.at, tz)}* – {what}"


def list_blocks(
    *,
    heading: str,
    intro: str,
    items: Sequence[ListedReminder],
    tz: ZoneInfo,
    footer: str | None = None,
) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text=truncate(heading, 150)),
        SectionBlock(text=MarkdownTextObject(text=intro)),
    ]
    if items:
        text = "\n".join(listed_line(i, tz) for i in items)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))))
    if footer:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    return blocks


def simple_blocks(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=text))]


# --- days before -----------------------------------------------------------------------------


def offsets_text(offsets: Sequence[int]) -> str:
    """When reminders come, as a sentence says it: «14, 7 og 1 dag før», «3 og 2 dager før»,
    «7 dager før og på selve dagen», «på selve dagen» (0 days before is the day itself)."""
    days = sorted({o for o in offsets if o > 0}, reverse=True)
    same_day = 0 in offsets
    if not days:
        return _("på selve dagen")
    listed = format_list([str(d) for d in days], locale=babel_locale())
    # The unit agrees with the number next to it: «14, 7 og 1 dag», «7 og 2 dager».
    before = ngettext("%(days)s dag før", "%(days)s dager før", days[-1]) % {"days": listed}
    if same_day:
        return _("%(before)s og på selve dagen") % {"before": before}
    return before
