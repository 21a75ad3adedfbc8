"""Block Kit for `/dks kontakt`: contact search results and the usage hint."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from functools import partial
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from handlers.core.format import escape, link, truncate
from handlers.core.frozen import DIVIDER, FrozenBlock, frozen
from handlers.core.i18n import _, current_language, ngettext
from storage.contacts import ContactHit

CONTACTS_BLOCK_ID = "contacts"
SECTION_TEXT_LIMIT = 3000  # Slack's limit for a section's text


def tel_link(phone: str) -> str:
    """A tel: link Slack clients can dial; Norwegian 8-digit numbers get +47."""
    digits = re.sub(r"[^\d+]", "", phone)
    if len(digits) == 8 and not digits.startswith("+"):
        digits = "+47" + digits
    return link(f"tel:{digits}", phone)


def contact_block(hit: ContactHit) -> Block:
    """One contact as a section. Built as the dict Slack takes rather than through
    slack_sdk.models: its validation cost more than the search, on every search that shows
    new contacts. The one field Slack limits, the text, is cut to 3,000 characters; the
    tests validate these dicts with SectionBlock."""
    c = hit.contact
    name = escape(truncate(c.name or c.organisation or c.role, 150))
    who = [escape(c.role)]
    if c.name and c.organisation:
        who.append(escape(truncate(c.organisation, 150)))
    lines = [f"*{name}* – {', '.join(who)}"]
    reach = []
    if c.email:
        reach.append(link(f"mailto:{c.email}", c.email))
    if c.phone:
        reach.append(tel_link(c.phone))
    if c.slack_user_id:
        reach.append(f"<@{c.slack_user_id}>")
    if reach:
        lines.append(" · ".join(reach))
    where = [x for x in (hit.school, hit.municipality) if x]
    if where:
        lines.append(escape(", ".join(where)))
    if c.purpose:
        lines.append(f"_{escape(truncate(c.purpose, 300))}_")
    if c.historical:
        note = c.note or _("Denne kontakten er historisk og kan være utdatert.")
        lines.append(f":hourglass: {escape(truncate(note, 300))}")
    elif c.note:
        lines.append(escape(truncate(c.note, 300)))
    text = truncate("\n".join(lines), SECTION_TEXT_LIMIT)
    return FrozenBlock({"type": "section", "text": {"type": "mrkdwn", "text": text}})


def contact_results(
    *,
    query: str,
    hits: Sequence[ContactHit],
    total: int,
    roles: Sequence[str],
    memo: dict[Hashable, Any] | None = None,
) -> list[Block]:
    """With a `memo` (the directory snapshot's), each contact's block is built and
    serialised once per language while the contact is unchanged: see handlers.core.frozen."""
    if not hits:
        text = _(
            "Fant ingen kontakter som passer «%(query)s». "
            "Du kan søke på navn, telefon, e-post, skole, kommune, organisasjon eller rolle: "
            "%(roles)s."
        ) % {"query": escape(truncate(query, 80)), "roles": _role_list(roles)}
        return [SectionBlock(block_id=CONTACTS_BLOCK_ID, text=MarkdownTextObject(text=text))]
    heading = _("Kontakter – «%(query)s»") % {"query": query}
    blocks: list[Block] = [HeaderBlock(text=truncate(heading, 150))]
    language = current_language()
    for i, hit in enumerate(hits):
        if i:
            blocks.append(DIVIDER)
        if memo is None:
            blocks.append(contact_block(hit))
        else:
            key = ("contact", hit.contact.id, language)
            blocks.append(frozen(memo, key, partial(contact_block, hit)))
    if total > len(hits):
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=ngettext(
                            "Viser %(shown)d av %(n)d treff. Legg til et ord for å snevre inn.",
                            "Viser %(shown)d av %(n)d treff. Legg til et ord for å snevre inn.",
                            total,
                        )
                        % {"shown": len(hits), "n": total}
                    )
                ]
            )
        )
    return blocks


def _role_list(roles: Sequence[str]) -> str:
    """The roles as the contacts name them (data), or «ingen ennå»."""
    return ", ".join(escape(r) for r in roles) or _("ingen ennå")


def contact_usage(roles: Sequence[str]) -> list[Block]:
    text = _(
        "Skriv hvem du leter etter, for eksempel `/dks kontakt kulturkontakt Ås` eller "
        "`/dks kontakt support`. Roller du kan søke på: %(roles)s."
    ) % {"roles": _role_list(roles)}
    return [SectionBlock(block_id=CONTACTS_BLOCK_ID, text=MarkdownTextObject(text=text))]
