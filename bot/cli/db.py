"""`dks-bot db upgrade`, `dks-bot db rotate-token-key`: database maintenance."""

from __future__ import annotations

import typer

from bot.cli.common import fail, load_settings, open_database

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (Alembic) up to the newest."""
    from storage.db import current_revision

    engine = open_database(load_settings())
    typer.echo(f"Database at revision {current_revision(engine)}.")


@app.command("rotate-token-key")
def rotate_token_key() -> None:
    """Re-encrypt every stored Slack token with the first key in DKS_TOKEN_KEY.

    Key rotation: put a new key first (DKS_TOKEN_KEY=new,old), restart, run this, then drop
    the old key."""
    settings = load_settings()
    if not settings.oauth_enabled or not settings.token_keys:
        fail("rotate-token-key needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and DKS_TOKEN_KEY.")
    from bot.oauth.flow import make_store
    from storage.installations import TokenKeyError

    store = make_store(settings, open_database(settings))
    try:
        rows = store.reencrypt()
    except TokenKeyError as err:
        fail(str(err))
    typer.echo(f"Re-encrypted the tokens of {rows} installation row(s) with the newest key.")
