"""`dks-bot export kalender|tilbakemeldinger|endringer`: files for Outlook, Google Calendar,
reports and the county.

The files (column names, the calendar's words) and what the command says about them are in
the workspace's language (`team_session` speaks it). A workspace the database does not hold
yet is refused with how one is made (`existing=True`), not exported as an empty file.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import TeamOption, fail, load_settings, team_session
from handlers.core.i18n import _, gettext, ngettext

app = typer.Typer(help="Export data files.", no_args_is_help=True)

OutOption = Annotated[Path | None, typer.Option("--ut", help="Write here instead of stdout.")]


def _write(content: bytes, ut: Path | None, written: str) -> None:
    """`content` to stdout, or to the file `ut` and then say `written` on stderr."""
    if ut is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        ut.write_bytes(content)
        typer.echo(written, err=True)


def _date_option(name: str, raw: str | None) -> date | None:
    from storage.importers.tourplan import parse_date

    if raw is None:
        return None
    parsed = parse_date(raw.strip())
    if parsed is None:
        fail(
            _("%(option)s må være en dato som 2026-08-01 eller 01.08.2026 (fikk «%(value)s»).")
            % {"option": name, "value": raw}
        )
    return parsed


@app.command("tilbakemeldinger")
def export_feedback_cmd(
    format: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    fra: Annotated[
        str | None, typer.Option("--fra", help="First performance date, 2026-08-01.")
    ] = None,
    til: Annotated[
        str | None, typer.Option("--til", help="Last performance date, 2027-06-30.")
    ] = None,
    ut: OutOption = None,
    team: TeamOption = None,
) -> None:
    """Export feedback answers for the annual report: one row per answer."""
    from storage.feedback_export import FORMATS, export_rows, render

    settings = load_settings()
    fmt = format.strip().lower()
    if fmt not in FORMATS:
        fail(_("--format må være csv eller xlsx (fikk «%(value)s»).") % {"value": format})
    start, end = _date_option("--fra", fra), _date_option("--til", til)
    if start and end and end < start:
        fail(_("--til må være samme dag som eller etter --fra."))
    if ut is None and fmt == "xlsx" and sys.stdout.isatty():
        fail(_("en xlsx-fil kan ikke vises i terminalen; bruk --ut FIL."))
    with team_session(settings, team, existing=True) as (session, team_id):
        rows = list(
            export_rows(
                session=session, team_id=team_id, tz=settings.timezone, start=start, end=end
            )
        )
        # Column names and words in the workspace's language, the one in force here.
        content = render(fmt, rows, gettext)
        written = ngettext(
            "Skrev %(n)d svar til %(file)s.", "Skrev %(n)d svar til %(file)s.", len(rows)
        ) % {"n": len(rows), "file": ut}
    _write(content, ut, written)


@app.command("endringer")
def export_changes_cmd(
    format: Annotated[
        str | None, typer.Option("--format", help="csv or xlsx (default: from --ut, else csv)")
    ] = None,
    runde: Annotated[
        int | None, typer.Option("--runde", help="The round's number (default: the newest).")
    ] = None,
    trukket: Annotated[bool, typer.Option("--trukket", help="Include withdrawn requests.")] = False,
    ut: OutOption = None,
    team: TeamOption = None,
) -> None:
    """Export a round's tour-plan change requests for the county: one row per request."""
    from storage.changes import current_round, get_round
    from storage.changes_export import FORMATS, export_rows, render

    settings = load_settings()
    guessed = ut.suffix.lstrip(".").lower() if ut is not None else ""
    fmt = (format or (guessed if guessed in FORMATS else "csv")).strip().lower()
    if fmt not in FORMATS:
        fail(_("--format må være csv eller xlsx (fikk «%(value)s»).") % {"value": format})
    if ut is None and fmt == "xlsx" and sys.stdout.isatty():
        fail(_("en xlsx-fil kan ikke vises i terminalen; bruk --ut FIL."))
    with team_session(settings, team, existing=True) as (session, team_id):
        if runde is not None:
            round_ = get_round(session=session, team_id=team_id, round_id=runde)
            if round_ is None:
                fail(_("Fant ingen runde med endringsønsker med nummer %(n)d.") % {"n": runde})
        else:
            round_ = current_round(session=session, team_id=team_id)
            if round_ is None:
                fail(
                    _(
                        "Ingen runde med endringsønsker er åpnet ennå. En koordinator åpner "
                        "en med /dks endringer start."
                    )
                )
        assert round_.id is not None
        rows = export_rows(
            session=session,
            team_id=team_id,
            round_id=round_.id,
            tz=settings.timezone,
            include_withdrawn=trukket,
        )
        # Column names and words in the workspace's language, the one in force here.
        content = render(fmt, rows, gettext)
        written = ngettext(
            "Skrev %(n)d endringsønske til %(file)s.",
            "Skrev %(n)d endringsønsker til %(file)s.",
            len(rows),
        ) % {"n": len(rows), "file": ut}
    _write(content, ut, written)


@app.command("kalender")
def export_calendar_cmd(ut: OutOption = None, team: TeamOption = None) -> None:
    """Export deadlines and meetings as iCalendar (RFC 5545) for Outlook and Google Calendar."""
    from datetime import UTC, datetime

    # The calendar's words in the workspace's language, as the feed and the DM have them.
    from handlers.calendar.feed import workspace_ics

    settings = load_settings()
    with team_session(settings, team, existing=True) as (session, team_id):
        content = workspace_ics(
            session=session, team_id=team_id, tz=settings.timezone, now=datetime.now(UTC)
        )
        written = _("Skrev kalenderen for %(team)s til %(file)s.") % {"team": team_id, "file": ut}
    _write(content, ut, written)
