"""`/dks kontakt <søk>`: who to ask, from the workspace's in-memory directory."""

from __future__ import annotations

from handlers.core.commands import CommandRequest, Reply
from handlers.core.format import escape, truncate
from handlers.core.i18n import _
from handlers.directory.views import contact_results, contact_usage
from storage.folding import strip_invisible

MAX_HITS = 10  # a contact is one section; ten keeps the reply readable


def run_contacts(request: CommandRequest) -> Reply:
    # Zero-width and direction characters pasted with a name are no part of it, and echoed
    # back they could hide or reorder the reply: gone before the search and the reply.
    query = " ".join(strip_invisible(request.args).split())
    # From the workspace's in-memory directory: a search never scans the table.
    directory = request.services.snapshot(request.team_id).directory
    if not query:
        blocks = contact_usage(directory.roles)
        return Reply(_("Skriv hvem du leter etter, for eksempel /dks kontakt support."), blocks)
    hits, total = directory.search(query, MAX_HITS)
    blocks = contact_results(
        query=query,
        hits=hits,
        total=total,
        roles=() if hits else directory.roles,
        memo=directory.memo,
    )
    if not hits:
        text = _("Fant ingen kontakter som passer «%(query)s».") % {
            "query": escape(truncate(query, 80))
        }
        return Reply(text, blocks)
    names = ", ".join(
        escape(truncate(h.contact.name or h.contact.organisation or h.contact.role, 150))
        for h in hits
    )
    return Reply(truncate(_("Kontakter: %(names)s") % {"names": names}, 3000), blocks)
