"""How fast `/dks frist`, `/dks møte` and `/dks kontakt` answer at national scale, over HTTP.

    python -m bench.commands [--requests 300] [--database-url postgresql+psycopg://…]

A fresh SQLite database (and optionally the PostgreSQL database named by --database-url) gets
national-scale data (bench.common.populate_national) under several workspaces. One gunicorn
server (the gthread configuration `dks-bot serve` uses) then serves, side by side:

- `bot`: the real app exactly as `dks-bot serve` builds it (bot.server.build_wsgi_app; it
  always runs with Bolt's process_before_response=True),
- `bare`, `bare-pbr`: a bare Bolt App whose /dks acks fixed text, in Bolt's two modes,

and signed slash commands go to each in turn, one at a time, so all see the same machine.
The commands: the default lists, searches with few, many and no hits, and `kontakt <skole>`,
where every request searches for another school's name, so nothing it shows was shown (and
its blocks remembered) before: the cost of a search nobody has made yet.
Measured: the time until the user sees the reply, i.e. until the ack body has arrived. The
fastest bare-Bolt p99 is the floor; the target is bot p99 ≤ 2 × floor. Then the cold start:
launching `dks-bot serve` until /healthz first answers 200.

`--profile "frist alle"` runs one command in-process under cProfile instead and prints where
the time goes. Nothing here asserts on time; it prints figures and ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine, func, select, text
from sqlmodel import col

from bench.common import (
    REPO,
    SlashTimer,
    Stats,
    bare_bolt_app,
    bench_apps,
    free_port,
    gunicorn_subprocess,
    populate_national,
    stop_process,
    summarize,
    wait_for_http,
)
from bot.app import create_app
from bot.server import WSGIApp
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack
from storage.calendar import Occurrence, upcoming, upcoming_page
from storage.db import make_engine, session_scope, upgrade
from storage.models import Contact, Deadline, Meeting, Municipality, School

# The measured workspace holds half the country: the worst case a national workspace sees.
TEAMS = ("T0NASJONAL", "T0VESTLAND", "T0NORDLAND", "T0OSTLANDET")
WEIGHTS = (4, 2, 1, 1)
BENCH_TEAM = TEAMS[0]
ERROR_MARK = "Noe gikk galt"


# --- The server side (runs in the gunicorn worker) -----------------------------------------------


def wsgi_app() -> WSGIApp:
    """The apps under test, each under its own path prefix; settings come from the environment.

    BENCH_POSTGRES_URL, when set, adds the bot on PostgreSQL as `bot-pg`.
    """

    def bare(secret: str, client: WebClient, pbr: bool) -> App:
        return bare_bolt_app(signing_secret=secret, client=client, process_before_response=pbr)

    return bench_apps(bare)


# --- Data ----------------------------------------------------------------------------------------


def prepare(engine: Engine, label: str) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        existing = conn.execute(
            select(func.count()).select_from(Contact).where(col(Contact.team_id) == BENCH_TEAM)
        ).scalar_one()
    if existing:
        print(f"{label}: already holds {existing} contacts for {BENCH_TEAM}; used as it is.")
        return
    started = time.perf_counter()
    counts = populate_national(engine, TEAMS, weights=WEIGHTS)
    if engine.dialect.name == "postgresql":
        # Autovacuum would gather statistics soon after a bulk load; without them the planner
        # guesses, and the figures would describe a database no one runs.
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    print(f"{label}: populated in {time.perf_counter() - started:.1f} s")
    for team, c in counts.items():
        print(f"  {team}: {c}")


# A series whose every request searches for another school: nothing it shows has been shown
# before, so no remembered block helps (see handlers.core.frozen).
VARIED = "kontakt <skole>"


def school_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(col(School.name))
                .where(col(School.team_id) == BENCH_TEAM)
                .order_by(col(School.id))
            ).scalars()
        )


def contact_terms(engine: Engine) -> list[str]:
    """Realistic searches: few hits, many hits, two words with Norwegian letters, folded, none."""
    with engine.connect() as conn:
        names = conn.execute(
            select(col(Municipality.name))
            .where(col(Municipality.team_id) == BENCH_TEAM)
            .order_by(col(Municipality.name))
        ).scalars()
        norwegian = next((n for n in names if any(ch in n for ch in "æøåÆØÅ")), "Ålesund")
    return [
        "support",
        "rådgiver",
        f"kulturkontakt {norwegian}",
        "odegard",
        "ingen slik person",
    ]


def order(occ: Occurrence[Any]) -> tuple[date, clock_time, str]:
    item = occ.item
    at = item.due_time if isinstance(item, Deadline) else item.start_time
    return occ.start, at or clock_time(), item.title


def check_paging(engine: Engine, label: str) -> None:
    """The list replies load one page (storage.calendar.upcoming_page); at national scale it
    must pick exactly the occurrences the full expansion (upcoming) would, in the same order."""
    today = date.today()
    checked = 0
    with session_scope(engine) as session:
        for model in (Deadline, Meeting):
            for query in ("", "kommune", "møte"):
                for end in (today + timedelta(days=90), None):
                    start = today - timedelta(days=7)
                    every = upcoming(
                        session=session,
                        model=model,
                        team_id=BENCH_TEAM,
                        start=start,
                        end=end,
                        query=query,
                    )
                    for offset in (0, 5, 15, 300, max(0, len(every) - 4)):
                        page = upcoming_page(
                            session=session,
                            model=model,
                            team_id=BENCH_TEAM,
                            start=start,
                            end=end,
                            query=query,
                            offset=offset,
                            limit=15,
                        )
                        want = every[offset : offset + 15]
                        # Occurrences with equal sort keys may come in either order.
                        same = page.total == len(every) and [order(o) for o in want] == [
                            order(o) for o in page.occurrences
                        ]
                        if not same:
                            raise SystemExit(
                                f"{label}: upcoming_page differs from upcoming for "
                                f"{model.__name__} q={query!r} end={end} offset={offset}"
                            )
                        checked += 1
    print(f"{label}: upcoming_page agrees with upcoming on {checked} pages.")


# --- Measuring -----------------------------------------------------------------------------------


@dataclass
class Series:
    app: str
    command: str
    samples: list[float]

    @property
    def stats(self) -> Stats:
        return summarize(self.samples)


def check_reply(app: str, command: str, response: httpx.Response, problems: list[str]) -> None:
    """The bot must really answer: a 200 with blocks and no error reply."""
    if response.status_code != 200:
        problems.append(f"{app} /dks {command}: HTTP {response.status_code}")
        return
    if app.startswith("bare"):
        return
    try:
        message = json.loads(response.text)
    except ValueError:
        problems.append(f"{app} /dks {command}: not JSON: {response.text[:80]!r}")
        return
    if not message.get("blocks") or ERROR_MARK in message.get("text", ""):
        problems.append(f"{app} /dks {command}: {message.get('text', '')[:100]!r}")


def describe(response: httpx.Response) -> str:
    message = json.loads(response.text)
    blocks = message.get("blocks", [])
    header = next(
        (b["text"]["text"] for b in blocks if b.get("type") == "header"),
        message.get("text", "")[:60],
    )
    return f"{len(blocks)} blocks, {len(response.content)} bytes, «{header}»"


def measure(
    url: str,
    response_url: str,
    apps: Sequence[str],
    commands: Sequence[str],
    *,
    requests: int,
    warmup: int,
    secret: str,
    schools: Sequence[str] = (),
) -> tuple[list[Series], list[str]]:
    problems: list[str] = []
    series: list[Series] = []
    # Each app walks the school list from the start, so all see the same searches; the
    # warm-up requests use the other end of the list.
    walks = {app: itertools.cycle(schools) for app in apps}
    warm = itertools.cycle(reversed(schools))

    def text_of(command: str, app: str, warming: bool = False) -> str:
        if command != VARIED:
            return command
        return f"kontakt {next(warm) if warming else next(walks[app])}"

    with httpx.Client(timeout=30) as http:
        timer = SlashTimer(
            signing_secret=secret, http=http, team_id=BENCH_TEAM, response_url=response_url
        )
        for command in commands:
            found = {app: Series(app, command, []) for app in apps}
            for app in apps:
                for _ in range(warmup):
                    _, response = timer.time(
                        f"{url}/{app}/slack/events", text_of(command, app, warming=True)
                    )
                    check_reply(app, command, response, problems)
            first = timer.time(
                f"{url}/{apps[0]}/slack/events", text_of(command, apps[0], warming=True)
            )[1]
            print(f"  /dks {command}: {describe(first)}")
            for i in range(requests):
                # Rotate the order so no app always follows another.
                turn = i % len(apps)
                for app in [*apps[turn:], *apps[:turn]]:
                    elapsed, response = timer.time(
                        f"{url}/{app}/slack/events", text_of(command, app)
                    )
                    check_reply(app, command, response, problems)
                    found[app].samples.append(elapsed)
            series.extend(found.values())
    return series, problems


def report(series: list[Series], apps: Sequence[str], commands: Sequence[str]) -> None:
    bare = {
        app: summarize([x for s in series if s.app == app for x in s.samples])
        for app in apps
        if app.startswith("bare")
    }
    floor_app = min(bare, key=lambda a: bare[a].p99)
    floor = bare[floor_app].p99
    print()
    print("Bare Bolt floors (all commands pooled, ms):")
    for app, st in bare.items():
        print(f"  {app:9} p50 {st.ms('p50')}  p99 {st.ms('p99')}  (n={st.n})")
    print(f"  floor = {floor_app} p99 = {floor * 1000:.2f} ms; target: bot p99 ≤ 2 × floor")
    print()
    width = max(len(c) for c in commands) + 6
    columns = [a for a in apps]
    print(f"{'time to reply, ms':{width}} " + " ".join(f"{a + ' p50/p99':>22}" for a in columns))
    for command in commands:
        cells = []
        for app in columns:
            st = next(s for s in series if s.app == app and s.command == command).stats
            cells.append(f"{st.ms('p50')} /{st.ms('p99')}")
        print(f"{'/dks ' + command:{width}} " + " ".join(f"{c:>22}" for c in cells))
    print()
    bots = [a for a in apps if not a.startswith("bare")]
    floor_p50 = bare[floor_app].p50
    print(f"{'p99 ÷ floor (p50 ÷ floor p50)':{width}} " + " ".join(f"{a:>18}" for a in bots))
    worst: dict[str, float] = {}
    for command in commands:
        cells = []
        for app in bots:
            st = next(s for s in series if s.app == app and s.command == command).stats
            ratio = st.p99 / floor
            worst[app] = max(worst.get(app, 0.0), ratio)
            cells.append(f"{ratio:6.2f}× ({st.p50 / floor_p50:5.2f}×)")
        print(f"{'/dks ' + command:{width}} " + " ".join(f"{c:>18}" for c in cells))
    print()
    for app in bots:
        verdict = "meets" if worst[app] <= 2 else "misses"
        print(f"  {app}: worst p99 = {worst[app]:.2f} × floor: {verdict} the 2× target")


# --- Cold start ----------------------------------------------------------------------------------


def dks_bot_executable() -> str:
    beside = Path(sys.executable).with_name("dks-bot")
    return str(beside) if beside.exists() else (shutil.which("dks-bot") or "dks-bot")


def cold_start(workdir: Path, fake: FakeSlack, *, migrated: bool, runs: int) -> list[float]:
    """Seconds from launching `dks-bot serve` to the first 200 from /healthz."""
    timings = []
    for run in range(runs):
        db = workdir / f"cold-{'migrated' if migrated else 'empty'}-{run}.db"
        url = f"sqlite:///{db}"
        if migrated:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(workdir)),
            "SLACK_BOT_TOKEN": "xoxb-bench-cold-start",
            "SLACK_SIGNING_SECRET": secrets.token_hex(16),
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": url,
            # `serve` refuses to start without it (the feed tokens' key).
            "DKS_SECRET_KEY": secrets.token_hex(32),
        }
        started = time.perf_counter()
        process = subprocess.Popen(
            [dks_bot_executable(), "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60, interval=0.005)
            timings.append(time.perf_counter() - started)
        finally:
            stop_process(process)
    return timings


# --- Profiling -----------------------------------------------------------------------------------


def profile(engine: Engine, settings: Settings, command: str, requests: int) -> None:
    """Run one command in-process (Bolt's dispatch, no HTTP) under cProfile."""
    from slack_bolt.request import BoltRequest

    from bot.shell.signing import signed_headers, slash_command_body

    app = create_app(settings, engine=engine)
    assert settings.slack_signing_secret

    def once() -> None:
        body = slash_command_body(
            text=command,
            team_id=BENCH_TEAM,
            user_id="U0BENCH",
            channel_id="C0BENCH",
            response_url="http://127.0.0.1:9/response/1",
        )
        headers = signed_headers(settings.slack_signing_secret or "", body)
        response = app.dispatch(BoltRequest(body=body, headers=dict(headers)))
        assert response.status == 200, response.body

    for _ in range(20):
        once()
    samples = []
    profiler = cProfile.Profile()
    for _ in range(requests):
        started = time.perf_counter()
        profiler.enable()
        once()
        profiler.disable()
        samples.append(time.perf_counter() - started)
    st = summarize(samples)
    print(f"/dks {command} in-process (profiled): p50 {st.ms('p50')} ms, p99 {st.ms('p99')} ms")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
    print(out.getvalue())


# --- Main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per command/app")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per command/app")
    parser.add_argument("--database-url", help="also run the bot on this (PostgreSQL) database")
    parser.add_argument("--cold-starts", type=int, default=3, help="cold starts per kind")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--profile", metavar="COMMAND", help='e.g. "frist alle": profile only')
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="dks-bench-"))
    sqlite_url = f"sqlite:///{workdir / 'national.db'}"
    secret = secrets.token_hex(16)
    try:
        with FakeSlack(team_id=BENCH_TEAM) as fake:
            fake.add_user("U0BENCH", "Kari Koordinator")
            engine = make_engine(sqlite_url)
            prepare(engine, "SQLite")
            check_paging(engine, "SQLite")
            pg_url = ""
            if args.database_url:
                pg_url = Settings.from_env(
                    {"DATABASE_URL": args.database_url}, dotenv_path=None
                ).database_url
                pg_engine = make_engine(pg_url)
                prepare(pg_engine, "PostgreSQL")
                check_paging(pg_engine, "PostgreSQL")
                pg_engine.dispose()
            settings = Settings(
                slack_bot_token="xoxb-bench",
                slack_signing_secret=secret,
                slack_api_url=fake.api_url,
                database_url=sqlite_url,
            )
            if args.profile:
                profile(engine, settings, args.profile, args.requests)
                return
            commands = [
                "frist",
                "frist alle",
                *(f"kontakt {t}" for t in contact_terms(engine)),
                VARIED,
                "møte",
            ]
            schools = school_names(engine)
            engine.dispose()
            env = {
                "SLACK_BOT_TOKEN": settings.slack_bot_token or "",
                "SLACK_SIGNING_SECRET": secret,
                "SLACK_API_URL": fake.api_url,
                "DATABASE_URL": sqlite_url,
                "BENCH_POSTGRES_URL": pg_url,
            }
            apps = ["bot"]
            if args.database_url:
                apps += ["bot-pg"]
            apps += ["bare", "bare-pbr"]
            print(
                f"\nServing {', '.join(apps)} on one gunicorn (gthread, 1 worker, 8 threads); "
                f"{args.requests} timed requests per command and app, after {args.warmup} "
                "warm-up requests."
            )
            # Other work on the machine shows up in every p99; the load says how much there was.
            print("Load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            with gunicorn_subprocess(
                "bench.commands:wsgi_app", env=env, ready_path="/bot/healthz"
            ) as url:
                series, problems = measure(
                    url,
                    fake.response_url(),
                    apps,
                    commands,
                    requests=args.requests,
                    warmup=args.warmup,
                    secret=secret,
                    schools=schools,
                )
            print("Load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            report(series, apps, commands)
            if problems:
                print(f"\n{len(problems)} bad replies, e.g.: " + "; ".join(problems[:5]))
            else:
                print("\nEvery reply was a 200 with the expected content.")

            print("\nCold start, `dks-bot serve` (Procfile) until /healthz answers 200:")
            for migrated in (True, False):
                timings = cold_start(workdir, fake, migrated=migrated, runs=args.cold_starts)
                kind = "fresh migrated database" if migrated else "empty database (serve migrates)"
                shown = ", ".join(f"{t:.2f}" for t in timings)
                print(f"  {kind:34}: median {statistics.median(timings):.2f} s ({shown})")
    finally:
        if args.keep:
            print(f"\nKept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(REPO)
    main()
