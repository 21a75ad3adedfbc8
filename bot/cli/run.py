"""The processes: `run` (Socket Mode), `serve` (HTTP), `scheduler` (the clock) and `shell`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail, load_settings, open_database, require_settings, setup_logging
from bot.settings import Settings, keep_secret_key

log = logging.getLogger("dks_bot")


def require_tokens(settings: Settings, *, http: bool) -> None:
    """One workspace needs SLACK_BOT_TOKEN; many (OAuth) need the key that seals their tokens,
    and the web process the address Slack sends browsers back to."""
    if not settings.oauth_enabled:
        require_settings(settings, "SLACK_BOT_TOKEN")
        return
    if not settings.token_keys:
        fail(
            "DKS_TOKEN_KEY is not set: installations' tokens are stored encrypted with it. "
            "Make one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'` and keep it safe."
        )
    if http and not settings.public_url:
        fail(
            "PUBLIC_URL is not set: «Add to Slack» sends browsers back to "
            "<PUBLIC_URL>/slack/oauth_redirect, e.g. PUBLIC_URL=https://dks.example.no."
        )


def _prepare_database(settings: Settings) -> None:
    open_database(settings).dispose()


def main_callback(ctx: typer.Context) -> None:
    """With no subcommand: run the bot in Socket Mode."""
    if ctx.invoked_subcommand is None:
        run()


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
    if settings.oauth_enabled:
        fail(
            "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET serve many workspaces through «Add to Slack», "
            "which needs HTTP mode: run `dks-bot serve` (see docs/operations.md, 'Many "
            "workspaces'), or use SLACK_BOT_TOKEN for one workspace in Socket Mode."
        )
    require_settings(
        settings, "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", hint="For HTTP mode use `dks-bot serve`."
    )
    require_settings(settings, "DKS_SECRET_KEY")
    setup_logging()
    _prepare_database(settings)
    from bot.app import create_app
    from bot.socket_mode import socket_mode_handler

    app = create_app(settings)
    log.info("starting in Socket Mode")
    from bot.scheduler import start_in_process

    # One process does it all in Socket Mode: the outbox scheduler runs beside the App.
    scheduler = start_in_process(settings)
    try:
        socket_mode_handler(app, settings).start()
    finally:
        scheduler.shutdown()


def serve(
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 3000).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Run the HTTP endpoint (POST /slack/events, GET /healthz) on gunicorn."""
    settings = load_settings()
    require_settings(settings, "SLACK_SIGNING_SECRET", "DKS_SECRET_KEY")
    require_tokens(settings, http=True)
    setup_logging()
    _prepare_database(settings)
    from bot.server import serve as serve_http

    options: dict[str, object] = {}
    if port is not None:
        options["bind"] = f"0.0.0.0:{port}"
    if workers is not None:
        options["workers"] = workers
    serve_http(settings, options)


def shell(
    command: Annotated[
        list[str] | None,
        typer.Option("-c", "--command", help="Run these lines and exit, e.g. -c '/dks frist'."),
    ] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(
            "--svar", help="With -c: answers to the forms the bot opens, field by field, in order."
        ),
    ] = None,
    answers_file: Annotated[
        Path | None,
        typer.Option("--svar-fil", help="With -c: the forms' answers, one per line, from a file."),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database", help="SQLAlchemy URL (default: the shell's own sqlite:///dks-shell.db)."
        ),
    ] = None,
    files: Annotated[
        Path, typer.Option("--filer", help="Where files the bot uploads are saved.")
    ] = Path("dks-filer"),
    no_tour: Annotated[
        bool, typer.Option("--uten-omvisning", help="Skip the guided tour on the first start.")
    ] = False,
) -> None:
    """A local chat shell: /dks commands, forms, the Home tab and time passing, without Slack."""
    settings = load_settings()
    try:
        # The shell's anonymous answers stay anonymous under one key across runs.
        settings = keep_secret_key(settings)
    except OSError as err:
        typer.echo(f"dks-bot: could not keep DKS_SECRET_KEY in .env ({err.strerror}).", err=True)
    answers = list(answer or [])
    if answers_file is not None:
        try:
            answers += answers_file.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            fail(f"--svar-fil {answers_file}: {err.strerror}.")
    setup_logging("WARNING")
    from bot.shell.shell import run_shell

    run_shell(
        settings,
        command,
        answers,
        database_url=database,
        files_dir=files,
        tour=not no_tour,
    )


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
    require_tokens(settings, http=False)
    if interval <= 0 or lease < 3 * interval:
        fail("--interval must be > 0 and --lease at least 3 × --interval.")
    require_settings(settings, "DKS_SECRET_KEY")
    setup_logging()
    _prepare_database(settings)
    from bot.scheduler import run_forever

    run_forever(settings, interval_seconds=interval, lease_seconds=lease, health_port=health_port)


COMMANDS = (run, serve, shell, scheduler)
