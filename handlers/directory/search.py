"""`/dks kontakt <søk>`: who to ask, from the workspace's in-memory directory."""

from __future__ import annotations

from handlers.core.commands import CommandRequest, Reply
from handlers.core.format import escape, truncate
from handlers.directory.views import contact_results, contact_usage

MAX_HITS = 10  # a contact is one section; ten keeps the reply readable


def run_contacts(request: CommandRequest) -> Reply:
    query = request.args
    # From the workspace's in-memory directory: a search never scans the table.
    directory = request.services.snapshot(request.team_id).directory
    if not query:
        blocks = contact_usage(directory.roles)
        return Reply("Skriv hvem du leter etter, for eksempel /dks kontakt support.", blocks)
    hits, total = directory.search(query, MAX_HITS)
    blocks = contact_results(
        query=query,
        hits=hits,
        total=total,
        roles=() if hits else directory.roles,
        memo=directory.memo,
    )
    if not hits:
        return Reply(f"Fant ingen kontakter som passer «{escape(truncate(query, 80))}».", blocks)
    names = ", ".join(
        escape(truncate(h.contact.name or h.contact.organisation or h.contact.role, 150))
        for h in hits
    )
    return Reply(truncate(f"Kontakter: {names}", 3000), blocks)
