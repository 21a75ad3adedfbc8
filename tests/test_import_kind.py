"""The Home tab's «Importer» tells a calendar, a contacts list and a tour plan apart by what
the file holds (its top-level keys, its columns), never by its name: the bundled files under
misleading names get the same preview as under their own, and a file that is none of the three
gets one friendly message naming them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from handlers.imports.forms import FILE_BLOCK, IMPORT_CONFIRM_CALLBACK
from storage.db import session_scope
from storage.importers.kinds import CALENDAR, CONTACTS, TOURPLAN, file_kind
from storage.models import Contact, Deadline, Performance
from tests.conftest import TEAM
from tests.helpers import seeded_workspace, visible_text
from tests.test_contacts_import import EXCEL_CSV, _open_import, _upload
from tests.test_editing import submit

DATA = Path(__file__).resolve().parents[1] / "data"
TOURPLAN_CSV = (DATA / "turneplan-eksempel.csv").read_bytes()
CALENDAR_YAML = (DATA / "dks-kalender.yaml").read_bytes()
CONTACTS_UTF8 = EXCEL_CSV.decode("cp1252").replace(";", ",").encode("utf-8")
UNKNOWN_MARKS = ("forestilling_id", "frister", "navn", "YAML", "CSV")


def _preview(slack: Any, name: str, content: bytes) -> dict[str, Any]:
    ack = _upload(slack, _open_import(slack), name, content)
    assert ack is not None
    return ack


def _shown(ack: dict[str, Any], name: str) -> str:
    """The preview's text with the file's name taken out, to compare two names."""
    return visible_text(ack["view"]).replace(name, "«fil»")


# --- Telling the kinds apart ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (TOURPLAN_CSV.decode("utf-8-sig"), TOURPLAN),
        (TOURPLAN_CSV.decode("utf-8-sig").replace(";", "\t"), TOURPLAN),
        (CALENDAR_YAML.decode("utf-8"), CALENDAR),
        ("moter: []\n", CALENDAR),
        # A calendar with a syntax error is still a calendar: its own errors say where.
        ("frister:\n  - id: x\n tittel: [\n", CALENDAR),
        (EXCEL_CSV.decode("cp1252"), CONTACTS),
        (CONTACTS_UTF8.decode("utf-8"), CONTACTS),
        ("Skole;Kommune\nNordby skole;Ås\n", CONTACTS),
        # A contacts list with a misspelt column is still contacts (the error names it).
        ("navn;rolle;epost;telfon\nKari;rektor;kari@example.no;1\n", CONTACTS),
        # A tour plan missing columns is still a tour plan (the error lists what is missing).
        ("forestilling_id;skole;dato\nAS-1;Rustad skole;17.11.2026\n", TOURPLAN),
        ("", None),
        ("%PDF-1.4 binary", None),
        ("Handleliste\nmelk\nbrød\n", None),
        ("tittel: Noe annet\nbeskrivelse: ikke en kalender\n", None),
        ("a\x00b;c\n", None),
    ],
)
def test_the_kind_comes_from_the_content(content: str, kind: str | None) -> None:
    assert file_kind(content) == kind


# --- Through Slack -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kontakter.csv", "kalender.yaml", "plan.txt"])
def test_the_sample_tour_plan_under_any_name_previews_as_a_tour_plan(slack, sqlite_engine, name):
    seeded_workspace(sqlite_engine, TEAM)
    own = _preview(slack, "turneplan-eksempel.csv", TOURPLAN_CSV)
    assert own["view"]["callback_id"] == IMPORT_CONFIRM_CALLBACK
    misnamed = _preview(slack, name, TOURPLAN_CSV)
    assert misnamed["response_action"] == "update", visible_text(misnamed["view"])
    assert misnamed["view"]["callback_id"] == IMPORT_CONFIRM_CALLBACK
    assert _shown(misnamed, name) == _shown(own, "turneplan-eksempel.csv")
    assert "Ukjent kolonne" not in visible_text(misnamed["view"])

    done = submit(slack, {**misnamed["view"], "id": "V0PREVIEW"})
    assert done is not None and "Importert" in visible_text(done["view"])
    with session_scope(sqlite_engine) as session:
        assert len(session.exec(select(Performance)).all()) == TOURPLAN_CSV.count(b"\n") - 1
        assert session.exec(select(Contact)).all() == []


@pytest.mark.parametrize("name", ["plan.csv", "kalender.yaml", "turneplan.txt"])
def test_a_contacts_list_under_any_name_previews_as_contacts(slack, sqlite_engine, name):
    seeded_workspace(sqlite_engine, TEAM)
    own = _preview(slack, "kontakter.csv", EXCEL_CSV)
    misnamed = _preview(slack, name, EXCEL_CSV)
    assert misnamed["response_action"] == "update", visible_text(misnamed["view"])
    assert _shown(misnamed, name) == _shown(own, "kontakter.csv")
    assert "3 nye kontakter, 3 nye skoler, 1 ny kommune." in visible_text(misnamed["view"])

    done = submit(slack, {**misnamed["view"], "id": "V0PREVIEW"})
    assert done is not None and "Importert: 3 nye kontakter" in visible_text(done["view"])
    with session_scope(sqlite_engine) as session:
        assert len(session.exec(select(Contact)).all()) == 3
        assert session.exec(select(Performance)).all() == []


@pytest.mark.parametrize("name", ["kalender.txt", "kontakter.csv", "turneplan.csv"])
def test_the_bundled_calendar_under_any_name_previews_as_a_calendar(slack, sqlite_engine, name):
    seeded_workspace(sqlite_engine, TEAM)
    own = _preview(slack, "dks-kalender.yaml", CALENDAR_YAML)
    misnamed = _preview(slack, name, CALENDAR_YAML)
    assert misnamed["response_action"] == "update", visible_text(misnamed["view"])
    assert _shown(misnamed, name) == _shown(own, "dks-kalender.yaml")
    assert "I kalenderen:" in visible_text(misnamed["view"])

    done = submit(slack, {**misnamed["view"], "id": "V0PREVIEW"})
    assert done is not None and "Importert" in visible_text(done["view"])
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Deadline)).all()


def test_a_broken_calendar_under_a_csv_name_gets_the_calendars_own_errors(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    ack = _preview(slack, "kontakter.csv", b"frister:\n  - id: X\n")
    assert ack["response_action"] == "push"
    text = visible_text(ack["view"])
    assert "Linje 2" in text and "Ukjent kolonne" not in text


def test_a_calendar_that_is_not_utf8_says_so(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    ack = _preview(slack, "noe.csv", "frister:\n  - id: ås\n".encode("cp1252"))
    assert ack == {
        "response_action": "errors",
        "errors": {FILE_BLOCK: "Kalenderfilen må være lagret som UTF-8-tekst."},
    }


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notater.txt", b"Handleliste\nmelk\nbr\xc3\xb8d\n"),
        ("kontakter.csv", b"%PDF-1.4 binary\x00\x01"),
        ("kalender.yaml", b"tittel: Noe annet\n"),
    ],
)
def test_a_file_of_no_known_kind_gets_one_friendly_message(slack, sqlite_engine, name, content):
    seeded_workspace(sqlite_engine, TEAM)
    ack = _preview(slack, name, content)
    assert ack["response_action"] == "errors"
    message = ack["errors"][FILE_BLOCK]
    assert message.startswith("Jeg kjenner ikke igjen filen."), message
    for mark in UNKNOWN_MARKS:
        assert mark in message
    assert "Linje" not in message and "Ukjent kolonne" not in message


def test_an_empty_file_says_it_is_empty(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    ack = _preview(slack, "kontakter.csv", b"")
    assert ack == {"response_action": "errors", "errors": {FILE_BLOCK: "Filen er tom."}}
