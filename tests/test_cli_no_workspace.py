"""A command that reads a workspace's data, run before any workspace exists (issue #15).

`dks-bot påminnelser forhåndsvis` used to say «0 påminnelser» and `dks-bot export kalender`
to print an empty calendar, exit 0, as if all were well. Now each says that no workspace
exists yet and how one is made (the way this installation makes them: the local shell, Slack
with one token, «Add to Slack»), in one line on stderr, writes nothing, and exits 2. Run as a
user runs it: the installed script in a subprocess on a fresh database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.shell.fakeslack import FakeSlack
from bot.shell.shell import SHELL_TEAM
from storage.db import make_engine, upgrade
from tests.conftest import TEAM
from tests.test_cli import assert_one_clean_line, run
from tests.test_cli_team import TEAM_A, install, oauth_env, rows_by_team, token_env

# Every command that reads a workspace's data (the imports make the workspace they fill).
READING_COMMANDS = [
    ["påminnelser", "forhåndsvis", "--til", "2099-01-01"],
    ["export", "kalender"],
    ["export", "kalender", "--ut", "dks.ics"],
    ["export", "tilbakemeldinger"],
    ["export", "endringer"],
    ["rapport", "2026"],
]
# The exit code for «no workspace yet»: the same as for an unknown --team (wrong use).
NO_WORKSPACE = 2


def _fresh(cwd: Path) -> str:
    url = f"sqlite:///{cwd / 'dks.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _nothing_stored(cwd: Path) -> None:
    engine = make_engine(f"sqlite:///{cwd / 'dks.db'}")
    assert rows_by_team(engine) == {}
    engine.dispose()
    assert not (cwd / "dks.ics").exists()


@pytest.mark.parametrize("command", READING_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_without_slack_and_a_fresh_database_it_points_at_the_shell(
    tmp_path: Path, command: list[str]
) -> None:
    result = run(tmp_path, *command)
    assert result.returncode == NO_WORKSPACE, result.stdout + result.stderr
    assert result.stdout == ""  # no «0 påminnelser», no empty calendar
    line = assert_one_clean_line(
        result, "det finnes ingen arbeidsområder i databasen ennå", "dks-bot shell"
    )
    assert f"--team {SHELL_TEAM}" in line and "Slack set-up" in line
    # Naming the shell's workspace before the shell has made it says the same.
    named = run(tmp_path, *command, "--team", SHELL_TEAM)
    assert named.returncode == NO_WORKSPACE and named.stdout == ""
    assert_one_clean_line(named, "ingen arbeidsområder i databasen ennå", "dks-bot shell")
    _nothing_stored(tmp_path)


def test_once_the_shell_has_made_its_workspace_the_same_commands_work(tmp_path: Path) -> None:
    refused = run(tmp_path, "export", "kalender")
    assert refused.returncode == NO_WORKSPACE
    # The advice, followed word for word: the shell in the database the command reads.
    database = f"sqlite:///{tmp_path / 'dks.db'}"
    assert f"«dks-bot shell --database {database}»" in refused.stderr
    shell = run(tmp_path, "shell", "--database", database, "--uten-omvisning", "-c", "/dks hjelp")
    assert shell.returncode == 0, shell.stderr
    exported = run(tmp_path, "export", "kalender", "--team", SHELL_TEAM)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in exported.stdout
    preview = run(
        tmp_path, "påminnelser", "forhåndsvis", "--til", "2099-01-01", "--team", SHELL_TEAM
    )
    assert preview.returncode == 0, preview.stderr
    assert "fram til og med 1. januar 2099." in preview.stdout


def test_with_a_token_it_says_the_workspace_comes_when_the_bot_is_first_used(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    env = token_env(fake_slack, _fresh(tmp_path))
    for command in (READING_COMMANDS[0], READING_COMMANDS[1]):
        for named in ([], ["--team", TEAM]):
            result = run(tmp_path, *command, *named, env=env)
            assert result.returncode == NO_WORKSPACE, result.stdout + result.stderr
            assert result.stdout == ""
            line = assert_one_clean_line(
                result, f"arbeidsområdet {TEAM} finnes ikke i databasen ennå", "/dks hjelp"
            )
            assert "xoxb-" not in line
    _nothing_stored(tmp_path)


def test_with_oauth_an_installation_without_its_workspace_says_how_to_install(
    tmp_path: Path,
) -> None:
    url = _fresh(tmp_path)
    key = Fernet.generate_key().decode()
    engine = make_engine(url)
    install(engine, key, TEAM_A, "Ås kommune")
    engine.dispose()
    env = {**oauth_env(url, key), "PUBLIC_URL": "https://dks.example.no"}
    result = run(tmp_path, "export", "kalender", env=env)
    assert result.returncode == NO_WORKSPACE and result.stdout == ""
    assert_one_clean_line(
        result,
        f"arbeidsområdet {TEAM_A} finnes ikke i databasen ennå",
        "«Add to Slack» på https://dks.example.no/slack/install",
    )
