"""How fast the feedback type-ahead and summary answer with 50,000 performances and 100,000
answers, over HTTP, beside the bare-Bolt floor measured in the same run.

    python -m bench.feedback [--requests 300] [--warmup 30] [--database-url postgresql+psycopg://…]
    python -m bench.feedback --profile "ås"   # one type-ahead query in-process, under cProfile

A fresh SQLite database (and optionally the PostgreSQL database named by --database-url) gets
the national-scale base data of bench.common.populate_national, and then, all in the measured
workspace (the worst case: one workspace holding the whole country's tour plan), 3,600
productions, 50,000 performances over two school years and 100,000 answers. One gunicorn
server (the gthread configuration `dks-bot serve` uses) serves side by side:

- `bot`: the real app (bot.server.build_wsgi_app; always process_before_response),
- `bare`, `bare-pbr`: a bare Bolt App (bench.common.bare_bolt_app, whose /dks acks fixed text)
  with one `options` listener that acks one fixed option: the floor for both request kinds.

Measured until the ack body has arrived: `block_suggestion` (the type-ahead; its options
travel in the ack) for several queries, and for a whole title typed one keystroke at a time
(each request the next prefix), and `/dks tilbakemelding oppsummering [produksjon]`. Nothing
is cached per query: every type-ahead searches the in-memory index anew.
The fastest bare p99 is the floor; the target is type-ahead p99 ≤ 2 × floor. The summary has
no target; its figures are printed beside the same floor. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import pstats
import random
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy import Engine, func, insert, select, text, update
from sqlmodel import col

from bench.commands import BENCH_TEAM, prepare
from bench.common import (
    PRODUCTIONS,
    Stats,
    bare_bolt_app,
    bench_apps,
    gunicorn_subprocess,
    summarize,
)
from bot.server import WSGIApp
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import interaction_body, signed_headers, slash_command_body
from handlers.feedback.forms import PERFORMANCE_ACTION, PERFORMANCE_BLOCK, feedback_modal
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
from storage.tourplan import local_to_utc, performance_search_key

PERFORMANCES = 50_000
ANSWERS = 100_000
PRODUCTION_COUNT = 3_600  # Kulturtanken's national figure (2018)
USER = "U0BENCH"
OSLO = ZoneInfo("Europe/Oslo")
ERROR_MARK = "Noe gikk galt"
BARE_OPTIONS = [{"text": {"type": "plain_text", "text": "Forestilling"}, "value": "1"}]
COMMENTS = (
    "Elevene var engasjerte hele veien.",
    "Litt for lang for de minste.",
    "Flott formidling, og god samtale etterpå.",
    "Lokalet var for lite; vi måtte flytte stoler.",
    "Informasjonen på forhånd kom sent.",
    "Sterke musikere – elevene snakket om det i mange dager.",
)
EXTRA_WORDS = (
    "for småtrinnet",
    "for mellomtrinnet",
    "på turné",
    "i Nord",
    "i fjæra",
    "– en forestilling om vennskap",
    "og Åsgårdsreia",
    "med Ørjan",
    "i skolegården",
)


# --- The server side (runs in the gunicorn worker) -----------------------------------------------


def wsgi_app() -> WSGIApp:
    """The apps under test, each under its own path prefix; settings from the environment."""

    def bare(secret: str, client: WebClient, pbr: bool) -> App:
        app = bare_bolt_app(signing_secret=secret, client=client, process_before_response=pbr)

        def options(ack: Ack) -> None:
            ack(options=BARE_OPTIONS)

        app.options(PERFORMANCE_ACTION)(options)
        return app

    return bench_apps(bare)


# --- Data ----------------------------------------------------------------------------------------


def _bulk(engine: Engine, table: Any, rows: list[dict[str, Any]], chunk: int = 5_000) -> None:
    with session_scope(engine, write=True) as session:
        for i in range(0, len(rows), chunk):
            session.execute(insert(table), rows[i : i + chunk])


def populate_feedback(engine: Engine, team: str, *, today: date, seed: int = 4) -> None:
    """3,600 productions, 50,000 performances and 100,000 answers in `team`."""
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
    first_day = today - timedelta(days=420)
    rows: list[dict[str, Any]] = []
    for n in range(PERFORMANCES):
        production_id, title = rng.choice(productions)
        school_id, school, municipality = rng.choice(schools)
        day = first_day + timedelta(days=rng.randrange(0, 620))
        while day.weekday() >= 5:
            day += timedelta(days=1)
        start = clock_time(rng.choice((8, 9, 10, 11, 12, 13)), rng.choice((0, 15, 30)))
        starts_at = local_to_utc(day, start, OSLO)
        rows.append(
            {
                "team_id": team,
                "external_key": f"bench-{n}",
                "production_id": production_id,
                "school_id": school_id,
                "starts_at": starts_at,
                "ends_at": starts_at + timedelta(minutes=rng.choice((45, 60, 90, 180))),
                "venue": rng.choice(("Gymsalen", "Aulaen", "Klasserommet", None)),
                "grade_levels": rng.choice(("1.–4.", "5.–7.", "8.–10.", None)),
                "expected_pupils": rng.randrange(15, 300),
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
            (r[0], r[1], r[2])
            for r in session.execute(
                select(
                    col(Performance.id), col(Performance.production_id), col(Performance.ends_at)
                ).where(
                    col(Performance.team_id) == team,
                    col(Performance.ends_at) <= now,
                    col(Performance.cancelled).is_(False),
                )
            )
        ]
    answers: list[dict[str, Any]] = []
    for n in range(ANSWERS):
        performance_id, production_id, ends_at = rng.choice(held)
        if ends_at.tzinfo is None:
            ends_at = ends_at.replace(tzinfo=UTC)
        created = ends_at + timedelta(hours=rng.randrange(1, 200))
        anonymous = rng.random() < 0.2
        commented = rng.random() < 0.3
        row: dict[str, Any] = {
            "team_id": team,
            "performance_id": performance_id,
            "production_id": production_id,
            "anonymous": anonymous,
            "user_id": None if anonymous else f"U{n:08d}",
            "respondent_key": None if created + EDIT_WINDOW <= now else secrets.token_hex(32),
            "pupil_hosts": rng.choice(("ja", "nei", "vet ikke", None)),
            "pupils_attended": rng.randrange(10, 300),
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
            session.add(TourplanState(team_id=team, version=0))
            session.flush()
        session.execute(
            update(TourplanState)
            .where(col(TourplanState.team_id) == team)
            .values(version=col(TourplanState.version) + 1, changed_at=now)
        )


def prepare_feedback(engine: Engine, label: str) -> None:
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
    populate_feedback(engine, BENCH_TEAM, today=date.today())
    if engine.dialect.name == "postgresql":
        # As in bench.commands.prepare: the planner's statistics, as autovacuum would soon
        # gather them after a bulk load.
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    print(
        f"{label}: {PERFORMANCES} performances and {ANSWERS} answers added in "
        f"{time.perf_counter() - started:.1f} s"
    )


def typeahead_queries(engine: Engine) -> tuple[list[str], str]:
    """Realistic type-ahead input: nothing yet, one letter, a short place name, a title word,
    a school and a date, a whole title, and words that match nothing; and the whole title
    again, to be typed one keystroke at a time."""
    month_ago = datetime.now(UTC) - timedelta(days=30)
    with engine.connect() as conn:
        school, starts_at = conn.execute(
            select(col(School.name), col(Performance.starts_at))
            .join(School, col(School.id) == col(Performance.school_id))
            .where(col(Performance.team_id) == BENCH_TEAM, col(Performance.starts_at) <= month_ago)
            .order_by(col(Performance.starts_at).desc())
            .limit(1)
        ).one()
        title = (
            conn.execute(
                select(col(Production.title))
                .where(col(Production.team_id) == BENCH_TEAM)
                .order_by(col(Production.id))
            )
            .scalars()
            .first()
            or "Jazz"
        )
    day = (starts_at if starts_at.tzinfo else starts_at.replace(tzinfo=UTC)).astimezone(OSLO)
    queries = [
        "",
        "a",
        "ås",
        "jazz",
        f"{school.split()[0]} {day:%d.%m}",
        title,
        "ingen slik forestilling",
    ]
    return queries, title


def summary_commands(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        busiest = conn.execute(
            select(col(Production.title))
            .join(FeedbackAnswer, col(FeedbackAnswer.production_id) == col(Production.id))
            .where(col(Production.team_id) == BENCH_TEAM)
            .group_by(col(Production.id), col(Production.title))
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
    return ["tilbakemelding oppsummering", f"tilbakemelding oppsummering {busiest}"]


# --- Measuring -----------------------------------------------------------------------------------


@dataclass
class Series:
    app: str
    request: str
    samples: list[float]

    @property
    def stats(self) -> Stats:
        return summarize(self.samples)


def _modal() -> dict[str, Any]:
    view = feedback_modal(tz=OSLO).to_dict()
    return {**view, "id": "V0BENCH", "hash": "1700000000.bench"}


class Requests:
    """Signed request bodies, built fresh each time (Slack signs each with a new timestamp)."""

    def __init__(self, secret: str, response_url: str) -> None:
        self.secret = secret
        self.response_url = response_url
        self.view = _modal()

    def suggestion(self, value: str) -> tuple[str, dict[str, str]]:
        body = interaction_body(
            {
                "type": "block_suggestion",
                "user": {"id": USER, "username": "kari", "name": "kari", "team_id": BENCH_TEAM},
                "container": {"type": "view", "view_id": self.view["id"]},
                "api_app_id": "A0DKSBOT",
                "token": "gIkuvaNzQIHg97ATvDxqgjtO",
                "action_id": PERFORMANCE_ACTION,
                "block_id": PERFORMANCE_BLOCK,
                "value": value,
                "team": {"id": BENCH_TEAM, "domain": "dks"},
                "enterprise": None,
                "is_enterprise_install": False,
                "view": {**self.view, "team_id": BENCH_TEAM, "state": {"values": {}}},
            }
        )
        return body, signed_headers(self.secret, body)

    def slash(self, text: str) -> tuple[str, dict[str, str]]:
        body = slash_command_body(
            text=text,
            team_id=BENCH_TEAM,
            user_id=USER,
            channel_id="C0BENCH",
            response_url=self.response_url,
        )
        return body, signed_headers(self.secret, body)


def timed(http: httpx.Client, url: str, built: tuple[str, dict[str, str]]) -> tuple[float, Any]:
    body, headers = built
    content = body.encode()
    started = time.perf_counter()
    response = http.post(url, content=content, headers=headers)
    response.read()
    return time.perf_counter() - started, response


def check(app: str, label: str, response: httpx.Response, problems: list[str]) -> None:
    if response.status_code != 200:
        problems.append(f"{app} {label}: HTTP {response.status_code}")
        return
    if app.startswith("bare"):
        return
    data = json.loads(response.text)
    if label.startswith("typeahead"):
        if "options" not in data:
            problems.append(f"{app} {label}: no options in {response.text[:80]!r}")
    elif not data.get("blocks") or ERROR_MARK in data.get("text", ""):
        problems.append(f"{app} {label}: {data.get('text', '')[:100]!r}")


def measure(
    url: str,
    requests: Requests,
    apps: Sequence[str],
    work: Sequence[tuple[str, str, str]],
    *,
    count: int,
    warmup: int,
) -> tuple[list[Series], list[str], dict[str, float]]:
    """`work`: (label, kind, text) with kind "suggest", "slash", or "typing": `text` typed one
    character at a time, each request the next keystroke's type-ahead (cycling)."""
    problems: list[str] = []
    series: list[Series] = []
    cold: dict[str, float] = {}
    with httpx.Client(timeout=30) as http:
        for app in apps:
            # The first type-ahead in a process builds its in-memory index: timed apart.
            elapsed, response = timed(http, f"{url}/{app}/slack/events", requests.suggestion("x"))
            cold[app] = elapsed
            check(app, "typeahead cold", response, problems)
        for label, kind, text in work:
            found = {app: Series(app, label, []) for app in apps}

            keystrokes = [text[:n] for n in range(1, len(text) + 1)]
            typed = itertools.count()

            def build(
                kind: str = kind,
                text: str = text,
                keystrokes: list[str] = keystrokes,
                typed: Iterator[int] = typed,
            ) -> tuple[str, dict[str, str]]:
                if kind == "typing":
                    return requests.suggestion(keystrokes[next(typed) % len(keystrokes)])
                return requests.suggestion(text) if kind == "suggest" else requests.slash(text)

            for app in apps:
                for _ in range(warmup):
                    _, response = timed(http, f"{url}/{app}/slack/events", build())
                    check(app, label, response, problems)
            sample = timed(http, f"{url}/{apps[0]}/slack/events", build())[1]
            print(f"  {label}: {describe(sample)}")
            for i in range(count):
                for app in [*apps[i % len(apps) :], *apps[: i % len(apps)]]:
                    elapsed, response = timed(http, f"{url}/{app}/slack/events", build())
                    check(app, label, response, problems)
                    found[app].samples.append(elapsed)
            series.extend(found.values())
    return series, problems, cold


