"""`dks-bot påminnelser forhåndsvis`: when each reminder would be posted (posts nothing)."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import TeamOption, fail, load_settings, team_session

app = typer.Typer(help="Reminders (påminnelser).", no_args_is_help=True)


@app.command("forhåndsvis")
def reminders_preview(
    til: Annotated[str, typer.Option("--til", help="Last day to show, YYYY-MM-DD.")],
    team: TeamOption = None,
) -> None:
    """Print when each reminder would be posted, and for what, up to --til (posts nothing)."""
    from datetime import UTC, date, datetime, time, timedelta

    from handlers.core.format import day_text
    from storage.posting_times import at_local
    from storage.reminders import plan
    from storage.workspaces import get_workspace

    settings = load_settings()
    try:
        last = date.fromisoformat(til)
    except ValueError:
        fail(f"--til {til!r} er ikke en dato; skriv ÅÅÅÅ-MM-DD.")
    tz = settings.timezone
    now = datetime.now(UTC)
    until = at_local(last + timedelta(days=1), time(0, 0), tz) - timedelta(microseconds=1)
    if until < now:
        fail("--til er passert; velg en dato fram i tid.")
    shown = 0
    with team_session(settings, team) as (session, team_id):
        workspace = get_workspace(session=session, team_id=team_id)
        if workspace is not None and workspace.uninstalled_at is not None:
            typer.echo(f"{team_id} er avinstallert: ingen påminnelser sendes dit.", err=True)
        # A workspace nobody has used the bot in yet has nothing planned.
        elif workspace is not None:
            channel = workspace.reminder_channel_id
            status = ""
            if workspace.reminders_paused:
                status = "  [pause: sendes ikke]"
            elif not channel:
                status = "  [ingen kanal: sendes ikke]"
            for p in plan(session=session, workspace=workspace, now=now, until=until, tz=tz):
                local = p.at.astimezone(tz)
                noun = "frist" if p.item_kind == "deadline" else "møte"
                days = "dag" if p.offset == 1 else "dager"
                before = "samme morgen" if p.offset == 0 else f"{p.offset} {days} før"
                expected = " (forventet dato)" if p.expected else ""
                typer.echo(
                    f"{local:%Y-%m-%d %H:%M}  {team_id}  {'#' + channel if channel else '-'}  "
                    f"{noun}: {p.title} – {day_text(p.occurrence)}{expected}, {before}{status}"
                )
                shown += 1
    typer.echo(f"{shown} påminnelser fram til og med {day_text(last)}.")
