"""The app factory: every caller (CLI, server, shell, tests) builds its own App."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from slack_bolt import Ack, App, BoltContext, BoltResponse
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
from handlers.router import COMMAND
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


_T = TypeVar("_T")
# Threads that run listeners; as many as requests gunicorn serves at once (bot/server.py), and
# Socket Mode's default concurrency, so no request waits for a free listener thread.
LISTENER_THREADS = 10
# Slack gives up on an ack after 3 seconds; so does Bolt, and so does the wait below.
ACK_TIMEOUT_SECONDS = 3.0
# Bolt's polling interval: the longest a reply waits for the listener's work after the ack.
AFTER_ACK_GRACE_SECONDS = 0.01


class NotifyingAck(Ack):
    """Bolt's `ack()`, which also tells the waiting request thread that the ack is ready."""

    def __init__(self) -> None:
        super().__init__()
        self.done = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self.done.set()

    def __deepcopy__(self, memo: dict[int, Any]) -> Ack:
        # Lazy listeners get a deep copy of the request; an Event cannot be copied, and they
        # never ack, so Bolt's plain Ack does.
        copied = Ack()
        copied.response = copy.deepcopy(self.response, memo)
        return copied


class AckWaitingExecutor(ThreadPoolExecutor):
    """Runs Bolt's listeners; the request thread sleeps until the listener acks.

    In Bolt's default mode the request thread starts the listener here, then polls for its
    `ack()` every 10 ms, so every reply waited for the next tick (about 10 ms, the whole
    budget of a fast reply). Waking on the ack itself, or on the listener's end if that
    comes within one such tick, removes that wait; longer work after the ack (Reply.after:
    uploads) still runs on after the reply, as Bolt's default mode promises.

    A listener whose whole answer is the ack (`/dks`, which hands later work to `after_ack`;
    type-ahead options) runs in the request's own thread instead (`inline`): handing it to a
    pool thread and waking the request thread again cost about as much as answering
    `/dks frist` itself.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=LISTENER_THREADS, thread_name_prefix="bolt-listener")
        self._expected = threading.local()

    def expect(self, ack: NotifyingAck, *, inline: bool = False) -> None:
        """Called in the request's thread before its listener starts."""
        self._expected.ack = ack
        self._expected.inline = inline

    def after_ack(self, fn: Callable[[], object]) -> None:
        """Run a listener's work after its ack on a pool thread; the reply waits for it at
        most AFTER_ACK_GRACE_SECONDS (a views.open is done before the reply goes, as under
        Bolt's polling; an upload goes on after it)."""
        wait([super().submit(fn)], timeout=AFTER_ACK_GRACE_SECONDS)

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        ack: NotifyingAck | None = getattr(self._expected, "ack", None)
        inline = getattr(self._expected, "inline", False)
        # Only the first submit of a request is its listener; lazy listeners start after it.
        self._expected.ack, self._expected.inline = None, False
        if ack is not None and inline:
            done: Future[_T] = Future()
            try:
                # Bolt's wrapper handles the listener's own errors; this is for the rest.
                done.set_result(fn(*args, **kwargs))
            except Exception as err:
                done.set_exception(err)
            return done
        future = super().submit(fn, *args, **kwargs)
        if ack is not None and ack.response is None:
            # A listener that fails or never acks still ends the wait when it returns.
            future.add_done_callback(lambda _: ack.done.set())
            ack.done.wait(ACK_TIMEOUT_SECONDS)
            # Short work after the ack (views.open, a purge) is done before the reply goes, as
            # it mostly was under Bolt's polling; longer work goes on after the reply.
            wait([future], timeout=AFTER_ACK_GRACE_SECONDS)
        return future


def _answered_in_the_ack(body: dict[str, Any]) -> bool:
    """Requests whose listener's whole answer is its ack, run in the request's thread: `/dks`
    (which hands later work to after_ack) and type-ahead options (nothing after the ack)."""
    return body.get("command") == COMMAND or body.get("type") == "block_suggestion"


def run_now(fn: Callable[[], object]) -> None:
    """`after_ack` with process_before_response: the reply waits for everything anyway."""
    fn()


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
    executor = AckWaitingExecutor()
    # The token travels on the client; Bolt takes it from there.
    app = App(
        signing_secret=settings.slack_signing_secret or "",
        client=client or make_client(settings),
        process_before_response=process_before_response,
        token_verification_enabled=token_verification_enabled and bool(settings.slack_bot_token),
        logger=_bolt_logger(),
        listener_executor=executor,
    )

    def inject_services(context: BoltContext, body: dict[str, Any], next: Callable[[], Any]) -> Any:
        context["services"] = services
        if process_before_response:
            context["after_ack"] = run_now
        else:
            ack = NotifyingAck()
            context["ack"] = ack
            context["after_ack"] = executor.after_ack
            executor.expect(ack, inline=_answered_in_the_ack(body))
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
