"""`dks-bot påminnelser forhåndsvis` and `dks-bot scheduler` argument checks, with time travel."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli import cli
from storage.db import session_scope
from storage.models import Workspace, utcnow
from tests.helpers import add_deadline, add_meeting

TEAM = "T0CLI"


@pytest.fixture
def env(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Engine:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("BOT_TIMEZONE", "Europe/Oslo")
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with session_scope(sqlite_engine, write=True) as session:
        session.merge(Workspace(team_id=TEAM, seeded_at=utcnow(), reminder_channel_id="C0REM"))
    return sqlite_engine


def test_preview_prints_one_line_per_reminder_until_the_date(env: Engine) -> None:
    add_deadline(env, TEAM, "Årsrapportering", date(2021, 2, 12), rrule="FREQ=YEARLY")
    add_meeting(env, TEAM, "Nettverksmøte", date(2026, 12, 9), start_time=time(12, 0))
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False):
        result = CliRunner().invoke(
            cli, ["påminnelser", "forhåndsvis", "--til", "2027-03-01", "--team", TEAM]
        )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines == [
        "2026-12-02 09:00  T0CLI  #C0REM  møte: Nettverksmøte – 9. desember 2026, 7 dager før",
        "2026-12-08 09:00  T0CLI  #C0REM  møte: Nettverksmøte – 9. desember 2026, 1 dag før",
        "2026-12-09 09:00  T0CLI  #C0REM  møte: Nettverksmøte – 9. desember 2026, samme morgen",
        "2027-01-29 09:00  T0CLI  #C0REM  frist: Årsrapportering – 12. februar 2027, 14 dager før",
        "2027-02-05 09:00  T0CLI  #C0REM  frist: Årsrapportering – 12. februar 2027, 7 dager før",
        "2027-02-11 09:00  T0CLI  #C0REM  frist: Årsrapportering – 12. februar 2027, 1 dag før",
        "6 påminnelser fram til og med 1. mars 2027.",
    ]


def test_preview_says_when_nothing_would_be_sent(env: Engine) -> None:
    with session_scope(env, write=True) as session:
        ws = session.get(Workspace, TEAM)
        assert ws is not None
        ws.reminders_paused = True
    add_deadline(env, TEAM, "Rapport", date(2026, 12, 8))
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False):
        result = CliRunner().invoke(
            cli, ["paminnelser", "forhåndsvis", "--til", "2026-12-31", "--team", TEAM]
        )
    assert result.exit_code == 0, result.output
    assert "[pause: sendes ikke]" in result.output.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["påminnelser", "forhåndsvis", "--til", "1. mars"], "ÅÅÅÅ-MM-DD"),
        (["påminnelser", "forhåndsvis", "--til", "2020-01-01"], "passert"),
        (["påminnelser", "forhåndsvis", "--til", "2027-01-01", "--team", "T0NONE"], "T0NONE"),
    ],
)
def test_preview_refuses_bad_input(env: Engine, args: list[str], message: str) -> None:
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False):
        result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert message in result.output


def test_scheduler_needs_a_bot_token_and_a_sane_lease(env: Engine, monkeypatch: Any) -> None:
    result = CliRunner().invoke(cli, ["scheduler"])
    assert result.exit_code == 2 and "SLACK_BOT_TOKEN" in result.output
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    result = CliRunner().invoke(cli, ["scheduler", "--interval", "5", "--lease", "10"])
    assert result.exit_code == 2 and "--lease" in result.output
