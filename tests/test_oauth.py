"""Many workspaces through «Add to Slack»: the install pages, each workspace on its own token
(requests and the scheduler), tokens sealed at rest and rotated once across processes, and an
uninstall that stops one workspace and no other. Real HTTP both ways, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from sqlmodel import col, select

from bot.app import create_app
from bot.scheduler import build_scheduler
from bot.scheduler.engine import Scheduler
from bot.server import create_wsgi_app
from bot.settings import Settings, SettingsError
from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import (
    block_actions_body,
    button_action,
    event_body,
    signed_headers,
    slash_command_body,
)
from handlers.calendar.views import SEND_FILE_ACTION
from handlers.core.services import Services
from storage.db import session_scope
from storage.models import OutboxMessage
from tests.conftest import FrozenClock, serve_wsgi
from tests.helpers import add_deadline

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "s3cr3t-client"
PUBLIC_URL = "https://dks.example.no"
TEAMS = ("T0AAA", "T0BBB", "T0CCC")
DUE = date(2026, 12, 8)
FIRST = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 in Oslo, 7 days before DUE
ROOT = Path(__file__).resolve().parents[1]


def admin(team: str) -> str:
    return f"U{team[1:]}ADM"


def channel(team: str) -> str:
    return f"C{team[1:]}DKS"


@dataclass
class County:
    """One installation serving several municipalities' workspaces."""

    fake: FakeSlack
    engine: Engine
    settings: Settings
    url: str
    http: httpx.Client
    clock: FrozenClock
    servers: list[Any] = field(default_factory=list)

    def post(self, body: str, content_type: str = "application/x-www-form-urlencoded") -> Any:
        assert self.settings.slack_signing_secret
        headers = signed_headers(
            self.settings.slack_signing_secret, body, content_type=content_type
        )
        return self.http.post(self.url + "/slack/events", content=body.encode(), headers=headers)

    def command(self, team: str, text: str) -> dict[str, Any]:
        body = slash_command_body(
            text=text,
            team_id=team,
            user_id=admin(team),
            channel_id=channel(team),
            response_url=self.fake.response_url(),
        )
        response = self.post(body)
        assert response.status_code == 200, response.text
        return dict(json.loads(response.text))

    def event(self, team: str, event: dict[str, Any]) -> None:
        body = event_body(team_id=team, event=event, event_id=f"Ev{secrets.token_hex(5)}")
        assert self.post(body, "application/json").status_code == 200

    def install(self, team: str, *, deny: bool = False) -> httpx.Response:
        """A person in `team` goes through «Add to Slack» in one browser."""
        page = self.http.get(self.url + "/slack/install")
        assert page.status_code == 200
        link = re.search(r'href="([^"]+/oauth/v2/authorize[^"]+)"', page.text)
        assert link, page.text
        cookie = page.headers["set-cookie"].split(";")[0]
        self.fake.next_authorize(team, user_id=admin(team), deny=deny)
        at_slack = self.http.get(link.group(1).replace("&amp;", "&"))
        assert at_slack.status_code == 302
        back = urlsplit(at_slack.headers["location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == f"{PUBLIC_URL}/slack/oauth_redirect"
        return self.http.get(
            f"{self.url}/slack/oauth_redirect?{back.query}", headers={"cookie": cookie}
        )


def oauth_settings(fake: FakeSlack, database_url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        "slack_signing_secret": secrets.token_hex(16),
        "slack_api_url": fake.api_url,
        "database_url": database_url,
        "public_url": PUBLIC_URL,
        "token_keys": (Fernet.generate_key().decode(),),
        **changes,
    }
    return Settings(**values)


def build_county(fake: FakeSlack, engine: Engine, clock: FrozenClock, **changes: Any) -> County:
    settings = oauth_settings(fake, engine.url.render_as_string(hide_password=False), **changes)
    services = Services(settings=settings, engine=engine, clock=clock)
    app = create_app(settings, services=services)
    url, server = serve_wsgi(create_wsgi_app(app, engine))
    county = County(fake, engine, settings, url, httpx.Client(timeout=10), clock)
    county.servers.append(server)
    return county


@pytest.fixture(params=[False, True], ids=["plain", "rotating"])
def rotation(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def county_fake(rotation: bool) -> Iterator[FakeSlack]:
    with FakeSlack(team_id="T0HOME") as fake:
        fake.configure_oauth(CLIENT_ID, CLIENT_SECRET, rotation=rotation)
        for team in TEAMS:
            fake.add_workspace(team, name=f"Kommune {team[-3:]}")
            fake.add_user(admin(team), f"Koordinator {team}", admin=True, team_id=team)
            fake.add_channel(channel(team), "dks", member=True, team_id=team)
        yield fake


@pytest.fixture
def county(county_fake: FakeSlack, engine: Engine, clock: FrozenClock) -> Iterator[County]:
    county = build_county(county_fake, engine, clock)
    yield county
    county.http.close()
    for server in county.servers:
        server.shutdown()
        server.server_close()


def tokens_at(fake: FakeSlack, method: str) -> dict[str | None, set[str]]:
    """For each workspace a call was answered for, the tokens it carried."""
    seen: dict[str | None, set[str]] = {}
    for call in fake.calls_to(method):
        token = call.headers.get("authorization", "").removeprefix("Bearer ")
        seen.setdefault(call.team_id, set()).add(token)
    return seen


# --- The pages -----------------------------------------------------------------------------


def test_install_page_is_norwegian_and_sets_the_state_cookie(county: County) -> None:
    page = county.http.get(county.url + "/slack/install")
    assert page.status_code == 200
    assert '<html lang="nb">' in page.text
    assert "Legg til i Slack" in page.text
    assert "slack-app-oauth-state=" in page.headers["set-cookie"]
    link = re.search(r'href="([^"]+)"', page.text.split("Legg til i Slack")[0][-600:])
    assert link is not None
    query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [f"{PUBLIC_URL}/slack/oauth_redirect"]
    assert "chat:write" in query["scope"][0].split(",")


def test_three_workspaces_install_and_each_is_served_with_its_own_token(
    county: County, rotation: bool
) -> None:
    for team in TEAMS:
        done = county.install(team)
        assert done.status_code == 200, done.text
        assert "DKS-boten er lagt til" in done.text
        assert f"Kommune {team[-3:]}" in done.text
    with county.engine.connect() as conn:
        stored = conn.execute(text("SELECT team_id, bot_token FROM slack_bots")).all()
    assert sorted(team for team, _ in stored) == sorted(TEAMS)
    for _, sealed in stored:
        assert "xox" not in sealed  # encrypted at rest

    for team in TEAMS:
        reply = county.command(team, f"påminnelser kanal <#{channel(team)}|dks>")
        assert "Påminnelser kommer nå i" in reply["text"], reply
        county.event(team, {"type": "app_home_opened", "user": admin(team), "tab": "home"})
        press_send_file(county, team)
    fake = county.fake
    assert fake.wait_for(lambda: len(fake.calls_to("views.publish")) >= len(TEAMS))
    assert fake.wait_for(lambda: len(fake.calls_to("conversations.open")) >= len(TEAMS))

    for method in ("views.publish", "conversations.open", "users.info"):
        seen = tokens_at(fake, method)
        assert set(seen) == set(TEAMS), (method, seen)
        all_tokens = [t for tokens in seen.values() for t in tokens]
        assert len(all_tokens) == len(set(all_tokens)), "a token served two workspaces"

    for team in TEAMS:
        add_deadline(county.engine, team, f"Frist for {team}", DUE)
    scheduler = scheduler_for(county)
    try:
        county.clock.now = FIRST
        scheduler.refresh(FIRST)
        assert scheduler.tick().sent == len(TEAMS)
    finally:
        scheduler.shutdown()
    posted = tokens_at(fake, "chat.postMessage")
    assert set(posted) == set(TEAMS)
    for team in TEAMS:
        texts = [m.get("text", "") for m in fake.messages[channel(team)]]
        assert any(f"Frist for {team}" in t for t in texts)
        assert not any(f"Frist for {other}" in t for other in TEAMS if other != team for t in texts)
    # No request paid for auth.test more than once per token (Bolt's cache).
    auth_tests = [c for c in fake.calls_to("auth.test")]
    tokens = [c.headers.get("authorization") for c in auth_tests]
    assert len(tokens) == len(set(tokens)) + len(TEAMS)  # the install's own check, then one each


def press_send_file(county: County, team: str) -> None:
    body = block_actions_body(
        team_id=team,
        user_id=admin(team),
        channel_id=channel(team),
        response_url=county.fake.response_url(),
        action=button_action(
            {
                "type": "button",
                "action_id": SEND_FILE_ACTION,
                "value": "1",
                "text": {"type": "plain_text", "text": "Send"},
            }
        ),
        block_id="calendar_feed",
    )
    assert county.post(body).status_code == 200


def scheduler_for(county: County) -> Scheduler:
    return build_scheduler(
        county.settings, engine=county.engine, clock=county.clock, pace_seconds=0.05
    )


@pytest.mark.parametrize(
    ("query", "cookie", "status", "words"),
    [
        ("error=access_denied&state=x", True, 200, "Installasjonen ble avbrutt"),
        ("code=abc&state={state}", False, 400, "kjente ikke igjen nettleseren"),
        ("code=abc&state=forged", True, 401, "Lenken er utløpt"),
        ("state={state}", True, 401, "manglet installasjonskoden"),
        ("code=not-a-code&state={state}", True, 401, "Installasjonskoden var ugyldig"),
    ],
)
def test_each_failure_has_its_own_page(
    county: County, query: str, cookie: bool, status: int, words: str
) -> None:
    page = county.http.get(county.url + "/slack/install")
    state_cookie = page.headers["set-cookie"].split(";")[0]
    state = state_cookie.split("=", 1)[1]
    headers = {"cookie": state_cookie if cookie else ""}
    if "forged" in query:
        headers = {"cookie": "slack-app-oauth-state=forged"}
    answer = county.http.get(
        f"{county.url}/slack/oauth_redirect?{query.format(state=state)}", headers=headers
    )
    assert answer.status_code == status
    assert '<html lang="nb">' in answer.text
    assert words in answer.text
    with county.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM slack_bots")).scalar() == 0


def test_storage_error_page(county: County) -> None:
    with county.engine.begin() as conn:
        conn.execute(text("DROP TABLE slack_installations"))
    answer = county.install("T0AAA")
    assert answer.status_code == 500
    assert "Vi fikk ikke lagret installasjonen" in answer.text
    assert "Traceback" not in answer.text


def test_a_workspace_outside_the_allow_list_is_refused_and_nothing_is_stored(
    county_fake: FakeSlack, engine: Engine, clock: FrozenClock
) -> None:
    county = build_county(county_fake, engine, clock, slack_allowed_teams=frozenset({"T0AAA"}))
    try:
        refused = county.install("T0BBB")
        assert refused.status_code == 403
        assert "kan ikke bruke denne DKS-boten" in refused.text
        assert county.install("T0AAA").status_code == 200
        with engine.connect() as conn:
            teams = conn.execute(text("SELECT team_id FROM slack_installations")).scalars().all()
        assert teams == ["T0AAA"]
        # The app did not stay installed in the refused workspace either.
        assert [c.team_id for c in county_fake.calls_to("apps.uninstall")] == ["T0BBB"]
    finally:
        county.http.close()
        for server in county.servers:
            server.shutdown()


# --- Uninstall -----------------------------------------------------------------------------


def test_uninstall_mid_burst_stops_that_workspace_only(county: County) -> None:
    for team in TEAMS:
        assert county.install(team).status_code == 200
        county.command(team, f"påminnelser kanal <#{channel(team)}|dks>")
        for n in range(3):
            add_deadline(county.engine, team, f"Frist {n} for {team}", DUE)
    county.command("T0BBB", "kalender")
    fake = county.fake

    def uninstall_after_first_post() -> None:
        # As Slack does it: the tokens are revoked, then the event is sent.
        fake.wait_for(lambda: bool(fake.messages.get(channel("T0BBB"))), timeout=30)
        fake.revoke("T0BBB")
        county.event("T0BBB", {"type": "app_uninstalled"})

    watcher = threading.Thread(target=uninstall_after_first_post)
    watcher.start()
    scheduler = build_scheduler(
        county.settings, engine=county.engine, clock=county.clock, pace_seconds=0.5
    )
    try:
        county.clock.now = FIRST
        scheduler.refresh(FIRST)
        scheduler.tick()
    finally:
        scheduler.shutdown()
        watcher.join()
    assert 1 <= len(fake.messages[channel("T0BBB")]) < 3  # it stopped in the middle
    for team in ("T0AAA", "T0CCC"):
        assert len(fake.messages[channel(team)]) == 3
    with county.engine.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM slack_installations WHERE team_id = 'T0BBB'")
        ).scalar()
        feeds = conn.execute(
            text("SELECT count(*) FROM calendar_feed WHERE team_id = 'T0BBB'")
        ).scalar()
    assert left == 0 and feeds == 0
    with session_scope(county.engine) as session:
        rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.team_id) == "T0BBB"))
        states = {m.state for m in rows}
    assert states and states <= {"sent", "failed", "cancelled"}  # nothing left to post
    # Its people get a clear word, not silence, if they try again.
    body = slash_command_body(
        text="frist",
        team_id="T0BBB",
        user_id=admin("T0BBB"),
        channel_id=channel("T0BBB"),
        response_url=county.fake.response_url(),
    )
    before = len(county.fake.responses)
    assert county.post(body).status_code == 200
    assert county.fake.wait_for(lambda: len(county.fake.responses) > before)
    assert "ikke installert" in county.fake.responses[-1][1]["text"]


