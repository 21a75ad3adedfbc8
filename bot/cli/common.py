"""What the command groups share: settings, the database, `--team`, and how a command fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

TeamOption = Annotated[
    str | None, typer.Option(help="Slack workspace (team id). Default: the only one.")
]


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, `dks-bot: …`, and exit with `code` (2: wrong use or settings)."""
    typer.echo(f"dks-bot: {message}", err=True)
    raise typer.Exit(code) from None


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as err:
        fail(str(err))


def require_settings(settings: Settings, *names: str, hint: str = "") -> None:
    """Stop unless these settings are set; `hint` follows the message naming what is missing."""
    try:
        settings.require(*names)
    except SettingsError as err:
        fail(f"{err} {hint}" if hint else str(err))


def setup_logging(level: str = "INFO") -> None:
    """Root logging to stderr; user text in a record cannot start a line (bot/logs.py)."""
    from bot.logs import install

    install(level)


def open_database(settings: Settings) -> Engine:
    """An engine on DATABASE_URL, migrated to the newest revision."""
    from storage.db import make_engine, upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine


def single_team(session: Session, team: str | None) -> str:
    """`--team`, or the only workspace in the database (the shell's when there is none)."""
    from sqlmodel import col, select

    from bot.shell.shell import SHELL_TEAM
    from storage.models import Workspace

    if team is not None:
        return team
    teams = list(session.exec(select(Workspace.team_id).order_by(col(Workspace.team_id))))
    if len(teams) > 1:
        fail(
            f"several workspaces share this database; choose one with --team ({', '.join(teams)})."
        )
    return teams[0] if teams else SHELL_TEAM


@contextmanager
def team_session(
    settings: Settings, team: str | None, *, write: bool = False
) -> Iterator[tuple[Session, str]]:
    """A session on the migrated database and the workspace a command works on (`--team`)."""
    from storage.db import session_scope

    engine = open_database(settings)
    with session_scope(engine, write=write) as session:
        yield session, single_team(session, team)
