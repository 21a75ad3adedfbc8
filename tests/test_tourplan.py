"""The tour plan CSV importer and the type-ahead over performances (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import col, select

from storage.db import session_scope
from storage.feedback import FOLLOWUP_KIND, PROMPT_KIND, prompt_plan
from storage.importers.tourplan import (
    TourplanImportError,
    import_tourplan,
    load_tourplan,
    parse_grades,
    parse_tourplan,
)
from storage.models import Municipality, OutboxMessage, Performance, Production, School, Workspace
from storage.tourplan import get_performance, suggest_performances

TEAM = "T0TOUR"
OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Oslo
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "turneplan-eksempel.csv"
HEADER = "forestilling_id;produksjon;kunstuttrykk;skole;kommune;dato;start;slutt"


def run_import(engine: Engine, raw: bytes | None = None, *, now: datetime = NOW) -> Any:
    data = load_tourplan(SAMPLE) if raw is None else parse_tourplan(raw)
    with session_scope(engine, write=True) as session:
        return import_tourplan(session=session, team_id=TEAM, data=data, tz=OSLO, now=now)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove an import changed nothing."""
    tables = sorted(t for t in inspect(engine).get_table_names() if t != "alembic_version")
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in tables:
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            out[table] = sorted((tuple(str(v) for v in r) for r in rows), key=str)
    return out


def test_the_sample_file_is_valid_and_realistic():
    data = load_tourplan(SAMPLE)
    assert len(data.rows) == 22
    by_id = {r.external_key: r for r in data.rows}
    dance = by_id["AS-V27-017"]
    assert dance.title == "Dans på timeplanen" and dance.art_form.value == "scenekunst"
    assert dance.grade_levels == "5.–7." and dance.expected_pupils == 105
    assert dance.day == date(2027, 3, 9) and f"{dance.start:%H:%M}" == "10:15"
    assert by_id["AS-H26-010"].cancelled is True
    assert by_id["AS-V27-012"].producer == "Ánne Márjá Gaup"
    assert {r.art_form.value for r in data.rows} == {
        "musikk",
        "scenekunst",
        "visuell kunst",
        "film",
        "litteratur",
        "kulturarv",
        "tverrkunstnerisk",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5-7", "5.–7."),
        ("5.–7. trinn", "5.–7."),
        ("1, 3, 5", "1., 3., 5."),
        ("VG1-VG3", "VG1–VG3"),
        ("8", "8."),
        ("7-5", None),
        ("14", None),
        ("alle", None),
    ],
)
def test_grade_levels(raw, expected):
    assert parse_grades(raw) == expected


def test_import_creates_everything_and_reimport_changes_nothing(engine):
    first = run_import(engine)
    assert (first.performances_created, first.productions_created, first.schools_created) == (
        22,
        11,
        9,
    )
    with session_scope(engine) as session:
        assert session.exec(select(Municipality.name)).all() == ["Ås"]
        ids = {p.external_key: p.id for p in session.exec(select(Performance))}
        play = get_performance(session=session, team_id=TEAM, performance_id=ids["AS-H26-005"])
        assert play is not None
        assert play.title == "Brødrene Løvehjerte – en fortelling om mot"
        assert play.school == "Ås ungdomsskole" and play.municipality == "Ås"
        # 08:30–09:40 Oslo time in November (CET) is 07:30–08:40 UTC.
        assert play.starts_at == datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
        assert play.ends_at == datetime(2026, 11, 24, 8, 40, tzinfo=UTC)
        assert play.venue == "Kulturhuset i Ås, storsalen" and play.expected_pupils == 160
    before = snapshot(engine)
    again = run_import(engine, now=NOW + timedelta(hours=3))
    assert (again.performances_created, again.performances_updated) == (0, 0)
    assert again.performances_unchanged == 22 and not again.changed
    assert again.prompts.scheduled == 0
    assert snapshot(engine) == before


