"""`dks-bot import kalender|kontakter|turneplan`: data files into the database, all or nothing.

What a command says about the import is in the workspace's language once the workspace is
known (a file that fails to load is reported before that, in bokmål).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from bot.cli.common import TeamOption, fail, load_settings, team_session
from bot.settings import Settings
from handlers.core.i18n import _, current_language, ngettext, use_language

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sqlmodel import Session

    from storage.changes import Resolution
    from storage.importers.calendar import ImportValidationError
    from storage.importers.contacts import ContactImportError
    from storage.importers.tourplan import TourplanImportError

    FileError = ImportValidationError | ContactImportError | TourplanImportError

app = typer.Typer(help="Import data files.", no_args_is_help=True)

Data = TypeVar("Data")
Result = TypeVar("Result")


def _refuse_import(file: Path, errors: Iterable[object]) -> NoReturn:
    """Every importer is all or nothing: list each bad row, store nothing, exit 1."""
    typer.echo(
        _("Ingenting ble importert. Rett opp dette i %(file)s og prøv igjen:") % {"file": file},
        err=True,
    )
    for row in errors:
        typer.echo(f"  {row}", err=True)
    raise typer.Exit(1)


def _import_file(
    file: Path,
    team: str | None,
    *,
    error: type[FileError],
    load: Callable[[Path], Data],
    store: Callable[[Session, str, Data, Settings], Result],
) -> tuple[str, Result, str | None]:
    """Load and check `file`, then store it for the workspace in one transaction.

    Exit 2 on bad settings or a missing file; exit 1, listing every bad row, when the file
    (or storing it) fails with `error`. Returns the workspace, what `store` returned and the
    workspace's language (for `use_language`)."""
    settings = load_settings()
    if not file.is_file():
        fail(_("finner ikke filen %(file)s.") % {"file": file})
    try:
        data = load(file)
    except error as err:
        _refuse_import(file, err.errors)
    language: str | None = None
    try:
        with team_session(settings, team, write=True) as (session, team_id):
            language = current_language()
            result = store(session, team_id, data, settings)
    except error as err:
        with use_language(language):
            _refuse_import(file, err.errors)
    return team_id, result, language


@app.command("kalender")
def import_calendar_cmd(
    file: Annotated[Path, typer.Argument(help="YAML calendar file (see data/dks-kalender.yaml).")],
    team: TeamOption = None,
) -> None:
    """Import a calendar YAML file; all or nothing."""
    from storage.importers.calendar import (
        CalendarData,
        ImportResult,
        ImportValidationError,
        import_calendar,
        load_calendar,
    )
    from storage.models import utcnow
    from storage.workspaces import get_or_create_workspace

    def store(session: Session, team_id: str, data: CalendarData, _: Settings) -> ImportResult:
        workspace = get_or_create_workspace(session=session, team_id=team_id)
        # An explicit import replaces the bundled seed; don't seed on top of it later.
        workspace.seeded_at = workspace.seeded_at or utcnow()
        return import_calendar(session=session, team_id=team_id, data=data)

    team_id, result, language = _import_file(
        file, team, error=ImportValidationError, load=load_calendar, store=store
    )
    with use_language(language):
        typer.echo(
            _("Importert til %(team)s. %(summary)s.")
            % {"team": team_id, "summary": _capitalized(result.describe())}
        )


@app.command("turneplan")
def import_tourplan_cmd(
    file: Annotated[
        Path, typer.Argument(help="Tour plan CSV (see README, «Turneplan», and data/).")
    ],
    team: TeamOption = None,
) -> None:
    """Import a tour plan (productions and performances) from CSV; all or nothing."""
    from datetime import UTC, datetime, timedelta

    from storage.importers.tourplan import (
        TourplanData,
        TourplanImportError,
        TourplanResult,
        import_tourplan,
        load_tourplan,
    )
    from storage.workspaces import get_or_create_workspace

    def store(
        session: Session, team_id: str, data: TourplanData, settings: Settings
    ) -> TourplanResult:
        get_or_create_workspace(session=session, team_id=team_id)
        return import_tourplan(
            session=session,
            team_id=team_id,
            data=data,
            tz=settings.timezone,
            now=datetime.now(UTC),
            grace=timedelta(hours=settings.reminder_grace_hours),
            source=file.name,
        )

    team_id, result, language = _import_file(
        file, team, error=TourplanImportError, load=load_tourplan, store=store
    )
    with use_language(language):
        typer.echo(_("Importert til %(team)s: %(summary)s") % {"team": team_id, "summary": result})
        _echo_resolution(result.resolution, load_settings().timezone)
        stranded = result.prompts.without_target
        if stranded:
            typer.echo(
                ngettext(
                    "Merk: %(n)d forestilling er på en skole uten kulturkontakt koblet til en "
                    "Slack-bruker, og arbeidsområdet har ingen påminnelseskanal. Spørsmålet om "
                    "tilbakemelding sendes når en av delene er på plass.",
                    "Merk: %(n)d forestillinger er på skoler uten kulturkontakt koblet til en "
                    "Slack-bruker, og arbeidsområdet har ingen påminnelseskanal. Spørsmålene om "
                    "tilbakemelding sendes når en av delene er på plass.",
                    stranded,
                )
                % {"n": stranded},
                err=True,
            )


@app.command("kontakter")
def import_contacts_cmd(
    file: Annotated[Path, typer.Argument(help="CSV file of contacts and schools (from Excel).")],
    team: TeamOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would change; store nothing.")
    ] = False,
) -> None:
    """Import contacts and schools from CSV (`;` or `,`, UTF-8 or Windows-1252); all or nothing."""
    from storage.importers.contacts import (
        ContactImportError,
        ContactImportResult,
        ContactsData,
        import_contacts,
        load_contacts,
    )

    def store(
        session: Session, team_id: str, data: ContactsData, _: Settings
    ) -> ContactImportResult:
        return import_contacts(
            session=session,
            team_id=team_id,
            data=data,
            user_id=None,
            source="cli",
            dry_run=dry_run,
        )

    team_id, result, language = _import_file(
        file, team, error=ContactImportError, load=load_contacts, store=store
    )
    with use_language(language):
        for line in result.changes:
            typer.echo(f"  {line}")
        if dry_run:
            done = _("Ville importert til %(team)s: %(summary)s")
        else:
            done = _("Importert til %(team)s: %(summary)s")
        typer.echo(done % {"team": team_id, "summary": result.summary()})


def _echo_resolution(resolution: Resolution, tz: ZoneInfo) -> None:
    """The change requests the new tour plan resolved (their kulturkontakter are told through
    the outbox), and those left for a coordinator to match."""
    from handlers.imports.importing import resolution_lines

    if not resolution:
        return
    resolved = len(resolution.resolved)
    typer.echo(
        ngettext(
            "Endringsønsker: %(n)d løst av den nye turnéplanen, %(open)d ikke løst.",
            "Endringsønsker: %(n)d løst av den nye turnéplanen, %(open)d ikke løst.",
            resolved,
        )
        % {"n": resolved, "open": len(resolution.unresolved)}
    )
    for line in resolution_lines(resolution, tz):
        typer.echo(f"  {line}")


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
