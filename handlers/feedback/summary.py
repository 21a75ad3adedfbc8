"""`/dks tilbakemelding oppsummering [produksjon]`: averages for everyone; the latest comments
and the export buttons for coordinators only."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.core.access import Actor, is_coordinator
from handlers.core.commands import CommandRequest, Reply
from handlers.core.format import escape, truncate
from handlers.core.i18n import _, ngettext
from handlers.feedback.views import answers_text, plain_section, summary_blocks, totals_intro
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
                text = _(
                    "Fant ingen produksjon som passer «%(query)s». "
                    "Skriv `/dks tilbakemelding oppsummering` for å se alle."
                ) % {"query": escape(truncate(query, 80))}
                return Reply(text, plain_section(text))
            ids = [p.id for p in productions if p.id is not None]
            summaries = production_summaries(
                session=session, team_id=request.team_id, now=now, production_ids=ids
            )
            if len(productions) == 1:
                heading = _("Tilbakemeldinger – %(title)s") % {"title": productions[0].title}
                intro = None
                export_production = ids[0]
                if coordinator:
                    comments = latest_comments(
                        session=session, team_id=request.team_id, production_id=ids[0]
                    )
            else:
                heading = _("Tilbakemeldinger – «%(query)s»") % {"query": query}
                sentences = [
                    ngettext("%(n)d produksjon passer.", "%(n)d produksjoner passer.", total)
                    % {"n": total}
                ]
                if total > len(productions):
                    sentences.append(
                        _("Viser %(shown)d av %(n)d.") % {"shown": len(productions), "n": total}
                    )
                sentences.append(_("Skriv hele navnet for å se kommentarene til én produksjon."))
                intro = " ".join(sentences)
        else:
            totals, summaries = overview(session=session, team_id=request.team_id, now=now)
            if not totals.answers:
                text = _(
                    "Det har ikke kommet inn noen tilbakemeldinger ennå. Når turneplanen er "
                    "importert, spør jeg kulturkontakten på skolen etter hver forestilling."
                )
                return Reply(text, plain_section(text))
            heading = _("Tilbakemeldinger")
            intro = totals_intro(totals)
            if totals.productions > len(summaries):
                shown = ngettext(
                    "Viser %(n)d produksjon med de nyeste svarene.",
                    "Viser de %(n)d produksjonene med de nyeste svarene.",
                    len(summaries),
                ) % {"n": len(summaries)}
                one = _("Skriv `/dks tilbakemelding oppsummering <produksjon>` for én produksjon.")
                intro = f"{intro} {shown} {one}"
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
    listed = "; ".join(
        f"{escape(truncate(s.title, 150))} ({answers_text(s.answers)})" for s in summaries
    )
    return Reply(truncate(f"{escape(heading)}: {listed}", 3000), blocks)
