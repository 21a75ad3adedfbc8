"""The editing feature's views that are not forms: the school list, the type-aheads'
options, and the texts a modal shows about an item."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    OverflowMenuElement,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from handlers.core.blocks import NOTICE_BLOCK
from handlers.core.format import day_text, escape, klokkeslett, mention, truncate
from handlers.core.i18n import N_, _, ngettext
from handlers.core.values import MAX_LIST_OFFSET, whole_number
from handlers.editing.fields import option
from handlers.home.views import ITEM_MENU_ACTION
from storage import audit
from storage.contacts import ContactHit

SCHOOLS_CALLBACK = "dks_schools"
SCHOOLS_MORE_ACTION = "dks_schools_more"
SCHOOLS_NEW_ACTION = "dks_schools_new"
SCHOOLS_NAV_BLOCK = "schools_nav"
SCHOOLS_PAGE = 20

OPTIONS_LIMIT = 100  # Slack shows at most 100 options
QUERY_LIMIT = 100

# Marked here, translated where shown: `_(SCHOOL_IN_USE)`.
GONE = {
    "deadline": N_("Finner ikke fristen lenger: noen har kanskje slettet den i mellomtiden."),
    "meeting": N_("Finner ikke møtet lenger: noen har kanskje slettet det i mellomtiden."),
    "contact": N_("Finner ikke kontakten lenger: noen har kanskje slettet den i mellomtiden."),
    "school": N_("Finner ikke skolen lenger: noen har kanskje slettet den i mellomtiden."),
}
NOTHING_TO_DELETE = N_("Jeg vet ikke hva som skal slettes.")
SCHOOL_IN_USE = N_(
    "Skolen har forestillinger i turnéplanen og kan ikke slettes. "
    "Gi den heller nytt navn, eller fjern forestillingene først."
)
FROM_THE_CALENDAR = N_("Fra den medfølgende DKS-kalenderen eller en import; ikke endret her ennå.")
# Who last changed an item, by what they did; %(who)s is a mention (or the bot, the CLI).
LAST_CHANGED = {
    "create": N_("Lagt inn av %(who)s den %(day)s kl. %(time)s."),
    "import": N_("Importert av %(who)s den %(day)s kl. %(time)s."),
    "done": N_("Merket som ferdig av %(who)s den %(day)s kl. %(time)s."),
    "update": N_("Sist endret av %(who)s den %(day)s kl. %(time)s."),
}


def gone_text(kind: str) -> str:
    return _(GONE[kind])


def last_changed_text(change: audit.LastChange | None, tz: tzinfo) -> str | None:
    """«Sist endret av @kari den 24. november 2026 kl. 10:00.»: a person is a mention,
    never their raw id."""
    if change is None:
        return None
    local: datetime = change.at.astimezone(tz)
    if change.user_id:
        who = mention(change.user_id)
    else:
        who = _("kommandolinja (dks-bot)") if change.source == "cli" else _("boten")
    sentence = LAST_CHANGED.get(change.action, LAST_CHANGED["update"])
    return _(sentence) % {"who": who, "day": day_text(local.date()), "time": klokkeslett(local)}


# --- type-aheads ---------------------------------------------------------------------------------


def option_dicts(choices: Sequence[tuple[Any, str]]) -> list[dict[str, Any]]:
    """A type-ahead's answer: (value, text) pairs as Slack's options."""
    return [option(str(value), text).to_dict() for value, text in choices]


def contact_choice(hit: ContactHit) -> tuple[Any, str]:
    """«Kari Dahl – kulturkontakt, Nordby skole» in the Home tab's contact picker."""
    c = hit.contact
    who = c.name or c.organisation or c.email or c.role
    where = hit.school or hit.municipality
    return c.id, f"{who} – {c.role}" + (f", {where}" if where else "")


# --- the school list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolEntry:
    school_id: int
    name: str
    municipality: str | None
    kulturkontakter: Sequence[str]  # names, or what else identifies them


def school_menu(entry: SchoolEntry, offset: int) -> OverflowMenuElement:
    ref = f"{entry.school_id}:{offset}"
    return OverflowMenuElement(
        action_id=ITEM_MENU_ACTION,
        options=[
            option(f"newcontact:school:{ref}", _("Ny kulturkontakt")),
            option(f"edit:school:{ref}", _("Endre skolen")),
            option(f"delete:school:{ref}", _("Slett skolen")),
        ],
    )


