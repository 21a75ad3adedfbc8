"""The fake Slack serves many workspaces as Slack does: installs through OAuth v2, tokens per
workspace that reach only their own workspace, token rotation, and uninstalls.

All over real HTTP, with slack_sdk's and Bolt's own clients, so the shapes are the ones they
read from Slack."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import FileInstallationStore, Installation
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator

from bot.shell.fakeslack import FakeSlack
from tests.conftest import ADMIN, CHANNEL, TEAM

TEAM_B = "T0BERGEN"
B_NAME = "Bergen kommune"
B_BOT = "U0BERGENBOT"
B_ADMIN = "U0BADMIN"
B_CHANNEL = "C0BERGEN"
CLIENT_ID = "1234567890.9876543210"
CLIENT_SECRET = secrets.token_hex(16)
REDIRECT = "https://dks.example.no/slack/oauth_redirect"
SCOPES = ["chat:write", "commands", "users:read"]


@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    """The conftest's workspace (TEAM) and a second one, Bergen, with an admin and a channel."""
    fake_slack.add_workspace(TEAM_B, name=B_NAME, bot_user_id=B_BOT)
    fake_slack.add_user(B_ADMIN, "Berit Bergen", admin=True, team_id=TEAM_B)
    fake_slack.add_channel(B_CHANNEL, "dks-bergen", member=True, team_id=TEAM_B)
    fake_slack.configure_oauth(CLIENT_ID, CLIENT_SECRET)
    return fake_slack


def _client(fake: FakeSlack, token: str | None = None) -> WebClient:
    return WebClient(token=token, base_url=fake.api_url)


def _error(call: Callable[[], Any]) -> str:
    with pytest.raises(SlackApiError) as refused:
        call()
    return str(refused.value.response["error"])


def _home(text: str) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def _modal(title: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": title}}],
    }


def _installed(fake: FakeSlack, *, redirect_uri: str | None = REDIRECT) -> dict[str, Any]:
    code = fake.authorize(TEAM_B, user_id=B_ADMIN, scopes=SCOPES, redirect_uri=redirect_uri)
    response = _client(fake).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code, redirect_uri=redirect_uri
    )
    return dict(response.data)  # type: ignore[arg-type]


def _shift_clock(fake: FakeSlack, seconds: float) -> None:
    started = fake.now()
    fake.now = lambda: started + seconds


# --- workspaces and their tokens -----------------------------------------------------------


def test_auth_test_answers_for_the_workspace_of_each_token(fake: FakeSlack) -> None:
    a = fake.issue_bot_token(TEAM)
    b = fake.issue_bot_token(TEAM_B, rotation=True)

    of_a = _client(fake, a).auth_test()
    of_b = _client(fake, b).auth_test()
    legacy = _client(fake, "xoxb-test-token").auth_test()

    assert (of_a["team_id"], of_a["user_id"], of_a["bot_id"], of_a["team"]) == (
        TEAM,
        "U0DKSBOT",
        "B0DKSBOT",
        "DKS",
    )
    assert (of_b["team_id"], of_b["user_id"], of_b["team"]) == (TEAM_B, B_BOT, B_NAME)
    assert of_b["bot_id"] != of_a["bot_id"]
    assert of_b["url"] == "https://bergen-kommune.slack.com/"
    assert 0 < of_b["expires_in"] <= 43200  # a rotating token says how long it has left
    assert "expires_in" not in of_a
    # A token the fake never issued, as the single-workspace tests use, is the default's.
    assert legacy["team_id"] == TEAM and legacy["user_id"] == "U0DKSBOT"


def test_every_call_records_the_workspace_of_the_token_it_carried(fake: FakeSlack) -> None:
    tokens = {TEAM: fake.issue_bot_token(TEAM), TEAM_B: fake.issue_bot_token(TEAM_B)}
    for team, channel, user in ((TEAM, CHANNEL, ADMIN), (TEAM_B, B_CHANNEL, B_ADMIN)):
        client = _client(fake, tokens[team])
        client.chat_postMessage(channel=channel, text="Frist i morgen")
        client.views_publish(user_id=user, view=_home("Hjem"))
        client.conversations_open(users=user)
        client.users_info(user=user)

    for method in ("chat.postMessage", "views.publish", "conversations.open", "users.info"):
        calls = fake.calls_to(method)
        assert [c.team_id for c in calls] == [TEAM, TEAM_B], method
        assert calls[1].headers["authorization"] == f"Bearer {tokens[TEAM_B]}"
    # Each workspace sees its own bot post and its own Home tab.
    assert fake.messages[B_CHANNEL][0]["user"] == B_BOT
    assert fake.messages[CHANNEL][0]["user"] == "U0DKSBOT"
    assert fake.home_views[B_ADMIN]["team_id"] == TEAM_B