def test_prompts_and_follow_ups_are_planned_and_follow_changes(engine):
    run_import(engine)
    with session_scope(engine) as session:
        play_id = session.exec(
            select(Performance.id).where(col(Performance.external_key) == "AS-H26-005")
        ).one()
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.ref).like(f"feedback:{play_id}:%"))
        ).all()
        due = sorted((r.kind, r.due_at.astimezone(OSLO).isoformat()) for r in rows)
    # Ends Tuesday 24 November 09:40; follow-ups 09:00 on Thursday 26th and Tuesday 1 December.
    assert due == [
        (FOLLOWUP_KIND, "2026-11-26T09:00:00+01:00"),
        (FOLLOWUP_KIND, "2026-12-01T09:00:00+01:00"),
        (PROMPT_KIND, "2026-11-24T09:40:00+01:00"),
    ]
    # Nothing is planned for a cancelled performance, nor for one long past.
    with session_scope(engine) as session:
        cancelled = session.exec(
            select(Performance.id).where(col(Performance.external_key) == "AS-H26-010")
        ).one()
        assert not session.exec(
            select(OutboxMessage).where(col(OutboxMessage.ref).like(f"feedback:{cancelled}:%"))
        ).all()

    # The play moves to 10:00–11:10 and a new performance is added; another is cancelled.
    moved = SAMPLE.read_text(encoding="utf-8").replace(
        "24.11.2026;08:30;09:40", "24.11.2026;10:00;11:10"
    )
    moved = moved.replace(
        "Ås;27.11.2026;08:30;11:30;Kunst- og håndverksrommet;3-4;47;",
        "Ås;27.11.2026;08:30;11:30;Kunst- og håndverksrommet;3-4;47;ja",
    )
    result = run_import(engine, moved.encode())
    assert result.performances_updated == 2 and result.performances_created == 0
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.ref).like(f"feedback:{play_id}:%"))
        ).all()
        states = sorted(
            (r.state, r.kind, r.due_at.astimezone(OSLO).strftime("%d %H:%M")) for r in rows
        )
        assert states == [
            ("cancelled", FOLLOWUP_KIND, "01 09:00"),
            ("cancelled", FOLLOWUP_KIND, "26 09:00"),
            ("cancelled", PROMPT_KIND, "24 09:40"),
            ("pending", FOLLOWUP_KIND, "01 09:00"),
            ("pending", FOLLOWUP_KIND, "26 09:00"),
            ("pending", PROMPT_KIND, "24 11:10"),
        ]
        solberg = session.exec(
            select(Performance.id).where(col(Performance.external_key) == "AS-H26-008")
        ).one()
        left = session.exec(
            select(OutboxMessage.state).where(col(OutboxMessage.ref).like(f"feedback:{solberg}:%"))
        ).all()
        assert left and set(left) == {"cancelled"}