def schools_offset(view: dict[str, Any]) -> int:
    """The page a school list shows, from its private_metadata."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        return whole_number(meta.get("offset", 0), at_most=MAX_LIST_OFFSET) or 0
    except (ValueError, TypeError, AttributeError, RecursionError):
        return 0


def _school_section(entry: SchoolEntry, offset: int, coordinator: bool) -> SectionBlock:
    where = f" ({escape(entry.municipality)})" if entry.municipality else ""
    if entry.kulturkontakter:
        names = escape(truncate(", ".join(entry.kulturkontakter), 200))
        n = len(entry.kulturkontakter)
        who = ngettext("Kulturkontakt: %(names)s", "Kulturkontakter: %(names)s", n) % {
            "names": names
        }
    else:
        who = _(":warning: Mangler kulturkontakt")
    return SectionBlock(
        block_id=f"school:{entry.school_id}",
        text=MarkdownTextObject(text=f"*{escape(truncate(entry.name, 150))}*{where}\n{who}"),
        accessory=school_menu(entry, offset) if coordinator else None,
    )


def _page_buttons(offset: int, shown_to: int, total: int, page_size: int) -> list[ButtonElement]:
    nav = []
    if offset > 0:
        previous = str(max(0, offset - page_size))
        nav.append(
            ButtonElement(text=_("Forrige side"), action_id=SCHOOLS_MORE_ACTION, value=previous)
        )
    if shown_to < total:
        nav.append(
            ButtonElement(text=_("Vis flere"), action_id=SCHOOLS_MORE_ACTION, value=str(shown_to))
        )
    return nav


def shown_text(offset: int, shown: int, total: int) -> str | None:
    """Which schools a page shows, as a person says it: «Viser 21–40 av 57.», but
    «Viser skole 21 av 21.» for a page of one and «Viser alle 3 skolene.» for all of them."""
    if shown <= 0 or total <= 0:
        return None
    first, last = offset + 1, offset + shown
    if first == 1 and last >= total:
        return ngettext("Viser den ene skolen.", "Viser alle %(n)d skolene.", total) % {"n": total}
    if first == last:
        return _("Viser skole %(n)d av %(total)d.") % {"n": first, "total": total}
    return _("Viser %(first)d–%(last)d av %(total)d.") % {
        "first": first,
        "last": last,
        "total": total,
    }


def schools_modal(
    *,
    entries: Sequence[SchoolEntry],
    offset: int,
    total: int,
    missing: int,
    page_size: int,
    coordinator: bool,
) -> View:
    """One page of schools, those without a kulturkontakt first; menus for coordinators."""
    if total:
        summary = ngettext(
            "%(n)d skole, *%(missing)d uten kulturkontakt*. Hver skole skal ha en "
            "kulturkontakt; skolene som mangler, står først.",
            "%(n)d skoler, *%(missing)d uten kulturkontakt*. Hver skole skal ha en "
            "kulturkontakt; skolene som mangler, står først.",
            total,
        ) % {"n": total, "missing": missing}
    else:
        summary = _("Ingen skoler er lagt inn ennå. Importer en liste fra Home-fanen.")
    blocks: list[Block] = [
        SectionBlock(block_id=NOTICE_BLOCK, text=MarkdownTextObject(text=summary))
    ]
    if coordinator:
        new = ButtonElement(text=_("Ny skole"), action_id=SCHOOLS_NEW_ACTION, value="new")
        blocks.append(ActionsBlock(elements=[new]))
    blocks += [_school_section(entry, offset, coordinator) for entry in entries]
    shown_to = offset + len(entries)
    shown = shown_text(offset, len(entries), total)
    if shown:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=shown)]))
    nav = _page_buttons(offset, shown_to, total, page_size)
    if nav:
        blocks.append(ActionsBlock(block_id=SCHOOLS_NAV_BLOCK, elements=nav))
    return View(
        type="modal",
        callback_id=SCHOOLS_CALLBACK,
        title=_("Skoler"),
        close=_("Lukk"),
        private_metadata=json.dumps({"offset": offset}),
        blocks=blocks,
    )
