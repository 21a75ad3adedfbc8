"""Settings the hardening needs (issue #12, defects 4 and 6): the feed's address from
PUBLIC_URL only, and a DKS_SECRET_KEY that every long-running process insists on.
"""

from __future__ import annotations

import re
import stat
from dataclasses import replace

import pytest

from bot.settings import Settings, SettingsError
from bot.shell.signing import signed_headers
from tests.conftest import TEAM
from tests.helpers import seeded_workspace
from tests.test_cli import assert_one_clean_line, run

PUBLIC_URL = "https://dks.kommune.example"
EVIL = "evil.example.com"


def kalender(slack, text: str = "kalender") -> str:  # type: ignore[no-untyped-def]
    """`/dks <text>` sent with a forged X-Forwarded-Host and Host, as in a replayed request."""
    body = slack.command_body(text)
    headers = signed_headers(slack.settings.slack_signing_secret, body)
    headers["x-forwarded-host"] = EVIL
    headers["x-forwarded-proto"] = "https"
    response = slack.post(body, headers=headers)
    assert response.status_code == 200
    return response.text


def test_the_feed_address_comes_from_public_url_never_from_the_request(
    make_driver, sqlite_engine, settings
):
    slack = make_driver(sqlite_engine)
    slack.services.settings = replace(settings, public_url=PUBLIC_URL)
    slack.settings = slack.services.settings
    seeded_workspace(sqlite_engine, TEAM)
    for text in ("kalender", "kalender ny"):
        answer = kalender(slack, text)
        assert EVIL not in answer
        assert re.search(re.escape(PUBLIC_URL) + r"/kalender/[A-Za-z0-9_-]+\.ics", answer), answer


def test_without_public_url_kalender_says_how_to_set_it(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    answer = kalender(slack)
    assert EVIL not in answer and "/kalender/" not in answer
    assert "PUBLIC_URL" in answer
    assert "kalenderen som fil" in answer, "the file still works"


@pytest.mark.parametrize(
    "value",
    ["dks.kommune.no", "ftp://dks.kommune.no", "https://", "https://x.no/?a=1", "https://u:p@x.no"],
)
def test_a_malformed_public_url_is_named(value):
    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        Settings.from_env({"PUBLIC_URL": value}, dotenv_path=None)


def test_public_url_keeps_a_path_prefix_without_its_trailing_slash():
    settings = Settings.from_env({"PUBLIC_URL": "https://x.no/dks/"}, dotenv_path=None)
    assert settings.public_url == "https://x.no/dks"


# --- DKS_SECRET_KEY ----------------------------------------------------------------------------

SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
    "SLACK_SIGNING_SECRET": "s" * 32,
    "SLACK_APP_TOKEN": "xapp-1-A1-1-abc",
}


@pytest.mark.parametrize("command", [["serve"], ["scheduler"], ["run"]])
def test_long_running_processes_refuse_to_start_without_a_secret_key(tmp_path, command):
    result = run(tmp_path, *command, env=SLACK)
    assert result.returncode == 2, (result.stdout, result.stderr)
    line = assert_one_clean_line(result, "DKS_SECRET_KEY", "secrets.token_hex(32)")
    assert ".env" in line
    assert not (tmp_path / "dks.db").exists(), "nothing starts"


def test_the_shell_makes_a_secret_key_and_keeps_it_in_dotenv(tmp_path):
    (tmp_path / ".env").write_text("BOT_TIMEZONE=Europe/Oslo\n")
    first = run(tmp_path, "shell", "-c", "/dks hjelp")
    assert first.returncode == 0, first.stderr
    kept = (tmp_path / ".env").read_text()
    assert "BOT_TIMEZONE=Europe/Oslo" in kept
    key = re.search(r"^DKS_SECRET_KEY=([0-9a-f]{64})$", kept, re.MULTILINE)
    assert key, kept
    second = run(tmp_path, "shell", "-c", "/dks hjelp")
    assert second.returncode == 0
    assert (tmp_path / ".env").read_text() == kept, "the same key on the next run"
    assert Settings.from_env({}, dotenv_path=tmp_path / ".env").secret_key == key.group(1)


def test_a_new_dotenv_with_the_key_is_readable_by_its_owner_only(tmp_path):
    assert run(tmp_path, "shell", "-c", "/dks hjelp").returncode == 0
    mode = stat.S_IMODE((tmp_path / ".env").stat().st_mode)
    assert mode == 0o600
