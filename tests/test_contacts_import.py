"""Contacts and schools from CSV: Excel's encodings and separators, every bad row reported
with its line and nothing written, idempotent re-imports, the CLI, and the Slack modal's
upload → preview → confirm."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import cli
from bot.shell.signing import button_action
from handlers.imports.forms import FILE_BLOCK, IMPORT_CONFIRM_CALLBACK
from storage import audit
from storage.contacts import search_contacts
from storage.db import make_engine, session_scope, upgrade
from storage.importers.contacts import ContactImportError, import_contacts, load_contacts
from storage.items import schools_without_kulturkontakt
from storage.models import AuditEntry, Contact, Deadline, Municipality, PendingImport, School
from tests.conftest import ADMIN, MEMBER, TEAM
from tests.helpers import add_contact, seeded_workspace, visible_text
from tests.test_editing import click_and_wait, open_home, submit

# As Excel on a Norwegian machine saves «CSV (semikolondelt)»: Windows-1252, «;», CRLF.
EXCEL_CSV = (
    "Skole;Kommune;Navn;Rolle;E-post;Telefon;Formål\r\n"
    "Nordby skole;Ås;Kari Østby;;kari.ostby@as.kommune.no;917 23 456;\r\n"
    "Åsen skole;Ås;;;;;\r\n"
    ";Ås;Per Ødegård;kommunekontakt;per.odegard@as.kommune.no;;Rapportering og "
    "programslipp\r\n"
    'Sjøskogen skole;Ås;"Siri Vik";Rektor;siri@as.kommune.no;;\r\n'
).encode("cp1252")


def _load(text: str | bytes) -> Any:
    return load_contacts(text if isinstance(text, bytes) else text.encode("utf-8"))


def _import(engine: Any, data: Any, **kwargs: Any) -> Any:
    with session_scope(engine, write=True) as session:
        return import_contacts(session=session, team_id=TEAM, data=data, user_id=ADMIN, **kwargs)


def test_an_excel_file_imports_schools_municipalities_and_contacts(engine):
    data = _load(EXCEL_CSV)
    preview = _import(engine, data, dry_run=True)
    assert preview.summary() == "3 nye kontakter, 3 nye skoler, 1 ny kommune."
    with session_scope(engine) as session:
        assert session.exec(select(Contact)).all() == []  # a preview writes nothing
        assert session.exec(select(School)).all() == []

    result = _import(engine, data)
    assert result.summary() == preview.summary()
    assert result.changes == preview.changes
    assert "Ny kontakt: Kari Østby (kulturkontakt, Nordby skole)" in result.changes
    with session_scope(engine) as session:
        kari = session.exec(select(Contact).where(Contact.name == "Kari Østby")).one()  # type: ignore[arg-type]
        nordby = session.get(School, kari.school_id)
        assert nordby is not None and nordby.name == "Nordby skole"
        assert kari.role == "kulturkontakt" and kari.phone == "917 23 456"
        per = session.exec(select(Contact).where(Contact.name == "Per Ødegård")).one()  # type: ignore[arg-type]
        assert per.school_id is None and per.purpose == "Rapportering og programslipp"
        muni = session.get(Municipality, per.municipality_id)
        assert muni is not None and muni.name == "Ås"
        assert search_contacts(session=session, team_id=TEAM, query="ostby nordby as")[1] == 1
        assert search_contacts(session=session, team_id=TEAM, query="odegard")[1] == 1
        siri = session.exec(select(Contact).where(Contact.name == "Siri Vik")).one()  # type: ignore[arg-type]
        assert siri.role == "rektor"
        missing, _ = schools_without_kulturkontakt(session=session, team_id=TEAM, limit=10)
        assert sorted(s.name for s, _ in missing) == ["Sjøskogen skole", "Åsen skole"]
        entries = audit.entries_for(session=session, team_id=TEAM)
        assert [e.item_kind for e in entries].count("contact") == 3
        assert [e.item_kind for e in entries].count("school") == 3
        assert entries[-1].item_kind == "import" and entries[-1].user_id == ADMIN

    # The same file again changes nothing.
    again = _import(engine, _load(EXCEL_CSV))
    assert again.summary() == "3 kontakter uendret." and not again.changed


def test_a_utf8_comma_file_updates_only_the_columns_it_has(engine):
    add_contact(
        engine,
        TEAM,
        name="Kari Østby",
        role="rektor",
        email="kari.ostby@as.kommune.no",
        phone="917 23 456",
        school="Nordby skole",
        municipality="Ås",
    )
    header = "\ufeffnavn,e-post,organisasjon\n"
    kari = 'Kari Østby,KARI.OSTBY@as.kommune.no,"Ås kommune, kultur"\n'
    ola = '"Ola ""Fela"" Nordmann",ola@example.no,\n'
    with pytest.raises(ContactImportError) as err:
        _import(engine, _load(header + kari + ola))
    # A new contact away from any school needs a role; an existing one keeps its own.
    assert [str(e) for e in err.value.errors] == [
        "Linje 3: Raden mangler «rolle». Skriv for eksempel kulturkontakt eller rektor."
    ]

    result = _import(engine, _load(header + kari))
    assert (result.contacts_updated, result.contacts_created) == (1, 0)
    assert result.changes == ["Endret: Kari Østby – organisasjon, e-post"]
    with session_scope(engine) as session:
        row = session.exec(select(Contact)).one()
        # Matched by e-mail whatever its case; the file has no phone, school or role
        # columns, so those stay as they were.
        assert row.organisation == "Ås kommune, kultur"
        assert row.email == "KARI.OSTBY@as.kommune.no"
        assert (row.phone, row.role) == ("917 23 456", "rektor") and row.school_id is not None
        # Found by the new organisation and still by the school it keeps.
        assert search_contacts(session=session, team_id=TEAM, query="kultur nordby skole")[1] == 1

    quoted = _load(header.replace("organisasjon", "rolle") + ola.replace(",\n", ",rådgiver\n"))
    assert quoted.rows[0].values["name"] == 'Ola "Fela" Nordmann'


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(engine):
    text = (
        "skole;kommune;navn;rolle;epost;telefon;fax\n"  # 1: unknown column
        "Nordby skole;Ås;Kari;;kari@;12;\n"
    )
    with pytest.raises(ContactImportError) as err:
        _load(text)
    assert [str(e) for e in err.value.errors] == [
        "Linje 1: Ukjent kolonne «fax». Kolonner boten kjenner: «navn», «rolle», "
        "«organisasjon», «epost», «telefon», «skole», «kommune», «kommunenummer», «fylke», "
        "«formål», «merknad», «slack», «historisk», «id», «kulturkontakt»."
    ]

    text = (
        "skole;kommune;navn;rolle;epost;telefon;slack;historisk\n"
        "Nordby skole;Ås;Kari;;kari@;12;;\n"  # 2: e-mail and phone
        ";;;;;;;\n"  # 3: empty rows are skipped
        ";Ås;Per;;;;;\n"  # 4: no school, so a role is needed
        '"Åsen\nskole";Ås;Siri;rektor;siri@as.no;;kari;kanskje\n'  # 5–6: slack, historisk
        ";;;rektor;;;;\n"  # 7: a role but nobody
    )
    with pytest.raises(ContactImportError) as err:
        _import(engine, _load(text), dry_run=True)
    assert [(e.line, e.message.split(" (")[0]) for e in err.value.errors] == [
        (2, "«e-post» må være en e-postadresse som navn@kommune.no"),
        (2, "«telefon» må være et telefonnummer som 912 34 567"),
        (4, "Raden mangler «rolle». Skriv for eksempel kulturkontakt eller rektor."),
        (5, "«slack» må være en Slack-bruker-id som U012AB3CD"),
        (5, "«historisk» må være ja eller nei"),
        (7, "En kontakt trenger minst ett av «navn», «e-post» og «telefon»."),
    ]

    # Rows that are fine alone but clash with the workspace are refused whole, too.
    with session_scope(engine, write=True) as session:
        east = Municipality(team_id=TEAM, name="Øst")
        west = Municipality(team_id=TEAM, name="Vest")
        session.add_all([east, west])
        session.flush()
        session.add_all(
            [
                School(team_id=TEAM, name="Bakken skole", municipality_id=east.id),
                School(team_id=TEAM, name="Bakken skole", municipality_id=west.id),
            ]
        )
    text = (
        "skole;navn;epost\n"
        "Ny skole;Ny Person;ny@example.no\n"
        "Bakken skole;Kari;kari@example.no\n"
        "Ny skole;Kari igjen;KARI@example.no\n"
    )
    with pytest.raises(ContactImportError) as err:
        _import(engine, _load(text))
    assert [(e.line, e.message[:30]) for e in err.value.errors] == [
        (3, "Flere skoler heter «Bakken sko"),
    ]
    with session_scope(engine) as session:
        assert session.exec(select(Contact)).all() == []
        assert [s.name for s in session.exec(select(School))] == ["Bakken skole"] * 2
        assert session.exec(select(AuditEntry)).all() == []

    duplicate = "navn;rolle;epost\nKari;rektor;kari@example.no\nKari D.;rektor;KARI@example.no\n"
    with pytest.raises(ContactImportError) as err:
        _import(engine, _load(duplicate))
    assert str(err.value.errors[0]) == ("Linje 3: Samme kontakt som på linje 2: Kari D. (rektor).")


def test_windows_1252_is_read_when_the_file_is_not_utf8():
    data = load_contacts("navn;rolle\nÅse Ødegård;rådgiver\n".encode("cp1252"))
    assert data.rows[0].values == {"name": "Åse Ødegård", "role": "rådgiver"}
    assert data.rows[0].line == 2


# --- The command line ----------------------------------------------------------------------------


def run_cli(args: list[str], db_url: str) -> Any:
    return CliRunner().invoke(
        cli, args, env={"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": ""}, catch_exceptions=False
    )


def test_the_cli_imports_all_or_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    seeded_workspace(engine, TEAM)  # --team names a workspace that exists
    engine.dispose()
    good = tmp_path / "kontakter.csv"
    good.write_bytes(EXCEL_CSV)
    dry = run_cli(["import", "kontakter", str(good), "--team", TEAM, "--dry-run"], db_url)
    assert dry.exit_code == 0, dry.output
    assert "Ville importert til T0TEST: 3 nye kontakter" in dry.stdout
    first = run_cli(["import", "kontakter", str(good), "--team", TEAM], db_url)
    assert first.exit_code == 0, first.output
    assert "Ny skole: Åsen skole (Ås)" in first.stdout
    assert "Importert til T0TEST: 3 nye kontakter, 3 nye skoler, 1 ny kommune." in first.stdout
    again = run_cli(["import", "kontakter", str(good), "--team", TEAM], db_url)
    assert "Importert til T0TEST: 3 kontakter uendret." in again.stdout

    bad = tmp_path / "feil.csv"
    bad.write_text("navn;epost\nKari;ikke-epost\nPer;per@example.no\n", encoding="utf-8")
    refused = run_cli(["import", "kontakter", str(bad), "--team", TEAM], db_url)
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        f"Ingenting ble importert. Rett opp dette i {bad} og prøv igjen:",
        "  Linje 2: «e-post» må være en e-postadresse som navn@kommune.no (fikk «ikke-epost»).",
        "  Linje 3: Raden mangler «rolle». Skriv for eksempel kulturkontakt eller rektor.",
    ]
    missing = run_cli(["import", "kontakter", str(tmp_path / "borte.csv")], db_url)
    assert missing.exit_code == 2 and "finner ikke filen" in missing.stderr


# --- In Slack ------------------------------------------------------------------------------------


def _open_import(slack: Any, user: str = ADMIN) -> dict[str, Any]:
    home = open_home(slack, user=ADMIN)
    buttons = next(b for b in home["blocks"] if b.get("block_id") == "home_buttons")
    importer = next(e for e in buttons["elements"] if e["text"]["text"] == "Importer")
    return click_and_wait(slack, home, button_action(importer), "home_buttons", "views.open", user)


def _upload(slack: Any, modal: dict[str, Any], name: str, content: bytes, user: str = ADMIN) -> Any:
    file = slack.fake.add_file(name, content, user=user)
    return submit(slack, modal, {FILE_BLOCK: [file]}, user=user)


def test_import_in_slack_previews_then_stores_on_confirm(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    modal = _open_import(slack)
    assert modal["blocks"][0]["element"]["type"] == "file_input"

    ack = _upload(slack, modal, "kontakter.csv", EXCEL_CSV)
    assert ack["response_action"] == "update"
    preview = ack["view"]
    assert preview["callback_id"] == IMPORT_CONFIRM_CALLBACK
    text = visible_text(preview)
    assert "3 nye kontakter, 3 nye skoler, 1 ny kommune." in text
    assert "Ny kontakt: Per Ødegård (kommunekontakt)" in text
    # The file was fetched from Slack with the bot token, never from anywhere else.
    [download] = slack.fake.calls_to("files-pri")
    assert download.headers["authorization"] == "Bearer xoxb-test-token"
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Contact)).all() == []

    # Someone else cannot confirm this preview, even as a coordinator.
    slack.fake.add_user("U0ADMIN2", "Annen Admin", admin=True)
    stolen = submit(slack, {**preview, "id": "V0PREVIEW"}, user="U0ADMIN2")
    assert "utløpt eller allerede importert" in visible_text(stolen["view"])
    member = submit(slack, {**preview, "id": "V0PREVIEW"}, user=MEMBER)
    assert "Bare koordinatorer" in visible_text(member["view"])

    done = submit(slack, {**preview, "id": "V0PREVIEW"})
    assert done["response_action"] == "update"
    assert "Importert: 3 nye kontakter" in visible_text(done["view"])
    with session_scope(sqlite_engine) as session:
        assert len(session.exec(select(Contact)).all()) == 3
        assert session.exec(select(PendingImport)).all() == []
    # Confirming twice imports once.
    twice = submit(slack, {**preview, "id": "V0PREVIEW"})
    assert "utløpt eller allerede importert" in visible_text(twice["view"])


def test_a_bad_file_in_slack_lists_every_bad_row_and_stores_nothing(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    modal = _open_import(slack)
    bad = b"navn;rolle;epost\nKari;rektor;kari@\nPer;;per@example.no\n"
    ack = _upload(slack, modal, "kontakter.csv", bad)
    assert ack["response_action"] == "push"
    text = visible_text(ack["view"])
    assert "Ingenting er importert fra *kontakter.csv*: 2 feil." in text
    assert "Linje 2: «e-post» må være en e-postadresse" in text
    assert "Linje 3: Raden mangler «rolle»" in text

    empty = submit(slack, modal, {FILE_BLOCK: []})
    assert empty == {
        "response_action": "errors",
        "errors": {FILE_BLOCK: "Velg en fil å importere."},
    }
    crafted = submit(slack, modal, {FILE_BLOCK: [{"id": "F0NOSUCH", "name": "x.csv"}]})
    assert crafted["errors"] == {FILE_BLOCK: "Jeg fikk ikke tak i filen fra Slack. Prøv igjen."}
    refused = _upload(slack, modal, "kontakter.csv", EXCEL_CSV, user=MEMBER)
    assert "Bare koordinatorer" in visible_text(refused["view"])
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Contact)).all() == []
        assert session.exec(select(PendingImport)).all() == []


def test_the_calendar_yaml_imports_the_same_way(slack, sqlite_engine, monkeypatch):
    from handlers.reminders import sync as reminders

    hooked: list[tuple[str, int]] = []
    monkeypatch.setattr(
        reminders,
        "after_item_change",
        lambda **kw: hooked.append((kw["kind"], kw["item_id"])),
    )
    seeded_workspace(sqlite_engine, TEAM)
    modal = _open_import(slack)
    yaml_text = (
        "frister:\n"
        "  - id: dks-plan\n"
        "    tittel: DKS-plan for 2027\n"
        "    dato: 2027-03-01\n"
        "moter: []\n"
        "kontakter: []\n"
    )
    ack = _upload(slack, modal, "kalender.yaml", yaml_text.encode())
    preview = ack["view"]
    assert "I kalenderen: 1 ny rad, 0 endrede og 0 uendrede." in visible_text(preview)
    assert "1 ny frist, 0 endret, 0 uendret" in visible_text(preview)
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Deadline)).all() == []  # the preview rolled back
    done = submit(slack, {**preview, "id": "V0PREVIEW"})
    assert "Importert" in visible_text(done["view"])
    with session_scope(sqlite_engine) as session:
        row = session.exec(select(Deadline)).one()
        assert row.title == "DKS-plan for 2027"
    # Announced after the ack, in a lazy listener.
    assert slack.fake.wait_for(lambda: hooked == [("deadline", row.id)]), hooked

    broken = _upload(slack, modal, "kalender.yml", b"frister:\n  - id: X\n")
    assert broken["response_action"] == "push"
    assert "Linje 2" in visible_text(broken["view"])
    assert json.dumps(broken)  # a plain JSON ack
