"""The app factory: every caller (CLI, server, shell, tests) builds its own App."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine

import handlers
from bot.settings import Settings
from handlers.core.access import actor
from handlers.core.errors import on_error
from handlers.core.i18n import pick, set_language
from handlers.core.seeding import WorkspaceSeeder, is_farewell
from handlers.core.services import Clock, Services, system_clock
from storage import replay
from storage.db import make_engine


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient that honours Retry-After on 429 and retries 5xx and dropped connections."""
    return WebClient(
        # With OAuth there is no token here: Bolt sets each request's own on its copy.
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("dks_bot.bolt")
    if not any(isinstance(f, _DropTokenWarning) for f in logger.filters):
        logger.addFilter(_DropTokenWarning())
    return logger


class _DropTokenWarning(logging.Filter):
    # Bolt reads SLACK_BOT_TOKEN from the environment itself and then warns that the
    # client's token wins; the client is built from the same setting, so it is noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class ContextExecutor(ThreadPoolExecutor):
    """Bolt's listener executor, running each task in a copy of the submitter's context: a
    lazy listener's writes claim the replay key of the request that started it
    (storage.replay).

    `wait_idle` lets the local shell show what a click did only once its lazy listeners are
    done, as a person in Slack sees it settle."""

    def __init__(self, max_workers: int = 5) -> None:
        super().__init__(max_workers=max_workers)
        self._running = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._running += 1
        future = super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any]) -> None:
        with self._idle:
            self._running -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no listener is running (a lazy one may start another); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout=timeout)


class _OncePerEvent(Middleware):
    """Global middleware: an event is handled once however often Slack delivers it.

    Slack retries an event it thinks we missed (`X-Slack-Retry-Num`), with a new signature
    and the same `event_id`; the id is recorded before the event is handled, since handling
    may post without writing anything (the offer of a reminder channel). Opening the Home tab
    only reads and republishes, so it stays free of the write."""

    REPEATABLE = frozenset({"app_home_opened"})

    def __init__(self, services: Services) -> None:
        self.services = services

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        key = replay.event_key(req.body.get("event_id"))
        event = req.body.get("event")
        kind = event.get("type") if isinstance(event, dict) else None
        if req.body.get("type") != "event_callback" or key is None or kind in self.REPEATABLE:
            return next()
        if replay.first_time(self.services.engine, key):
            return next()
        logging.getLogger(__name__).info(
            "event delivered again, handled once already (retry %s)",
            req.headers.get("x-slack-retry-num", ["-"])[0][:8],
        )
        return BoltResponse(status=200, body="")


class _App(App):
    """Bolt's App, each request dispatched in a copy of the caller's context.

    Bolt runs a request's listener after its global middleware have returned (their `next()`
    only says «go on»), so what a middleware sets for the request, the reader's language,
    cannot be undone in the middleware itself: it is set there and lasts until this dispatch
    returns, and the next request on the same thread starts from the caller's context again.
    The listener executor copies the context too, so lazy listeners keep the language."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        return contextvars.copy_context().run(super().dispatch, req)


class _Inject(Middleware):
    """Global middleware: every listener finds `context["services"]` and `context["actor"]`
    (who is asking) and speaks the reader's language, and a workspace talking to the bot for
    the first time gets the bundled calendar first."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # One workspace (no OAuth): a request after an uninstall means it was installed again.
        self.seeder = WorkspaceSeeder(
            services.engine, reinstalls=not services.settings.oauth_enabled
        )

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        req.context["services"] = self.services
        who = req.context["actor"] = actor(req.body, req.context)
        # Set for the rest of this dispatch (`_App.dispatch` scopes it): bokmål until the
        # workspace is known.
        set_language(None)
        req.context["workspace_language"] = None
        if not req.context.team_id:
            return next()
        farewell = is_farewell(req.body)
        self.seeder.ensure(req.context.team_id, farewell=farewell)
        if farewell:
            return next()
        # The reader's language for everything this request answers (lazy listeners keep it:
        # the listener executor copies the context); channel posts switch to the workspace's.
        settings = self.services.snapshot(req.context.team_id).settings
        req.context["workspace_language"] = settings.language
        set_language(pick(settings.user_languages.get(who.user_id), settings.language))
        return next()


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock = system_clock,
    client: WebClient | None = None,
    services: Services | None = None,
    token_verification_enabled: bool = True,
    listener_executor: ContextExecutor | None = None,
) -> App:
    """Build a Bolt App with every feature registered and its services injected.

    `process_before_response=True` in both HTTP and Socket Mode: a listener's ack is the
    answer Slack gets, sent when the listener returns; work that may take long after it
    (opening a modal after a slow read, uploads, DMs, refreshing the Home tab) runs in Bolt's
    lazy listeners. `on_error` answers 200 with what was acked when a listener fails later.
    """
    services = services or Services(
        settings=settings, engine=engine or make_engine(settings.database_url), clock=clock
    )
    client = client or make_client(settings)
    logger = _bolt_logger()
    options: dict[str, Any] = {}
    if settings.oauth_enabled:
        # Many workspaces: each request's token comes from its workspace's installation.
        from bot.oauth.flow import NOT_INSTALLED_MESSAGE, oauth_parts

        parts = oauth_parts(settings, services.engine, client, logger)
        services.installations = parts.store
        options = {
            "oauth_flow": parts.flow,
            "installation_store": parts.store,
            "authorize": parts.authorize,
            "user_facing_authorize_error_message": NOT_INSTALLED_MESSAGE,
        }
    # One workspace: the token travels on the client; Bolt takes it from there.
    app = _App(
        signing_secret=settings.slack_signing_secret or "",
        client=client,
        process_before_response=True,
        token_verification_enabled=token_verification_enabled and bool(settings.slack_bot_token),
        logger=logger,
        listener_executor=listener_executor or ContextExecutor(max_workers=5),
        **options,
    )
    # Bolt logs the whole body of a request that fails its signature check, at INFO; the
    # HTTP front door (bot/inbound.py) refuses those before Bolt, with one line of its own.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    app.use(_OncePerEvent(services))
    app.use(_Inject(services))
    app.error(on_error)
    handlers.register_all(app, services)
    return app
