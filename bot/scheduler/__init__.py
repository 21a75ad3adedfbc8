"""The clock process: the outbox scheduler, an APScheduler 3 job that posts what the outbox
says is due.

One `BackgroundScheduler` (memory job store, explicit time zone) runs one interval job with
a stable id (`replace_existing=True`, `max_instances=1`, `coalesce=True`): the tick. Each tick

1. now and then re-plans every workspace's reminders for the rolling window,
2. claims due rows (storage.outbox.claim_due: SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
   SQLite) under a lease,
3. posts them through slack_sdk's AsyncWebClient on the sender's event loop (sender.py):
   every channel at once, each at most one message a second (Slack's limit, counted from
   when Slack counted the previous post, so the rate limiter is rarely met at all; a 429
   holds just that channel for its Retry-After), and records Slack's `ts`.

Slack's latency (100–150 ms a call from Norway), not our CPU, bounds a burst: on one event
loop every channel that may post has its post in flight, over one shared aiohttp session.

Exactly once: the attempt is recorded before the post (many rows per write), and a row is
marked sent within a quarter of a second of Slack's answer. A process killed in between
leaves the row claimed; when its lease runs out another tick claims it with `needs_check`,
looks for the row's marker (its id in the first block's `block_id`) in the channel's history
from the attempt on (history.py), and only posts if the message is not there. A row that was
claimed but never attempted goes out without a read. See README, "Reminders".

Web workers never build a Scheduler: only `dks-bot scheduler` and plain `dks-bot` (Socket
Mode) do.

The package:

- `engine`: `Scheduler`, the APScheduler job and the tick: refresh, claim, render (ahead of
  time, re-checked against the workspace's inputs before posting), the parallel paced batch.
- `delivery`: one claimed row from its rendering to Slack and back: `Outgoing`, channel pacing
  (`ChannelPacer`), `SentRecorder`, the marker check after a takeover, Slack's errors.
- `sender`: the event loop thread, the shared HTTP session, an AsyncWebClient per token.
- `history`: the look in a channel's history, within Slack's limits on reading it.
- here: the entry points, `build_scheduler`, `start_in_process` (plain `dks-bot`) and
  `run_forever` (`dks-bot scheduler`).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from bot.scheduler.engine import JOB_ID, Scheduler
from bot.scheduler.sender import DEFAULT_CONNECTIONS, AsyncSender, TokenSource
from bot.settings import Settings
from handlers.core.services import Clock, system_clock

__all__ = ["JOB_ID", "build_scheduler", "run_forever", "start_in_process"]

log = logging.getLogger(__name__)


def build_scheduler(
    settings: Settings,
    *,
    engine: Engine,
    clock: Clock = system_clock,
    tokens: TokenSource | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    teams: Sequence[str] | None = None,
    **options: Any,
) -> Scheduler:
    """A Scheduler posting every kind the features declare.

    `tokens(team_id)` gives each workspace's bot token: by default its installation's
    (many workspaces, OAuth), or the settings' SLACK_BOT_TOKEN (one workspace). `teams`
    limits it to those workspaces (the local shell's); None serves every one."""
    sender = AsyncSender(
        base_url=settings.slack_api_url,
        tokens=tokens or default_tokens(settings, engine),
        connections=connections,
    )
    return Scheduler(
        settings=settings, engine=engine, sender=sender, clock=clock, teams=teams, **options
    )


def default_tokens(settings: Settings, engine: Engine) -> TokenSource:
    if settings.oauth_enabled:
        from bot.app import make_client
        from bot.oauth.flow import make_rotator, make_store
        from bot.oauth.tokens import WorkspaceTokens

        store = make_store(settings, engine)
        rotator = make_rotator(settings, engine, store, make_client(settings))
        return WorkspaceTokens(store=store, rotator=rotator)
    return _settings_token(settings)


def _settings_token(settings: Settings) -> TokenSource:
    def token(_team_id: str) -> str | None:
        return settings.slack_bot_token or None

    return token


def start_in_process(settings: Settings) -> Scheduler:
    """For plain `dks-bot` (Socket Mode): the scheduler in the same process as the App."""
    from storage.db import make_engine

    return build_scheduler(settings, engine=make_engine(settings.database_url)).start()


def run_forever(
    settings: Settings,
    *,
    interval_seconds: float = 5.0,
    lease_seconds: float = 300.0,
    health_port: int | None = None,
    stop: threading.Event | None = None,
) -> None:
    """`dks-bot scheduler`: the clock process. Stops cleanly on SIGTERM / SIGINT."""
    from bot.app import create_app
    from bot.server import create_wsgi_app
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    # The App serves only the health check here.
    app = create_app(settings, engine=engine, token_verification_enabled=False)
    scheduler = build_scheduler(
        settings,
        engine=engine,
        interval_seconds=interval_seconds,
        lease=timedelta(seconds=lease_seconds),
    ).start()
    stop = stop or threading.Event()
    server = None
    if health_port is not None:
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

        wsgi = create_wsgi_app(app, engine, tick_age=scheduler.last_tick_age)
        server = make_server("0.0.0.0", health_port, wsgi, handler_class=Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        log.info("health check on :%d/healthz", health_port)

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping the scheduler", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
        if server is not None:
            server.shutdown()
        engine.dispose()
