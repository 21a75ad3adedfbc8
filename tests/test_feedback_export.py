"""Summaries and exports of stored feedback (SQLite and PostgreSQL), and the two CLI commands."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli import cli
from storage.db import session_scope
from storage.feedback import (
    AnswerInput,
    latest_comments,
    overview,
    production_summaries,
    purge_expired_keys,
    respondent_key,
    save_answer,
)
from storage.feedback_export import columns, export_rows, to_csv, to_xlsx
from storage.models import FeedbackAnswer
from storage.tourplan import get_performance
from tests.feedback_helpers import OSLO, SAMPLE, load_world
from tests.helpers import seeded_workspace

TEAM = "T0EXPORT"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SECRET = "s" * 40


def answer(
    engine: Engine,
    performance_id: int,
    user: str,
    *,
    overall: int = 5,
    anonymous: bool = False,
    free: str | None = None,
    now: datetime = NOW,
) -> None:
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
                ratings={
                    "overall": overall,
                    "artistic": 4,
                    "relevance": 3,
                    "pupils": 5,
                    "practical": 2,
                },
                comments={"artistic": "Sterke skuespillere" if not anonymous else None},
                pupil_hosts="ja",
                pupils_attended=120,
                free_comment=free,
                anonymous=anonymous,
            ),
            now=now,
        )


@pytest.fixture
def stored(engine: Engine) -> dict[str, int]:
    ids = load_world(engine, TEAM, NOW)
    answer(engine, ids["AS-H26-005"], "U0LAERER", overall=5, free="Flott – «æøå» og ÆØÅ")
    answer(engine, ids["AS-H26-005"], "U0ANNEN", overall=3, anonymous=True, free="Litt lang")
    answer(engine, ids["AS-H26-003"], "U0LAERER", overall=4)
    return ids


def test_summaries_count_answers_rates_and_averages(engine, stored):
    with session_scope(engine) as session:
        totals, found = overview(session=session, team_id=TEAM, now=NOW)
        summaries = {s.title: s for s in found}
        play = summaries["Brødrene Løvehjerte – en fortelling om mot"]
        assert (play.answers, play.answered_performances, play.held_performances) == (2, 1, 1)
        assert play.response_rate == 1.0
        assert play.averages["overall"] == pytest.approx(4.0)
        assert play.averages["practical"] == pytest.approx(2.0)
        strings = summaries["Strykere på skolebesøk"]
        assert (strings.answers, strings.held_performances, strings.response_rate) == (1, 2, 0.5)
        assert (totals.answers, totals.productions, totals.answered_performances) == (3, 2, 2)
        assert totals.held_performances == 5
        [only] = production_summaries(
            session=session, team_id=TEAM, now=NOW, production_ids=[play.production_id]
        )
        assert only == play
        comments = latest_comments(session=session, team_id=TEAM, production_id=play.production_id)
        by_text = {c.comments[-1].text: c for c in comments}
        anonymous = by_text["Litt lang"]
        assert anonymous.anonymous and anonymous.user_id is None
        named = by_text["Flott – «æøå» og ÆØÅ"]
        assert named.user_id == "U0LAERER" and named.school == "Ås ungdomsskole"
        assert [c.question for c in named.comments] == ["artistic", None]


def test_keys_are_forgotten_when_the_edit_window_closes(engine, stored):
    with session_scope(engine, write=True) as session:
        assert purge_expired_keys(session=session, now=NOW + timedelta(days=13)) == 0
    with session_scope(engine, write=True) as session:
        assert purge_expired_keys(session=session, now=NOW + timedelta(days=14)) == 3
    with session_scope(engine) as session:
        from sqlmodel import select

        rows = session.exec(select(FeedbackAnswer)).all()
        assert {r.respondent_key for r in rows} == {None}
        assert sorted(str(r.user_id) for r in rows) == ["None", "U0LAERER", "U0LAERER"]


def test_csv_opens_in_excel_and_xlsx_keeps_types(engine, stored):
    with session_scope(engine) as session:
        rows = list(export_rows(session=session, team_id=TEAM, tz=OSLO))
        november = list(
            export_rows(
                session=session,
                team_id=TEAM,
                tz=OSLO,
                start=date(2026, 11, 21),
                end=date(2026, 11, 24),
            )
        )
    assert len(rows) == 3 and len(november) == 2
    raw = to_csv(rows)
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == columns()
    header = {name: i for i, name in enumerate(table[0])}
    first = table[1]  # ordered by performance: the strings on 20 November come first
    assert first[header["Produksjon"]] == "Strykere på skolebesøk"
    assert first[header["Dato"]] == "20.11.2026" and first[header["Start"]] == "10:00"
    named = next(r for r in table[1:] if r[header["Anonymt"]] == "nei" and "Flott" in r[-2])
    assert named[header["Fritekst"]] == "Flott – «æøå» og ÆØÅ"
    assert named[header["Kunstnerisk kvalitet (1–5)"]] == "4"
    assert named[header["Elevarrangører deltok"]] == "ja"
    assert all("U0" not in cell for row in table for cell in row)  # nobody named in the file

    book = load_workbook(io.BytesIO(to_xlsx(rows)))
    sheet = book["Tilbakemeldinger"]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == columns()
    assert isinstance(values[1][header["Dato"]], datetime)
    assert values[1][header["Helhetsinntrykk (1–5)"]] == 4
    assert values[1][header["Skole"]] == "Nordby skole"
    assert sheet.freeze_panes == "A2"


def run_cli(args: list[str], db_url: str, tmp_path: Any) -> Any:
    runner = CliRunner()
    return runner.invoke(
        cli,
        args,
        env={"DATABASE_URL": db_url, "DKS_SECRET_KEY": SECRET, "SLACK_BOT_TOKEN": ""},
        catch_exceptions=False,
    )


def test_cli_import_is_idempotent_and_refuses_bad_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    from storage.db import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    seeded_workspace(engine, TEAM)  # --team names a workspace that exists
    engine.dispose()
    first = run_cli(["import", "turneplan", str(SAMPLE), "--team", TEAM], db_url, tmp_path)
    assert first.exit_code == 0, first.output
    assert "22 nye forestillinger, 0 endret, 0 uendret; 11 nye produksjoner" in first.stdout
    again = run_cli(["import", "turneplan", str(SAMPLE), "--team", TEAM], db_url, tmp_path)
    assert "0 nye forestillinger, 0 endret, 22 uendret" in again.stdout

    bad = tmp_path / "feil.csv"
    bad.write_text(
        "forestilling_id;produksjon;kunstuttrykk;skole;dato;start;slutt\n"
        "X1;Jazz;musikk;Ås skole;24.11.2026;10:00;09:00\n"
        "X2;Jazz;dans;Ås skole;25.11.2026;10:00;11:00\n",
        encoding="utf-8",
    )
    refused = run_cli(["import", "turneplan", str(bad), "--team", TEAM], db_url, tmp_path)
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        f"Ingenting ble importert. Rett opp dette i {bad} og prøv igjen:",
        "  Linje 2: «slutt» (09:00) må være etter «start» (10:00).",
        "  Linje 3: «kunstuttrykk» må være musikk, scenekunst, visuell kunst, film, litteratur, "
        "kulturarv eller tverrkunstnerisk (fikk «dans»).",
    ]
    missing = run_cli(["import", "turneplan", str(tmp_path / "finnes-ikke.csv")], db_url, tmp_path)
    assert missing.exit_code == 2 and "finner ikke filen" in missing.stderr


def test_cli_export_writes_csv_and_xlsx(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    from storage.db import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    ids = load_world(engine, TEAM, NOW)
    answer(engine, ids["AS-H26-005"], "U0LAERER", free="Kjempebra på Ås")
    answer(engine, ids["AS-H26-001"], "U0LAERER")
    engine.dispose()

    out = run_cli(
        ["export", "tilbakemeldinger", "--fra", "2026-11-20", "--team", TEAM], db_url, tmp_path
    )
    assert out.exit_code == 0, out.output
    lines = out.stdout_bytes.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "Kjempebra på Ås" in lines[1]

    target = tmp_path / "rapport.xlsx"
    done = run_cli(
        [
            "export",
            "tilbakemeldinger",
            "--format",
            "xlsx",
            "--ut",
            str(target),
            "--til",
            "30.11.2026",
            "--team",
            TEAM,
        ],
        db_url,
        tmp_path,
    )
    assert done.exit_code == 0 and "Skrev 2 svar til" in done.stderr
    sheet = load_workbook(target)["Tilbakemeldinger"]
    assert sheet.max_row == 3

    wrong = run_cli(["export", "tilbakemeldinger", "--format", "pdf"], db_url, tmp_path)
    assert wrong.exit_code == 2 and "csv eller xlsx" in wrong.stderr
    wrong = run_cli(["export", "tilbakemeldinger", "--fra", "i fjor"], db_url, tmp_path)
    assert wrong.exit_code == 2 and "--fra må være en dato" in wrong.stderr
