"""Block Kit for the calendar: the `/dks frist` and `/dks møte` lists, and the feed's reply.

Pure builders, and the action and block ids the listeners are wired to.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import ConfirmObject, MarkdownTextObject

from handlers.core.format import date_and_clock, date_span, escape, how_far, link, truncate
from handlers.core.frozen import DIVIDER, frozen
from handlers.core.i18n import N_, _, current_language
from handlers.core.values import MAX_LIST_OFFSET, whole_number
from storage.calendar import Occurrence
from storage.models import Deadline, Meeting, MeetingForm
from storage.models.calendar import PLAIN_MEETING_KIND

DEADLINES_MORE_ACTION = "deadlines_more"
MEETINGS_MORE_ACTION = "meetings_more"
LIST_BLOCK_ID = "calendar_list"
MORE_BLOCK_ID = "calendar_more"
FEED_BLOCK = "calendar_feed"
FEED_ACTIONS_BLOCK = "calendar_actions"
ROTATE_ACTION = "dks_calendar_rotate"
SEND_FILE_ACTION = "dks_calendar_send_file"
# Without PUBLIC_URL the bot has no address to give out (it never takes one from a request).
NO_PUBLIC_URL = N_(
    "Et kalenderabonnement trenger botens offentlige adresse. Den som drifter boten, setter "
    "`PUBLIC_URL` (for eksempel `PUBLIC_URL=https://dks.kommune.no`) i miljøet eller i `.env` "
    "og starter `dks-bot serve` på nytt. Du kan likevel få kalenderen som fil og importere den."
)
DESCRIPTION_LIMIT = 300
TITLE_LIMIT = 150

# How a meeting takes place; marked for the catalogs, translated where shown (`form_label`).
FORM_LABELS = {
    MeetingForm.DIGITAL: N_("digitalt"),
    MeetingForm.PHYSICAL: N_("fysisk oppmøte"),
    MeetingForm.HYBRID: N_("fysisk og digitalt"),
}


def form_label(form: str | None) -> str:
    """«digitalt», «fysisk oppmøte», «fysisk og digitalt» in the reader's language ("" for an
    unknown form)."""
    try:
        label = FORM_LABELS.get(MeetingForm(form or ""))
    except ValueError:
        return ""
    return _(label) if label else ""


@dataclass(frozen=True)
class Page:
    """Where a list stands: `shown` items starting at `offset` out of `total`."""

    offset: int
    total: int
    query: str
    size: int

    @property
    def has_more(self) -> bool:
        return self.offset + self.size < self.total

    def more_value(self) -> str:
        return json.dumps({"q": self.query[:200], "o": self.offset + self.size})


def parse_more_value(value: str) -> tuple[str, int]:
    try:
        data = json.loads(value)
        return str(data.get("q", "")), whole_number(data.get("o", 0), at_most=MAX_LIST_OFFSET) or 0
    except (ValueError, TypeError, AttributeError, RecursionError):
        return "", 0


def _link_line(address: str | None) -> str:
    return link(address, _("Åpne lenke")) if address else ""


def _when_line(occ: Occurrence[Any], today: date) -> str:
    item = occ.item
    meeting = isinstance(item, Meeting)
    when = date_and_clock(
        occ.start,
        occ.end,
        precision=item.precision,
        note=item.date_note,
        start_time=item.start_time if meeting else item.due_time,
        end_time=item.end_time if meeting else None,
        meeting=meeting,
        # «tirsdag 1. desember»: a coordinator plans by the weekday.
        weekday=True,
    )
    if occ.expected:
        when = _("%(when)s _(forventet dato – ikke bekreftet ennå)_") % {"when": when}
    away = how_far(occ.start, occ.end, today, deadline=isinstance(item, Deadline))
    return f"{when} · *{away}*"


def occurrence_block(occ: Occurrence[Any], today: date) -> SectionBlock:
    item = occ.item
    lines = [f"*{escape(truncate(item.title, TITLE_LIMIT))}*", _when_line(occ, today)]
    if isinstance(item, Meeting):
        details = [form_label(item.form)] if item.form else []
        if item.place:
            details.append(_("sted: %(place)s") % {"place": escape(truncate(item.place, 100))})
        if item.kind:
            plain = item.kind.casefold() == PLAIN_MEETING_KIND
            details.insert(0, _("Møte") if plain else escape(item.kind.capitalize()))
        if any(details):
            lines.append(" · ".join(d for d in details if d))
    if item.description:
        lines.append(escape(truncate(item.description, DESCRIPTION_LIMIT)))
    extra = [_link_line(item.link)]
    if item.audience:
        extra.append(
            _("Gjelder: %(audience)s") % {"audience": escape(truncate(item.audience, 100))}
        )
    if any(extra):
        lines.append(" · ".join(e for e in extra if e))
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))


def undated_block(titles: Sequence[str], text: str) -> ContextBlock:
    """`text` (translated) has `%(titles)s` for the titles of items without a date yet."""
    shown = ", ".join(escape(truncate(t, 80)) for t in titles[:8])
    if len(titles) > 8:
        shown = _("%(titles)s og %(n)d til") % {"titles": shown, "n": len(titles) - 8}
    return ContextBlock(elements=[MarkdownTextObject(text=text % {"titles": shown})])


def occurrence_list(
    *,
    heading: str,
    occurrences: Sequence[Occurrence[Any]],
    today: date,
    empty_text: str,
    footer: str | None = None,
    undated_titles: Sequence[str] = (),
    undated_text: str = "",
    page: Page | None = None,
    more_action: str = "",
    memo: dict[Hashable, Any] | None = None,
) -> list[Block]:
    """With a `memo` (a snapshot part's), each block is built and serialised once while the
    data it shows is unchanged (and per language: the memo is the workspace's, its readers
    speak several): see handlers.core.frozen."""
    language = current_language()

    def keep(key: Hashable, build: Callable[[], Block]) -> Block:
        return frozen(memo, key, build) if memo is not None else build()

    blocks: list[Block] = [
        keep(("header", heading), lambda: HeaderBlock(text=truncate(heading, TITLE_LIMIT)))
    ]
    if not occurrences:
        blocks.append(
            SectionBlock(block_id=LIST_BLOCK_ID, text=MarkdownTextObject(text=empty_text))
        )
    for i, occ in enumerate(occurrences):
        if i:
            blocks.append(DIVIDER)
        key = (
            type(occ.item).__name__,
            occ.item.id,
            occ.start,
            occ.end,
            occ.expected,
            today,
            language,
        )
        blocks.append(keep(key, partial(occurrence_block, occ, today)))
    if page is not None and page.has_more:
        remaining = page.total - page.offset - page.size
        value = page.more_value()
        blocks.append(
            keep(
                ("more", more_action, remaining, value, language),
                lambda: ActionsBlock(
                    block_id=MORE_BLOCK_ID,
                    elements=[
                        ButtonElement(
                            text=_("Vis flere (%(n)d til)") % {"n": remaining},
                            action_id=more_action,
                            value=value,
                        )
                    ],
                ),
            )
        )
    if footer:
        text = footer
        blocks.append(
            keep(
                ("footer", text),
                lambda: ContextBlock(elements=[MarkdownTextObject(text=text)]),
            )
        )
    if undated_titles:
        titles = tuple(undated_titles)
        blocks.append(
            keep(("undated", undated_text, titles), lambda: undated_block(titles, undated_text))
        )
    return blocks


def fallback_text(heading: str, occurrences: Sequence[Occurrence[Any]]) -> str:
    """The notification text; the heading may quote a search word."""
    parts = [
        f"{escape(truncate(o.item.title, TITLE_LIMIT))} "
        f"({date_span(o.start, o.end, precision=o.item.precision, note=o.item.date_note)})"
        for o in occurrences[:10]
    ]
    listed = "; ".join(parts) if parts else _("ingen")
    return truncate(f"{escape(heading)}: {listed}", 3000)


# --- /dks kalender -------------------------------------------------------------------------------


def hidden_address_text(created: str | None) -> str:
    if created:
        return _(
            "*Kalenderen har en abonnementsadresse*, laget %(day)s. Jeg tar bare vare på et "
            "fingeravtrykk av den, ikke selve adressen, så jeg kan ikke vise den igjen. Trenger "
            "du den, trykk «Lag ny adresse»: da slutter den gamle å virke, og alle som "
            "abonnerer, må legge inn den nye."
        ) % {"day": created}
    return _(
        "*Kalenderen har en abonnementsadresse*. Jeg tar bare vare på et fingeravtrykk av den, "
        "ikke selve adressen, så jeg kan ikke vise den igjen. Trenger du den, trykk «Lag ny "
        "adresse»: da slutter den gamle å virke, og alle som abonnerer, må legge inn den nye."
    )


def feed_blocks(url: str | None, created: str | None, *, hidden: bool = False) -> list[Block]:
    """The subscription address (None when the bot cannot give it out), or, when it exists
    but cannot be shown again (`hidden`: only its hash is kept), how to get a new one; and
    the buttons."""
    blocks: list[Block] = []
    if url:
        text = _(
            "*Abonner på DKS-kalenderen* i Outlook («Legg til kalender → Fra Internett») eller "
            "Google Kalender («Andre kalendere → Fra URL») med denne adressen:\n`%(url)s`\n"
            "Adressen er hemmelig: alle som har den, kan se fristene og møtene. Kalenderen "
            "oppdaterer seg selv."
        ) % {"url": url}
        if created:
            text += " " + _("Adressen ble laget %(day)s.") % {"day": created}
        blocks.append(SectionBlock(block_id=FEED_BLOCK, text=MarkdownTextObject(text=text)))
    elif hidden:
        blocks.append(
            SectionBlock(
                block_id=FEED_BLOCK, text=MarkdownTextObject(text=hidden_address_text(created))
            )
        )
    else:
        blocks.append(
            SectionBlock(
                block_id=FEED_BLOCK,
                text=MarkdownTextObject(text=_(NO_PUBLIC_URL)),
            )
        )
    buttons = [
        ButtonElement(text=_("Send meg kalenderfilen"), action_id=SEND_FILE_ACTION, value="1")
    ]
    if url or hidden:
        buttons.append(
            ButtonElement(
                text=_("Lag ny adresse"),
                action_id=ROTATE_ACTION,
                value="rotate",
                style="danger",
                confirm=ConfirmObject(
                    title=_("Lage ny adresse?"),
                    text=_(
                        "Den gamle adressen slutter å virke med en gang. Alle som abonnerer, "
                        "må legge inn den nye."
                    ),
                    confirm=_("Lag ny"),
                    deny=_("Avbryt"),
                ),
            )
        )
    blocks.append(ActionsBlock(block_id=FEED_ACTIONS_BLOCK, elements=buttons))
    return blocks


def rotated_note() -> ContextBlock:
    return ContextBlock(
        elements=[
            MarkdownTextObject(
                text=_(":white_check_mark: Ny adresse laget. Den gamle virker ikke lenger.")
            )
        ]
    )
