"""The annual report (issue #16): `/dks rapport [år]`, its download and the January post.

- `/dks rapport [år]` (coordinators; nn `rapport`, en `report`; default: last calendar year,
  as the county reports): acks at once, then uploads the charts to the coordinator's DM,
  posts the figures there with image blocks showing the uploaded files, and replies with a
  link to that message (listeners.py).
- «Last ned rapport» (coordinators): the workbook (XLSX) uploaded to the presser's DM.
- Outbox kind "report_ready": «Rapporten for 2026 er klar» in January, once per workspace and
  year (kinds.py says when and to whom); planned by `handlers.plan_outbox`.

The figures are computed in storage/report.py, the charts drawn in charts.py and the figures
written as lines in summary.py; this package turns them into Slack messages.
"""

from __future__ import annotations

from slack_bolt import App

from handlers.core.access import CoordinatorOnly
from handlers.core.commands import Subcommand
from handlers.core.feature import Feature
from handlers.core.i18n import N_
from handlers.core.lazy import acknowledge
from handlers.core.outbox_kinds import Kind
from handlers.report.kinds import READY_KIND, plan_ready_posts, render_ready, render_ready_many
from handlers.report.listeners import run_report, send_workbook
from handlers.report.views import DOWNLOAD_ACTION, WORD, WORDS

SUBCOMMANDS = [
    Subcommand(
        name=WORD,
        words=WORDS,
        aliases=("årsrapport", "arsrapport"),
        summary=N_(
            "årsrapporten for DKS: forestillinger, elevbesøk, skoler og tilbakemeldinger for "
            "et år, med diagrammer og regneark (koordinatorer)."
        ),
        example=N_("/dks rapport 2026"),
        run=run_report,
        coordinator=True,
        refusal=N_(
            "Bare koordinatorer kan lage årsrapporten. Spør en koordinator om å legge deg til "
            "med `/dks admin legg til @navnet-ditt`."
        ),
        works_after_ack=True,  # the report is made and sent after the ack
    )
]

# The workbook holds every comment of the year.
DOWNLOADS = CoordinatorOnly(N_("Bare koordinatorer kan laste ned årsrapporten."))


def register(app: App) -> None:
    app.action(DOWNLOAD_ACTION, middleware=[DOWNLOADS])(ack=acknowledge, lazy=[send_workbook])


FEATURE = Feature(
    name="report",
    register=register,
    subcommands=SUBCOMMANDS,
    outbox_kinds=[Kind(READY_KIND, render_ready, render_many=render_ready_many)],
    planners=[plan_ready_posts],
)