def test_revoked_expired_and_unknown_tokens_are_refused_as_slack_refuses_them(
    fake: FakeSlack,
) -> None:
    rotating = fake.issue_bot_token(TEAM_B, rotation=True)
    lasting = fake.issue_bot_token(TEAM_B)
    a = fake.issue_bot_token(TEAM)

    _shift_clock(fake, 43200)  # twelve hours on: the rotating token has expired
    assert _error(_client(fake, rotating).auth_test) == "token_expired"
    assert _client(fake, lasting).auth_test()["team_id"] == TEAM_B

    fake.revoke(TEAM_B)
    assert _error(_client(fake, lasting).auth_test) == "token_revoked"
    post = _client(fake, lasting).chat_postMessage
    assert _error(lambda: post(channel=B_CHANNEL, text="Etter avinstallering")) == "token_revoked"
    assert fake.messages[B_CHANNEL] == []
    assert _client(fake, a).auth_test()["team_id"] == TEAM  # the other workspace goes on

    assert _error(_client(fake, "xoxe.xoxb-1-never-issued").auth_test) == "invalid_auth"
    assert _error(_client(fake, "not-a-token").auth_test) == "invalid_auth"
    assert _error(_client(fake).auth_test) == "not_authed"

    fake.revoke(TEAM)  # the default workspace's tokens the fake never issued go with it
    assert _error(_client(fake, "xoxb-test-token").auth_test) == "token_revoked"


# --- a token reaches only its own workspace ------------------------------------------------


@pytest.mark.parametrize("issued", [True, False], ids=["issued-token", "legacy-token"])
def test_a_token_of_one_workspace_reaches_nothing_of_another(fake: FakeSlack, issued: bool) -> None:
    b = _client(fake, fake.issue_bot_token(TEAM_B))
    posted = b.chat_postMessage(channel=B_CHANNEL, text="Bergens melding")
    view_id = b.views_open(trigger_id="1.2.3", view=_modal("Bergen"))["view"]["id"]
    dm = b.conversations_open(users=B_ADMIN)["channel"]["id"]
    upload = b.files_upload_v2(content="navn;e-post\n", filename="bergen.csv")
    file_id = upload["files"][0]["id"]
    before = {
        "messages": [dict(m) for m in fake.messages[B_CHANNEL]],
        "view": dict(fake.views[view_id]),
    }

    a = _client(fake, fake.issue_bot_token(TEAM) if issued else "xoxb-test-token")
    refused = {
        "chat.postMessage": lambda: a.chat_postMessage(channel=B_CHANNEL, text="Lekkasje"),
        "chat.postMessage to B's DM": lambda: a.chat_postMessage(channel=dm, text="Lekkasje"),
        "chat.postMessage to B's user": lambda: a.chat_postMessage(channel=B_ADMIN, text="x"),
        "chat.update": lambda: a.chat_update(channel=B_CHANNEL, ts=posted["ts"], text="Endret"),
        "chat.postEphemeral channel": lambda: a.chat_postEphemeral(
            channel=B_CHANNEL, user=ADMIN, text="x"
        ),
        "chat.postEphemeral user": lambda: a.chat_postEphemeral(
            channel=CHANNEL, user=B_ADMIN, text="x"
        ),
        "conversations.history": lambda: a.conversations_history(channel=B_CHANNEL),
        "conversations.info": lambda: a.conversations_info(channel=B_CHANNEL),
        "conversations.join": lambda: a.conversations_join(channel=B_CHANNEL),
        "conversations.open": lambda: a.conversations_open(users=B_ADMIN),
        "users.info": lambda: a.users_info(user=B_ADMIN),
        "views.publish": lambda: a.views_publish(user_id=B_ADMIN, view=_home("Lekkasje")),
        "views.update": lambda: a.views_update(view_id=view_id, view=_modal("Lekkasje")),
        "files.info": lambda: a.files_info(file=file_id),
    }
    expected = {
        "chat.postEphemeral user": "user_not_found",
        "conversations.open": "user_not_found",
        "users.info": "user_not_found",
        "views.publish": "user_not_found",
        "views.update": "not_found",
        "files.info": "file_not_found",
    }
    answers = {name: _error(call) for name, call in refused.items()}
    assert answers == {name: expected.get(name, "channel_not_found") for name in refused}
    # ...and nothing of B changed.
    assert fake.messages[B_CHANNEL] == before["messages"]
    assert fake.views[view_id] == before["view"]
    assert B_ADMIN not in fake.home_views
    assert fake.messages.get(dm, []) == []
    # The file's download link, too, is B's alone.
    url = b.files_info(file=file_id)["file"]["url_private_download"]
    assert httpx.get(url, headers={"authorization": f"Bearer {a.token}"}).status_code == 404
    assert httpx.get(url, headers={"authorization": f"Bearer {b.token}"}).status_code == 200


