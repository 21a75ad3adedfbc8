"""How fast the Home tab arrives at national scale: `app_home_opened` → `views.publish`.

    python -m bench.home [--requests 300] [--database-url postgresql+psycopg://…]
    python -m bench.home --profile        # in-process, under cProfile

A fresh SQLite database (and optionally the PostgreSQL database named by --database-url) gets
national-scale data (bench.common.populate_national: 357 municipalities, 3,200 schools, 20,000
contacts, 5,000 deadlines, 5,000 meetings) spread over several workspaces; the measured one
holds half the country. One gunicorn server (the gthread configuration `dks-bot serve` uses)
then serves, side by side:

- `bot`: the real app as `dks-bot serve` builds it (always process_before_response),
- `bare`, `bare-pbr`: the foundation benchmark's bare Bolt App (bench.common.bare_bolt_app,
  whose `/dks` acks fixed text), which also publishes a fixed view on app_home_opened,

and signed `app_home_opened` events go to each in turn, one at a time, with a `/dks` slash
command to each bare app after its event. Measured: from sending the event until the
`views.publish` call arrives at the fake Slack (which validates the view), i.e. until the
user's Home tab can change; for the slash commands, until the ack body has arrived. Users
alternate between coordinators and members (whose tabs differ). The floor is the foundation
benchmark's: the fastest bare-Bolt slash-command p99 of this run; the target is bot p99 ≤ 3 ×
floor. The bare apps' fixed views.publish is printed beside it for comparison.
Nothing here asserts on time; it prints figures and ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import secrets
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View
from sqlalchemy import Engine, func, select, text

from bench.commands import BENCH_TEAM, TEAMS, WEIGHTS
from bench.common import (
    REPO,
    SlashTimer,
    Stats,
    bare_bolt_app,
    bench_apps,
    gunicorn_subprocess,
    populate_national,
    summarize,
)
from bot.app import create_app
from bot.server import WSGIApp
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import event_body, signed_headers
from storage.db import make_engine, upgrade
from storage.models import Deadline

COORDINATORS = [f"U0KOORD{i:02d}" for i in range(8)]
MEMBERS = [f"U0MEDLEM{i:02d}" for i in range(8)]
TARGET = 3.0


# --- The server side (runs in the gunicorn worker) -----------------------------------------------


def bare_home_app(*, signing_secret: str, client: WebClient, process_before_response: bool) -> App:
    """The floors: the foundation benchmark's bare Bolt App (its `/dks` acks fixed text), which
    also answers app_home_opened with one fixed views.publish."""
    app = bare_bolt_app(
        signing_secret=signing_secret,
        client=client,
        process_before_response=process_before_response,
    )
    view = View(type="home", blocks=[SectionBlock(text="DKS-boten")]).to_dict()

    def on_home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view=view)

    app.event("app_home_opened")(on_home)
    return app


def wsgi_app() -> WSGIApp:
    """The apps under test, each under its own path prefix; settings from the environment."""

    def bare(secret: str, client: WebClient, pbr: bool) -> App:
        return bare_home_app(signing_secret=secret, client=client, process_before_response=pbr)

    return bench_apps(bare)


# --- Data ----------------------------------------------------------------------------------------


def prepare(engine: Engine, label: str) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        existing = conn.execute(
            select(func.count()).select_from(Deadline).where(Deadline.team_id == BENCH_TEAM)  # type: ignore[arg-type]
        ).scalar_one()
    if existing > 100:
        print(f"{label}: already holds {existing} deadlines for {BENCH_TEAM}; used as it is.")
        return
    started = time.perf_counter()
    counts = populate_national(engine, TEAMS, weights=WEIGHTS)
    print(f"{label}: populated in {time.perf_counter() - started:.1f} s")
    for team, c in counts.items():
        print(f"  {team}: {c}")
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: planner statistics and the visibility
        # map (index-only scans). Without it the first minutes measure a database no
        # running installation has.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def add_users(fake: FakeSlack) -> None:
    for user in COORDINATORS:
        fake.add_user(user, f"Koordinator {user[-2:]}", admin=True)
    for user in MEMBERS:
        fake.add_user(user, f"Kulturkontakt {user[-2:]}")


# --- Measuring -----------------------------------------------------------------------------------


@dataclass
class Series:
    app: str
    samples: list[float]

    @property
    def stats(self) -> Stats:
        return summarize(self.samples)


class HomeTimer:
    """Sends signed app_home_opened events and times them until views.publish arrives."""

    def __init__(self, fake: FakeSlack, http: httpx.Client, secret: str) -> None:
        self.fake = fake
        self.http = http
        self.secret = secret
        self.users = itertools.cycle(
            [u for pair in zip(COORDINATORS, MEMBERS, strict=True) for u in pair]
        )
        self.problems: list[str] = []
        self.count = itertools.count()

    def time(self, url: str, app: str) -> float | None:
        user = next(self.users)
        body = event_body(
            team_id=BENCH_TEAM,
            event={"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"},
            event_id=f"Ev{next(self.count):010d}",
        )
        headers = signed_headers(self.secret, body, content_type="application/json")
        before = len(self.fake.calls_to("views.publish"))
        started = time.monotonic()
        response = self.http.post(url, content=body.encode(), headers=headers)
        if response.status_code != 200:
            self.problems.append(f"{app}: HTTP {response.status_code}")
            return None
        arrived = self.fake.wait_for(
            lambda: len(self.fake.calls_to("views.publish")) > before, timeout=30
        )
        if not arrived:
            self.problems.append(f"{app}: no views.publish")
            return None
        call = self.fake.calls_to("views.publish")[before]
        if call.args.get("user_id") != user:
            self.problems.append(f"{app}: published for {call.args.get('user_id')}, not {user}")
        view = self.fake.home_views.get(user) or {}
        if app.startswith("bot") and "Neste frister" not in str(view.get("blocks")):
            self.problems.append(f"{app}: the Home tab was not the bot's")
        if len(view.get("blocks") or []) > 100:
            self.problems.append(f"{app}: {len(view['blocks'])} blocks")
        return call.at - started


def measure(
    url: str, fake: FakeSlack, apps: Sequence[str], *, requests: int, warmup: int, secret: str
) -> tuple[list[Series], list[str]]:
    """Home tabs from every app, and, interleaved, the bare apps' `/dks` slash command: the
    foundation benchmark's floor, measured in the same run on the same server."""
    found = {app: Series(app, []) for app in apps}
    bare = [a for a in apps if a.startswith("bare")]
    slash = {app: Series(f"{app} /dks", []) for app in bare}
    with httpx.Client(timeout=30) as http:
        timer = HomeTimer(fake, http, secret)
        slash_timer = SlashTimer(signing_secret=secret, http=http, team_id=BENCH_TEAM)
        for app in apps:
            for _ in range(warmup):
                timer.time(f"{url}/{app}/slack/events", app)
        for app in bare:
            for _ in range(warmup):
                slash_timer.time(f"{url}/{app}/slack/events", "frist")
        for i in range(requests):
            # Rotate the order so no app always follows another.
            for app in [*apps[i % len(apps) :], *apps[: i % len(apps)]]:
                elapsed = timer.time(f"{url}/{app}/slack/events", app)
                if elapsed is not None:
                    found[app].samples.append(elapsed)
                if app in slash:
                    slash[app].samples.append(
                        slash_timer.time(f"{url}/{app}/slack/events", "frist")[0]
                    )
            fake.reset()  # keep the fake's call list short: its scans stay cheap
    problems = timer.problems + slash_timer.failures
    return [*found.values(), *slash.values()], problems


