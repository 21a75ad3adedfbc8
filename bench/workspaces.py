"""One installation serving every municipality: requests from 357 installed workspaces.

    python -m bench.workspaces [--teams 357] [--requests 2000] [--database-url postgresql+psycopg://…]

357 workspaces are installed (slack_sdk's installation store, tokens sealed with a Fernet
key), each with its own bot token at the fake Slack, which runs in its own process with its
latency model (`--slack-latency`, default 120 ms a call) and refuses a workspace's token for
another. The database holds national-scale data spread over them (bench.common). One gunicorn
worker (gthread, as `dks-bot serve`) serves, side by side:

- `bot`: the real app in «Add to Slack» mode (SLACK_CLIENT_ID/SECRET, DKS_TOKEN_KEY):
  every request finds its workspace's installation and token; `auth.test` runs once per token
  (Bolt's authorize cache), not per request;
- `bare`, `bare-pbr`: a bare Bolt App with one token whose /dks acks fixed text (the floor).

First every workspace sends `/dks frist` once (warm: its installation read, its `auth.test`
made, its snapshot loaded); then `--requests` timed `/dks frist` from workspaces drawn at
random, to each app in turn. Printed: p50/p99 per app, bot p99 ÷ the fastest bare p99
(target ≤ 2), the `auth.test` calls the fake answered, and the worker's RSS after serving
every workspace (target ≤ 250 MB). The reminder burst with a token per workspace is
`python -m bench.reminders --installed`.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    REPO,
    SlashTimer,
    bare_bolt_app,
    gunicorn_subprocess,
    mount,
    populate_national,
    summarize,
)

CLIENT_ID = "1000.2000"
CLIENT_SECRET = "bench-client-secret"


def team(t: int) -> str:
    return f"T{t:08d}"


# --- the fake Slack, in its own process ----------------------------------------------------------


def _fake_process(conn: Any, teams: int, latency: float) -> None:
    from collections import Counter

    from bot.shell.fakeslack import FakeSlack

    fake = FakeSlack(team_id="T0BENCH", latency=latency).start()
    fake.configure_oauth(CLIENT_ID, CLIENT_SECRET)
    tokens = []
    for t in range(teams):
        fake.add_workspace(team(t), name=f"Kommune {t}")
        tokens.append(fake.issue_bot_token(team(t)))
    conn.send((fake.api_url, fake.response_url(), tokens))
    while True:
        command = conn.recv()
        if command == "stats":
            per_method = Counter(c.method for c in fake.calls)
            # The bot's tokens only; the floor's one token is checked once per bare app.
            per_token = Counter(
                c.headers.get("authorization")
                for c in fake.calls
                if c.method == "auth.test" and c.team_id != "T0BENCH"
            )
            conn.send(
                {
                    "calls": dict(per_method),
                    "auth_tests_per_token": max(per_token.values(), default=0),
                }
            )
        elif command == "stop":
            fake.stop()
            conn.send("stopped")
            return


# --- the served apps (in the gunicorn worker) ----------------------------------------------------


def wsgi_app() -> Any:
    """`bot` in OAuth mode, and the bare floors, under their own prefixes; `/rss/` answers the
    worker's resident memory."""
    from bot.app import make_client
    from bot.server import build_wsgi_app, create_wsgi_app
    from bot.settings import Settings
    from storage.db import make_engine

    settings = Settings.from_env(dotenv_path=None)
    apps: dict[str, Any] = {"bot": build_wsgi_app(settings)}
    health = make_engine(settings.database_url)
    # Bolt turns on its own OAuth (a file store) when it finds these in the environment; the
    # floor is a plain one-token app.
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        os.environ.pop(name, None)
    # The floor's one token is the default workspace's at the fake.
    client = make_client(settings, token="xoxb-bench-floor")
    for prefix, pbr in (("bare", False), ("bare-pbr", True)):
        app = bare_bolt_app(
            signing_secret=settings.slack_signing_secret or "",
            client=client,
            process_before_response=pbr,
        )
        apps[prefix] = create_wsgi_app(app, health)

    from bench.reminders import rss_mb

    def rss(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = str(rss_mb()).encode()
        start_response("200 OK", [("content-type", "text/plain")])
        return [body]

    apps["rss"] = rss
    return mount(apps)


# --- the run ----------------------------------------------------------------------------------


def install_all(url: str, key: str, tokens: Sequence[str]) -> None:
    from slack_sdk.oauth.installation_store import Installation

    from bot.oauth.flow import make_store
    from bot.settings import Settings
    from storage.db import make_engine

    settings = Settings(
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        database_url=url,
        token_keys=(key,),
    )
    engine = make_engine(url)
    store = make_store(settings, engine)
    for t, token in enumerate(tokens):
        store.save(
            Installation(
                app_id="A0DKSBOT",
                team_id=team(t),
                team_name=f"Kommune {t}",
                bot_token=token,
                bot_id=f"B{t:08d}",
                bot_user_id=f"U{t:08d}",
                bot_scopes="commands,chat:write",
                user_id=f"U{t:08d}A",
                token_type="bot",
            )
        )
    engine.dispose()


def run(args: argparse.Namespace, database_url: str, label: str) -> None:
    from storage.db import make_engine, upgrade

    teams = [team(t) for t in range(args.teams)]
    engine = make_engine(database_url)
    upgrade(engine)
    populate_national(engine, teams)
    engine.dispose()

    ctx = mp.get_context("spawn")
    conn, child = ctx.Pipe()
    process = ctx.Process(target=_fake_process, args=(child, args.teams, args.slack_latency))
    process.start()
    api_url, response_url, tokens = conn.recv()
    key = _fernet_key()
    install_all(database_url, key, tokens)
    secret = secrets.token_hex(16)
    env = {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "DKS_TOKEN_KEY": key,
        "PUBLIC_URL": "https://dks.example.no",
        "DKS_SECRET_KEY": secrets.token_hex(32),
    }
    apps = ["bot", "bare", "bare-pbr"]
    samples: dict[str, list[float]] = {a: [] for a in apps}
    bad = 0
    try:
        with (
            gunicorn_subprocess(
                "bench.workspaces:wsgi_app", env=env, ready_path="/bot/healthz"
            ) as url,
            httpx.Client(timeout=30) as http,
        ):
            timer = SlashTimer(
                signing_secret=secret, http=http, team_id=teams[0], response_url=response_url
            )
            rss_before = float(http.get(url + "/rss/").text)
            for app in apps:  # every workspace once: installation, auth.test, snapshot
                for t in teams:
                    timer.team_id = t
                    _, response = timer.time(f"{url}/{app}/slack/events", "frist")
                    bad += response.status_code != 200
            rss_after = float(http.get(url + "/rss/").text)
            rng = random.Random(2026)
            for i in range(args.requests):
                timer.team_id = rng.choice(teams)
                turn = i % len(apps)
                for app in [*apps[turn:], *apps[:turn]]:
                    elapsed, response = timer.time(f"{url}/{app}/slack/events", "frist")
                    bad += response.status_code != 200 or (
                        "DKS" not in response.text and app == "bot"
                    )
                    samples[app].append(elapsed)
            rss_end = float(http.get(url + "/rss/").text)
        conn.send("stats")
        stats = conn.recv()
    finally:
        conn.send("stop")
        conn.recv()
        process.join(timeout=5)

    summary = {a: summarize(s) for a, s in samples.items()}
    floor_app = min(("bare", "bare-pbr"), key=lambda a: summary[a].p99)
    floor = summary[floor_app].p99
    print(f"\n{label}: {args.teams} installed workspaces, {args.requests} timed `/dks frist` each")
    for app in apps:
        st = summary[app]
        print(f"  {app:>9}: p50 {st.ms('p50')} ms  p99 {st.ms('p99')} ms  max {st.ms('max')} ms")
    ratio = summary["bot"].p99 / floor
    print(
        f"  bot p99 ÷ floor ({floor_app} p99 {floor * 1000:.2f} ms) = {ratio:.2f} "
        f"(target ≤ 2): {'meets' if ratio <= 2 else 'misses'}"
    )
    print(
        f"  auth.test at the fake: {stats['calls'].get('auth.test', 0)} calls, at most "
        f"{stats['auth_tests_per_token']} per workspace token (Bolt's cache: one per token "
        "per worker; two are the floor's)"
    )
    print(
        f"  worker RSS: {rss_before:.0f} MB started, {rss_after:.0f} MB after serving every "
        f"workspace, {rss_end:.0f} MB at the end (target ≤ 250 MB): "
        f"{'meets' if rss_end <= 250 else 'misses'}"
    )
    if bad:
        print(f"  {bad} requests did not answer 200 with the deadlines")


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=357)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--slack-latency", type=float, default=0.12)
    parser.add_argument("--database-url", help="also run on this (PostgreSQL) database")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="dks-bench-ws-"))
    try:
        print("Load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        run(args, f"sqlite:///{workdir / 'ws.db'}", "SQLite")
        if args.database_url:
            from bench.reminders import fresh_database

            url, drop = fresh_database(args.database_url, workdir)
            try:
                run(args, url, "PostgreSQL")
            finally:
                if drop:
                    drop()
        print("Load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(REPO)
    main()
