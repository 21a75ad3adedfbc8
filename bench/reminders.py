"""Reminder engine benchmark: prints figures and ratios (not part of the test run).

1. Delivery at Slack's latency: 1,000 reminders due the same second over 357 workspaces, one
   reminder channel each (a county installation serving its municipalities). The fake Slack
   runs in its own process (it must not share our GIL) with its latency model (each call
   `--slack-latency` seconds, a new connection two round trips more) and Slack's limits: one
   message per second per channel (429 + Retry-After) and a workspace-wide limit. The bound at
   latency L for the busiest channel's k messages is (k − 1) s + L (posts to one channel a
   second apart from send to send, the last answer L after its send); delivery (the last
   answer) is printed as a ratio to it. Target ≤ 1.1 at 0 and 120 ms. Also: first-post
   lateness (when it shows in the channel; target ≤ 0.5 s), scheduler CPU per 1,000 posts,
   peak open connections, RSS. Each run drives a scheduler in its own process; with
   `--old-rev` the sender of that commit runs against the same fake in the same run.
2. Recovery under Slack's conversations.history limit for non-Marketplace apps (one read a
   minute per workspace, 15 messages a read), time-scaled (`--history-scale`, default 60: a
   minute is a second): a process killed in a burst, and a channel with 100 unconfirmed posts.
3. Tick cost and process RSS with 1,000,000 future rows stored (targets < 50 ms, < 150 MB),
   beside the same tick with an empty table, and the claim cost as the number due grows.

    python -m bench.reminders                                  # SQLite in a temp dir
    python -m bench.reminders --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python -m bench.reminders --slack-latency 0,0.12 --old-rev 481e5e6
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

TEAM = "T0BENCH"
ROOT = Path(__file__).resolve().parent.parent
# Slack's workspace-wide chat.postMessage limit: "several hundred messages per minute".
WORKSPACE_POSTS_PER_MINUTE = 300
# `--installed`: the app's credentials at the fake ("Add to Slack", one token per workspace).
INSTALLED_CLIENT = ("1000.2000", "bench-client-secret")


# --- the fake Slack, in its own process -------------------------------------------------------


def _fake_process(
    conn: Any, teams: int, latency: float, history_every: float | None, installed: bool = False
) -> None:
    from bot.shell.fakeslack import FakeSlack

    posted: list[tuple[str, float]] = []

    class TimedFake(FakeSlack):
        def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
            body = super()._api_chat_postMessage(args)
            if body.get("ok"):
                posted.append((str(args.get("channel")), time.monotonic()))
            return body

    fake = TimedFake(team_id=TEAM, latency=latency).start()
    tokens: list[str] = []
    if installed:
        # Each workspace installed with its own token; the fake refuses it for any other.
        fake.configure_oauth(INSTALLED_CLIENT[0], INSTALLED_CLIENT[1])
        for t in range(teams):
            fake.add_workspace(_team(t), name=f"Kommune {t}")
            tokens.append(fake.issue_bot_token(_team(t)))
    for t in range(teams):
        fake.add_channel(_channel(t), f"kommune-{t}", member=True, team_id=_team(t))
    fake.limit_per_channel(1.0)
    fake.limit_per_workspace(WORKSPACE_POSTS_PER_MINUTE)
    if history_every is not None:
        fake.limit_history(every=history_every, messages=15)
    conn.send((fake.api_url, tokens))
    while True:
        command = conn.recv()
        if command == "stats":
            calls = Counter(c.method for c in fake.calls)
            history = [
                (c.at, fake.team_of(str(c.args.get("channel"))))
                for c in fake.calls
                if c.method == "conversations.history"
            ]
            markers = Counter(
                m["blocks"][0].get("block_id")
                for messages in fake.messages.values()
                for m in messages
                if m.get("blocks")
            )
            conn.send(
                {
                    "posted": list(posted),
                    "limited": calls["chat.postMessage"] - len(posted),
                    "cpu": time.process_time(),
                    "peak_connections": fake.peak_connections,
                    "new_connections": fake.new_connections,
                    "history": history,
                    "duplicates": sum(1 for n in markers.values() if n > 1),
                }
            )
        elif command == "post":  # a message as a dead process posted it: (channel, marker)
            channel, marker = conn.recv()
            with fake._lock:
                fake._api_chat_postMessage(
                    {
                        "channel": channel,
                        "text": "Påminnelse",
                        "blocks": [
                            {
                                "type": "section",
                                "block_id": marker,
                                "text": {"type": "mrkdwn", "text": "Påminnelse"},
                            }
                        ],
                    }
                )
            conn.send("ok")
        elif command == "stop":
            fake.stop()
            conn.send("stopped")
            return


class Fake:
    """The fake Slack process, driven over a pipe."""

    def __init__(
        self,
        teams: int,
        latency: float,
        history_every: float | None = None,
        *,
        installed: bool = False,
    ) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_fake_process,
            args=(child, teams, latency, history_every, installed),
            daemon=True,
        )
        self._process.start()
        self.api_url: str
        self.tokens: list[str]
        self.api_url, self.tokens = self._conn.recv()

    def stats(self) -> dict[str, Any]:
        self._conn.send("stats")
        found: dict[str, Any] = self._conn.recv()
        return found

    def post(self, channel: str, marker: str) -> None:
        self._conn.send("post")
        self._conn.send((channel, marker))
        self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self._conn.recv()
        self._process.join(timeout=5)


def _channel(t: int) -> str:
    return f"C{t:08d}"


def _team(t: int) -> str:
    return f"T{t:08d}"


# --- helpers --------------------------------------------------------------------------------


def midday_zone() -> str:
    """A zone where it is around noon, so quiet hours never hold the benchmark's messages."""
    offset = 12 - datetime.now(UTC).hour
    offset = offset - 24 if offset > 14 else offset + 24 if offset < -12 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(url: str | None, tmp: Path) -> tuple[str, Any]:
    """A new empty database: a SQLite file, or a throwaway database on the given server."""
    if url is None or url.startswith("sqlite"):
        return f"sqlite:///{tmp / 'bench.db'}", None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"dks_bench_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def setup_workspace(engine: Any, occurrence: date, team_id: str = TEAM, channel: str = "") -> int:
    from storage.db import session_scope
    from storage.folding import search_key
    from storage.models import Deadline, Workspace, utcnow

    with session_scope(engine, write=True) as session:
        session.merge(
            Workspace(
                team_id=team_id, seeded_at=utcnow(), reminder_channel_id=channel or _channel(0)
            )
        )
        deadline = Deadline(
            team_id=team_id,
            title="Årsrapportering av DKS til fylket",
            due_date=occurrence,
            description="Rapporter fjorårets DKS-arrangementer og økonomi.",
            link="https://portal.denkulturelleskolesekken.no",
            audience="kommunekontakt",
        )
        deadline.search_key = search_key(deadline.title)
        session.add(deadline)
        session.flush()
        assert deadline.id is not None
        return deadline.id