def report(series: list[Series], fake: FakeSlack) -> None:
    slash = {s.app: s.stats for s in series if s.app.endswith("/dks")}
    floor_app = min(slash, key=lambda a: slash[a].p99)
    floor = slash[floor_app].p99
    print()
    print("app_home_opened → views.publish at the fake Slack (bare /dks: until the ack), ms:")
    print(f"  {'app':14} {'p50':>8} {'p99':>8} {'mean':>8} {'max':>8}   p99 ÷ floor")
    for s in series:
        st = s.stats
        ratio = st.p99 / floor
        print(
            f"  {s.app:14} {st.ms('p50')} {st.ms('p99')} {st.ms('mean')} {st.ms('max')}"
            f"   {ratio:6.2f}×  (n={st.n})"
        )
    print(
        f"\n  floor = {floor_app} p99 = {floor * 1000:.2f} ms (the foundation benchmark's "
        f"fastest bare-Bolt reply); target: bot p99 ≤ {TARGET:g} × floor"
    )
    home_floor = min(s.stats.p99 for s in series if s.app in ("bare", "bare-pbr"))
    for s in series:
        if s.app.startswith("bot"):
            ratio = s.stats.p99 / floor
            verdict = "meets" if ratio <= TARGET else "misses"
            print(
                f"  {s.app}: p99 = {ratio:.2f} × floor: {verdict} the {TARGET:g}× target "
                f"({s.stats.p99 / home_floor:.2f} × a bare fixed views.publish)"
            )


