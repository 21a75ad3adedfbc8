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
from handlers.core.values import MAX_LIST_OFFSET, whole_number
from handlers.editing.fields import NOUNS, option
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

GONE = "Finner ikke {noun} lenger: noen har kanskje slettet {pronoun} i mellomtiden."
NOTHING_TO_DELETE = "Jeg vet ikke hva som skal slettes."
SCHOOL_IN_USE = (
    "Skolen har forestillinger i turnéplanen og kan ikke slettes. "
    "Gi den heller nytt navn, eller fjern forestillingene først."
)
FROM_THE_CALENDAR = "Fra den medfølgende DKS-kalenderen eller en import; ikke endret her ennå."


def gone_text(kind: str) -> str:
    noun = NOUNS[kind][1]
    pronoun = "den" if kind in ("deadline", "contact", "school") else "det"
    return GONE.format(noun=noun, pronoun=pronoun)


def last_changed_text(change: audit.LastChange | None, tz: tzinfo) -> str | None:
    """«Sist endret av @kari den 24. november 2026 kl. 10:00.»"""
    if change is None:
        return None
    local: datetime = change.at.astimezone(tz)
    when = f"{day_text(local.date())} kl. {klokkeslett(local)}"
    if change.user_id:
        who = mention(change.user_id)
    else:
        who = "kommandolinja (dks-bot)" if change.source == "cli" else "boten"
    verb = {"create": "Lagt inn", "import": "Importert", "done": "Merket som ferdig"}.get(
        change.action, "Sist endret"
    )
    return f"{verb} av {who} den {when}."


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
            option(f"newcontact:school:{ref}", "Ny kulturkontakt"),
            option(f"edit:school:{ref}", "Endre skolen"),
            option(f"delete:school:{ref}", "Slett skolen"),
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
        who = "Kulturkontakt: " + escape(truncate(", ".join(entry.kulturkontakter), 200))
    else:
        who = ":warning: Mangler kulturkontakt"
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
            ButtonElement(text="Forrige side", action_id=SCHOOLS_MORE_ACTION, value=previous)
        )
    if shown_to < total:
        nav.append(
            ButtonElement(text="Vis flere", action_id=SCHOOLS_MORE_ACTION, value=str(shown_to))
        )
    return nav


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
    summary = (
        f"{total} skoler, *{missing} uten kulturkontakt*. Hver skole skal ha en "
        "kulturkontakt; skolene som mangler, står først."
        if total
        else "Ingen skoler er lagt inn ennå. Importer en liste fra Home-fanen."
    )
    blocks: list[Block] = [
        SectionBlock(block_id=NOTICE_BLOCK, text=MarkdownTextObject(text=summary))
    ]
    if coordinator:
        new = ButtonElement(text="Ny skole", action_id=SCHOOLS_NEW_ACTION, value="new")
        blocks.append(ActionsBlock(elements=[new]))
    blocks += [_school_section(entry, offset, coordinator) for entry in entries]
    shown_to = offset + len(entries)
    if total:
        shown = f"Viser {offset + 1}–{shown_to} av {total}."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=shown)]))
    nav = _page_buttons(offset, shown_to, total, page_size)
    if nav:
        blocks.append(ActionsBlock(block_id=SCHOOLS_NAV_BLOCK, elements=nav))
    return View(
        type="modal",
        callback_id=SCHOOLS_CALLBACK,
        title="Skoler",
        close="Lukk",
        private_metadata=json.dumps({"offset": offset}),
        blocks=blocks,
    )
