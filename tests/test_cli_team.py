"""Which workspace a `dks-bot` command works on (`--team`), run as a user runs it: the
installed script in a subprocess, asking the fake Slack over HTTP where it asks Slack.

The rule (issue #13): `--team` must name a workspace that exists; without it, the only
installed workspace (OAuth), or SLACK_BOT_TOKEN's own team from `auth.test`; otherwise the
choices are listed and the command exits 2. Nothing is ever written to a workspace that does
not exist, and nothing lands in the local shell's workspace unless it is named.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli import cli
from bot.shell.fakeslack import FakeSlack, Fault
from bot.shell.shell import SHELL_TEAM
from storage.dataprotection import EXCLUDED_TABLES
from storage.db import make_engine, session_scope, upgrade
from storage.installations import SealedInstallationStore, token_cipher
from storage.models import Workspace, utcnow
from tests.conftest import TEAM
from tests.feedback_helpers import SAMPLE
from tests.test_cli import GOOD_CALENDAR, assert_one_clean_line, run

TOKEN = "xoxb-test-token"
CLIENT_ID = "1111.2222"
TEAM_A, TEAM_B = "T0AAA", "T0BBB"
# Tables of slack_sdk's stores and Alembic's: not workspace data written by a command.
# The installation store's own tables, and those that hold no workspace's data at all.
NOT_WORKSPACE_DATA = ("slack_bots", "slack_installations", *EXCLUDED_TABLES)
CONTACTS = "navn;rolle;skole;kommune\nÅse Ødegård;kulturkontakt;Åsen skole;Ås\n"


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    (tmp_path / "kalender.yaml").write_text(GOOD_CALENDAR, encoding="utf-8")
    return tmp_path


@pytest.fixture
def database(db_url: str) -> Iterator[tuple[str, Engine]]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield db_url, engine
    engine.dispose()


def rows_by_team(engine: Engine) -> dict[str, dict[str, int]]:
    """Every workspace-data table's rows, counted per workspace (from the live schema, so a
    new table is counted too)."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    counts: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in NOT_WORKSPACE_DATA:
                continue
            query = sa.select(table.c.team_id, sa.func.count()).group_by(table.c.team_id)
            for team_id, count in conn.execute(query):
                counts.setdefault(team_id, {})[table.name] = count
    return counts


def token_env(fake: FakeSlack, db_url: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake.api_url, "DATABASE_URL": db_url}


def oauth_env(db_url: str, key: str) -> dict[str, str]:
    return {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": "s3cret",
        "DKS_TOKEN_KEY": key,
        "DATABASE_URL": db_url,
    }


def install(engine: Engine, key: str, team_id: str, name: str) -> None:
    """A workspace installed through «Add to Slack», as the install flow stores it."""
    store = SealedInstallationStore(client_id=CLIENT_ID, engine=engine, cipher=token_cipher([key]))
    store.save(
        Installation(
            app_id="A0DKSBOT",
            team_id=team_id,
            team_name=name,
            user_id="U0INSTALLER",
            bot_token=f"xoxb-{team_id}-token",
            bot_id=f"B{team_id}",
            bot_user_id=f"U{team_id}BOT",
            bot_scopes="commands,chat:write",
        )
    )


def add_workspace(engine: Engine, team_id: str) -> None:
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=team_id, seeded_at=utcnow()))


# --- single workspace (SLACK_BOT_TOKEN) -------------------------------------------------------


def test_an_import_before_anyone_talked_to_the_bot_lands_in_the_tokens_team(
    cwd: Path, fake_slack: FakeSlack, database: tuple[str, Engine]
) -> None:
    db_url, engine = database
    result = run(cwd, "import", "kalender", "kalender.yaml", env=token_env(fake_slack, db_url))
    assert result.returncode == 0, result.stderr
    assert f"Importert til {TEAM}." in result.stdout
    [call] = fake_slack.calls_to("auth.test")
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    written = rows_by_team(engine)
    assert set(written) == {TEAM}, written
    assert written[TEAM]["deadline"] == written[TEAM]["meeting"] == written[TEAM]["contact"] == 1
    assert SHELL_TEAM not in written


