"""What the annual report costs for a national-scale workspace: figures, charts and workbook,
and a web worker's memory.

    python -m bench.report [--repeat 5] [--database-url postgresql+psycopg://…] [--keep]

A fresh SQLite database (and optionally the PostgreSQL database named by --database-url) gets
the national-scale base data of bench.commands.prepare and then, in the measured workspace,
the worst case for one report: 3,600 productions and 50,000 performances *all in the reported
year* (the last complete calendar year, as `/dks rapport` defaults to), at 95 % of the
workspace's 1,582 schools (the rest are its «no DKS visit» list), 2 % of them cancelled,
grade levels from 1.–4. to VG1–VG3 and spans such as 1.–7., and 100,000 answers (most
reporting pupils present, so most performances take the median of several numbers; three in
ten with comments). A PostgreSQL database that already holds the performances is used as it
is (a fresh one takes minutes to fill).

Measured, in this process:
- the figures (storage.report.annual_report), on each database: the first call and the
  median and worst of `--repeat` more;
- the charts (handlers.report.charts.render_charts, matplotlib imported on first use timed
  apart), the workbook (handlers.report.files.report_workbook) and the CSV zip;
and in a fresh subprocess per database, as a web worker does it: the app built
(bot.app.create_app), then a whole report made `--repeat` times — figures, the charts drawn in
a child process (render_charts_apart), the workbook — timed, and the worker's RSS (VmRSS from
/proc/self/status) before, after the first report and after the last; then the same with the
charts drawn in the worker itself, for comparison.

Targets (issue #16): figures ≤ 2 s; charts and workbook ≤ 5 s more; RSS growth ≤ 30 MB.
Nothing asserts on time: it prints the figures and says whether each target is met.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select, text
from sqlmodel import col

from bench.commands import BENCH_TEAM, prepare
from bench.common import PRODUCTIONS, REPO
from bench.feedback import COMMENTS, EXTRA_WORDS
from storage.db import make_engine, session_scope
from storage.feedback import EDIT_WINDOW, QUESTION_KEYS
from storage.folding import fold
from storage.models import (
    ArtForm,
    FeedbackAnswer,
    Municipality,
    Performance,
    Production,
    School,
    TourplanState,
)
from storage.report import default_report_year
from storage.tourplan import local_to_utc, performance_search_key

PERFORMANCES = 50_000
ANSWERS = 100_000
PRODUCTION_COUNT = 3_600  # Kulturtanken's national figure (2018)
OSLO = ZoneInfo("Europe/Oslo")
# The tour plan's «trinn» as the importer stores them; VG rows are few (the county's DKS).
GRADES = (
    ("1.–4.", 20),
    ("5.–7.", 20),
    ("8.–10.", 20),
    ("1.–7.", 8),
    ("3.–4.", 6),
    ("6.–7.", 6),
    ("8.", 4),
    ("1., 3., 5.", 2),
    ("VG1–VG3", 2),
    (None, 12),
)
TARGET_FIGURES = 2.0
TARGET_FILES = 5.0
TARGET_RSS_MB = 30.0


def _bulk(engine: Engine, table: Any, rows: list[dict[str, Any]], chunk: int = 5_000) -> None:
    with session_scope(engine, write=True) as session:
        for i in range(0, len(rows), chunk):
            session.execute(insert(table), rows[i : i + chunk])


def _school_day(rng: random.Random, year: int) -> date:
    """A weekday in the school months (not July) of `year`."""
    while True:
        day = date(year, 1, 1) + timedelta(days=rng.randrange(0, 365))
        if day.month != 7 and day.weekday() < 5:
            return day


def populate_report(engine: Engine, team: str, *, year: int, seed: int = 16) -> None:
    """3,600 productions, 50,000 performances in `year` and 100,000 answers, in `team`."""
    rng = random.Random(seed)
    with session_scope(engine) as session:
        schools = [
            (r[0], r[1], r[2])
            for r in session.execute(
                select(col(School.id), col(School.name), col(Municipality.name))
                .outerjoin(Municipality, col(Municipality.id) == col(School.municipality_id))
                .where(col(School.team_id) == team)
            )
        ]
    arts = [a.value for a in ArtForm]
    titles: list[str] = []
    seen: set[str] = set()
    while len(titles) < PRODUCTION_COUNT:
        title = f"{rng.choice(PRODUCTIONS)} {rng.choice(EXTRA_WORDS)} {len(titles) + 1}"
        if title not in seen:
            seen.add(title)
            titles.append(title)
    _bulk(
        engine,
        Production,
        [
            {
                "team_id": team,
                "title": t,
                "title_key": fold(t),
                "art_form": rng.choice(arts),
                "producer": "Bench-produsent",
                "description": None,
            }
            for t in titles
        ],
    )
    with session_scope(engine) as session:
        productions = [
            (r[0], r[1])
            for r in session.execute(
                select(col(Production.id), col(Production.title)).where(
                    col(Production.team_id) == team
                )
            )
        ]
    grades = [g for g, _ in GRADES]
    weights = [w for _, w in GRADES]
    # One school in twenty gets no performance: the «no DKS visit» list has work to do.
    visited = sorted(schools)[: len(schools) * 19 // 20]
    rows: list[dict[str, Any]] = []
    for n in range(PERFORMANCES):
        production_id, title = rng.choice(productions)
        school_id, school, municipality = rng.choice(visited)
        day = _school_day(rng, year)
        start = clock_time(rng.choice((8, 9, 10, 11, 12, 13)), rng.choice((0, 15, 30)))
        starts_at = local_to_utc(day, start, OSLO)
        rows.append(
            {
                "team_id": team,
                "external_key": f"rapport-{n}",
                "production_id": production_id,
                "school_id": school_id,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(minutes=rng.choice((45, 60, 90, 180))),
                "venue": rng.choice(("Gymsalen", "Aulaen", "Klasserommet", None)),
                "grade_levels": rng.choices(grades, weights)[0],
                "expected_pupils": rng.randrange(15, 300) if rng.random() < 0.95 else None,
                "cancelled": rng.random() < 0.02,
                "search_key": performance_search_key(
                    title=title, school=school, municipality=municipality, day=day
                ),
            }
        )
    _bulk(engine, Performance, rows)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        held = [
            (r[0], r[1], r[2], r[3])
            for r in session.execute(
                select(
                    col(Performance.id),
                    col(Performance.production_id),
                    col(Performance.ends_at),
                    col(Performance.expected_pupils),
                ).where(
                    col(Performance.team_id) == team,
                    col(Performance.external_key).like("rapport-%"),
                    col(Performance.cancelled).is_(False),
                )
            )
        ]
    answers: list[dict[str, Any]] = []
    for n in range(ANSWERS):
        performance_id, production_id, ends_at, expected = rng.choice(held)
        if ends_at.tzinfo is None:
            ends_at = ends_at.replace(tzinfo=UTC)
        created = ends_at + timedelta(hours=rng.randrange(1, 200))
        anonymous = rng.random() < 0.2
        commented = rng.random() < 0.3
        present = max(1, (expected or 100) - rng.randrange(0, 20))
        row: dict[str, Any] = {
            "team_id": team,
            "performance_id": performance_id,
            "production_id": production_id,
            "anonymous": anonymous,
            "user_id": None if anonymous else f"U{n:08d}",
            "respondent_key": None,
            "pupil_hosts": rng.choice(("ja", "nei", "vet ikke", None)),
            "pupils_attended": present if rng.random() < 0.85 else None,
            "free_comment": rng.choice(COMMENTS) if commented else None,
            "created_at": created,
            "updated_at": created,
            "edit_until": created + EDIT_WINDOW,
        }
        for q in QUESTION_KEYS:
            row[f"rating_{q}"] = rng.choice((5, 5, 4, 4, 4, 3, 3, 2, 1))
            row[f"comment_{q}"] = rng.choice(COMMENTS) if commented and rng.random() < 0.2 else None
        answers.append(row)
    _bulk(engine, FeedbackAnswer, answers)
    with session_scope(engine, write=True) as session:
        if session.get(TourplanState, team) is None:
            session.add(TourplanState(team_id=team, version=1, changed_at=now))


def prepare_report(engine: Engine, label: str, year: int) -> None:
    prepare(engine, label)
    with engine.connect() as conn:
        existing = conn.execute(
            select(func.count())
            .select_from(Performance)
            .where(col(Performance.team_id) == BENCH_TEAM)
        ).scalar_one()
    if existing:
        print(f"{label}: already holds {existing} performances; used as it is.")
        return
    started = time.perf_counter()
    populate_report(engine, BENCH_TEAM, year=year)
    if engine.dialect.name == "postgresql":
        # As in bench.commands.prepare: the planner's statistics, as autovacuum would soon
        # gather them after a bulk load.
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    print(
        f"{label}: {PERFORMANCES} performances in {year} and {ANSWERS} answers added in "
        f"{time.perf_counter() - started:.1f} s"
    )


# --- Measuring -----------------------------------------------------------------------------------


def _figures(engine: Engine, year: int) -> Any:
    from storage.report import annual_report

    with session_scope(engine) as session:
        return annual_report(session=session, team_id=BENCH_TEAM, year=year, tz=OSLO)


def time_figures(engine: Engine, label: str, year: int, repeat: int) -> tuple[Any, float, float]:
    """The first call, then the median and worst of `repeat` more (seconds)."""
    started = time.perf_counter()
    report = _figures(engine, year)
    first = time.perf_counter() - started
    samples = []
    cpu = []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        _figures(engine, year)
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    t = report.totals
    print(
        f"{label}: figures first {first * 1000:.0f} ms, then median "
        f"{statistics.median(samples) * 1000:.0f} ms, best {min(samples) * 1000:.0f} ms, worst "
        f"{max(samples) * 1000:.0f} ms (n={repeat}; CPU in this process, median "
        f"{statistics.median(cpu) * 1000:.0f} ms): {t.held} held, {t.cancelled} cancelled, "
        f"{t.productions} productions, "
        f"{t.attendances} attendances ({t.attendances_from_feedback} from feedback), "
        f"{report.feedback.answers} answers, {len(report.schools_without_visit)} schools "
        "without a visit"
    )
    return report, statistics.median(samples), max(first, *samples)


def time_files(report: Any, repeat: int) -> float:
    """Charts, workbook and CSV zip; returns the worst charts + workbook time (seconds)."""
    started = time.perf_counter()
    import matplotlib  # noqa: F401  (what the first report in a process pays once)

    imported = time.perf_counter() - started
    from handlers.report.charts import render_charts
    from handlers.report.files import report_csv_zip, report_workbook

    worst = 0.0
    rows: list[tuple[float, float, float, int, int]] = []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        charts = render_charts(report)
        drawn = time.perf_counter()
        book = report_workbook(report, charts)
        written = time.perf_counter()
        archive = report_csv_zip(report)
        zipped = time.perf_counter()
        rows.append((drawn - started, written - drawn, zipped - written, len(book), len(archive)))
        worst = max(worst, written - started)
    charts_s = statistics.median(r[0] for r in rows)
    book_s = statistics.median(r[1] for r in rows)
    zip_s = statistics.median(r[2] for r in rows)
    print(
        f"files: importing matplotlib {imported * 1000:.0f} ms (once per process); "
        f"{len(charts)} charts {charts_s * 1000:.0f} ms, workbook {book_s * 1000:.0f} ms "
        f"({rows[-1][3] // 1024} KB), CSV zip {zip_s * 1000:.0f} ms ({rows[-1][4] // 1024} KB) "
        f"(medians of {len(rows)}); worst charts + workbook {worst * 1000:.0f} ms"
    )
    return worst + imported


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def worker_memory(url: str, year: int, repeat: int, *, apart: bool) -> None:
    """In this (fresh) process: build the app as a web worker does, then make whole reports:
    the charts drawn in a child process (`apart`, as the worker does) or in this one."""
    from bot.app import create_app
    from bot.settings import Settings
    from bot.shell.fakeslack import FakeSlack
    from handlers.report.charts import render_charts, render_charts_apart
    from handlers.report.files import report_workbook

    fake = FakeSlack(team_id=BENCH_TEAM)  # create_app asks Slack who the token is
    fake.start()
    settings = Settings.from_env(
        {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": secrets.token_hex(16),
            "DKS_SECRET_KEY": secrets.token_hex(32),
            "SLACK_API_URL": fake.api_url,
        },
        dotenv_path=None,
    )
    engine = make_engine(settings.database_url)
    create_app(settings, engine=engine)
    with engine.connect() as conn:  # the pool's connection, as a worker that served requests
        conn.execute(select(1))
    gc.collect()
    before = _rss_mb()
    after: list[float] = []
    seconds: list[float] = []
    for _ in range(max(1, repeat)):
        report = _figures(engine, year)
        started = time.perf_counter()
        charts = render_charts_apart(report) if apart else render_charts(report)
        report_workbook(report, charts)
        seconds.append(time.perf_counter() - started)
        del report, charts
        gc.collect()
        after.append(_rss_mb())
    fake.stop()
    print(json.dumps({"before": before, "after": after, "seconds": seconds}))


def measure_memory(
    url: str, label: str, year: int, repeat: int, *, apart: bool = True
) -> tuple[float, float, float]:
    """Runs worker_memory in a subprocess; returns the largest RSS growth (MB) and the median
    and worst charts + workbook time (s)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.report", "--worker", url, "--year", str(year)]
        + ["--repeat", str(repeat)]
        + ([] if apart else ["--in-process"]),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    before, after, seconds = found["before"], found["after"], found["seconds"]
    how = "charts in a child process" if apart else "charts in the worker itself"
    print(
        f"{label}, {how}: worker RSS {before:.0f} MB with the app built; {after[0]:.0f} MB "
        f"after the first report (+{after[0] - before:.1f} MB), {after[-1]:.0f} MB after "
        f"{len(after)} (+{after[-1] - before:.1f} MB); charts + workbook "
        f"{statistics.median(seconds) * 1000:.0f} ms median, {max(seconds) * 1000:.0f} ms worst"
    )
    return max(after) - before, statistics.median(seconds), max(seconds)


