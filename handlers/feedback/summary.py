"""`/dks tilbakemelding oppsummering [produksjon]`: averages for everyone; the latest comments
and the export buttons for coordinators only."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.core.access import Actor, is_coordinator
from handlers.core.commands import COMMAND, CommandRequest, Reply
from handlers.core.format import escape, truncate
from handlers.feedback.views import plain_section, summary_blocks, totals_intro
from storage.feedback import (
    AnswerComments,
    ProductionSummary,
    latest_comments,
    overview,
    production_summaries,
)
from storage.tourplan import find_productions


def summary_reply(request: CommandRequest, query: str) -> Reply:
    services = request.services
    tz = services.settings.timezone
    # Comments name people (unless anonymous): they are shown to coordinators only.
    coordinator = is_coordinator(
        services, request.client, Actor(team_id=request.team_id, user_id=request.user_id)
    )
    now = services.clock()
    comments: Sequence[AnswerComments] = ()
    summaries: Sequence[ProductionSummary]
    export_production: int | None = None
    with services.session() as session:
        if query:
            productions, total = find_productions(
                session=session, team_id=request.team_id, query=query
            )
            if not productions:
                text = (
                    f"Fant ingen produksjon som passer «{escape(truncate(query, 80))}». "
                    f"Skriv `{COMMAND} tilbakemelding oppsummering` for å se alle."
                )
                return Reply(text, plain_section(text))
            ids = [p.id for p in productions if p.id is not None]
            summaries = production_summaries(
                session=session, team_id=request.team_id, now=now, production_ids=ids
            )
            if len(productions) == 1:
                heading = f"Tilbakemeldinger – {productions[0].title}"
                intro = None
                export_production = ids[0]
                if coordinator:
                    comments = latest_comments(
                        session=session, team_id=request.team_id, production_id=ids[0]
                    )
            else:
                heading = f"Tilbakemeldinger – «{query}»"
                more = f" Viser {len(productions)} av {total}." if total > len(productions) else ""
                intro = (
                    f"{total} produksjoner passer.{more} Skriv hele navnet for å se "
                    "kommentarene til én produksjon."
                )
        else:
            totals, summaries = overview(session=session, team_id=request.team_id, now=now)
            if not totals.answers:
                text = (
                    "Det har ikke kommet inn noen tilbakemeldinger ennå. Når turneplanen er "
                    "importert, spør jeg kulturkontakten på skolen etter hver forestilling."
                )
                return Reply(text, plain_section(text))
            heading = "Tilbakemeldinger"
            intro = totals_intro(totals)
            if totals.productions > len(summaries):
                intro += (
                    f" Viser de {len(summaries)} produksjonene med de nyeste svarene. Skriv "
                    f"`{COMMAND} tilbakemelding oppsummering <produksjon>` for én produksjon."
                )
    blocks = summary_blocks(
        heading=heading,
        summaries=summaries,
        tz=tz,
        intro=intro,
        comments=comments,
        coordinator=coordinator,
        export_production=export_production,
    )
    # The notification text: the heading names a production or quotes a search word.
    listed = "; ".join(f"{escape(truncate(s.title, 150))} ({s.answers} svar)" for s in summaries)
    return Reply(truncate(f"{escape(heading)}: {listed}", 3000), blocks)
