"""The bundled DKS calendar and its importer, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import textwrap
from datetime import date, time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from storage.db import session_scope
from storage.folding import fold
from storage.importers import (
    CalendarData,
    ImportValidationError,
    bundled_calendar_path,
    import_calendar,
    load_calendar,
    seed_workspace,
)
from storage.models import Contact, DatePrecision, Deadline, Meeting, MeetingForm

TABLES = (Deadline, Meeting, Contact)


def count_rows(engine: Engine, team_id: str | None = None) -> dict[str, int]:
    counts = {}
    with session_scope(engine) as session:
        for model in TABLES:
            statement = select(func.count()).select_from(model)
            if team_id is not None:
                statement = statement.where(model.team_id == team_id)
            counts[model.__name__] = session.exec(statement).one()
    return counts


def row_ids(engine: Engine) -> set[tuple[str, int | None]]:
    with session_scope(engine) as session:
        return (
            {("deadline", row.id) for row in session.exec(select(Deadline))}
            | {("meeting", row.id) for row in session.exec(select(Meeting))}
            | {("contact", row.id) for row in session.exec(select(Contact))}
        )


def line_of(source: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    for number, line in enumerate(source.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in source")


# --- The bundled file ---------------------------------------------------------------------------


def test_bundled_file_validates() -> None:
    data = load_calendar(bundled_calendar_path())

    assert (len(data.deadlines), len(data.meetings), len(data.contacts)) == (11, 26, 7)
    keys = [row.key for row in (*data.deadlines, *data.meetings, *data.contacts)]
    assert len(keys) == len(set(keys))

    meetings = {row.key: row.values for row in data.meetings}
    inspiration = meetings["fk-inspirasjonssamling-2024"]
    assert inspiration["start_date"] == date(2024, 3, 15)
    assert (inspiration["start_time"], inspiration["end_time"]) == (time(9), time(14))
    assert inspiration["form"] is MeetingForm.DIGITAL
    guidance = meetings["fk-veiledning-1"]
    assert guidance["precision"] is DatePrecision.WEEK
    assert (guidance["start_date"], guidance["end_date"]) == (date(2024, 9, 30), date(2024, 11, 3))
    assert meetings["fk-veiledning-4"]["date_note"] == "juni eller august 2025"
    assert meetings["fk-fellessamling-1"]["form"] is MeetingForm.PHYSICAL
    assert meetings["fk-dialogseminar-2023"]["start_date"] == date(2023, 4, 27)
    programme = [key for key in meetings if key.startswith("fk-") and "dialog" not in key]
    assert len(programme) == 19
    for values in meetings.values():
        if values["precision"] is DatePrecision.WEEK:
            assert values["start_date"].isoweekday() == 1
            assert values["end_date"].isoweekday() == 7
        if values["precision"] is DatePrecision.MONTH:
            assert values["start_date"].day == 1
        if values["precision"] is DatePrecision.UNSET:
            assert values["start_date"] is None

    deadlines = {row.key: row.values for row in data.deadlines}
    closing = deadlines["ks3-avslutning"]
    assert (closing["precision"], closing["due_date"]) == (DatePrecision.MONTH, date(2022, 12, 1))
    assert deadlines["kt-ksr-rapport-styringsgruppe"]["rrule"] == "FREQ=YEARLY;UNTIL=20200901"


def test_bundled_calendar_imports(engine: Engine) -> None:
    with session_scope(engine, write=True) as session:
        result = seed_workspace(session=session, team_id="T1")

    assert (result.deadlines.created, result.meetings.created, result.contacts.created) == (
        11,
        26,
        7,
    )
    assert result.updated == result.unchanged == 0
    assert count_rows(engine) == {"Deadline": 11, "Meeting": 26, "Contact": 7}

    with session_scope(engine) as session:
        reporting = session.exec(
            select(Deadline).where(Deadline.external_key == "dks-arsrapportering")
        ).one()
        assert reporting.team_id == "T1"
        assert reporting.due_date == date(2021, 2, 12)
        assert reporting.rrule == "FREQ=YEARLY"
        assert reporting.confirmed_until == date(2021, 2, 12)
        assert reporting.precision == DatePrecision.DAY
        assert reporting.link == "https://portal.denkulturelleskolesekken.no"
        assert "dksrapportering.no" in (reporting.description or "")
        assert "arsrapportering" in reporting.search_key

        viken = session.exec(
            select(Contact).where(Contact.external_key == "dks-viken-radgiver")
        ).one()
        assert viken.historical is True
        assert all(county in (viken.note or "") for county in ("Akershus", "Buskerud", "Østfold"))
        assert fold("Øvergaard") in viken.search_key
        assert session.exec(select(Contact).where(Contact.historical)).all() == [viken]

        undated = session.exec(
            select(Meeting).where(Meeting.external_key == "dks-fylket-nettverksmote-1")
        ).one()
        assert undated.start_date is None
        assert undated.precision == DatePrecision.UNSET
        assert undated.kind == "nettverksmøte"


def test_reimport_changes_nothing(engine: Engine) -> None:
    with session_scope(engine, write=True) as session:
        seed_workspace(session=session, team_id="T1")
    ids_before = row_ids(engine)

    with session_scope(engine, write=True) as session:
        again = seed_workspace(session=session, team_id="T1")

    assert again.created == again.updated == 0
    assert (again.deadlines.unchanged, again.meetings.unchanged, again.contacts.unchanged) == (
        11,
        26,
        7,
    )
    assert not again.changed
    assert row_ids(engine) == ids_before


def test_reimport_restores_edited_rows(engine: Engine) -> None:
    with session_scope(engine, write=True) as session:
        seed_workspace(session=session, team_id="T1")
    with session_scope(engine, write=True) as session:
        row = session.exec(
            select(Meeting).where(Meeting.external_key == "fk-fellessamling-3")
        ).one()
        row.title = "Endret i appen"
        session.add(row)

    with session_scope(engine, write=True) as session:
        result = seed_workspace(session=session, team_id="T1")

    assert (result.meetings.updated, result.meetings.unchanged) == (1, 25)
    assert count_rows(engine)["Meeting"] == 26
    with session_scope(engine) as session:
        row = session.exec(
            select(Meeting).where(Meeting.external_key == "fk-fellessamling-3")
        ).one()
        assert row.title == "Fremtidens kulturskole: fellessamling 3"


def test_edited_file_updates_by_id(engine: Engine) -> None:
    first = textwrap.dedent(
        """\
        frister:
          - id: min-frist
            tittel: Første versjon
            dato: 2027-02-12
        """
    )
    second = first.replace("Første versjon", "Andre versjon").replace("2027-02-12", "2027-03-01")
    with session_scope(engine, write=True) as session:
        import_calendar(session=session, team_id="T1", data=load_calendar(first))
    with session_scope(engine, write=True) as session:
        result = import_calendar(session=session, team_id="T1", data=load_calendar(second))

    assert (result.deadlines.created, result.deadlines.updated) == (0, 1)
    with session_scope(engine) as session:
        (row,) = session.exec(select(Deadline)).all()
        assert (row.title, row.due_date) == ("Andre versjon", date(2027, 3, 1))
        assert row.search_key == "andre versjon"


def test_two_teams_are_kept_apart(engine: Engine) -> None:
    with session_scope(engine, write=True) as session:
        first = seed_workspace(session=session, team_id="T1")
        second = seed_workspace(session=session, team_id="T2")
    assert first.created == second.created == 44

    with session_scope(engine, write=True) as session:
        row = session.exec(
            select(Deadline).where(
                Deadline.team_id == "T1", Deadline.external_key == "dks-arsrapportering"
            )
        ).one()
        row.title = "Bare i T1"
        session.add(row)

    assert (
        count_rows(engine, "T1")
        == count_rows(engine, "T2")
        == {
            "Deadline": 11,
            "Meeting": 26,
            "Contact": 7,
        }
    )
    with session_scope(engine, write=True) as session:
        again = seed_workspace(session=session, team_id="T2")
    assert again.unchanged == 44
    with session_scope(engine) as session:
        titles = dict(
            session.exec(
                select(Deadline.team_id, Deadline.title).where(
                    Deadline.external_key == "dks-arsrapportering"
                )
            ).all()
        )
    assert titles == {"T1": "Bare i T1", "T2": "Årsrapportering av DKS til fylket"}


# --- Validation ---------------------------------------------------------------------------------

BAD_FILE = textwrap.dedent(
    """\
    # En fil med mange feil
    frister:
      - id: grei-frist
        tittel: Grei frist
        dato: 2027-02-12
      - id: feil-dato
        tittel: Feil dato
        dato: 2027-02-30
      - id: uten-tittel
        dato: 2027-03-01
      - id: feil-regel
        tittel: Feil regel
        dato: 2027-01-01
        gjentakelse: "FREQ=SOMETIMES"
      - id: grei-frist
        tittel: Samme id en gang til
    moter:
      - id: mote-en
        tittel: Møte
        dato: 2027-05-02
        sluttdato: 2027-05-01
        klokkeslett: "25:00"
        form: papir
        farge: blå
      - id: mote-to
        tittel: Uke uten dato
        presisjon: uke
      - id: mote-tre
        tittel: Kvartal
        presisjon: kvartal
    kontakter:
      - id: kontakt-en
        rolle: kontakt
        epost: ikke-en-adresse
      - id: kontakt-to
        rolle: rådgiver
        navn: NAVN
    """
).replace("NAVN", "x" * 201)


def test_bad_rows_are_all_reported_and_nothing_is_written(engine: Engine) -> None:
    with pytest.raises(ImportValidationError) as caught, session_scope(engine, write=True) as s:
        import_calendar(session=s, team_id="T1", data=load_calendar(BAD_FILE))

    found = {(error.line, error.message) for error in caught.value.errors}
    lines = [error.line for error in caught.value.errors]
    expected = {
        line_of(BAD_FILE, "dato: 2027-02-30"): "finnes ikke",
        line_of(BAD_FILE, "- id: uten-tittel"): "mangler «tittel»",
        line_of(BAD_FILE, "FREQ=SOMETIMES"): "«gjentakelse»",
        line_of(BAD_FILE, "Samme id") - 1: "allerede brukt på linje 3",
        line_of(BAD_FILE, "sluttdato: 2027-05-01"): "er før «dato»",
        line_of(BAD_FILE, '"25:00"'): "klokkeslett som 09:00",
        line_of(BAD_FILE, "form: papir"): "digital, fysisk, hybrid eller ukjent",
        line_of(BAD_FILE, "farge:"): "Ukjent felt «farge»",
        line_of(BAD_FILE, "- id: mote-to"): "mangler «dato»",
        line_of(BAD_FILE, "presisjon: kvartal"): "dag, uke, måned eller udatert",
        line_of(BAD_FILE, "ikke-en-adresse"): "e-postadresse",
        line_of(BAD_FILE, "x" * 201): "for lang",
    }
    for line, fragment in expected.items():
        assert any(ln == line and fragment in message for ln, message in found), (line, fragment)
    assert len(caught.value.errors) == len(expected)
    assert lines == sorted(lines)
    rendered = str(caught.value)
    assert rendered.startswith(f"Kalenderfilen har {len(expected)} feil:")
    assert f"Linje {line_of(BAD_FILE, 'dato: 2027-02-30')}: «dato»" in rendered

    assert count_rows(engine) == {"Deadline": 0, "Meeting": 0, "Contact": 0}


def test_failure_after_import_leaves_nothing_behind(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine, write=True) as session:
        result = seed_workspace(session=session, team_id="T1")
        assert result.created == 44
        raise RuntimeError("the caller fails before commit")
    assert count_rows(engine) == {"Deadline": 0, "Meeting": 0, "Contact": 0}


@pytest.mark.parametrize(
    ("source", "needle", "fragment"),
    [
        (
            "frister:\n  - id: a\n    tittel: Kulturskole 3.0: frist\n",
            "tittel:",
            "anførselstegn",
        ),
        ("frister:\n  - id: a\n     tittel: x\n  - id: b\n", "tittel:", "YAML"),
        ('moter:\n  - id: a\n    tittel: "uten slutt\n', "tittel:", "anførselstegn på slutten"),
        ("frister:\n\t- id: a\n", "\t", "tabulator"),
    ],
)
def test_yaml_syntax_error_has_line_number(source: str, needle: str, fragment: str) -> None:
    with pytest.raises(ImportValidationError) as caught:
        load_calendar(source)
    (error,) = caught.value.errors
    assert error.line == line_of(source, needle)
    assert fragment in error.message
    assert str(error).startswith(f"Linje {error.line}: ")


def test_colon_in_text_points_at_its_line() -> None:
    source = "frister:\n  - id: a\n    tittel: Kulturskole 3.0: frist\n"
    with pytest.raises(ImportValidationError) as caught:
        load_calendar(source)
    assert [error.line for error in caught.value.errors] == [3]


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    [
        ("", 1, "tom"),
        ("- bare en liste\n", 1, "«frister»"),
        ("frister:\n  - id: a\n    tittel: x\nmøter: []\nkalender: []\n", 5, "Ukjent"),
        ("frister:\n  - id: a\n    tittel: x\n    beskrivlese: y\n", 4, "Mente du «beskrivelse»?"),
        ("frister:\n  - id: Min Frist\n    tittel: x\n", 2, "små bokstaver"),
        ("frister:\n  - id: a\n    tittel: x\n    bekreftet_til: 2027-01-01\n", 4, "gjentakelse"),
        ("frister:\n  - id: a\n    tittel: x\n    gjentakelse: FREQ=YEARLY\n", 4, "«dato»"),
        ("frister:\n  - id: a\n    tittel: x\n    dato: 2027-02\n", 4, "presisjon: måned"),
        (
            "frister:\n  - id: a\n    tittel: x\n    dato: 2027-01-01\n"
            "    gjentakelse: FREQ=YEARLY;UNTIL=20200101\n",
            5,
            "ingen datoer",
        ),
        (
            "moter:\n  - id: a\n    tittel: x\n    dato: 2027-01-01\n"
            '    klokkeslett: "10:00"\n    slutt_klokkeslett: "09:30"\n',
            6,
            "etter",
        ),
        ("moter:\n  - id: a\n    tittel: x\n    presisjon: udatert\n    dato: 2027-01-01\n", 4, ""),
        ("frister:\n  - id: a\n    tittel: x\n    lenke: www.ks.no\n", 4, "nettadresse"),
        ("frister:\n  - id: a\n    tittel: x\n    slutt_klokkeslett: 10:00\n", 4, "Ukjent"),
        ("kontakter:\n  - id: a\n    rolle: support\n", 2, "minst ett av"),
        ("kontakter:\n  - id: a\n    navn: x\n    rolle: y\n    historisk: kanskje\n", 5, "true"),
        ("frister:\n  - tittel: uten id\n", 2, "mangler «id»"),
        ("frister: hei\n", 1, "liste"),
        (
            "frister:\n  - id: a\n    tittel: x\n    dato: 2027-01-01\n"
            "    gjentakelse: FREQ=YEARLY;UNTIL=20300101T000000Z\n",
            5,
            "uten tidssone",
        ),
        ("frister:\n  - id: a\n    tittel: [x]\n", 3, "én verdi"),
        ("frister:\n  - id: a\n    tittel: x\n    tittel: y\n", 4, "to ganger"),
        ("frister:\n  - id: a\n    tittel: x\n  - id: a\n    tittel: y\n", 4, "allerede brukt"),
    ],
)
def test_single_problems(source: str, line: int, fragment: str) -> None:
    with pytest.raises(ImportValidationError) as caught:
        load_calendar(source)
    (error,) = caught.value.errors
    assert error.line == line, error
    assert fragment in error.message, error


def test_yaml_1_1_pitfalls_are_read_as_text(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """\
        moter:
          - id: mote
            tittel: Nettverksmøte
            dato: 2027-09-01
            klokkeslett: 9.00
            slutt_klokkeslett: 14:30
            form: Digital
          - id: maned
            tittel: En gang i oktober
            presisjon: maaned
            dato: 2027-10
            sluttdato: 2027-11
        kontakter:
          - id: kontakt
            navn: Nora
            rolle: kontakt
            telefon: 0047 91 23 45 67
            historisk: ja
            formal: skrevet uten å
        """
    )
    path = tmp_path / "kalender.yaml"
    path.write_text(source, encoding="utf-8")

    for data in (load_calendar(source), load_calendar(io.StringIO(source)), load_calendar(path)):
        meeting, monthly = (row.values for row in data.meetings)
        assert (meeting["start_time"], meeting["end_time"]) == (time(9), time(14, 30))
        assert meeting["form"] is MeetingForm.DIGITAL
        assert monthly["precision"] is DatePrecision.MONTH
        assert (monthly["start_date"], monthly["end_date"]) == (
            date(2027, 10, 1),
            date(2027, 11, 30),
        )
        (contact,) = data.contacts
        assert contact.values["phone"] == "0047 91 23 45 67"
        assert contact.values["historical"] is True
        assert contact.values["purpose"] == "skrevet uten å"


def test_empty_sections_are_allowed(engine: Engine) -> None:
    data = load_calendar("frister:\nmoter: []\nkontakter:\n")
    assert data == CalendarData()
    with session_scope(engine, write=True) as session:
        result = import_calendar(session=session, team_id="T1", data=data)
    assert result.created == result.updated == result.unchanged == 0


def test_import_needs_a_team() -> None:
    with pytest.raises(ValueError):
        import_calendar(session=None, team_id="", data=CalendarData())  # type: ignore[arg-type]
