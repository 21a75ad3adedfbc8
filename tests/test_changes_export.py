"""The change requests as one file for the county (storage.changes_export, handlers.changes.
export, `dks-bot export endringer`): one row per request, Norwegian headers (the workspace's
language), CSV with BOM and «;», XLSX with real dates, and nothing anyone wrote becomes a
formula."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from slack_sdk import WebClient
from sqlalchemy import Engine

from handlers.changes.export import build_export, render_export, send_to_dm
from handlers.core.access import Actor
from storage.changes import file_request, set_status, withdraw_request
from storage.changes_export import columns, export_rows, to_csv, to_xlsx
from storage.db import make_engine, session_scope, upgrade
from storage.workspaces import set_workspace_language
from tests.changes_world import (
    COORDINATOR,
    KARI,
    NOW,
    OLA,
    OSLO,
    TEAM,
    build_world,
    opened_round,
    request_input,
)
from tests.conftest import SlackDriver
from tests.test_cli import run

HEADER = [
    "Skole",
    "Kommune",
    "Produksjon",
    "Forestilling-ID",
    "Dato",
    "Start",
    "Grunn",
    "Ønsket tidspunkt",
    "Kontaktperson",
    "Kommentar",
    "Status",
    "Meldt",
]


def _fill(engine: Engine) -> int:
    """Four requests in a round, one of them withdrawn; returns the round id."""
    world = build_world(engine)
    round_id = opened_round(engine).round.id

    def file(school: str, key: str, user: str, coordinator: bool = False, **fields) -> int:
        with session_scope(engine, write=True) as session:
            return file_request(
                session=session,
                team_id=TEAM,
                round_id=round_id,
                data=request_input(session, world[school], key, **fields),
                user_id=user,
                as_coordinator=coordinator,
                now=NOW,
                tz=OSLO,
            ).id

    first = file(
        "Ås ungdomsskole",
        "AS-1",
        KARI,
        wished_time=time(9, 0),
        comment='=HYPERLINK("http://example.com","Klikk")\nAndre linje',
    )
    file(
        "Brekke skole",
        "BR-1",
        OLA,
        reason="pupils",
        wished_date=None,
        wished_week=51,
        contact_person="+47 900 00 000",
        comment="Vi er 60 elever, ikke 40.",
    )
    file(
        "Vestby skole",
        "VE-1",
        COORDINATOR,
        coordinator=True,
        reason="venue",
        wished_date=None,
        contact_person=None,
        comment="Gymsalen pusses opp; bruk aulaen.",
    )
    gone = file("Nordby skole", "NO-1", KARI)
    with session_scope(engine, write=True) as session:
        withdraw_request(
            session=session,
            team_id=TEAM,
            request_id=gone,
            user_id=KARI,
            as_coordinator=False,
            now=NOW,
            tz=OSLO,
        )
        set_status(
            session=session,
            team_id=TEAM,
            request_id=first,
            status="sent",
            user_id=COORDINATOR,
            now=NOW,
            tz=OSLO,
        )
    return round_id


def test_csv_opens_in_excel_one_row_per_request_and_nothing_is_a_formula(engine: Engine) -> None:
    round_id = _fill(engine)
    with session_scope(engine) as session:
        rows = export_rows(session=session, team_id=TEAM, round_id=round_id, tz=OSLO)
    raw = to_csv(rows)
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert table[0] == HEADER == columns()
    # Sorted as Norwegian does: Vestby before Ås; the withdrawn request is not there.
    assert table[1:] == [
        [
            "Vestby skole",
            "Vestby",
            "Dansen i oss",
            "VE-1",
            "09.12.2026",
            "11:00",
            "lokale",
            "",
            "",
            "Gymsalen pusses opp; bruk aulaen.",
            "ny",
            "24.11.2026 10:00",
        ],
        [
            "Brekke skole",
            "Ås",
            "Strykere på skolebesøk",
            "BR-1",
            "08.12.2026",
            "10:00",
            "for mange/få elever",
            "hvilken som helst dag i uke 51 (2026)",
            "'+47 900 00 000",
            "Vi er 60 elever, ikke 40.",
            "ny",
            "24.11.2026 10:00",
        ],
        [
            "Ås ungdomsskole",
            "Ås",
            "Fyrvokterens dagbok",
            "AS-1",
            "03.12.2026",
            "10:00",
            "elevfri dag",
            "10.12.2026 kl. 09:00",
            "Kari Kulturkontakt, 900 00 000",
            '\'=HYPERLINK("http://example.com","Klikk")\nAndre linje',
            "sendt til fylket",
            "24.11.2026 10:00",
        ],
    ]
    assert all("U0" not in cell for row in table for cell in row)  # who filed is not in it


def test_xlsx_keeps_dates_and_keeps_text_text(engine: Engine) -> None:
    round_id = _fill(engine)
    with session_scope(engine) as session:
        rows = export_rows(session=session, team_id=TEAM, round_id=round_id, tz=OSLO)
    book = load_workbook(io.BytesIO(to_xlsx(rows)))
    sheet = book["Endringsønsker"]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == HEADER
    assert len(values) == 4
    last = dict(zip(HEADER, values[3], strict=True))
    assert last["Dato"] == datetime(2026, 12, 3)
    assert last["Start"] == time(10, 0)
    assert last["Meldt"] == datetime(2026, 11, 24, 10, 0)
    assert last["Status"] == "sendt til fylket"
    comment = sheet.cell(row=4, column=HEADER.index("Kommentar") + 1)
    assert comment.data_type == "s" and comment.value.startswith("=HYPERLINK")
    assert sheet.freeze_panes == "A2"


@pytest.mark.parametrize(
    ("language", "sheet", "header", "words"),
    [
        ("nn", "Endringsønske", "Skule", ["elevfri dag", "sendt til fylket"]),
        ("en", "Change requests", "School", ["pupils' day off", "sent to the county"]),
    ],
)
def test_the_file_speaks_the_workspaces_language(
    engine: Engine, language: str, sheet: str, header: str, words: list[str]
) -> None:
    round_id = _fill(engine)
    with session_scope(engine) as session:
        rows = export_rows(session=session, team_id=TEAM, round_id=round_id, tz=OSLO)
    book = load_workbook(io.BytesIO(render_export("xlsx", rows, language=language)))
    values = list(book[sheet].iter_rows(values_only=True))
    assert values[0][0] == header
    cells = {str(v) for row in values for v in row}
    assert all(word in cells for word in words)
    text = render_export("csv", rows, language=language).decode("utf-8-sig")
    assert text.splitlines()[0].split(";")[0] == header


def test_the_button_sends_the_file_in_a_dm_in_the_workspaces_language(
    slack: SlackDriver,
) -> None:
    engine = slack.services.engine
    round_id = _fill(engine)
    with session_scope(engine, write=True) as session:
        set_workspace_language(session=session, team_id=TEAM, language="nn")
    client = WebClient(token="xoxb-test-token", base_url=slack.fake.api_url)
    count = send_to_dm(slack.services, client, Actor(TEAM, COORDINATOR), "csv", round_id)
    assert count == 3
    (upload,) = [u for u in slack.fake.uploads.values() if u.get("initial_comment")]
    assert upload["filename"] == f"dks-endringsonske-{slack.services.today().isoformat()}.csv"
    assert upload["content"].decode("utf-8-sig").startswith("Skule;Kommune;")
    # Without a round id: the newest round.
    assert build_export(slack.services, TEAM, "xlsx")[2] == 3


def test_cli_export_writes_the_format_its_file_name_says(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    upgrade(engine)
    _fill(engine)
    engine.dispose()
    done = run(tmp_path, "export", "endringer", "--ut", "fylket.xlsx", "--team", TEAM)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "Skrev 3 endringsønsker til fylket.xlsx."
    book = load_workbook(tmp_path / "fylket.xlsx")
    assert len(list(book["Endringsønsker"].iter_rows())) == 4
    both = run(tmp_path, "export", "endringer", "--trukket", "--ut", "alle.csv", "--team", TEAM)
    assert both.returncode == 0, both.stderr
    lines = (tmp_path / "alle.csv").read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Skole;Kommune;") and any(";trukket;" in line for line in lines)


def test_cli_export_without_a_round_says_how_to_open_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    upgrade(engine)
    build_world(engine)
    engine.dispose()
    refused = run(tmp_path, "export", "endringer", "--ut", "fylket.csv", "--team", TEAM)
    assert refused.returncode == 2
    assert "Ingen runde med endringsønsker er åpnet ennå" in refused.stderr
    assert not (tmp_path / "fylket.csv").exists()
