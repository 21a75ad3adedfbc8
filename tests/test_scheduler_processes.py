"""`dks-bot scheduler` as real processes on one PostgreSQL database, posting to the fake Slack
served from this test process: two processes post every message once; a process killed with
SIGKILL and restarted loses none and doubles none; 429 and 500 are delivered after retry."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.shell.fakeslack import FakeSlack, Fault
from storage.db import make_engine, session_scope, upgrade
from storage.models import OutboxMessage, OutboxState, Workspace, outbox_marker, utcnow
from storage.outbox import schedule_message
from tests.conftest import POSTGRES_URL, TEAM, _postgres_database
from tests.helpers import add_deadline

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(POSTGRES_URL == "off", reason="needs PostgreSQL"),
]
DKS_BOT = str(Path(sys.executable).parent / "dks-bot")


def midday_zone() -> str:
    """A fixed-offset zone where it is around noon now: the processes use the real clock, and
    quiet hours (21–07) must not hold the messages whenever the suite happens to run."""
    offset = 12 - datetime.now(UTC).hour
    if offset > 14:
        offset -= 24
    if offset < -12:
        offset += 24
    if offset == 0:
        return "Etc/GMT"
    # POSIX-style names: Etc/GMT-2 is two hours *ahead* of UTC.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    for url in _postgres_database():
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


class Processes:
    def __init__(self, engine: Engine, fake: FakeSlack, tmp: Path) -> None:
        self.engine = engine
        self.fake = fake
        self.tmp = tmp
        self.running: list[subprocess.Popen[bytes]] = []
        self.zone = midday_zone()

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": self.engine.url.render_as_string(hide_password=False),
            "SLACK_BOT_TOKEN": "xoxb-process-test",
            "SLACK_API_URL": self.fake.api_url,
            "BOT_TIMEZONE": self.zone,
            "REMINDER_GRACE_HOURS": "12",
            "DKS_SECRET_KEY": "k" * 64,
        }
        log = (self.tmp / f"scheduler-{len(self.running)}.log").open("wb")
        process = subprocess.Popen(
            [DKS_BOT, "scheduler", "--interval", "0.2", "--lease", "3", *extra],
            env=env,
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("*.log")))


@pytest.fixture
def procs(pg_engine: Engine, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[Processes]:
    running = Processes(pg_engine, fake_slack, tmp_path)
    yield running
    running.stop_all()


def schedule_due(
    engine: Engine, fake: FakeSlack, *, count: int, channels: int, spread: float
) -> list[int]:
    """`count` reminders due from now over `spread` seconds, round robin over channels."""
    for c in range(channels):
        fake.add_channel(f"C0P{c:03d}", f"kanal-{c}", member=True)
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=TEAM, seeded_at=utcnow(), reminder_channel_id="C0P000"))
    day = date.today() + timedelta(days=40)
    deadline = add_deadline(engine, TEAM, "Rapport til fylket", day)
    now = datetime.now(UTC)
    ids = []
    with session_scope(engine, write=True) as session:
        for i in range(count):
            row = schedule_message(
                session=session,
                team_id=TEAM,
                kind="reminder",
                unique_key=f"test:{i}",
                ref=f"deadline:{deadline}:{day.isoformat()}",
                due_at=now + timedelta(seconds=spread * i / max(count, 1)),
                target=f"C0P{i % channels:03d}",
                payload={
                    "item_kind": "deadline",
                    "item_id": deadline,
                    "occurrence": day.isoformat(),
                    "title": "Rapport til fylket",
                },
                now=now,
            )
            ids.append(row.id or 0)
    return ids


def posted_markers(fake: FakeSlack) -> Counter[str]:
    with fake._lock:
        return Counter(
            m["blocks"][0]["block_id"]
            for messages in fake.messages.values()
            for m in messages
            if m.get("blocks")
        )


def all_posted(fake: FakeSlack, ids: list[int]) -> bool:
    seen = posted_markers(fake)
    return all(seen[outbox_marker(i)] >= 1 for i in ids)


def states(engine: Engine, ids: list[int]) -> Counter[str]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))).all()
        return Counter(r.state for r in rows)


def assert_each_once(procs: Processes, ids: list[int]) -> None:
    assert procs.fake.wait_for(lambda: all_posted(procs.fake, ids), timeout=90), procs.logs()
    # Let any straggler finish before judging "once".
    assert poll(
        lambda: states(procs.engine, ids) == Counter({OutboxState.SENT.value: len(ids)}),
        timeout=30,
    ), (states(procs.engine, ids), procs.logs())
    seen = posted_markers(procs.fake)
    doubled = {m: n for m, n in seen.items() if n > 1}
    assert doubled == {}, procs.logs()
    assert sum(seen[outbox_marker(i)] for i in ids) == len(ids)


def poll(predicate: Callable[[], bool], timeout: float) -> bool:
    """For conditions the fake Slack does not signal (database state)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_scheduler_processes_post_every_reminder_once(procs: Processes) -> None:
    ids = schedule_due(procs.engine, procs.fake, count=90, channels=30, spread=3.0)
    port = free_port()
    procs.start("--health-port", str(port))
    procs.start()
    assert_each_once(procs, ids)
    health: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
    assert health["status"] == "ok"
    assert 0 <= health["scheduler_last_tick_age_seconds"] < 30
    with session_scope(procs.engine) as session:
        workers = {
            r.claimed_by.rsplit(":", 2)[1]
            for r in session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))
            if r.claimed_by
        }
    # Both processes took part (each claims what is due on its tick).
    assert len(workers) == 2, workers


def test_a_process_killed_mid_run_loses_nothing_and_doubles_nothing(procs: Processes) -> None:
    # Ten per channel at one a second per channel: the run takes about ten seconds.
    ids = schedule_due(procs.engine, procs.fake, count=30, channels=3, spread=0.5)
    first = procs.start()
    assert procs.fake.wait_for(lambda: sum(posted_markers(procs.fake).values()) >= 8, timeout=60)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert not all_posted(procs.fake, ids)
    assert states(procs.engine, ids)[OutboxState.CLAIMED.value] > 0
    procs.start()
    assert_each_once(procs, ids)


def test_429_and_500_from_slack_are_delivered_after_retry(procs: Processes) -> None:
    procs.fake.fail(
        "chat.postMessage",
        Fault(status=429, retry_after=1),
        Fault(status=500),
        Fault(status=200, error="internal_error"),
    )
    ids = schedule_due(procs.engine, procs.fake, count=4, channels=2, spread=0.0)
    procs.start()
    assert_each_once(procs, ids)
    # The 500 and the internal_error were followed by a history check, not a blind re-send.
    assert procs.fake.calls_to("conversations.history")