def describe(response: httpx.Response) -> str:
    data = json.loads(response.text)
    if "options" in data:
        first = data["options"][0]["text"]["text"] if data["options"] else "–"
        return f"{len(data['options'])} options, {len(response.content)} bytes, first «{first}»"
    return f"{len(data.get('blocks', []))} blocks, {len(response.content)} bytes"


def _kind(kind: str) -> str:
    """What a request is to Slack: every type-ahead series is a block_suggestion."""
    return "slash" if kind == "slash" else "suggest"


def report(series: list[Series], apps: Sequence[str], work: Sequence[tuple[str, str, str]]) -> None:
    bare = {
        (app, kind): summarize(
            [
                x
                for s in series
                if s.app == app and any(w[0] == s.request and _kind(w[1]) == kind for w in work)
                for x in s.samples
            ]
        )
        for app in apps
        if app.startswith("bare")
        for kind in ("suggest", "slash")
    }
    floor_key = min(bare, key=lambda k: bare[k].p99)
    floor = bare[floor_key].p99
    print("\nBare Bolt floors (requests of a kind pooled, ms):")
    for (app, kind), st in bare.items():
        what = "block_suggestion" if kind == "suggest" else "/dks slash"
        print(f"  {app:9} {what:17} p50 {st.ms('p50')}  p99 {st.ms('p99')}  (n={st.n})")
    print(f"  floor = {floor_key[0]} ({floor_key[1]}) p99 = {floor * 1000:.2f} ms")
    bots = [a for a in apps if not a.startswith("bare")]
    width = max(len(w[0]) for w in work) + 2
    print()
    print(f"{'time to ack, ms':{width}} " + " ".join(f"{a + ' p50/p99':>22}" for a in apps))
    for label, _, _ in work:
        cells = []
        for app in apps:
            st = next(s for s in series if s.app == app and s.request == label).stats
            cells.append(f"{st.ms('p50')} /{st.ms('p99')}")
        print(f"{label:{width}} " + " ".join(f"{c:>22}" for c in cells))
    print()
    same = min((st for (app, kind), st in bare.items() if kind == "suggest"), key=lambda st: st.p99)
    print(
        f"(The same block_suggestion request, with the modal in its payload, has a bare floor "
        f"of p99 {same.p99 * 1000:.2f} ms; ratios against it are in brackets.)"
    )
    print(f"{'p99 ÷ floor':{width}} " + " ".join(f"{a:>20}" for a in bots))
    worst: dict[str, float] = {}
    for label, kind, _ in work:
        cells = []
        for app in bots:
            st = next(s for s in series if s.app == app and s.request == label).stats
            ratio = st.p99 / floor
            if _kind(kind) == "suggest":
                worst[app] = max(worst.get(app, 0.0), ratio)
                cells.append(f"{ratio:8.2f}× ({st.p99 / same.p99:5.2f}×)")
            else:
                cells.append(f"{ratio:8.2f}×")
        print(f"{label:{width}} " + " ".join(f"{c:>20}" for c in cells))
    print()
    for app in bots:
        verdict = "meets" if worst[app] <= 2 else "misses"
        print(f"  {app}: worst type-ahead p99 = {worst[app]:.2f} × floor: {verdict} the 2× target")