def test_follow_ups_skip_weekends_and_public_holidays():
    from storage.tourplan import PerformanceInfo

    # Wednesday before Easter 2027: Maundy Thursday, Good Friday and Easter Monday are holidays.
    easter = PerformanceInfo(
        1, TEAM, "x", 1, "t", "musikk", None, 1, "s", None,
        datetime(2027, 3, 24, 8, tzinfo=UTC), datetime(2027, 3, 24, 9, tzinfo=UTC),
        None, None, None, False,
    )  # fmt: skip
    plan = [
        (kind, due.astimezone(OSLO).isoformat()) for kind, _, due, _ in prompt_plan(easter, OSLO)
    ]
    assert plan == [
        (PROMPT_KIND, "2027-03-24T10:00:00+01:00"),
        (FOLLOWUP_KIND, "2027-03-31T09:00:00+02:00"),
        (FOLLOWUP_KIND, "2027-04-05T09:00:00+02:00"),
    ]


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(engine):
    bad = "\n".join(
        [
            HEADER + ";trinn;elever;avlyst",
            "A1;Jazz i skolesekken;musikk;Ås ungdomsskole;Ås;24.11.2026;09:00;10:00;8;120;",
            'A2;"Jazz i skolesekken";film;Ås ungdomsskole;Ås;25.11.2026;09:00;10:00;;;',
            "A3;Peer Gynt;teater;Kroer skole;Ås;31.11.2026;9;08:00;;;",
            'A4;"Dans, dans\nog mer dans";scenekunst;;Ås;01.12.2026;09:00;10:00;15;mange;kanskje',
            "A1;Skaperverkstedet;visuell kunst;Rustad skole;Ås;02.12.2026;09:00;10:00;;;",
            "A6;Skaperverkstedet;visuell kunst;Rustad skole;Ås;02.12.2026;09:00;10:00;;;;ekstra",
        ]
    ).encode()
    before = snapshot(engine)
    with pytest.raises(TourplanImportError) as caught:
        run_import(engine, bad)
    assert [str(e) for e in caught.value.errors] == [
        "Linje 3: «Jazz i skolesekken» har kunstuttrykk «film» her, men «musikk» på linje 2.",
        "Linje 4: «kunstuttrykk» må være musikk, scenekunst, visuell kunst, film, litteratur, "
        "kulturarv eller tverrkunstnerisk (fikk «teater»).",
        "Linje 4: «dato» må være en dato som 24.11.2026 eller 2026-11-24 (fikk «31.11.2026»).",
        "Linje 4: «start» må være et klokkeslett som 09:00 (fikk «9»).",
        "Linje 5: «skole» må fylles ut.",
        "Linje 5: «trinn» må være trinn fra 1 til 10 eller VG1–VG3, som 5-7 eller «1, 3, 5» "
        "(fikk «15»).",
        "Linje 5: «elever» må være et helt tall fra 0 til 5000 (fikk «mange»).",
        "Linje 5: «avlyst» må være ja eller nei (fikk «kanskje»).",
        "Linje 7: forestilling_id «A1» er brukt før, på linje 2. Hver forestilling trenger sin "
        "egen.",
        "Linje 8: Raden har 12 felt, men overskriften har bare 11. Står det et skilletegn for "
        "mye, eller mangler det anførselstegn?",
    ]
    assert snapshot(engine) == before


def test_header_problems_are_named():
    with pytest.raises(TourplanImportError) as caught:
        parse_tourplan(b"forestilling_id;produksjn;skole;datoen\n1;x;y;z\n")
    assert [str(e) for e in caught.value.errors] == [
        "Linje 1: Ukjent kolonne «produksjn». Mente du «produksjon»?",
        "Linje 1: Ukjent kolonne «datoen». Mente du «dato»?",
        "Linje 1: Disse kolonnene mangler: «produksjon», «kunstuttrykk», «dato», «start», «slutt».",
    ]
    with pytest.raises(TourplanImportError) as caught:
        parse_tourplan(b"")
    assert "Filen er tom" in str(caught.value)


def test_an_ambiguous_school_stops_the_whole_import(engine):
    with session_scope(engine, write=True) as session:
        for muni in ("Bø", "Herøy"):
            place = Municipality(team_id=TEAM, name=muni)
            session.add(place)
            session.flush()
            session.add(School(team_id=TEAM, name="Sentrum skole", municipality_id=place.id))
    raw = "\n".join(
        [
            HEADER,
            "B1;Jazz;musikk;Nordby skole;;24.11.2026;09:00;10:00",
            "B2;Jazz;musikk;Sentrum skole;;25.11.2026;09:00;10:00",
        ]
    ).encode()
    before = snapshot(engine)
    with pytest.raises(TourplanImportError) as caught:
        run_import(engine, raw)
    assert [str(e) for e in caught.value.errors] == [
        "Linje 3: Det finnes flere skoler som heter «Sentrum skole» (Bø, Herøy). Fyll ut "
        "«kommune» så jeg vet hvilken."
    ]
    assert snapshot(engine) == before  # not even «Nordby skole» from line 2


