"""The app factory: every caller (CLI, server, shell, tests) builds its own App."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

import handlers
from bot.services import Clock, Services, system_clock
from bot.settings import Settings
from storage.db import make_engine, session_scope
from storage.importers.calendar import seed_workspace
from storage.models import utcnow
from storage.workspaces import get_or_create_workspace, get_workspace

log = logging.getLogger(__name__)


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient that honours Retry-After on 429 and retries 5xx and dropped connections."""
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


class WorkspaceSeeder:
    """Gives each workspace the bundled DKS calendar the first time it talks to the bot."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, team_id: str) -> None:
        if not team_id or team_id in self._seen:
            return
        with self._lock:
            if team_id in self._seen:
                return
            try:
                self._seed(team_id)
            except IntegrityError:
                # Another process seeded the same workspace at the same moment; its rows stand.
                log.info("workspace %s was seeded concurrently", team_id)
            self._seen.add(team_id)

    def _seed(self, team_id: str) -> None:
        with session_scope(self._engine) as session:
            existing = get_workspace(session=session, team_id=team_id)
            if existing is not None and existing.seeded_at is not None:
                return
        with session_scope(self._engine, write=True) as session:
            workspace = get_or_create_workspace(session=session, team_id=team_id)
            if workspace.seeded_at is not None:
                return
            result = seed_workspace(session=session, team_id=team_id)
            workspace.seeded_at = utcnow()
            session.add(workspace)
            log.info("seeded workspace %s with the bundled calendar: %s", team_id, result)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock = system_clock,
    client: WebClient | None = None,
    process_before_response: bool = False,
    token_verification_enabled: bool = True,
) -> App:
    """Build a Bolt App with every feature registered and its services injected."""
    engine = engine or make_engine(settings.database_url)
    services = Services(settings=settings, engine=engine, clock=clock)
    seeder = WorkspaceSeeder(engine)
    # The token travels on the client; Bolt takes it from there.
    app = App(
        signing_secret=settings.slack_signing_secret or "",
        client=client or make_client(settings),
        process_before_response=process_before_response,
        token_verification_enabled=token_verification_enabled and bool(settings.slack_bot_token),
        logger=logging.getLogger("dks_bot.bolt"),
    )

    def inject_services(context: BoltContext, next: Callable[[], Any]) -> Any:
        context["services"] = services
        if context.team_id:
            seeder.ensure(context.team_id)
        return next()

    app.use(inject_services)

    def on_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
        logger.exception(
            "unhandled error in a listener (type=%s)", body.get("type"), exc_info=error
        )

    app.error(on_error)
    handlers.register_all(app)
    return app