def profile(engine: Engine, settings: Settings, query: str, requests: int) -> None:
    """Run one type-ahead query in-process (Bolt's dispatch, no HTTP) under cProfile."""
    from slack_bolt.request import BoltRequest

    from bot.app import create_app

    app = create_app(settings, engine=engine)
    built = Requests(settings.slack_signing_secret or "", "http://127.0.0.1:9/response/1")

    def once(body: str, headers: dict[str, Any]) -> None:
        # What the server does: parse the request (as the WSGI adapter does) and dispatch.
        response = app.dispatch(BoltRequest(body=body, headers=headers))
        assert response.status == 200 and "options" in json.loads(response.body), response.body

    for _ in range(20):
        once(*built.suggestion(query))
    samples = []
    profiler = cProfile.Profile()
    for _ in range(requests):
        body, headers = built.suggestion(query)  # signing is Slack's work: not profiled
        started = time.perf_counter()
        profiler.enable()
        once(body, headers)
        profiler.disable()
        samples.append(time.perf_counter() - started)
    st = summarize(samples)
    print(
        f"type-ahead «{query}» in-process (profiled; request parsing included): "
        f"p50 {st.ms('p50')} ms, p99 {st.ms('p99')} ms"
    )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
    print(out.getvalue())


# --- Main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per query/app")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per query/app")
    parser.add_argument("--database-url", help="also run the bot on this (PostgreSQL) database")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--profile",
        metavar="QUERY",
        help='profile one type-ahead query in-process instead (e.g. "ås"; on the PostgreSQL '
        "database when --database-url is given)",
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="dks-bench-feedback-"))
    sqlite_url = f"sqlite:///{workdir / 'national.db'}"
    secret = secrets.token_hex(16)
    try:
        with FakeSlack(team_id=BENCH_TEAM) as fake:
            # An admin: the summary takes its heaviest path (comments for coordinators).
            fake.add_user(USER, "Kari Koordinator", admin=True)
            engine = make_engine(sqlite_url)
            prepare_feedback(engine, "SQLite")
            pg_url = ""
            if args.database_url:
                pg_url = Settings.from_env(
                    {"DATABASE_URL": args.database_url}, dotenv_path=None
                ).database_url
                pg_engine = make_engine(pg_url)
                prepare_feedback(pg_engine, "PostgreSQL")
                pg_engine.dispose()
            if args.profile is not None:
                url = pg_url or sqlite_url
                settings = Settings(
                    slack_bot_token="xoxb-bench",
                    slack_signing_secret=secret,
                    slack_api_url=fake.api_url,
                    database_url=url,
                )
                profile(make_engine(url), settings, args.profile, args.requests)
                return
            queries, typed = typeahead_queries(engine)
            work = [(f"typeahead «{q}»", "suggest", q) for q in queries]
            # Someone typing the whole title: every keystroke a different query.
            work.append((f"typeahead typing «{typed}»", "typing", typed))
            work += [(f"/dks {c[:40]}", "slash", c) for c in summary_commands(engine)]
            engine.dispose()
            env = {
                "SLACK_BOT_TOKEN": "xoxb-bench",
                "SLACK_SIGNING_SECRET": secret,
                "SLACK_API_URL": fake.api_url,
                "DATABASE_URL": sqlite_url,
                "BENCH_POSTGRES_URL": pg_url,
                "DKS_SECRET_KEY": secrets.token_hex(32),
            }
            apps = ["bot"]
            if args.database_url:
                apps += ["bot-pg"]
            apps += ["bare", "bare-pbr"]
            print(
                f"\nServing {', '.join(apps)} on one gunicorn (gthread, 1 worker, 8 threads); "
                f"{args.requests} timed requests per query and app, after {args.warmup} "
                "warm-up requests."
            )
            requests = Requests(secret, fake.response_url())
            with gunicorn_subprocess(
                "bench.feedback:wsgi_app", env=env, ready_path="/bot/healthz"
            ) as url:
                series, problems, cold = measure(
                    url, requests, apps, work, count=args.requests, warmup=args.warmup
                )
            print("\nFirst type-ahead in the process (builds the in-memory index), ms:")
            for app, seconds in cold.items():
                print(f"  {app:11} {seconds * 1000:8.1f}")
            report(series, apps, work)
            if problems:
                print(f"\n{len(problems)} bad replies, e.g.: " + "; ".join(problems[:5]))
            else:
                print("\nEvery reply was a real answer (options / blocks, no error text).")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