def payload(deadline_id: int, occurrence: date) -> dict[str, Any]:
    return {
        "item_kind": "deadline",
        "item_id": deadline_id,
        "occurrence": occurrence.isoformat(),
        "title": "Årsrapportering av DKS til fylket",
    }


def _bench_settings(api_url: str, url: str) -> Any:
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    from bot.settings import Settings

    settings = Settings(
        slack_bot_token="xoxb-bench",
        slack_signing_secret="bench",
        slack_api_url=api_url,
        database_url=url,
    )
    return replace(settings, timezone=ZoneInfo(midday_zone()))


def _install(settings: Any, engine: Any, tokens: list[str]) -> Any:
    """Every workspace installed through the store, tokens sealed: the scheduler reads each
    workspace's own (bot.oauth.tokens.WorkspaceTokens)."""
    from dataclasses import replace

    from cryptography.fernet import Fernet
    from slack_sdk.oauth.installation_store import Installation

    from bot.oauth.flow import make_store

    settings = replace(
        settings,
        slack_bot_token=None,
        slack_client_id=INSTALLED_CLIENT[0],
        slack_client_secret=INSTALLED_CLIENT[1],
        token_keys=(Fernet.generate_key().decode(),),
    )
    store = make_store(settings, engine)
    for t, token in enumerate(tokens):
        store.save(
            Installation(
                app_id="A0DKSBOT",
                team_id=_team(t),
                bot_token=token,
                bot_id=f"B{t:08d}",
                bot_user_id=f"U{t:08d}",
                user_id=f"U{t:08d}A",
            )
        )
    return settings


