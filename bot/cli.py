"""The `dks-bot` command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.settings import Settings, SettingsError

cli = typer.Typer(
    help="DKS-boten: Slack app for DKS and kulturskole coordinators.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_cli = typer.Typer(help="Import data files.", no_args_is_help=True)
db_cli = typer.Typer(help="Database maintenance.", no_args_is_help=True)
cli.add_typer(import_cli, name="import")
cli.add_typer(db_cli, name="db")

log = logging.getLogger("dks_bot")


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as err:
        typer.echo(f"dks-bot: {err}", err=True)
        raise typer.Exit(2) from None


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _prepare_database(settings: Settings) -> None:
    from storage.db import make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()


@cli.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context) -> None:
    """With no subcommand: run the bot in Socket Mode."""
    if ctx.invoked_subcommand is None:
        run()


@cli.command()
def run() -> None:
    """Run the bot in Socket Mode (needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN)."""
    settings = load_settings()
    if not settings.has_slack_credentials:
        typer.echo(
            "dks-bot: no Slack credentials set (SLACK_BOT_TOKEN, SLACK_APP_TOKEN). "
            "Try the bot locally with `dks-bot shell`, or see README.md, 'Slack set-up'."
        )
        if sys.stdin.isatty():
            # A newcomer at a terminal gets the local shell straight away.
            shell()
        raise typer.Exit(0)
    try:
        settings.require("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN")
    except SettingsError as err:
        typer.echo(f"dks-bot: {err} For HTTP mode use `dks-bot serve`.", err=True)
        raise typer.Exit(2) from None
    _logging()
    _prepare_database(settings)
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app

    app = create_app(settings)
    log.info("starting in Socket Mode")
    SocketModeHandler(app, settings.slack_app_token).start()


@cli.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 3000).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Run the HTTP endpoint (POST /slack/events, GET /healthz) on gunicorn."""
    settings = load_settings()
    try:
        settings.require("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")
    except SettingsError as err:
        typer.echo(f"dks-bot: {err}", err=True)
        raise typer.Exit(2) from None
    _logging()
    _prepare_database(settings)
    from bot.server import serve as serve_http

    options: dict[str, object] = {}
    if port is not None:
        options["bind"] = f"0.0.0.0:{port}"
    if workers is not None:
        options["workers"] = workers
    serve_http(settings, options)


@cli.command()
def shell(
    command: Annotated[
        list[str] | None,
        typer.Option("-c", "--command", help="Run these lines and exit, e.g. -c '/dks frist'."),
    ] = None,
) -> None:
    """A local chat shell: type /dks commands without Slack."""
    settings = load_settings()
    _logging("WARNING")
    from bot.shell import run_shell

    run_shell(settings, command)


@import_cli.command("kalender")
def import_calendar_cmd(
    file: Annotated[Path, typer.Argument(help="YAML calendar file (see data/dks-kalender.yaml).")],
    team: Annotated[
        str | None, typer.Option(help="Slack workspace (team id). Default: the only one.")
    ] = None,
) -> None:
    """Import a calendar YAML file; all or nothing."""
    from sqlmodel import col, select

    from storage.db import make_engine, session_scope, upgrade
    from storage.importers.calendar import ImportValidationError, import_calendar, load_calendar
    from storage.models import Workspace, utcnow
    from storage.workspaces import get_or_create_workspace

    settings = load_settings()
    if not file.is_file():
        typer.echo(f"dks-bot: finner ikke filen {file}.", err=True)
        raise typer.Exit(2)
    try:
        data = load_calendar(file)
    except ImportValidationError as err:
        typer.echo(f"Ingenting ble importert. Rett opp dette i {file} og prøv igjen:", err=True)
        for row in err.errors:
            typer.echo(f"  {row}", err=True)
        raise typer.Exit(1) from None
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(engine, write=True) as session:
        if team is None:
            teams = list(session.exec(select(Workspace.team_id).order_by(col(Workspace.team_id))))
            if len(teams) > 1:
                typer.echo(
                    "dks-bot: several workspaces share this database; choose one with --team "
                    f"({', '.join(teams)}).",
                    err=True,
                )
                raise typer.Exit(2)
            from bot.shell import SHELL_TEAM

            team = teams[0] if teams else SHELL_TEAM
        workspace = get_or_create_workspace(session=session, team_id=team)
        # An explicit import replaces the bundled seed; don't seed on top of it later.
        workspace.seeded_at = workspace.seeded_at or utcnow()
        result = import_calendar(session=session, team_id=team, data=data)
    typer.echo(f"Importert til {team}: {result}")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (Alembic) up to the newest."""
    from storage.db import current_revision, make_engine, upgrade

    settings = load_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    typer.echo(f"Database at revision {current_revision(engine)}.")


def main() -> None:
    try:
        cli()
    except SettingsError as err:
        print(f"dks-bot: {err}", file=sys.stderr)
        sys.exit(2)