def test_a_token_the_fake_never_issued_reaches_teams_never_added_as_workspaces(
    fake: FakeSlack,
) -> None:
    """Benchmarks made channels of many teams before workspaces existed; a legacy token
    still posts there, while an issued token keeps to its own workspace."""
    fake.add_channel("C0ELDRE", "eldre", member=True, team_id="T0NEVERADDED")
    legacy = _client(fake, "xoxb-test-token")
    legacy.chat_postMessage(channel="C0ELDRE", text="Påminnelse")
    issued = _client(fake, fake.issue_bot_token(TEAM))
    assert _error(lambda: issued.chat_postMessage(channel="C0ELDRE", text="x")) == (
        "channel_not_found"
    )
    assert len(fake.messages["C0ELDRE"]) == 1


# --- installing: the authorize page and oauth.v2.access ------------------------------------


def test_an_install_through_the_authorize_page_gives_the_workspace_its_own_token(
    fake: FakeSlack,
) -> None:
    fake.next_authorize(TEAM_B, user_id=B_ADMIN)
    link = AuthorizeUrlGenerator(
        client_id=CLIENT_ID,
        scopes=SCOPES,
        redirect_uri=REDIRECT,
        authorization_url=f"{fake.base_url}/oauth/v2/authorize",
    ).generate(state="tilstand-1")

    page = httpx.get(link)

    assert page.status_code == 302
    back = urlsplit(page.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
    query = parse_qs(back.query)
    assert query["state"] == ["tilstand-1"] and "error" not in query
    response = _client(fake).oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=query["code"][0],
        redirect_uri=REDIRECT,
    )
    assert response.data == {
        "ok": True,
        "app_id": response["app_id"],
        "scope": "chat:write,commands,users:read",
        "token_type": "bot",
        "access_token": response["access_token"],
        "bot_user_id": B_BOT,
        "team": {"id": TEAM_B, "name": B_NAME},
        "enterprise": None,
        "authed_user": {"id": B_ADMIN},
        "is_enterprise_install": False,
    }
    assert response["access_token"].startswith("xoxb-") and response["app_id"].startswith("A")
    exchange = fake.calls_to("oauth.v2.access")[-1]
    # slack_sdk authenticates the app with HTTP Basic, not with body parameters.
    assert exchange.headers["authorization"].startswith("Basic ")
    assert "client_secret" not in exchange.args
    assert exchange.team_id == TEAM_B
    assert _client(fake, response["access_token"]).auth_test()["team_id"] == TEAM_B
    # The code was the user's one «Allow»: it does not work twice.
    again = _client(fake).oauth_v2_access
    assert (
        _error(
            lambda: again(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                code=query["code"][0],
                redirect_uri=REDIRECT,
            )
        )
        == "invalid_code"
    )


def test_a_user_who_cancels_on_the_authorize_page_is_sent_back_with_access_denied(
    fake: FakeSlack,
) -> None:
    fake.next_authorize(TEAM_B, user_id=B_ADMIN, deny=True)
    base = f"{fake.base_url}/oauth/v2/authorize"
    page = httpx.get(
        base,
        params={
            "client_id": CLIENT_ID,
            "scope": "commands",
            "state": "s2",
            "redirect_uri": REDIRECT,
        },
    )
    assert page.status_code == 302
    assert parse_qs(urlsplit(page.headers["location"]).query) == {
        "error": ["access_denied"],
        "state": ["s2"],
    }
    # A link with another app's client id is no install at all.
    fake.next_authorize(TEAM_B, user_id=B_ADMIN)
    wrong = httpx.get(
        base, params={"client_id": "999.999", "state": "s3", "redirect_uri": REDIRECT}
    )
    assert wrong.status_code == 400 and "location" not in wrong.headers