def _schedule_burst(engine: Any, teams: int, reminders: int, due: datetime) -> None:
    """`reminders` rows due at `due`, row i in workspace i % teams (its own channel)."""
    from storage.db import session_scope
    from storage.outbox import schedule_message

    occurrence = date.today() + timedelta(days=60)
    deadlines = [setup_workspace(engine, occurrence, _team(t), _channel(t)) for t in range(teams)]
    with session_scope(engine, write=True) as session:
        for i in range(reminders):
            t = i % teams
            schedule_message(
                session=session,
                team_id=_team(t),
                kind="reminder",
                unique_key=f"bench:{i}",
                ref=f"deadline:{deadlines[t]}:{occurrence.isoformat()}",
                due_at=due,
                target=_channel(t),
                payload=payload(deadlines[t], occurrence),
            )


def _move_due(engine: Any, due: datetime) -> None:
    from sqlalchemy import text

    # SQLite keeps instants as text in SQLAlchemy's format; compare like with like.
    at: Any = due.strftime("%Y-%m-%d %H:%M:%S.%f") if engine.dialect.name == "sqlite" else due
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE outbox_message SET due_at = :t, available_at = :t "
                "WHERE unique_key LIKE 'bench:%'"
            ),
            {"t": at},
        )


# --- 1. delivery ----------------------------------------------------------------------------


def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """One burst through this process's scheduler (the code on sys.path: the current tree, or
    an older commit's). Only APIs both have are used here."""
    import logging

    from bot.app import create_app
    from bot.scheduler import build_scheduler
    from storage.db import make_engine, upgrade

    logging.basicConfig(
        level=os.environ.get("BENCH_LOG", "WARNING"), format="%(relativeCreated)d %(message)s"
    )
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
    tmp = Path(spec["tmp"])
    tmp.mkdir(parents=True, exist_ok=True)
    url, drop = fresh_database(spec["database_url"], tmp)
    engine = make_engine(url)
    upgrade(engine)
    settings = _bench_settings(spec["api_url"], url)
    if spec.get("tokens"):
        settings = _install(settings, engine, spec["tokens"])
    create_app(settings, engine=engine, token_verification_enabled=False)  # registers kinds
    phase = float(spec["phase"])
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)
    _schedule_burst(engine, spec["teams"], spec["reminders"], due)
    scheduler = build_scheduler(settings, engine=engine)
    scheduler.refresh()
    scheduler.warm_up()  # what start() does before its first tick
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2 + phase)
    _move_due(engine, due)
    # Tick the way the interval job would: its last tick before the due second falls `phase`
    # seconds before it (2 s in production: the job ticks 2 s before every 5-second mark,
    # and reminders are due on whole minutes; 0 is a tick that comes exactly on the due second,
    # e.g. the first tick of a process started just then).
    while datetime.now(UTC) < due - timedelta(seconds=phase):
        time.sleep(0.001)
    cpu_before = time.process_time()
    tick_mono, tick_at = time.monotonic(), datetime.now(UTC)
    stats = scheduler.tick()
    done_mono = time.monotonic()
    cpu = time.process_time() - cpu_before
    rss = rss_mb()
    scheduler.shutdown()
    engine.dispose()
    if drop:
        drop()
    return {
        "due_mono": tick_mono + (due - tick_at).total_seconds(),
        "done_mono": done_mono,
        "cpu": cpu,
        "rss": rss,
        "sent": stats.sent,
        "retried": stats.retried,
        "rate_limited": stats.rate_limited,
    }


