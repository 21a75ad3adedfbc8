"""The `dks-bot` command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlmodel import Session

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


def _require_file(file: Path) -> None:
    if not file.is_file():
        typer.echo(f"dks-bot: finner ikke filen {file}.", err=True)
        raise typer.Exit(2)


def _refuse_import(file: Path, errors: Iterable[object]) -> NoReturn:
    """Every importer is all or nothing: list each bad row, store nothing, exit 1."""
    typer.echo(f"Ingenting ble importert. Rett opp dette i {file} og prøv igjen:", err=True)
    for row in errors:
        typer.echo(f"  {row}", err=True)
    raise typer.Exit(1)


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
    from bot.scheduler import start_in_process

    # One process does it all in Socket Mode: the outbox scheduler runs beside the App.
    scheduler = start_in_process(settings)
    try:
        SocketModeHandler(app, settings.slack_app_token).start()
    finally:
        scheduler.shutdown()


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
    from storage.db import make_engine, session_scope, upgrade
    from storage.importers.calendar import ImportValidationError, import_calendar, load_calendar
    from storage.models import utcnow
    from storage.workspaces import get_or_create_workspace

    settings = load_settings()
    _require_file(file)
    try:
        data = load_calendar(file)
    except ImportValidationError as err:
        _refuse_import(file, err.errors)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(engine, write=True) as session:
        team = _single_team(session, team)
        workspace = get_or_create_workspace(session=session, team_id=team)
        # An explicit import replaces the bundled seed; don't seed on top of it later.
        workspace.seeded_at = workspace.seeded_at or utcnow()
        result = import_calendar(session=session, team_id=team, data=data)
    typer.echo(f"Importert til {team}. {result.describe().capitalize()}.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (Alembic) up to the newest."""
    from storage.db import current_revision, make_engine, upgrade

    settings = load_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    typer.echo(f"Database at revision {current_revision(engine)}.")


@cli.command()
def scheduler(
    interval: Annotated[float, typer.Option(help="Seconds between ticks.")] = 5.0,
    lease: Annotated[
        float, typer.Option(help="Seconds a claimed message is reserved for this process.")
    ] = 300.0,
    health_port: Annotated[
        int | None, typer.Option(help="Serve GET /healthz (with the last tick's age) here.")
    ] = None,
) -> None:
    """The clock process: post due reminders and other scheduled messages (Procfile `clock:`)."""
    settings = load_settings()
    try:
        settings.require("SLACK_BOT_TOKEN")
    except SettingsError as err:
        typer.echo(f"dks-bot: {err}", err=True)
        raise typer.Exit(2) from None
    if interval <= 0 or lease < 3 * interval:
        typer.echo("dks-bot: --interval must be > 0 and --lease at least 3 × --interval.", err=True)
        raise typer.Exit(2)
    _logging()
    _prepare_database(settings)
    from bot.scheduler import run_forever

    run_forever(settings, interval_seconds=interval, lease_seconds=lease, health_port=health_port)


reminders_cli = typer.Typer(help="Reminders (påminnelser).", no_args_is_help=True)
cli.add_typer(reminders_cli, name="påminnelser")
cli.add_typer(reminders_cli, name="paminnelser", hidden=True)