def verdict(name: str, median: float, worst: float, target: float, unit: str) -> str:
    def says(value: float) -> str:
        return "meets" if value <= target else "misses"

    return (
        f"  {name} (target ≤ {target:g} {unit}): median {median:.2f} {unit} {says(median)}, "
        f"worst {worst:.2f} {unit} {says(worst)}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after the first")
    parser.add_argument("--database-url", help="also measure on this (PostgreSQL) database")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--year", type=int, help="the reported year (default: last year)")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    year = args.year or default_report_year(date.today())
    if args.worker:
        worker_memory(args.worker, year, args.repeat, apart=not args.in_process)
        return

    from bot.settings import Settings

    workdir = Path(tempfile.mkdtemp(prefix="dks-bench-report-"))
    databases = [("SQLite", f"sqlite:///{workdir / 'national.db'}")]
    if args.database_url:
        pg_url = Settings.from_env(
            {"DATABASE_URL": args.database_url}, dotenv_path=None
        ).database_url
        databases.append(("PostgreSQL", pg_url))
    print(f"Report for {year}, workspace {BENCH_TEAM}")
    results: list[str] = []
    try:
        report = None
        for label, url in databases:
            engine = make_engine(url)
            prepare_report(engine, label, year)
            found, median, worst = time_figures(engine, label, year, args.repeat)
            report = report or found
            engine.dispose()
            results.append(verdict(f"{label}: figures", median, worst, TARGET_FIGURES, "s"))
        assert report is not None
        time_files(report, args.repeat)
        for label, url in databases:
            growth, median, worst = measure_memory(url, label, year, args.repeat)
            results.append(
                verdict(f"{label}: charts + workbook in a worker", median, worst, TARGET_FILES, "s")
            )
            results.append(
                f"  {label}: worker RSS growth (target ≤ {TARGET_RSS_MB:g} MB): {growth:.1f} MB "
                + ("meets" if growth <= TARGET_RSS_MB else "misses")
            )
        # For comparison: what drawing in the worker itself would cost it.
        measure_memory(databases[0][1], databases[0][0], year, args.repeat, apart=False)
        print()
        print("\n".join(results))
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
