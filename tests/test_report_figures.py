"""The annual report's figures (storage.report), on SQLite and PostgreSQL.

The sample tour plan (data/turneplan-eksempel.csv) plus feedback: the plan's own figures are
counted by hand from the file (see the comments), and the figures that depend on generated
feedback are recomputed here, answer by answer, the slow and obvious way.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import col, select

from handlers.core.i18n import use_language
from handlers.report.summary import summary_lines
from storage.db import session_scope
from storage.feedback import QUESTION_KEYS, AnswerInput, respondent_key, save_answer
from storage.items import ItemInUse, delete_item
from storage.models import Performance, Production, School
from storage.report import (
    BAND_1_4,
    BAND_5_7,
    BAND_8_10,
    MIN_ANSWERS_FOR_RANKING,
    AnnualReport,
    annual_report,
    band_shares,
    default_report_year,
    split_whole,
)
from storage.tourplan import get_performance, local_to_utc
from tests.feedback_helpers import OSLO, load_world

TEAM = "T0RAPPORT"
SECRET = "r" * 40
# Mid-2027: every performance of 2026 has ended.
AFTER_2026 = datetime(2027, 6, 30, 10, 0, tzinfo=UTC)

# The sample's 2026 rows (forestilling_id → art form, school, grades, pupils expected), read
# off data/turneplan-eksempel.csv. AS-H26-010 is cancelled («avlyst: ja»).
PLAN_2026 = {
    "AS-H26-001": ("kulturarv", "Rustad skole", BAND_5_7, 78),
    "AS-H26-002": ("kulturarv", "Kroer skole", BAND_5_7, 41),
    "AS-H26-003": ("musikk", "Nordby skole", BAND_1_4, 112),
    "AS-H26-004": ("musikk", "Brønnerud skole", BAND_1_4, 95),
    "AS-H26-005": ("scenekunst", "Ås ungdomsskole", BAND_8_10, 160),
    "AS-H26-006": ("scenekunst", "Nordbytun ungdomsskole", BAND_8_10, 145),
    "AS-H26-007": ("visuell kunst", "Sjøskogen skole", BAND_1_4, 52),
    "AS-H26-008": ("visuell kunst", "Solberg skole", BAND_1_4, 47),
    "AS-H26-009": ("litteratur", "Ås ungdomsskole", BAND_8_10, 150),
    "AS-H26-010": ("litteratur", "Nordbytun ungdomsskole", BAND_8_10, 140),
    "AS-H26-011": ("film", "Togrenda skole", BAND_5_7, 38),
}
CANCELLED = {"AS-H26-010"}


@dataclass(frozen=True)
class Sent:
    """One answer as the test sent it."""

    performance: str
    user: str
    ratings: dict[str, int]
    pupils: int | None
    anonymous: bool
    comment: str | None


def send(engine: Engine, ids: dict[str, int], answers: Sequence[Sent], now: datetime) -> None:
    with session_scope(engine, write=True) as session:
        for a in answers:
            performance = get_performance(
                session=session, team_id=TEAM, performance_id=ids[a.performance]
            )
            assert performance is not None
            save_answer(
                session=session,
                team_id=TEAM,
                user_id=a.user,
                key=respondent_key(SECRET, TEAM, a.user),
                performance=performance,
                answer=AnswerInput(
                    performance_id=performance.id,
                    ratings=a.ratings,
                    comments={"artistic": a.comment},
                    pupil_hosts="ja",
                    pupils_attended=a.pupils,
                    free_comment=None,
                    anonymous=a.anonymous,
                ),
                now=now,
            )


def generated_answers(seed: int = 16) -> list[Sent]:
    """0–3 answers to each held 2026 performance; some leave out the pupil number, some are
    anonymous, some comment."""
    rng = random.Random(seed)
    answers: list[Sent] = []
    for key in PLAN_2026:
        if key in CANCELLED:
            continue
        for n in range(rng.choice((0, 1, 2, 3, 3))):
            answers.append(
                Sent(
                    performance=key,
                    user=f"U0L{key[-3:]}{n}",
                    ratings={q: rng.randint(1, 5) for q in QUESTION_KEYS},
                    pupils=rng.choice((None, rng.randint(10, 200))),
                    anonymous=rng.random() < 0.3,
                    comment=rng.choice((None, "Elevene likte det", '=HYPERLINK("x")')),
                )
            )
    return answers


def report(engine: Engine, year: int, now: datetime = AFTER_2026) -> AnnualReport:
    with session_scope(engine) as session:
        return annual_report(session=session, team_id=TEAM, year=year, tz=OSLO, now=now)


def median_half_up(values: Sequence[int]) -> int:
    middle = statistics.median(values)
    return int(middle + 0.5)


def test_default_year_is_the_last_complete_calendar_year():
    assert default_report_year(date(2027, 1, 15)) == 2026
    assert default_report_year(date(2026, 12, 31)) == 2025


def test_the_sample_tour_plan_and_generated_feedback_as_counted_by_hand(engine):
    ids = load_world(engine, TEAM, AFTER_2026)
    with session_scope(engine, write=True) as session:
        session.add(School(team_id=TEAM, name="Kaja skole"))  # in the directory, never visited
    answers = generated_answers()
    send(engine, ids, answers, AFTER_2026)
    found = report(engine, 2026)

    # The plan alone, by hand: 11 rows in 2026, one cancelled; 6 productions held.
    t = found.totals
    assert (t.held, t.cancelled, t.planned, t.productions) == (10, 1, 0, 6)
    assert [(a.art_form, a.held, a.cancelled, a.productions) for a in found.art_forms] == [
        ("musikk", 2, 0, 1),
        ("scenekunst", 2, 0, 1),
        ("visuell kunst", 2, 0, 1),
        ("film", 1, 0, 1),
        ("litteratur", 1, 1, 1),
        ("kulturarv", 2, 0, 1),
    ]
    assert [(m.month, m.held, m.cancelled) for m in found.timeline if m.held or m.cancelled] == [
        (11, 8, 0),  # 17.–27. November: 001–008
        (12, 2, 1),  # 1. and 3. December: 009, 011 held; 010 cancelled
    ]

    # Pupils: the median of the numbers the answers give (half up), else the plan's.
    reported: dict[str, list[int]] = {}
    for a in answers:
        if a.pupils is not None:
            reported.setdefault(a.performance, []).append(a.pupils)
    pupils = {
        key: median_half_up(reported[key]) if key in reported else expected
        for key, (_art, _school, _band, expected) in PLAN_2026.items()
        if key not in CANCELLED
    }
    assert t.attendances == sum(pupils.values())
    assert t.attendances_from_feedback == len(reported)
    assert t.attendances_from_tourplan == 10 - len(reported)
    assert t.attendances_unknown == 0
    by_art = {a.art_form: a.attendances for a in found.art_forms}
    for art in by_art:
        assert by_art[art] == sum(p for k, p in pupils.items() if PLAN_2026[k][0] == art)
    # No 2026 row spans two bands, and there are no VG rows: three bands, nothing shared.
    assert [(b.band, b.held, b.attendances) for b in found.grade_bands] == [
        (
            band,
            sum(1 for k in pupils if PLAN_2026[k][2] == band),
            sum(p for k, p in pupils.items() if PLAN_2026[k][2] == band),
        )
        for band in (BAND_1_4, BAND_5_7, BAND_8_10)
    ]

    # Schools: nine visited, Kaja skole not; Nordbytun had one held and one cancelled.
    assert t.schools_reached == 9 and t.schools_in_directory == 10
    assert [s.name for s in found.schools_without_visit] == ["Kaja skole"]
    nordbytun = next(s for s in found.schools if s.name == "Nordbytun ungdomsskole")
    assert (nordbytun.held, nordbytun.cancelled) == (1, 1)
    aas = next(s for s in found.schools if s.name == "Ås ungdomsskole")
    assert aas.held == 2 and aas.attendances == pupils["AS-H26-005"] + pupils["AS-H26-009"]
    assert aas.municipality == "Ås"

    # Feedback, answer by answer.
    fb = found.feedback
    answered = {a.performance for a in answers}
    assert (fb.answers, fb.answered_performances, fb.held) == (len(answers), len(answered), 10)
    assert fb.response_rate == pytest.approx(len(answered) / 10)
    for q in QUESTION_KEYS:
        assert fb.averages[q] == pytest.approx(statistics.mean(a.ratings[q] for a in answers))
    for r in fb.per_art_form:
        mine = [a for a in answers if PLAN_2026[a.performance][0] == r.art_form]
        assert r.answers == len(mine)
        assert r.answered_performances == len({a.performance for a in mine})
        if mine:
            assert r.averages["overall"] == pytest.approx(
                statistics.mean(a.ratings["overall"] for a in mine)
            )
    titles = {key: PLAN_2026[key][0] for key in PLAN_2026}
    per_production: dict[str, list[Sent]] = {}
    for a in answers:
        per_production.setdefault(titles[a.performance], []).append(a)  # one production per art
    ranked = sorted(
        (
            (statistics.mean(a.ratings["overall"] for a in mine), art)
            for art, mine in per_production.items()
            if len(mine) >= MIN_ANSWERS_FOR_RANKING
        ),
    )
    assert [p.averages["overall"] for p in fb.lowest_rated] == pytest.approx(
        [mean for mean, _art in ranked][:5]
    )
    assert all(p.answers >= MIN_ANSWERS_FOR_RANKING for p in fb.lowest_rated)
    commented = [a for a in answers if a.comment]
    assert fb.comments_total == len(commented) == len(fb.comments)
    assert sorted(
        (c.text, str(c.school), c.question, str(c.author)) for c in fb.comments
    ) == sorted(
        (
            str(a.comment),
            PLAN_2026[a.performance][1],
            "artistic",
            str(None if a.anonymous else a.user),
        )
        for a in commented
    )


def test_pupils_present_take_the_median_of_several_answers(engine):
    ids = load_world(engine, TEAM, AFTER_2026)
    ratings = dict.fromkeys(QUESTION_KEYS, 4)

    def sent(key: str, user: str, pupils: int | None) -> Sent:
        return Sent(key, user, ratings, pupils, anonymous=False, comment=None)

    send(
        engine,
        ids,
        [
            # Three numbers: the middle one, 90 (not the mean, 70).
            sent("AS-H26-001", "U01", 100),
            sent("AS-H26-001", "U02", 20),
            sent("AS-H26-001", "U03", 90),
            # Two: their mean, half up: 55.5 → 56.
            sent("AS-H26-003", "U01", 50),
            sent("AS-H26-003", "U02", 61),
            # One without a number: the other's.
            sent("AS-H26-005", "U01", None),
            sent("AS-H26-005", "U02", 70),
            # None at all: the plan's 145.
            sent("AS-H26-006", "U01", None),
        ],
        AFTER_2026,
    )
    found = report(engine, 2026)
    # The plan's 918 held pupils, with 78 → 90, 112 → 56, 160 → 70.
    assert found.totals.attendances == 918 - 78 - 112 - 160 + 90 + 56 + 70
    assert found.totals.attendances_from_feedback == 3
    assert found.totals.attendances_from_tourplan == 7
    assert found.totals.attendance_source == "mixed"


def test_cancelled_performances_never_count_as_held(engine):
    ids = load_world(engine, TEAM, AFTER_2026)
    film = Sent(
        "AS-H26-011",
        "U0FILM",
        dict.fromkeys(QUESTION_KEYS, 1),
        30,
        anonymous=False,
        comment="Flott",
    )
    send(engine, ids, [film], AFTER_2026)
    with session_scope(engine, write=True) as session:
        performance = session.get(Performance, ids["AS-H26-011"])
        assert performance is not None
        performance.cancelled = True  # cancelled after someone answered
        session.add(performance)
    found = report(engine, 2026)
    assert (found.totals.held, found.totals.cancelled, found.totals.productions) == (9, 2, 5)
    assert found.totals.attendances == 918 - 38
    film_line = next(a for a in found.art_forms if a.art_form == "film")
    assert (film_line.held, film_line.cancelled, film_line.productions) == (0, 1, 0)
    assert film_line.attendances == 0
    # Togrenda's only performance was cancelled: no visit.
    assert "Togrenda skole" in [s.name for s in found.schools_without_visit]
    assert found.feedback.answers == 0 and found.feedback.comments == ()
    assert found.feedback.held == 9
    assert found.timeline[11].cancelled == 2


def test_performances_not_ended_are_planned_and_a_span_of_grades_is_shared(engine):
    # 1 March 2027: January's and February's performances are held, the rest planned.
    now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    load_world(engine, TEAM, now)
    found = report(engine, 2027, now=now)
    t = found.totals
    assert (t.held, t.cancelled, t.planned) == (5, 0, 6)  # 012–016 held; 017–022 planned
    assert found.feedback.held == 5
    assert [m.planned for m in found.timeline][2:5] == [2, 2, 2]  # March, April, May
    # Held: 012–014 joik 1.–4. (120 + 48 + 96), 015–016 hip hop 10. (70 + 75).
    assert [(b.band, b.held, b.attendances) for b in found.grade_bands] == [
        (BAND_1_4, 3, 264),
        (BAND_5_7, 0, 0),
        (BAND_8_10, 2, 145),
    ]
    # After the school year: «Kunst i skogen» (1.–7., 96 pupils) shares 4:3 → 55 and 41.
    later = report(engine, 2027, now=datetime(2027, 6, 30, tzinfo=UTC))
    bands = {b.band: b for b in later.grade_bands}
    assert bands[BAND_1_4].attendances == 120 + 48 + 96 + 50 + 55
    assert bands[BAND_5_7].attendances == 105 + 60 + 22 + 19 + 41
    # 012–014 and 022 in 1.–4., 017–020 in 5.–7.; 021 counts in both.
    assert bands[BAND_1_4].held == 5 and bands[BAND_5_7].held == 5
    assert sum(b.attendances for b in later.grade_bands) == later.totals.attendances


def test_grade_texts_and_shares():
    assert band_shares("5.–7.") == {BAND_5_7: 3}
    assert band_shares("1.–7.") == {BAND_1_4: 4, BAND_5_7: 3}
    assert band_shares("1., 3., 5.") == {BAND_1_4: 2, BAND_5_7: 1}
    assert band_shares("VG1–VG3") == {"VG": 3}
    assert band_shares("10., VG1") == {BAND_8_10: 1, "VG": 1}
    assert band_shares(None) == {"uten trinn": 1}
    assert band_shares("alle") == {"uten trinn": 1}
    assert split_whole(96, {BAND_1_4: 4, BAND_5_7: 3}) == {BAND_1_4: 55, BAND_5_7: 41}
    assert split_whole(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert split_whole(0, {"a": 1}) == {"a": 0}


def test_vg_band_only_when_the_plan_has_vg_rows(engine):
    load_world(engine, TEAM, AFTER_2026)
    assert "VG" not in [b.band for b in report(engine, 2026).grade_bands]
    with session_scope(engine, write=True) as session:
        performance = session.exec(
            select(Performance).where(col(Performance.external_key) == "AS-H26-005")
        ).one()
        performance.grade_levels = "VG1–VG3"
        session.add(performance)
    bands = {b.band: b for b in report(engine, 2026).grade_bands}
    assert bands["VG"].held == 1 and bands["VG"].attendances == 160
    assert bands[BAND_8_10].held == 2


def test_the_year_is_a_calendar_year_in_oslo(engine):
    load_world(engine, TEAM, AFTER_2026)
    with session_scope(engine, write=True) as session:
        production = session.exec(select(Production)).first()
        school = session.exec(select(School)).first()
        assert production and production.id and school and school.id
        for key, day, clock in (
            ("nyttår-før", date(2026, 12, 31), (23, 0)),  # 22:00 UTC: still 2026 in Oslo
            ("nyttår-etter", date(2027, 1, 1), (0, 30)),  # 23:30 UTC on 31 December
        ):
            starts = local_to_utc(day, datetime(2000, 1, 1, *clock).time(), OSLO)
            session.add(
                Performance(
                    team_id=TEAM,
                    external_key=key,
                    production_id=production.id,
                    school_id=school.id,
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=20),
                    expected_pupils=7,
                )
            )
    assert report(engine, 2026).totals.held == 11
    assert report(engine, 2026).timeline[11].held == 3
    in_2027 = report(engine, 2027)
    assert in_2027.totals.held == 12 and in_2027.timeline[0].held == 4


def test_a_renamed_or_deleted_school_keeps_its_performances(engine):
    ids = load_world(engine, TEAM, AFTER_2026)
    send(
        engine,
        ids,
        [Sent("AS-H26-011", "U0TOG", dict.fromkeys(QUESTION_KEYS, 3), 33, False, "Bra")],
        AFTER_2026,
    )
    before = report(engine, 2026)
    with session_scope(engine, write=True) as session:
        rustad = session.exec(select(School).where(col(School.name) == "Rustad skole")).one()
        rustad.name = "Rustad barneskole"
        session.add(rustad)
        togrenda = session.exec(select(School).where(col(School.name) == "Togrenda skole")).one()
        togrenda_id = togrenda.id
        assert togrenda_id is not None
    # The bot refuses to delete a school with performances…
    with session_scope(engine, write=True) as session, pytest.raises(ItemInUse):
        delete_item(session=session, kind="school", team_id=TEAM, item_id=togrenda_id, user_id=None)
    # …but if its row goes anyway (by hand in the database), the report keeps the performance.
    force_delete_school(engine, togrenda_id)
    after = report(engine, 2026)
    assert after.totals == replace(before.totals, schools_in_directory=8)
    assert after.art_forms == before.art_forms
    assert after.feedback.answers == 1 and after.feedback.comments[0].school is None
    names = [s.name for s in after.schools]
    assert "Rustad barneskole" in names and "Rustad skole" not in names
    gone = next(s for s in after.schools if s.school_id == togrenda_id)
    assert (gone.name, gone.held, gone.attendances) == (None, 1, 33)
    assert gone not in after.schools_without_visit
    with use_language("nb"):
        lines = "\n".join(summary_lines(after, for_coordinator=True))
    assert "ukjent skole" in lines


def force_delete_school(engine: Engine, school_id: int) -> None:
    """Delete a school row past its foreign keys, as a hand edit of the database might."""
    if engine.dialect.name == "sqlite":
        # The pragma only changes outside a transaction: on the DBAPI connection (autocommit).
        raw = engine.raw_connection()
        try:
            raw.execute("PRAGMA foreign_keys=OFF")
            raw.execute("DELETE FROM school WHERE id = ?", (school_id,))
            raw.execute("PRAGMA foreign_keys=ON")
        finally:
            raw.close()
        return
    with engine.connect() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("DELETE FROM school WHERE id = :id"), {"id": school_id})
        conn.execute(text("SET session_replication_role = DEFAULT"))
        conn.commit()


def test_a_year_without_performances_says_so(engine):
    load_world(engine, TEAM, AFTER_2026)
    empty = report(engine, 2030)
    assert empty.is_empty
    assert empty.totals.held == empty.feedback.answers == 0
    assert empty.art_forms == () and empty.schools == ()
    assert len(empty.schools_without_visit) == 9  # every school in the directory
    with use_language("nb"):
        [line] = summary_lines(empty, for_coordinator=True)
    assert "Ingen forestillinger i 2030" in line
    assert not report(engine, 2026).is_empty


def test_another_workspace_is_never_counted(engine):
    load_world(engine, TEAM, AFTER_2026)
    with session_scope(engine) as session:
        other = annual_report(
            session=session, team_id="T0ANNEN", year=2026, tz=OSLO, now=AFTER_2026
        )
    assert other.is_empty and other.totals.schools_in_directory == 0


def _summary_text(found: AnnualReport, **kw: Any) -> str:
    with use_language("nb"):
        return "\n".join(summary_lines(found, **kw))


def test_summary_lines_follow_the_sections_and_keep_comments_for_coordinators(engine):
    ids = load_world(engine, TEAM, AFTER_2026)
    send(
        engine,
        ids,
        [
            Sent("AS-H26-005", "U0NAVN", dict.fromkeys(QUESTION_KEYS, 5), 150, False, "*Flott*"),
            Sent("AS-H26-005", "U0ANON", dict.fromkeys(QUESTION_KEYS, 4), 155, True, "<!here>"),
        ],
        AFTER_2026,
    )
    found = report(engine, 2026)
    coordinator = _summary_text(found, for_coordinator=True)
    headings = [line for line in coordinator.splitlines() if line.startswith("*")]
    assert headings[:6] == [
        "*DKS-rapport for 2026*",
        "*Forestillinger og produksjoner*",
        "*Elevbesøk*",
        "*Skoler*",
        "*Tilbakemeldinger*",
        headings[5],
    ]
    assert headings[5].startswith("*Nyeste kommentarer*") and headings[-1] == "*Økonomi*"
    assert "10 gjennomførte forestillinger, 1 avlyst, 6 produksjoner." in coordinator
    assert "DKS-portalen" in coordinator
    assert "<@U0NAVN>" in coordinator and "anonym" in coordinator
    assert "<!here>" not in coordinator and "&lt;!here&gt;" in coordinator  # escaped
    member = _summary_text(found, for_coordinator=False)
    assert "U0NAVN" not in member and "anonym" not in member and "Flott" not in member
    assert "Svarprosent 10\xa0%: 1 av 10 gjennomførte forestillinger har svar (2 svar)." in member
