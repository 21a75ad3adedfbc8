"""`dks-bot rapport [år] [--team T] [--ut FIL] [--format xlsx|csv]`: the annual report.

Prints the year's figures (the same lines `/dks rapport` posts, as plain text) and, with
`--ut`, writes the workbook (XLSX, with the charts) or a zip of CSV files. Words, sheet
names and headers are in the workspace's language.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import TeamOption, fail, load_settings, team_session

# mrkdwn's bold and italic markers at a word's edge (escaped names hold lookalikes instead).
_MARKERS = re.compile(r"(?<![\w])[*_](?=\S)|(?<=\S)[*_](?![\w])")


def plain(line: str) -> str:
    """A summary line for a terminal: no mrkdwn markers, entities and emoji codes as text."""
    return html.unescape(_MARKERS.sub("", line.replace(":warning: ", "! ")))


def _format(requested: str | None, out: Path | None) -> str:
    from storage.report_export import FORMATS

    if requested is not None:
        fmt = requested.strip().lower()
        if fmt not in FORMATS:
            fail(f"--format må være xlsx eller csv (fikk «{requested}»).")
        return fmt
    return "csv" if out is not None and out.suffix.lower() == ".zip" else "xlsx"


def report_cmd(
    year: Annotated[
        int | None,
        typer.Argument(help="Calendar year, e.g. 2026. Default: last year.", show_default=False),
    ] = None,
    ut: Annotated[
        Path | None, typer.Option("--ut", help="Write the report here (rapport.xlsx).")
    ] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help="xlsx (default; .zip files: csv) or csv (a zip of CSVs)."),
    ] = None,
    team: TeamOption = None,
) -> None:
    """The annual report: the year's DKS figures from the tour plan and the feedback."""
    from handlers.core.i18n import _, use_language
    from handlers.report.summary import summary_lines
    from storage.report import annual_report, default_report_year
    from storage.workspaces import workspace_language

    settings = load_settings()
    fmt = _format(format, ut)
    chosen = year if year is not None else default_report_year(date.today())
    if not 1900 <= chosen <= 2199:
        fail(f"året må være mellom 1900 og 2199 (fikk {chosen}).")
    with team_session(settings, team, existing=True) as (session, team_id):
        language = workspace_language(session=session, team_id=team_id)
        report = annual_report(
            session=session,
            team_id=team_id,
            year=chosen,
            tz=settings.timezone,
            now=datetime.now(UTC),
        )
    with use_language(language):
        for line in summary_lines(report, for_coordinator=True):
            typer.echo(plain(line))
        if ut is None:
            return
        if fmt == "csv":
            from handlers.report.files import report_csv_zip

            content = report_csv_zip(report)
        else:
            from handlers.report.charts import render_charts
            from handlers.report.files import report_workbook

            content = report_workbook(report, render_charts(report))
        try:
            ut.write_bytes(content)
        except OSError as err:
            fail(_("kunne ikke skrive %(path)s: %(reason)s") % {"path": ut, "reason": err.strerror})
        typer.echo(
            _("Skrev rapporten for %(year)d til %(path)s.") % {"year": chosen, "path": ut},
            err=True,
        )
