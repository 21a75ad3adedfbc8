"""`dks-bot db upgrade`: database maintenance."""

from __future__ import annotations

import typer

from bot.cli.common import load_settings, open_database

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (Alembic) up to the newest."""
    from storage.db import current_revision

    engine = open_database(load_settings())
    typer.echo(f"Database at revision {current_revision(engine)}.")