def bench_delivery(args: argparse.Namespace, tmp: Path, latency: float, phase: float) -> None:
    senders = [("new", None)]
    if args.old_tree is not None:
        senders.insert(0, (f"old ({args.old_rev})", args.old_tree))
    print(
        f"1. Delivery at {latency * 1000:.0f} ms a call, the tick {phase:g} s before the due second"
    )
    per_channel = Counter(i % args.teams for i in range(args.reminders))
    busiest = max(per_channel.values())
    bound = (busiest - 1) + latency
    print(
        f"   {args.reminders} reminders over {args.teams} workspaces' channels; busiest {busiest}; "
        f"bound {bound:.2f} s"
    )
    for name, tree in senders:
        installed = args.installed and tree is None
        if installed:
            name = "installed"
        fake = Fake(args.teams, latency, installed=installed)
        spec = {
            "tokens": fake.tokens,
            "api_url": fake.api_url,
            "database_url": args.database_url,
            "teams": args.teams,
            "reminders": args.reminders,
            "phase": phase,
            "tmp": str(tmp / f"{name.split()[0]}-{latency}-{phase}"),
        }
        before = fake.stats()["cpu"]
        env = dict(os.environ)
        if tree is not None:
            # `-m` puts the working directory first on sys.path: run in the old tree, so its
            # packages are the ones imported (bench itself comes from this one).
            env["PYTHONPATH"] = os.pathsep.join([str(tree), str(ROOT)])
        done = subprocess.run(
            [sys.executable, "-m", "bench.reminders", "--drive", json.dumps(spec)],
            cwd=tree or ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        stats = fake.stats()
        fake.stop()
        if done.returncode != 0:
            print(f"   {name}: failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        shown = sorted(at for _, at in stats["posted"])  # when Slack counted each post
        if not shown:
            print(f"   {name}: nothing delivered")
            continue
        answered_last = shown[-1] + latency / 2  # the answer's way back
        total = answered_last - result["due_mono"]
        first = shown[0] - result["due_mono"]
        cpu_per_1000 = result["cpu"] * 1000 / max(1, len(shown))
        print(
            f"   {name:>14}: delivered {len(shown)} ({result['retried']} retried, "
            f"{stats['limited']} 429s) after {total:.3f} s: ratio {total / bound:.3f} "
            f"(target <= 1.1); first shown {first:.3f} s after the due second (target <= 0.5); "
            f"CPU {cpu_per_1000:.2f} s per 1,000 posts; peak connections "
            f"{stats['peak_connections']} ({stats['new_connections']} opened); "
            f"RSS {result['rss']:.0f} MB; fake CPU {stats['cpu'] - before:.2f} s"
        )


def old_tree(rev: str, tmp: Path) -> Path | None:
    """The source packages of an older commit, to run its sender against the same fake."""
    target = tmp / f"old-{rev}"
    target.mkdir(parents=True, exist_ok=True)
    try:
        archive = subprocess.run(
            ["git", "archive", rev, "bot", "handlers", "storage"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as err:
        print(f"   (no old sender: cannot read {rev}: {err})")
        return None
    return target


# --- 2. recovery under the history limit ------------------------------------------------------


def bench_recovery(args: argparse.Namespace, tmp: Path) -> None:
    """A dead process's claims taken over: how many history reads, and how long at Slack's
    limit for non-Marketplace apps (time-scaled). Only rows whose post was attempted need a
    read; a channel's rows share their reads."""
    scale = args.history_scale
    print(
        f"2. Recovery under conversations.history's limit (1 read/min/workspace, 15 messages; "
        f"time-scaled {scale:g}:1)"
    )
    scenarios = [
        # name, teams, rows per team channel, rows attempted, of which posted
        ("burst of 1,000 over 357 workspaces, killed 1 s in", 357, 1000, 357, 300),
        # One busy channel: a batch holds at most 30 rows of a channel (the claim's cap).
        ("one channel's 30 rows, killed after 20 posts", 1, 30, 21, 20),
    ]
    for n, (name, teams, rows, attempted, posted) in enumerate(scenarios):
        _recovery_run(args, tmp / f"recovery{n}", name, teams, rows, attempted, posted, scale)


def _recovery_run(
    args: argparse.Namespace,
    tmp: Path,
    name: str,
    teams: int,
    rows: int,
    attempted: int,
    posted: int,
    scale: float,
) -> None:
    from bot.app import create_app
    from bot.scheduler import build_scheduler
    from storage.db import make_engine, session_scope, upgrade
    from storage.models import OutboxMessage, OutboxState, outbox_marker
    from storage.outbox import claim_due, mark_attempting

    fake = Fake(teams, 0.0, history_every=60.0 / scale)
    tmp.mkdir(parents=True, exist_ok=True)
    url, drop = fresh_database(args.database_url, tmp)
    engine = make_engine(url)
    upgrade(engine)
    settings = _bench_settings(fake.api_url, url)
    create_app(settings, engine=engine, token_verification_enabled=False)
    due = datetime.now(UTC).replace(microsecond=0)
    _schedule_burst(engine, teams, rows, due)
    lease = timedelta(minutes=5)
    with session_scope(engine, write=True) as session:
        claims = claim_due(session=session, now=due, worker="dead", lease=lease, per_target=rows)
        # The dead process's post order: every channel's first message, then every second...
        level: Counter[str] = Counter()
        order = []
        for claim in claims:
            order.append((level[claim.target], claim))
            level[claim.target] += 1
        order.sort(key=lambda x: x[0])
        tried = [c for _, c in order[:attempted]]
        mark_attempting(session=session, worker="dead", ids=[c.id for c in tried], now=due)
    for claim in tried[:posted]:
        fake.post(claim.target, outbox_marker(claim.id))
    # The lease has run out: a scheduler whose clock is past it takes the rows over.
    offset = lease + timedelta(seconds=1)
    scheduler = build_scheduler(settings, engine=engine, clock=lambda: datetime.now(UTC) + offset)
    scheduler._last_refresh = datetime.now(UTC) + offset  # only the takeover is measured
    started = time.monotonic()
    totals: Counter[str] = Counter()
    while time.monotonic() - started < 600:
        stats = scheduler.tick()
        for key in ("sent", "recovered", "released", "retried", "failed"):
            totals[key] += getattr(stats, key)
        with session_scope(engine) as session:
            from sqlmodel import func, select

            left = session.exec(
                select(func.count()).where(OutboxMessage.state != OutboxState.SENT.value)
            ).one()
        if left == 0:
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    stats = fake.stats()
    fake.stop()
    scheduler.shutdown()
    engine.dispose()
    if drop:
        drop()
    reads = Counter(team for _, team in stats["history"])
    busiest = max(reads.values()) if reads else 0
    look_done = max((at for at, _ in stats["history"]), default=started) - started
    per_row_reads = Counter(c.team_id for c in claims)  # the look per claimed row, as before
    print(f"   {name}:")
    print(
        f"     claimed {len(claims)}, attempted {attempted}, in Slack {posted}: recovered "
        f"{totals['recovered']}, posted {totals['sent']}, duplicates {stats['duplicates']}, "
        f"left {left}"
    )
    print(
        f"     history reads {sum(reads.values())} (busiest workspace {busiest}); the look was "
        f"done after {look_done * scale / 60:.1f} min at Slack's limit; every row settled "
        f"{elapsed:.1f} s after the takeover began (wall clock: the reads' waits are scaled, "
        f"the one-a-second pace is not)"
    )
    print(
        f"     a look per claimed row (the sender before) would read {len(claims)} times, "
        f"{max(per_row_reads.values())} in the busiest workspace: "
        f"{max(per_row_reads.values()) - 1} min at the limit, at least"
    )


# --- 2. tick cost with a million future rows --------------------------------------------------


def bulk_insert(engine: Any, rows: int, *, start_offset_s: int) -> None:
    """Future rows inserted by the database itself (fast), due from a day ahead onwards."""
    from sqlalchemy import text

    if engine.dialect.name == "sqlite":
        sql = f"""
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {rows})
        INSERT INTO outbox_message (team_id, kind, unique_key, ref, target, payload, state,
            due_at, available_at, attempts, needs_check, late, created_at, updated_at)
        SELECT '{TEAM}', 'reminder', 'future:' || i, 'deadline:1:' || i,
            'C' || printf('%08d', i % 357), '{{}}', 'pending', t, t, 0, 0, 0, t0, t0
        FROM (
            SELECT i,
                strftime('%Y-%m-%d %H:%M:%S.000000', 'now',
                         '+' || ({start_offset_s} + i) || ' seconds') AS t,
                strftime('%Y-%m-%d %H:%M:%S.000000', 'now') AS t0
            FROM n
        )
        """
    else:
        sql = f"""
        INSERT INTO outbox_message (team_id, kind, unique_key, ref, target, payload, state,
            due_at, available_at, attempts, needs_check, late, created_at, updated_at)
        SELECT '{TEAM}', 'reminder', 'future:' || i, 'deadline:1:' || i,
            'C' || lpad((i % 357)::text, 8, '0'), '{{}}'::json, 'pending',
            now() + make_interval(secs => {start_offset_s} + i),
            now() + make_interval(secs => {start_offset_s} + i),
            0, false, false, now(), now()
        FROM generate_series(0, {rows - 1}) AS i
        """
    with engine.begin() as conn:
        conn.execute(text(sql))
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE outbox_message")


def time_ticks(scheduler: Any, n: int) -> tuple[float, float]:
    costs = []
    for _ in range(n):
        start = time.perf_counter()
        scheduler.tick()
        costs.append((time.perf_counter() - start) * 1000)
    costs.sort()
    return statistics.median(costs), costs[int(len(costs) * 0.95) - 1]


def time_claims(engine: Any, n: int) -> float:
    """Median ms of claiming what is due (rolled back, so every round claims the same rows)."""
    from sqlmodel import Session

    from storage.outbox import claim_due

    costs = []
    for _ in range(n):
        with Session(engine) as session:
            start = time.perf_counter()
            claim_due(
                session=session,
                now=datetime.now(UTC),
                worker="bench",
                lease=timedelta(minutes=5),
                per_target=1000,
            )
            costs.append((time.perf_counter() - start) * 1000)
            session.rollback()
    return statistics.median(costs)


def bench_tick(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    from sqlalchemy import text

    from bot.app import create_app
    from bot.scheduler import build_scheduler
    from bot.settings import Settings
    from storage.db import make_engine, upgrade

    (tmp / "tick").mkdir(exist_ok=True)
    url, drop = fresh_database(args.database_url, tmp / "tick")
    engine = make_engine(url)
    upgrade(engine)
    settings = Settings(slack_bot_token="xoxb-bench", database_url=url)
    create_app(settings, engine=engine, token_verification_enabled=False)
    setup_workspace(engine, date.today() + timedelta(days=30))
    scheduler = build_scheduler(settings, engine=engine, refresh_every=timedelta(days=365))
    scheduler.refresh()
    empty_median, empty_p95 = time_ticks(scheduler, args.ticks)
    start = time.perf_counter()
    bulk_insert(engine, args.rows, start_offset_s=86_400)
    inserted_in = time.perf_counter() - start
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM outbox_message")).scalar_one()
    full_median, full_p95 = time_ticks(scheduler, args.ticks)
    rss = rss_mb()
    print("3. Tick cost")
    print(f"   stored future rows: {stored} (inserted in {inserted_in:.1f} s)")
    print(
        f"   tick, nothing due, empty table:   median {empty_median:.2f} ms, p95 {empty_p95:.2f} ms"
    )
    print(
        f"   tick, nothing due, {stored} rows: median {full_median:.2f} ms, p95 {full_p95:.2f} ms "
        f"(target < 50 ms; ratio to empty {full_median / max(empty_median, 0.001):.2f})"
    )
    print(f"   process RSS: {rss:.1f} MB (target < 150 MB)")
    # Make some of the stored rows due, and claim them: the cost follows what is due.
    claims = {}
    for due_now in (0, 10, 100, 1000):
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE outbox_message SET due_at = :t, available_at = :t "
                    "WHERE unique_key IN :keys"
                ).bindparams(__import__("sqlalchemy").bindparam("keys", expanding=True)),
                {
                    "t": (
                        (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None)
                        if engine.dialect.name == "sqlite"
                        else datetime.now(UTC) - timedelta(minutes=1)
                    ),
                    "keys": [f"future:{i}" for i in range(due_now)] or ["none"],
                },
            )
        claims[due_now] = time_claims(engine, max(5, args.ticks // 4))
    print(
        "   claim with N due among the stored rows: "
        + ", ".join(f"N={n}: {ms:.2f} ms" for n, ms in claims.items())
    )
    scheduler.shutdown()
    engine.dispose()
    if drop:
        drop()
    return {"tick_ms": full_median, "rss_mb": rss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=357, help="workspaces, one channel each")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ticks", type=int, default=40)
    parser.add_argument(
        "--slack-latency",
        default="0,0.12",
        help="seconds a Slack call takes in the fake (a new connection: two round trips more); "
        "one delivery run per value",
    )
    parser.add_argument(
        "--phases",
        default="2,0",
        help="seconds between the interval job's last tick and the due second, one delivery "
        "run each (default 2,0: as the interval job ticks, and a tick on the due second itself)",
    )
    parser.add_argument(
        "--old-rev", default=None, help="also run this commit's sender against the same fake"
    )
    parser.add_argument("--history-scale", type=float, default=60.0)
    parser.add_argument(
        "--installed",
        action="store_true",
        help="delivery with every workspace installed through «Add to Slack», each with its "
        "own token (read from the installation store), instead of one SLACK_BOT_TOKEN",
    )
    parser.add_argument("--skip-delivery", action="store_true")
    parser.add_argument("--skip-recovery", action="store_true")
    parser.add_argument("--skip-tick", action="store_true")
    parser.add_argument("--drive", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive is not None:
        print(json.dumps(drive(json.loads(args.drive))))
        return 0
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        backend = (args.database_url or "sqlite").split(":")[0]
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"reminders benchmark on {backend}, python {sys.version.split()[0]}, load {load}")
        args.old_tree = old_tree(args.old_rev, tmp) if args.old_rev else None
        if not args.skip_delivery:
            for latency in (float(x) for x in args.slack_latency.split(",")):
                for phase in (float(p) for p in args.phases.split(",")):
                    bench_delivery(args, tmp, latency, phase)
        if not args.skip_recovery:
            bench_recovery(args, tmp)
        if not args.skip_tick:
            bench_tick(args, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