def test_team_may_name_the_tokens_team_or_a_workspace_the_database_holds(
    cwd: Path, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'dks.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    add_workspace(engine, TEAM_A)
    env = token_env(fake_slack, db_url)
    own = run(cwd, "import", "kalender", "kalender.yaml", "--team", TEAM, env=env)
    assert own.returncode == 0, own.stderr
    assert len(fake_slack.calls_to("auth.test")) == 1
    held = run(cwd, "export", "kalender", "--team", TEAM_A, env=env)
    assert held.returncode == 0, held.stderr
    assert held.stdout.startswith("BEGIN:VCALENDAR")
    # A workspace the database holds needs no question to Slack.
    assert len(fake_slack.calls_to("auth.test")) == 1
    assert set(rows_by_team(engine)) == {TEAM, TEAM_A}
    engine.dispose()


def test_an_unknown_team_exits_2_listing_the_choices_and_writes_nothing(
    cwd: Path, fake_slack: FakeSlack, database: tuple[str, Engine]
) -> None:
    db_url, engine = database
    add_workspace(engine, TEAM_A)
    before = rows_by_team(engine)
    result = run(
        cwd,
        "import",
        "kalender",
        "kalender.yaml",
        "--team",
        "T0NOPE",
        env=token_env(fake_slack, db_url),
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "«T0NOPE»" in output
    # The choices: the workspace the database holds, and the token's own, with its name.
    assert f"--team {TEAM_A}\n" in output
    assert f"--team {TEAM}  (DKS)" in output
    assert rows_by_team(engine) == before


@pytest.mark.parametrize(
    "command",
    [
        ["import", "kalender", "kalender.yaml"],
        ["import", "kontakter", "kontakter.csv"],
        ["import", "turneplan", "turneplan.csv"],
        ["export", "kalender"],
        ["export", "tilbakemeldinger"],
        ["påminnelser", "forhåndsvis", "--til", "2099-01-01"],
    ],
)
def test_every_workspace_command_checks_team(
    cwd: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    (cwd / "kontakter.csv").write_text(CONTACTS, encoding="utf-8")
    (cwd / "turneplan.csv").write_bytes(SAMPLE.read_bytes())
    monkeypatch.chdir(cwd)  # no stray .env
    db_url = f"sqlite:///{cwd / 'dks.db'}"
    result = CliRunner().invoke(
        cli, [*command, "--team", "T0NOPE"], env=token_env(fake_slack, db_url)
    )
    assert result.exit_code == 2, result.output
    assert "«T0NOPE»" in result.stderr and f"--team {TEAM}" in result.stderr
    engine = make_engine(db_url)
    assert rows_by_team(engine) == {}
    engine.dispose()


def test_a_token_slack_refuses_is_one_clear_line(cwd: Path, fake_slack: FakeSlack) -> None:
    fake_slack.fail("auth.test", Fault(error="invalid_auth"))
    db_url = f"sqlite:///{cwd / 'dks.db'}"
    result = run(cwd, "import", "kalender", "kalender.yaml", env=token_env(fake_slack, db_url))
    assert result.returncode == 2
    line = assert_one_clean_line(result, "SLACK_BOT_TOKEN", "invalid_auth")
    assert TOKEN not in line
    engine = make_engine(db_url)
    assert rows_by_team(engine) == {}
    engine.dispose()


def test_slack_out_of_reach_is_one_clear_line(cwd: Path) -> None:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    result = run(cwd, "export", "kalender", env=env)
    assert result.returncode == 2
    assert_one_clean_line(result, "fikk ikke kontakt med Slack", "127.0.0.1:9", "--team")


# --- many workspaces (OAuth) ------------------------------------------------------------------


def test_oauth_uses_the_only_installed_workspace(cwd: Path, database: tuple[str, Engine]) -> None:
    db_url, engine = database
    key = Fernet.generate_key().decode()
    install(engine, key, TEAM_A, "Ås kommune")
    result = run(cwd, "import", "kalender", "kalender.yaml", env=oauth_env(db_url, key))
    assert result.returncode == 0, result.stderr
    assert f"Importert til {TEAM_A}." in result.stdout
    assert set(rows_by_team(engine)) == {TEAM_A}


def test_oauth_with_two_installed_workspaces_and_no_team_lists_both(
    cwd: Path, database: tuple[str, Engine]
) -> None:
    db_url, engine = database
    key = Fernet.generate_key().decode()
    install(engine, key, TEAM_A, "Ås kommune")
    install(engine, key, TEAM_B, "Vestby kommune")
    env = oauth_env(db_url, key)
    result = run(cwd, "import", "kalender", "kalender.yaml", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"--team {TEAM_A}  (Ås kommune)" in result.stderr
    assert f"--team {TEAM_B}  (Vestby kommune)" in result.stderr
    assert SHELL_TEAM not in result.stderr
    assert rows_by_team(engine) == {}

    chosen = run(cwd, "import", "kalender", "kalender.yaml", "--team", TEAM_B, env=env)
    assert chosen.returncode == 0, chosen.stderr
    assert set(rows_by_team(engine)) == {TEAM_B}
    # A workspace that is not installed (nor in the database) is not there to write to.
    other = run(cwd, "import", "kalender", "kalender.yaml", "--team", "T0NOPE", env=env)
    assert other.returncode == 2 and "«T0NOPE»" in other.stderr
    assert set(rows_by_team(engine)) == {TEAM_B}


def test_oauth_with_nothing_installed_says_so(cwd: Path) -> None:
    env = oauth_env(f"sqlite:///{cwd / 'dks.db'}", Fernet.generate_key().decode())
    result = run(cwd, "export", "kalender", env=env)
    assert result.returncode == 2
    assert "ikke installert i noe arbeidsområde" in result.stderr
    assert SHELL_TEAM not in result.stderr


# --- no Slack settings: the local shell's workspace, only when named --------------------------


def test_without_slack_settings_nothing_lands_in_the_shell_unless_named(cwd: Path) -> None:
    result = run(cwd, "import", "kalender", "kalender.yaml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"--team {SHELL_TEAM}  (det lokale skallet, dks-bot shell)" in result.stderr
    engine = make_engine(f"sqlite:///{cwd / 'dks.db'}")
    assert rows_by_team(engine) == {}

    named = run(cwd, "import", "kalender", "kalender.yaml", "--team", SHELL_TEAM)
    assert named.returncode == 0, named.stderr
    assert set(rows_by_team(engine)) == {SHELL_TEAM}
    engine.dispose()
    shell = run(
        cwd, "shell", "--database", f"sqlite:///{cwd / 'dks.db'}", "-c", "/dks kontakt ødegård"
    )
    assert "Åse Ødegård – kulturkontakt" in shell.stdout