@reminders_cli.command("forhåndsvis")
def reminders_preview(
    til: Annotated[str, typer.Option("--til", help="Last day to show, YYYY-MM-DD.")],
    team: Annotated[str | None, typer.Option(help="Only this workspace (team id).")] = None,
) -> None:
    """Print when each reminder would be posted, and for what, up to --til (posts nothing)."""
    from datetime import UTC, date, datetime, time, timedelta

    from handlers.views.format import norsk_dato
    from storage.db import make_engine, session_scope, upgrade
    from storage.reminders import at_local, plan, reminder_teams
    from storage.workspaces import get_workspace

    settings = load_settings()
    try:
        last = date.fromisoformat(til)
    except ValueError:
        typer.echo(f"dks-bot: --til {til!r} er ikke en dato; skriv ÅÅÅÅ-MM-DD.", err=True)
        raise typer.Exit(2) from None
    tz = settings.timezone
    now = datetime.now(UTC)
    until = at_local(last + timedelta(days=1), time(0, 0), tz) - timedelta(microseconds=1)
    if until < now:
        typer.echo("dks-bot: --til er passert; velg en dato fram i tid.", err=True)
        raise typer.Exit(2)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    shown = 0
    with session_scope(engine) as session:
        teams = [team] if team else reminder_teams(session=session)
        for team_id in teams:
            workspace = get_workspace(session=session, team_id=team_id)
            if workspace is None:
                typer.echo(f"dks-bot: finner ikke arbeidsområdet {team_id}.", err=True)
                raise typer.Exit(2)
            if workspace.uninstalled_at is not None:
                continue
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
                    f"{noun}: {p.title} – {norsk_dato(p.occurrence)}{expected}, {before}{status}"
                )
                shown += 1
    typer.echo(f"{shown} påminnelser fram til og med {norsk_dato(last)}.")


# --- Tour plan and feedback ------------------------------------------------------------------

# Another feature may already have made the `export` group; commands then join it.
export_cli: typer.Typer = next(
    (g.typer_instance for g in cli.registered_groups if g.name == "export" and g.typer_instance),
    typer.Typer(help="Export data files.", no_args_is_help=True),
)
if not any(g.name == "export" for g in cli.registered_groups):
    cli.add_typer(export_cli, name="export")


def _single_team(session: Session, team: str | None) -> str:
    """`--team`, or the only workspace in the database (the shell's when there is none)."""
    from sqlmodel import col, select

    from bot.shell import SHELL_TEAM
    from storage.models import Workspace

    if team is not None:
        return team
    teams = list(session.exec(select(Workspace.team_id).order_by(col(Workspace.team_id))))
    if len(teams) > 1:
        typer.echo(
            "dks-bot: several workspaces share this database; choose one with --team "
            f"({', '.join(teams)}).",
            err=True,
        )
        raise typer.Exit(2)
    return teams[0] if teams else SHELL_TEAM


@import_cli.command("turneplan")
def import_tourplan_cmd(
    file: Annotated[
        Path, typer.Argument(help="Tour plan CSV (see README, «Turneplan», and data/).")
    ],
    team: Annotated[
        str | None, typer.Option(help="Slack workspace (team id). Default: the only one.")
    ] = None,
) -> None:
    """Import a tour plan (productions and performances) from CSV; all or nothing."""
    from datetime import UTC, datetime, timedelta

    from storage.db import make_engine, session_scope, upgrade
    from storage.importers.tourplan import TourplanImportError, import_tourplan, load_tourplan
    from storage.workspaces import get_or_create_workspace

    settings = load_settings()
    _require_file(file)

    try:
        data = load_tourplan(file)
    except TourplanImportError as err:
        _refuse_import(file, err.errors)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        with session_scope(engine, write=True) as session:
            team = _single_team(session, team)
            get_or_create_workspace(session=session, team_id=team)
            result = import_tourplan(
                session=session,
                team_id=team,
                data=data,
                tz=settings.timezone,
                now=datetime.now(UTC),
                grace=timedelta(hours=settings.reminder_grace_hours),
            )
    except TourplanImportError as err:
        _refuse_import(file, err.errors)
    typer.echo(f"Importert til {team}: {result}")
    if result.prompts.without_target:
        typer.echo(
            f"Merk: {result.prompts.without_target} forestillinger er på skoler uten "
            "kulturkontakt koblet til en Slack-bruker, og arbeidsområdet har ingen "
            "påminnelseskanal. Spørsmålene om tilbakemelding sendes når en av delene er på plass.",
            err=True,
        )


