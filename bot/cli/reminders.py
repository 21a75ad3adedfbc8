"""`dks-bot påminnelser forhåndsvis`: when each reminder would be posted (posts nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

from bot.cli.common import TeamOption, fail, load_settings, team_session

if TYPE_CHECKING:
    from sqlmodel import Session

    from storage.models import Workspace

app = typer.Typer(help="Reminders (påminnelser).", no_args_is_help=True)


@app.command("forhåndsvis")
def reminders_preview(
    til: Annotated[str, typer.Option("--til", help="Last day to show, YYYY-MM-DD.")],
    team: TeamOption = None,
) -> None:
    """Print when each reminder would be posted, and for what, up to --til (posts nothing)."""
    from datetime import UTC, date, time, timedelta

    from handlers.core.format import day_text
    from handlers.core.i18n import _, ngettext
    from storage.posting_times import at_local
    from storage.workspaces import get_workspace

    settings = load_settings()
    try:
        last = date.fromisoformat(til)
    except ValueError:
        fail(_("--til %(value)r er ikke en dato; skriv ÅÅÅÅ-MM-DD.") % {"value": til})
    tz = settings.timezone
    now = datetime.now(UTC)
    until = at_local(last + timedelta(days=1), time(0, 0), tz) - timedelta(microseconds=1)
    if until < now:
        fail(_("--til er passert; velg en dato fram i tid."))
    # A workspace the database does not hold yet has nothing planned: say so, and how one is
    # made, rather than «0 påminnelser» (team_session speaks the workspace's language).
    with team_session(settings, team, existing=True) as (session, team_id):
        workspace = get_workspace(session=session, team_id=team_id)
        assert workspace is not None
        shown = 0
        if workspace.uninstalled_at is not None:
            typer.echo(
                _("%(team)s er avinstallert: ingen påminnelser sendes dit.") % {"team": team_id},
                err=True,
            )
        else:
            for line in _plan_lines(session, workspace, now=now, until=until, tz=tz):
                typer.echo(line)
                shown += 1
        typer.echo(
            ngettext(
                "%(n)d påminnelse fram til og med %(day)s.",
                "%(n)d påminnelser fram til og med %(day)s.",
                shown,
            )
            % {"n": shown, "day": day_text(last)}
        )


def _plan_lines(
    session: Session, workspace: Workspace, *, now: datetime, until: datetime, tz: ZoneInfo
) -> Iterator[str]:
    """One line per planned reminder, in the language in force."""
    from handlers.core.format import day_text
    from handlers.core.i18n import _, ngettext
    from storage.reminders import plan

    team_id = workspace.team_id
    channel = workspace.reminder_channel_id
    status = ""
    if workspace.reminders_paused:
        status = "  " + _("[pause: sendes ikke]")
    elif not channel:
        status = "  " + _("[ingen kanal: sendes ikke]")
    for p in plan(session=session, workspace=workspace, now=now, until=until, tz=tz):
        local = p.at.astimezone(tz)
        values = {"title": p.title, "day": day_text(p.occurrence)}
        what = (
            _("frist: %(title)s – %(day)s")
            if p.item_kind == "deadline"
            else _("møte: %(title)s – %(day)s")
        ) % values
        if p.expected:
            what = _("%(what)s (forventet dato)") % {"what": what}
        before = (
            _("samme morgen")
            if p.offset == 0
            else ngettext("%(n)d dag før", "%(n)d dager før", p.offset) % {"n": p.offset}
        )
        yield (
            f"{local:%Y-%m-%d %H:%M}  {team_id}  {'#' + channel if channel else '-'}  "
            f"{what}, {before}{status}"
        )
