"""`dks-bot rapport`: the figures on stdout, the workbook or the CSV zip in a file."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli import cli
from bot.cli.report import plain
from storage.db import make_engine, session_scope, upgrade
from storage.feedback import QUESTION_KEYS
from storage.workspaces import set_workspace_language
from tests.feedback_helpers import load_world
from tests.test_report_figures import AFTER_2026, SECRET, TEAM, Sent, send


def run(args: list[str], db_url: str) -> Any:
    return CliRunner().invoke(
        cli,
        args,
        env={"DATABASE_URL": db_url, "DKS_SECRET_KEY": SECRET, "SLACK_BOT_TOKEN": ""},
        catch_exceptions=False,
    )


def world(tmp_path: Any) -> str:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    ids = load_world(engine, TEAM, AFTER_2026)
    send(
        engine,
        ids,
        [Sent("AS-H26-005", "U0A", dict.fromkeys(QUESTION_KEYS, 4), 150, True, "Flott")],
        AFTER_2026,
    )
    engine.dispose()
    return db_url


def test_the_cli_prints_the_figures_and_writes_the_workbook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db_url = world(tmp_path)
    target = tmp_path / "rapport.xlsx"
    done = run(["rapport", "2026", "--team", TEAM, "--ut", str(target)], db_url)
    assert done.exit_code == 0, done.output
    assert "DKS-rapport for 2026" in done.stdout
    assert "10 gjennomførte forestillinger, 1 avlyst, 6 produksjoner." in done.stdout
    assert "*" not in done.stdout.splitlines()[0]  # plain text, no mrkdwn
    assert f"Skrev rapporten for 2026 til {target}." in done.stderr
    book = load_workbook(target)
    assert book.sheetnames[0] == "Sammendrag" and "Diagrammer" in book.sheetnames
    summary = {row[0]: row[1] for row in book["Sammendrag"].iter_rows(values_only=True)}
    assert summary["Gjennomførte forestillinger"] == 10
    assert summary["Svar"] == 1


def test_the_cli_writes_a_csv_zip_in_the_workspace_language(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db_url = world(tmp_path)
    engine = make_engine(db_url)
    with session_scope(engine, write=True) as session:
        set_workspace_language(session=session, team_id=TEAM, language="nn")
    engine.dispose()
    target = tmp_path / "rapport.zip"
    done = run(["rapport", "2026", "--team", TEAM, "--ut", str(target)], db_url)
    assert done.exit_code == 0, done.output
    assert "Skreiv rapporten for 2026" in done.stderr
    assert "framsyningar" in done.stdout
    archive = zipfile.ZipFile(io.BytesIO(target.read_bytes()))
    assert archive.namelist()[0] == "01-sammendrag.csv"
    assert archive.read("01-sammendrag.csv").decode("utf-8-sig").startswith("Kva;Tal\r\n")
    explicit = run(
        ["rapport", "2026", "--team", TEAM, "--format", "csv", "--ut", str(tmp_path / "r.bin")],
        db_url,
    )
    assert explicit.exit_code == 0 and zipfile.is_zipfile(tmp_path / "r.bin")


def test_an_empty_year_and_wrong_use(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db_url = world(tmp_path)
    empty = run(["rapport", "2031", "--team", TEAM], db_url)
    assert empty.exit_code == 0
    assert "Ingen forestillinger i 2031" in empty.stdout
    wrong = run(["rapport", "2026", "--team", TEAM, "--format", "pdf"], db_url)
    assert wrong.exit_code == 2 and "xlsx eller csv" in wrong.stderr
    missing_dir = run(
        ["rapport", "2026", "--team", TEAM, "--ut", str(tmp_path / "nei" / "r.xlsx")], db_url
    )
    assert missing_dir.exit_code == 2 and "kunne ikke skrive" in missing_dir.stderr


def test_plain_text_for_a_terminal():
    assert plain("*Skoler*") == "Skoler"
    assert plain("_Elever til stede._") == "Elever til stede."
    assert plain(":warning: *Skoler uten DKS-besøk (2):* A &amp; B") == (
        "! Skoler uten DKS-besøk (2): A & B"
    )
    assert plain("Ås_skole og 2*3") == "Ås_skole og 2*3"