@export_cli.command("tilbakemeldinger")
def export_feedback_cmd(
    format: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    fra: Annotated[
        str | None, typer.Option("--fra", help="First performance date, 2026-08-01.")
    ] = None,
    til: Annotated[
        str | None, typer.Option("--til", help="Last performance date, 2027-06-30.")
    ] = None,
    ut: Annotated[Path | None, typer.Option("--ut", help="Write here instead of stdout.")] = None,
    team: Annotated[
        str | None, typer.Option(help="Slack workspace (team id). Default: the only one.")
    ] = None,
) -> None:
    """Export feedback answers for the annual report: one row per answer."""
    from datetime import date as date_type

    from storage.db import make_engine, session_scope, upgrade
    from storage.feedback_export import FORMATS, export_rows, render
    from storage.importers.tourplan import parse_date

    settings = load_settings()
    fmt = format.strip().lower()
    if fmt not in FORMATS:
        typer.echo(f"dks-bot: --format må være csv eller xlsx (fikk «{format}»).", err=True)
        raise typer.Exit(2)
    dates: dict[str, object] = {}
    for name, raw in (("--fra", fra), ("--til", til)):
        if raw is None:
            dates[name] = None
            continue
        parsed = parse_date(raw.strip())
        if parsed is None:
            typer.echo(
                f"dks-bot: {name} må være en dato som 2026-08-01 eller 01.08.2026 (fikk «{raw}»).",
                err=True,
            )
            raise typer.Exit(2)
        dates[name] = parsed
    start, end = dates["--fra"], dates["--til"]
    assert start is None or isinstance(start, date_type)
    assert end is None or isinstance(end, date_type)
    if start and end and end < start:
        typer.echo("dks-bot: --til må være samme dag som eller etter --fra.", err=True)
        raise typer.Exit(2)
    if ut is None and fmt == "xlsx" and sys.stdout.isatty():
        typer.echo("dks-bot: en xlsx-fil kan ikke vises i terminalen; bruk --ut FIL.", err=True)
        raise typer.Exit(2)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        team = _single_team(session, team)
        rows = list(
            export_rows(session=session, team_id=team, tz=settings.timezone, start=start, end=end)
        )
    content = render(fmt, rows)
    if ut is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        ut.write_bytes(content)
        typer.echo(f"Skrev {len(rows)} svar til {ut}.", err=True)


# --- Contacts import and calendar export ----------------------------------------------------------


@import_cli.command("kontakter")
def import_contacts_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file of contacts and schools (from Excel).")],
    team: Annotated[
        str | None, typer.Option(help="Slack workspace (team id). Default: the only one.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would change; store nothing.")
    ] = False,
) -> None:
    """Import contacts and schools from CSV (`;` or `,`, UTF-8 or Windows-1252); all or nothing."""
    from storage.db import make_engine, session_scope, upgrade
    from storage.importers.contacts import ContactImportError, import_contacts, load_contacts

    settings = load_settings()
    _require_file(file)

    try:
        data = load_contacts(file)
    except ContactImportError as err:
        _refuse_import(file, err.errors)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        with session_scope(engine, write=True) as session:
            team = _single_team(session, team)
            result = import_contacts(
                session=session,
                team_id=team,
                data=data,
                user_id=None,
                source="cli",
                dry_run=dry_run,
            )
    except ContactImportError as err:
        _refuse_import(file, err.errors)
    for line in result.changes:
        typer.echo(f"  {line}")
    verb = "Ville importert" if dry_run else "Importert"
    typer.echo(f"{verb} til {team}: {result.summary()}")


@export_cli.command("kalender")
def export_calendar_cmd(
    ut: Annotated[Path | None, typer.Option("--ut", help="Write here instead of stdout.")] = None,
    team: Annotated[
        str | None, typer.Option(help="Slack workspace (team id). Default: the only one.")
    ] = None,
) -> None:
    """Export deadlines and meetings as iCalendar (RFC 5545) for Outlook and Google Calendar."""
    from datetime import UTC, datetime

    from storage.db import make_engine, session_scope, upgrade
    from storage.ics import calendar_ics

    settings = load_settings()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        team = _single_team(session, team)
        content = calendar_ics(
            session=session, team_id=team, tz=settings.timezone, now=datetime.now(UTC)
        )
    if ut is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        ut.write_bytes(content)
        typer.echo(f"Skrev kalenderen for {team} til {ut}.", err=True)


def main() -> None:
    try:
        cli()
    except SettingsError as err:
        print(f"dks-bot: {err}", file=sys.stderr)
        sys.exit(2)