def test_excel_files_from_windows_and_comma_separated_files_import(engine):
    semicolon_1252 = (
        HEADER + "\nC1;Kunst i skogen;visuell kunst;Ås skole;Ås;2026-11-20;9.00;11.30\n"
    )
    comma = (
        "Forestilling ID,Produksjon,Kunstuttrykk,Skole,Kommune,Dato,Start,Slutt,Elever\n"
        'C2,"Jazz, blues og swing",Musikk,Ås skole,Ås,20.11.2026,12:00,12:45,1 200\n'
    )
    run_import(engine, semicolon_1252.encode("cp1252"))
    run_import(engine, "\ufeff".encode() + comma.encode())
    with session_scope(engine) as session:
        titles = sorted(session.exec(select(Production.title)).all())
        assert titles == ["Jazz, blues og swing", "Kunst i skogen"]
        assert session.exec(select(School.name)).all() == ["Ås skole"]
        pupils = session.exec(
            select(Performance.expected_pupils).where(col(Performance.external_key) == "C2")
        ).one()
        assert pupils == 1200


def test_type_ahead_newest_first_started_only_and_word_prefix(engine):
    run_import(engine)
    with session_scope(engine) as session:
        everything = suggest_performances(session=session, team_id=TEAM, query="", now=NOW)
        # Started by 10:00 on 24 November, newest first; the 11:00 show and the cancelled one
        # are not offered.
        assert [(c.title[:20], c.school) for c in everything[:3]] == [
            ("Brødrene Løvehjerte ", "Ås ungdomsskole"),
            ("Strykere på skolebes", "Brønnerud skole"),
            ("Strykere på skolebes", "Nordby skole"),
        ]
        assert len(everything) == 5
        # «Ås» matches the word «Ås», not «klasserommene»: every performance is in Ås kommune,
        # so all five match, newest first.
        assert [c.performance_id for c in suggest_performances(
            session=session, team_id=TEAM, query="Ås", now=NOW
        )] == [c.performance_id for c in everything]  # fmt: skip
        hits = suggest_performances(session=session, team_id=TEAM, query="aas ungdom", now=NOW)
        assert [c.school for c in hits] == ["Ås ungdomsskole"]
        hits = suggest_performances(session=session, team_id=TEAM, query="strykere 20.11", now=NOW)
        assert [c.school for c in hits] == ["Brønnerud skole", "Nordby skole"]
        assert suggest_performances(session=session, team_id=TEAM, query="asse", now=NOW) == []
        later = suggest_performances(
            session=session, team_id=TEAM, query="joik", now=datetime(2027, 2, 1, tzinfo=UTC)
        )
        assert [c.school for c in later] == ["Brønnerud skole", "Kroer skole", "Rustad skole"]
        assert suggest_performances(session=session, team_id="T0OTHER", query="", now=NOW) == []


