"""`/dks kontakt <søk>`: who to ask, with mail and phone links."""

from __future__ import annotations

from slack_bolt import App

from handlers.router import COMMAND, CommandRequest, Reply, Subcommand
from handlers.views.contacts import contact_results, contact_usage
from storage.contacts import known_roles, search_contacts

MAX_HITS = 10  # a contact is one section; ten keeps the reply readable


def run_contacts(request: CommandRequest) -> Reply:
    query = request.args
    with request.services.session() as session:
        if not query:
            blocks = contact_usage(known_roles(session=session, team_id=request.team_id))
            return Reply("Skriv hvem du leter etter, for eksempel /dks kontakt support.", blocks)
        hits, total = search_contacts(
            session=session, team_id=request.team_id, query=query, limit=MAX_HITS
        )
        # The roles are shown only when nothing matched; listing them reads every contact.
        roles = () if hits else known_roles(session=session, team_id=request.team_id)
    blocks = contact_results(query=query, hits=hits, total=total, roles=roles)
    if not hits:
        return Reply(f"Fant ingen kontakter som passer «{query[:80]}».", blocks)
    names = ", ".join(h.contact.name or h.contact.organisation or h.contact.role for h in hits)
    return Reply(f"Kontakter: {names}"[:3000], blocks)


SUBCOMMANDS = [
    Subcommand(
        name="kontakt",
        aliases=("kontakter", "contact"),
        summary="finner kontaktpersoner på navn, rolle, skole, kommune eller organisasjon.",
        example=f"{COMMAND} kontakt kulturkontakt",
        run=run_contacts,
    )
]


def register(app: App) -> None:
    """Contact search has no interactive parts yet."""