# --- Settings ------------------------------------------------------------------------------


def test_bot_token_and_client_credentials_together_are_refused() -> None:
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN and SLACK_CLIENT_ID"):
        Settings.from_env(
            {
                "SLACK_BOT_TOKEN": "xoxb-1-2",
                "SLACK_CLIENT_ID": CLIENT_ID,
                "SLACK_CLIENT_SECRET": CLIENT_SECRET,
            },
            dotenv_path=None,
        )


def test_serve_refuses_oauth_without_a_token_key(tmp_path: Any) -> None:
    env = {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": "x" * 32,
        "PUBLIC_URL": PUBLIC_URL,
        "DKS_SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dks-bot")), "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "DKS_TOKEN_KEY" in done.stderr


# --- Rotation across processes -------------------------------------------------------------

_ROTATE = textwrap.dedent(
    """
    import sys, time
    from slack_sdk import WebClient
    from bot.oauth.flow import make_rotator, make_store
    from bot.oauth.tokens import WorkspaceTokens
    from bot.settings import Settings
    from storage.db import make_engine

    api, url, key, go = sys.argv[1:5]
    settings = Settings(slack_client_id="{client_id}", slack_client_secret="{secret}",
                        slack_api_url=api, database_url=url, token_keys=(key,))
    engine = make_engine(url)
    store = make_store(settings, engine)
    rotator = make_rotator(settings, engine, store, WebClient(base_url=api))
    tokens = WorkspaceTokens(store=store, rotator=rotator)
    while time.time() < float(go):
        time.sleep(0.001)
    print(tokens("T0AAA"))
    """
).format(client_id=CLIENT_ID, secret=CLIENT_SECRET)