def test_oauth_v2_access_refuses_what_slack_refuses(fake: FakeSlack) -> None:
    code = fake.authorize(TEAM_B, user_id=B_ADMIN, scopes=SCOPES, redirect_uri=REDIRECT)
    access = _client(fake).oauth_v2_access

    def exchange(**kwargs: Any) -> str:
        given = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code}
        return _error(lambda: access(**{**given, "redirect_uri": REDIRECT, **kwargs}))

    assert exchange(client_id="999.999") == "invalid_client_id"
    assert exchange(client_secret="feil") == "bad_client_secret"
    assert exchange(redirect_uri="https://angriper.example/cb") == "bad_redirect_uri"
    assert exchange(redirect_uri=None) == "bad_redirect_uri"
    assert exchange(code="123.ukjent") == "invalid_code"
    assert exchange(grant_type="password") == "invalid_grant_type"
    # None of those used the code up; client credentials in the body work as well.
    body = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code": code,
        "redirect_uri": REDIRECT,
    }
    assert _client(fake).api_call("oauth.v2.access", data=body)["team"]["id"] == TEAM_B
    late = fake.authorize(TEAM_B, user_id=B_ADMIN, scopes=SCOPES)
    _shift_clock(fake, 601)  # Slack's codes last ten minutes
    assert (
        _error(lambda: access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=late))
        == "invalid_code"
    )


def test_bolt_reads_an_install_with_rotation_from_the_fake_as_from_slack(
    fake: FakeSlack, tmp_path: Any
) -> None:
    fake.configure_oauth(CLIENT_ID, CLIENT_SECRET, rotation=True)
    settings = OAuthSettings(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=SCOPES,
        redirect_uri=REDIRECT,
        installation_store=FileInstallationStore(base_dir=str(tmp_path / "inst")),
        state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "st")),
    )
    flow = OAuthFlow(client=_client(fake), settings=settings)
    code = fake.authorize(TEAM_B, user_id=B_ADMIN, scopes=SCOPES, redirect_uri=REDIRECT)

    installation = flow.run_installation(code)

    assert installation is not None
    assert (installation.team_id, installation.team_name, installation.user_id) == (
        TEAM_B,
        B_NAME,
        B_ADMIN,
    )
    assert installation.bot_user_id == B_BOT
    assert installation.bot_id == _client(fake, installation.bot_token).auth_test()["bot_id"]
    assert installation.bot_token and installation.bot_token.startswith("xoxe.xoxb-1-")
    assert installation.bot_refresh_token and installation.bot_refresh_token.startswith("xoxe-1-")
    assert installation.bot_token_expires_at is not None
    assert abs(installation.bot_token_expires_at - (time.time() + 43200)) < 60


# --- rotation and uninstall ----------------------------------------------------------------


def _installation(response: dict[str, Any]) -> Installation:
    return Installation(
        app_id=response["app_id"],
        team_id=response["team"]["id"],
        bot_token=response["access_token"],
        bot_user_id=response["bot_user_id"],
        bot_refresh_token=response["refresh_token"],
        bot_token_expires_in=response["expires_in"],
        user_id=response["authed_user"]["id"],
    )


def _rotator(fake: FakeSlack) -> TokenRotator:
    return TokenRotator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, client=_client(fake))


def test_token_rotation_issues_a_new_pair_and_the_old_refresh_token_works_once(
    fake: FakeSlack,
) -> None:
    fake.configure_oauth(CLIENT_ID, CLIENT_SECRET, rotation=True)
    installed = _installed(fake)
    assert installed["access_token"].startswith("xoxe.xoxb-1-")
    assert installed["refresh_token"].startswith("xoxe-1-")
    assert installed["expires_in"] == 43200
    old = _installation(installed)

    _shift_clock(fake, 3600)  # an hour later, within the rotator's margin of 12 hours
    rotated = _rotator(fake).perform_token_rotation(installation=old, minutes_before_expiration=720)

    assert rotated is not None and rotated.bot_token and rotated.bot_refresh_token
    assert rotated.bot_token.startswith("xoxe.xoxb-1-") and rotated.bot_token != old.bot_token
    assert rotated.bot_refresh_token.startswith("xoxe-1-")
    assert rotated.bot_refresh_token != old.bot_refresh_token
    assert fake.refresh_count(TEAM_B) == 1
    # Slack's refresh tokens are single-use: the old one is revoked at once.
    with pytest.raises(SlackTokenRotationError) as refused:
        _rotator(fake).perform_token_rotation(installation=old, minutes_before_expiration=720)
    assert refused.value.api_error.response["error"] == "invalid_refresh_token"
    assert fake.refresh_count(TEAM_B) == 1
    # The old access token lives out its own twelve hours; the new one outlives it.
    assert _client(fake, old.bot_token).auth_test()["team_id"] == TEAM_B
    _shift_clock(fake, 43200 - 3600)
    assert _error(_client(fake, old.bot_token).auth_test) == "token_expired"
    assert _client(fake, rotated.bot_token).auth_test()["team_id"] == TEAM_B
    # The refresh grant answers in oauth.v2.access's shape, without the installing user.
    fresh = _client(fake).oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=rotated.bot_refresh_token,
    )
    assert fresh["token_type"] == "bot" and fresh["team"] == {"id": TEAM_B, "name": B_NAME}
    assert fresh["scope"] == "chat:write,commands,users:read" and fresh["expires_in"] == 43200
    assert "authed_user" not in fresh.data
    assert fake.calls_to("oauth.v2.access")[-1].team_id == TEAM_B