def describe_home(fake: FakeSlack) -> str:
    view = fake.home_views.get(COORDINATORS[0]) or {}
    blocks = view.get("blocks") or []
    headers = [b["text"]["text"] for b in blocks if b.get("type") == "header"]
    return f"{len(blocks)} blocks: " + ", ".join(headers)


# --- Profiling -----------------------------------------------------------------------------------


def profile(engine: Engine, settings: Settings, fake: FakeSlack, requests: int) -> None:
    """Dispatch app_home_opened in-process (no HTTP in front) under cProfile."""
    from slack_bolt.request import BoltRequest

    app = create_app(settings, engine=engine)
    secret = settings.slack_signing_secret or ""
    users = itertools.cycle(COORDINATORS + MEMBERS)

    def once() -> None:
        body = event_body(
            team_id=BENCH_TEAM,
            event={"type": "app_home_opened", "user": next(users), "channel": "D0", "tab": "home"},
        )
        headers = signed_headers(secret, body, content_type="application/json")
        response = app.dispatch(BoltRequest(body=body, headers=dict(headers)))
        assert response.status == 200, response.body

    for _ in range(20):
        once()
    profiler = cProfile.Profile()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        profiler.enable()
        once()
        profiler.disable()
        samples.append(time.perf_counter() - started)
        fake.reset()
    st = summarize(samples)
    print(f"app_home_opened in-process (profiled): p50 {st.ms('p50')} ms, p99 {st.ms('p99')} ms")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    print(out.getvalue())


# --- Main ----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per app")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per app")
    parser.add_argument("--database-url", help="also run the bot on this (PostgreSQL) database")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--profile", action="store_true", help="profile in-process only")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="dks-bench-home-"))
    sqlite_url = f"sqlite:///{workdir / 'national.db'}"
    secret = secrets.token_hex(16)
    try:
        with FakeSlack(team_id=BENCH_TEAM) as fake:
            add_users(fake)
            engine = make_engine(sqlite_url)
            prepare(engine, "SQLite")
            pg_url = ""
            if args.database_url:
                pg_url = Settings.from_env(
                    {"DATABASE_URL": args.database_url}, dotenv_path=None
                ).database_url
                pg_engine = make_engine(pg_url)
                prepare(pg_engine, "PostgreSQL")
                pg_engine.dispose()
            settings = Settings(
                slack_bot_token="xoxb-bench",
                slack_signing_secret=secret,
                slack_api_url=fake.api_url,
                database_url=sqlite_url,
            )
            if args.profile:
                profile(engine, settings, fake, args.requests)
                return
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
                f"{args.requests} timed app_home_opened per app, after {args.warmup} warm-up "
                f"events; users alternate between {len(COORDINATORS)} coordinators and "
                f"{len(MEMBERS)} members of {BENCH_TEAM}."
            )
            with gunicorn_subprocess(
                "bench.home:wsgi_app", env=env, ready_path="/bot/healthz"
            ) as url:
                series, problems = measure(
                    url, fake, apps, requests=args.requests, warmup=args.warmup, secret=secret
                )
                # One more, to show what was published.
                with httpx.Client(timeout=30) as http:
                    HomeTimer(fake, http, secret).time(f"{url}/bot/slack/events", "bot")
                print(f"  the bot's Home tab for a coordinator: {describe_home(fake)}")
            report(series, fake)
            if problems:
                print(f"\n{len(problems)} problems, e.g.: " + "; ".join(problems[:5]))
            else:
                print("\nEvery event was answered with a valid views.publish for its user.")
    finally:
        if args.keep:
            print(f"\nKept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(REPO)
    main()
