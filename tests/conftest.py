"""Shared fixtures: databases (SQLite and PostgreSQL), the fake Slack, apps, signed requests."""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from slack_bolt import App
from sqlalchemy import Engine, create_engine, text

from bot.app import create_app
from bot.server import create_wsgi_app
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import signed_headers, slash_command_body
from handlers.core.services import Services
from storage.db import make_engine, upgrade

TEAM = "T0TEST"
ADMIN = "U0ADMIN"
MEMBER = "U0MEMBER"
CHANNEL = "C0DKS"
POSTGRES_URL = os.environ.get(
    "DKS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DB_BACKENDS = ["sqlite"] if POSTGRES_URL == "off" else ["sqlite", "postgresql"]


@pytest.fixture(params=DB_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh, empty database per test: a SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dks.db'}"
        return
    yield from _postgres_database()


def _postgres_database() -> Iterator[str]:
    parts = urlsplit(POSTGRES_URL)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    name = f"dks_t_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Any) -> Iterator[Engine]:
    """For tests of Slack behaviour, where the database backend is not the point."""
    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(team_id=TEAM) as fake:
        fake.add_user(ADMIN, "Kari Koordinator", admin=True)
        fake.add_user(MEMBER, "Per Kulturkontakt")
        fake.add_channel(CHANNEL, "dks", member=True)
        yield fake


@pytest.fixture
def settings(fake_slack: FakeSlack, sqlite_engine: Engine) -> Settings:
    return Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=fake_slack.api_url,
        database_url=sqlite_engine.url.render_as_string(hide_password=False),
    )


class FrozenClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FrozenClock:
    # 24 November 2026, 10:00 in Oslo.
    return FrozenClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))


@dataclass
class SlackDriver:
    """Sends signed requests through the real HTTP endpoint, as Slack would."""

    app: App
    services: Services
    fake: FakeSlack
    settings: Settings
    url: str
    http: httpx.Client

    def post(self, body: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
        assert self.settings.slack_signing_secret
        sent = (
            headers
            if headers is not None
            else signed_headers(self.settings.slack_signing_secret, body)
        )
        return self.http.post(self.url + "/slack/events", content=body.encode(), headers=sent)

    def command_body(self, text: str, *, user: str = ADMIN, team: str = TEAM) -> str:
        """The form body Slack sends for `/dks <text>` typed in the test channel."""
        return slash_command_body(
            text=text,
            team_id=team,
            user_id=user,
            channel_id=CHANNEL,
            response_url=self.fake.response_url(),
        )

    def command(self, text: str, *, user: str = ADMIN, team: str = TEAM) -> dict[str, Any]:
        """Run `/dks <text>` and return what the user sees (the ack body)."""
        response = self.post(self.command_body(text, user=user, team=team))
        assert response.status_code == 200, response.text
        return json.loads(response.text)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_wsgi(wsgi: Any) -> tuple[str, Any]:
    server = make_server(
        "127.0.0.1", 0, wsgi, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture
def make_driver(fake_slack: FakeSlack, settings: Settings, clock: FrozenClock):  # type: ignore[no-untyped-def]
    servers: list[Any] = []
    clients: list[httpx.Client] = []

    def build(engine: Engine, **overrides: Any) -> SlackDriver:
        used = replace(settings, database_url=engine.url.render_as_string(hide_password=False))
        services = Services(settings=used, engine=engine, clock=overrides.pop("clock", clock))
        app = create_app(used, services=services, **overrides)
        url, server = serve_wsgi(create_wsgi_app(app, engine))
        servers.append(server)
        client = httpx.Client(timeout=10)
        clients.append(client)
        return SlackDriver(
            app=app, services=services, fake=fake_slack, settings=used, url=url, http=client
        )

    yield build
    for client in clients:
        client.close()
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def slack(make_driver, sqlite_engine: Engine) -> SlackDriver:  # type: ignore[no-untyped-def]
    return make_driver(sqlite_engine)


@pytest.fixture
def make_scheduler() -> Iterator[Callable[..., Any]]:
    """build_scheduler for a test; every scheduler built is shut down after it (its event loop
    thread and HTTP session with it)."""
    from bot.scheduler import build_scheduler

    built: list[Any] = []

    def make(settings: Settings, **options: Any) -> Any:
        scheduler = build_scheduler(settings, **options)
        built.append(scheduler)
        return scheduler

    yield make
    for scheduler in built:
        scheduler.shutdown()


@pytest.fixture(autouse=True)
def _default_closed_days() -> Iterator[None]:
    """Working days are process-wide (storage.calendar): a test that reads settings with other
    closed days must not leave them to the next test."""
    from storage.calendar import DEFAULT_EXTRA_CLOSED_DAYS, set_extra_closed_days

    yield
    set_extra_closed_days(DEFAULT_EXTRA_CLOSED_DAYS)


@pytest.fixture
def shell_session(settings: Settings, tmp_path: Any) -> Iterator[Any]:
    """The local shell's world on its own database, its clock at Monday 7 December 2026
    08:00 (the sample tour plan's next performance is 12 January 2027), first start done."""
    from zoneinfo import ZoneInfo

    from bot.shell.session import ShellSession
    from bot.shell.timetravel import ShellClock

    session = ShellSession(
        replace(settings),
        database_url=f"sqlite:///{tmp_path / 'dks-shell.db'}",
        files_dir=tmp_path / "dks-filer",
        clock=ShellClock(datetime(2026, 12, 7, 8, 0, tzinfo=ZoneInfo("Europe/Oslo"))),
    )
    session.prepare()
    try:
        yield session
    finally:
        session.close()