def test_two_rotators_racing_with_one_refresh_token_rotate_once(fake: FakeSlack) -> None:
    fake.configure_oauth(CLIENT_ID, CLIENT_SECRET, rotation=True)
    installation = _installation(_installed(fake))
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def rotate() -> None:
        start.wait()
        try:
            _rotator(fake).perform_token_rotation(
                installation=installation, minutes_before_expiration=720
            )
            outcomes.append("rotated")
        except SlackTokenRotationError as err:
            outcomes.append(str(err.api_error.response["error"]))

    racers = [threading.Thread(target=rotate) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=10)

    assert sorted(outcomes) == ["invalid_refresh_token", "rotated"]
    assert fake.refresh_count(TEAM_B) == 1


def test_apps_uninstall_revokes_every_token_of_its_workspace_and_no_other(
    fake: FakeSlack,
) -> None:
    fake.configure_oauth(CLIENT_ID, CLIENT_SECRET, rotation=True)
    rotating = _installed(fake)
    lasting = fake.issue_bot_token(TEAM_B)
    a = fake.issue_bot_token(TEAM)
    b = _client(fake, lasting)

    wrong = _error(lambda: b.apps_uninstall(client_id=CLIENT_ID, client_secret="feil"))
    assert wrong == "bad_client_secret"
    b.chat_postMessage(channel=B_CHANNEL, text="Før")  # still installed

    assert b.apps_uninstall(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)["ok"] is True

    assert _error(lambda: b.chat_postMessage(channel=B_CHANNEL, text="Etter")) == "token_revoked"
    rotating_b = _client(fake, rotating["access_token"])
    assert _error(lambda: rotating_b.chat_postMessage(channel=B_CHANNEL, text="x")) == (
        "token_revoked"
    )
    refresh = _client(fake).oauth_v2_access
    assert (
        _error(
            lambda: refresh(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                grant_type="refresh_token",
                refresh_token=rotating["refresh_token"],
            )
        )
        == "invalid_refresh_token"
    )
    assert [m["text"] for m in fake.messages[B_CHANNEL]] == ["Før"]
    _client(fake, a).chat_postMessage(channel=CHANNEL, text="Andre går videre")
    assert [m["text"] for m in fake.messages[CHANNEL]] == ["Andre går videre"]
    # Installing again gives a token that works.
    again = _installed(fake)
    _client(fake, again["access_token"]).chat_postMessage(channel=B_CHANNEL, text="Tilbake")
    assert [m["text"] for m in fake.messages[B_CHANNEL]] == ["Før", "Tilbake"]


def test_the_latency_model_holds_for_the_oauth_endpoints() -> None:
    with FakeSlack(team_id=TEAM, latency=0.2) as fake:
        fake.configure_oauth(CLIENT_ID, CLIENT_SECRET)
        fake.next_authorize(TEAM, user_id=ADMIN)
        started = time.monotonic()
        page = httpx.get(
            f"{fake.base_url}/oauth/v2/authorize",
            params={"client_id": CLIENT_ID, "state": "s", "redirect_uri": REDIRECT},
        )
        to_page = time.monotonic() - started
        code = parse_qs(urlsplit(page.headers["location"]).query)["code"][0]
        started = time.monotonic()
        _client(fake).oauth_v2_access(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code, redirect_uri=REDIRECT
        )
        to_exchange = time.monotonic() - started
    # A new connection: two round trips of handshakes, then the call (0.6 s at 0.2 s).
    assert to_page >= 0.55 and to_exchange >= 0.55, (to_page, to_exchange)