@pytest.mark.parametrize("rotation", [True], ids=["rotating"])
def test_two_processes_rotate_a_token_once(county: County, tmp_path: Any) -> None:
    assert county.install("T0AAA").status_code == 200
    # Make the stored token due for a refresh: it expires in 10 minutes.
    with county.engine.begin() as conn:
        for table in ("slack_bots", "slack_installations"):
            conn.execute(
                text(f"UPDATE {table} SET bot_token_expires_at = :at"),
                {"at": datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=10)},
            )
    script = tmp_path / "rotate.py"
    script.write_text(_ROTATE)
    go = str(datetime.now(UTC).timestamp() + 2.0)
    url = county.engine.url.render_as_string(hide_password=False)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                county.fake.api_url,
                url,
                county.settings.token_keys[0],
                go,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    tokens = {out.strip() for out, _ in outputs}
    assert county.fake.refresh_count("T0AAA") == 1
    assert len(tokens) == 1 and next(iter(tokens)).startswith("xoxe.xoxb-")
    # The token both processes hold is the one Slack accepts now.
    auth = httpx.post(
        county.fake.api_url + "auth.test",
        headers={"authorization": f"Bearer {next(iter(tokens))}"},
    ).json()
    assert auth["ok"] and auth["team_id"] == "T0AAA"