def test_type_ahead_caps_at_100_and_sees_a_new_import(engine):
    lines = [HEADER]
    for i in range(150):
        day = date(2026, 9, 1) + timedelta(days=i // 3)
        lines.append(
            f"D{i};Jazz;musikk;Ås skole;Ås;{day:%d.%m.%Y};{9 + i % 3:02d}:00;{9 + i % 3:02d}:45"
        )
    run_import(engine, "\n".join(lines).encode())
    with session_scope(engine) as session:
        found = suggest_performances(session=session, team_id=TEAM, query="jazz", now=NOW)
        assert len(found) == 100
        assert [c.starts_at for c in found] == sorted((c.starts_at for c in found), reverse=True)
        assert all(c.needs_time for c in found)  # three a day at the same school: times shown
    run_import(
        engine, (HEADER + "\nE1;Ny jazz;musikk;Ås skole;Ås;23.11.2026;09:00;10:00\n").encode()
    )
    with session_scope(engine) as session:
        found = suggest_performances(session=session, team_id=TEAM, query="ny", now=NOW)
        assert [c.title for c in found] == ["Ny jazz"]


def test_workspace_is_untouched_by_import(engine):
    with session_scope(engine, write=True) as session:
        session.add(Workspace(team_id=TEAM, reminder_channel_id="C0DKS"))
    run_import(engine)
    with session_scope(engine) as session:
        workspace = session.get(Workspace, TEAM)
        assert workspace is not None and workspace.reminder_channel_id == "C0DKS"


def test_the_index_finds_exactly_what_a_plain_scan_finds(monkeypatch):
    """Random keys and queries: rare words driving (with bitset or substring checks), common
    words ANDed as bitsets (ready, or assembled at query time) all agree with brute force."""
    import random

    from storage.tourplan import PerformanceIndex, search_words

    rng = random.Random(7)
    words = ["jazz", "joik", "ås", "asker", "skole", "skule", "dans", "24.11.2026", "a", "b"]
    words += [f"ord{i}" for i in range(40)]
    base = datetime(2026, 11, 30, tzinfo=UTC)
    rows = []
    for i in range(600):
        text = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 6)))
        starts = base - timedelta(hours=i)
        rows.append((i + 1, starts, " " + search_words(text), f"T{i}", "S", i % 7, i % 5))
    # Limits scaled to 600 rows, so that every path is taken.
    monkeypatch.setattr(PerformanceIndex, "DENSE", 40)
    monkeypatch.setattr(PerformanceIndex, "DRIVE", 60)
    monkeypatch.setattr(PerformanceIndex, "ASSEMBLY_BUDGET", 3.0)
    index = PerformanceIndex(1, rows)
    assert index._prefix_bits and index._word_bits
    now = base - timedelta(hours=50)
    common = ["a", "o", "ord1", "sk", "skole", "s", "2", "24.11"]
    for _ in range(600):
        pool = [*words, "ingen", "or", "ord2"] if rng.random() < 0.5 else common
        query = " ".join(rng.choice(pool) for _ in range(rng.randrange(0, 4)))
        limit = rng.choice((1, 25, 100))
        terms = search_words(query).split()
        got = [index.ids[row] for row in index.search(query, now, limit)]
        expected = [r[0] for r in rows if r[1] <= now and all(f" {t}" in r[2] for t in terms)]
        assert got == expected[:limit], query


def test_type_ahead_renders_each_option_once_per_index_version(engine):
    from storage.tourplan import performance_index

    run_import(engine)
    index = performance_index(engine, TEAM)
    assert performance_index(engine, TEAM) is index  # unchanged tour plan: the same index
    rows = index.search("", NOW)
    calls: list[int] = []

    def render(choice):  # type: ignore[no-untyped-def]
        calls.append(choice.performance_id)
        return f"<{choice.performance_id}>"

    first = index.rendered(rows, "key", render)
    assert index.rendered(rows, "key", render) == first == [f"<{index.ids[r]}>" for r in rows]
    assert len(calls) == len(rows)
    run_import(
        engine, (HEADER + "\nE1;Ny jazz;musikk;Ås skole;Ås;23.11.2026;09:00;10:00\n").encode()
    )
    fresh = performance_index(engine, TEAM)
    assert fresh is not index and fresh.version > index.version
    assert [fresh.titles[r] for r in fresh.search("ny jazz", NOW)] == ["Ny jazz"]


def test_the_version_read_on_a_raw_connection_agrees_and_leaves_no_trace(engine):
    from storage.tourplan import read_tourplan_version, tourplan_version

    assert read_tourplan_version(engine, TEAM) == 0
    run_import(engine)
    with session_scope(engine) as session:
        expected = tourplan_version(session=session, team_id=TEAM)
    assert expected > 0 and read_tourplan_version(engine, TEAM) == expected
    assert read_tourplan_version(engine, "T0OTHER") == 0
    # The pooled connection goes back as it came: not in autocommit on PostgreSQL, where
    # every other query expects a transaction.
    connection = engine.raw_connection()
    try:
        assert getattr(connection.driver_connection, "autocommit", False) is False
    finally:
        connection.close()
    with session_scope(engine, write=True) as session:
        session.add(Workspace(team_id="T0WRITE"))
    with session_scope(engine) as session:
        assert session.get(Workspace, "T0WRITE") is not None


def test_the_migration_matches_the_models(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    mine = {"production", "performance", "tourplanstate", "feedbackanswer"}
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diffs if any(name in str(d) for name in mine)] == []