@pytest.mark.parametrize("rotation", [True], ids=["rotating"])
def test_a_token_expiring_mid_burst_is_refreshed_and_nothing_is_lost(county: County) -> None:
    for team in TEAMS:
        assert county.install(team).status_code == 200
        county.command(team, f"påminnelser kanal <#{channel(team)}|dks>")
        for n in range(4):
            add_deadline(county.engine, team, f"Frist {n} for {team}", DUE)
    fake = county.fake

    def expire_after_first_post() -> None:
        fake.wait_for(lambda: "T0AAA" in tokens_at(fake, "chat.postMessage"), timeout=30)
        token = next(iter(tokens_at(fake, "chat.postMessage")["T0AAA"]))
        grant = fake.oauth.grant(token)
        assert grant is not None
        grant.expires_at = fake.now() - 1  # Slack's clock says it ran out now

    watcher = threading.Thread(target=expire_after_first_post)
    watcher.start()
    scheduler = build_scheduler(
        county.settings, engine=county.engine, clock=county.clock, pace_seconds=0.3
    )
    try:
        county.clock.now = FIRST
        scheduler.refresh(FIRST)
        stats = scheduler.tick()
    finally:
        scheduler.shutdown()
        watcher.join()
    assert stats.failed == 0
    for team in TEAMS:
        titles = sorted(m["text"] for m in fake.messages[channel(team)])
        assert len(titles) == 4, titles  # each once: none lost, none twice
    used = tokens_at(fake, "chat.postMessage")["T0AAA"]
    assert len(used) == 2, used  # the old token, then the refreshed one
    assert fake.refresh_count("T0AAA") == 1
    assert fake.refresh_count("T0BBB") == fake.refresh_count("T0CCC") == 0


def test_token_key_rotation_keeps_tokens_readable(county: County, tmp_path: Path) -> None:
    assert county.install("T0AAA").status_code == 200
    old = county.settings.token_keys[0]
    new = Fernet.generate_key().decode()
    env = {
        "PATH": "/usr/bin:/bin",
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "DATABASE_URL": county.engine.url.render_as_string(hide_password=False),
        "DKS_TOKEN_KEY": f"{new},{old}",
    }
    dks_bot = str(Path(sys.executable).with_name("dks-bot"))
    done = subprocess.run(
        [dks_bot, "db", "rotate-token-key"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # The old key alone no longer reads them; the new one alone does.
    from bot.oauth.flow import make_store
    from storage.installations import TokenKeyError

    fresh = make_store(replace(county.settings, token_keys=(new,)), county.engine)
    found = fresh.find_installation(enterprise_id=None, team_id="T0AAA")
    assert found is not None and found.bot_token and found.bot_token.startswith("xox")
    stale = make_store(replace(county.settings, token_keys=(old,)), county.engine)
    with pytest.raises(TokenKeyError):
        stale.find_installation(enterprise_id=None, team_id="T0AAA")
    assert old not in done.stdout + done.stderr and "xox" not in done.stdout + done.stderr
