"""The scheduler's tick against the fake Slack, on SQLite and PostgreSQL, with a frozen clock:
on time, exactly once, late after downtime, quiet hours, crash recovery, Slack faults."""

from __future__ import annotations

import gc
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.app import create_app
from bot.scheduler import build_scheduler
from bot.scheduler.engine import JOB_ID, Scheduler
from bot.server import create_wsgi_app
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack, Fault
from handlers.core.services import Services
from storage.db import session_scope
from storage.models import OutboxMessage, OutboxState, Workspace, outbox_marker, utcnow
from storage.outbox import claim_due, get_message, mark_attempting, schedule_message
from storage.reminders import reconcile
from storage.workspaces import add_coordinator
from tests.conftest import ADMIN, CHANNEL, TEAM, FrozenClock, serve_wsgi
from tests.helpers import add_deadline, assert_valid_message, visible_text

# Tuesday 1 December 2026; its 7-days-before reminder is Tuesday 24 November 09:00 Oslo.
DEADLINE_DAY = date(2026, 12, 1)
REMINDER_AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@dataclass
class Rig:
    engine: Engine
    fake: FakeSlack
    clock: FrozenClock
    settings: Settings
    scheduler: Scheduler
    services: Services

    def posts(self, channel: str = CHANNEL) -> list[dict[str, Any]]:
        return self.fake.messages.get(channel, [])

    def rows(self) -> list[OutboxMessage]:
        from sqlmodel import col, select

        with session_scope(self.engine) as session:
            return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())

    def replan(self) -> None:
        with session_scope(self.engine, write=True) as session:
            reconcile(
                session=session,
                team_id=TEAM,
                now=self.clock(),
                tz=self.settings.timezone,
                grace=timedelta(hours=self.settings.reminder_grace_hours),
            )


@pytest.fixture
def rig(engine: Engine, fake_slack: FakeSlack) -> Iterator[Rig]:
    settings = Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret="secret",
        slack_api_url=fake_slack.api_url,
        database_url=engine.url.render_as_string(hide_password=False),
    )
    clock = FrozenClock(REMINDER_AT - timedelta(hours=1))
    # Slack stamps messages with its own clock: the test's, so history windows agree.
    fake_slack.now = lambda: clock().timestamp()
    # Building the App registers the outbox kinds, as in every process that runs a scheduler.
    app = create_app(settings, engine=engine, clock=clock)
    services: Services = Services(settings=settings, engine=engine, clock=clock)
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=TEAM, seeded_at=utcnow(), reminder_channel_id=CHANNEL))
    # Pacing is real time (one post a second per channel); a tenth keeps the tests quick.
    scheduler = build_scheduler(settings, engine=engine, clock=clock, pace_seconds=0.1)
    assert app is not None
    yield Rig(engine, fake_slack, clock, settings, scheduler, services)
    scheduler.shutdown()


def markers(messages: list[dict[str, Any]]) -> list[str]:
    return [m["blocks"][0]["block_id"] for m in messages if m.get("blocks")]


def test_a_due_reminder_is_posted_once_on_time(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY, link="https://example.no")
    stats = rig.scheduler.tick()
    assert stats.sent == 0 and rig.posts() == []
    rig.clock.now = REMINDER_AT
    stats = rig.scheduler.tick()
    assert stats.sent == 1
    [message] = rig.posts()
    assert_valid_message(message)
    text = visible_text(message)
    assert "Årsrapport" in text and "tirsdag 1. desember 2026" in text and "om 7 dager" in text
    assert "for sent" not in text
    row = next(r for r in rig.rows() if r.state == OutboxState.SENT)
    assert message["blocks"][0]["block_id"] == outbox_marker(row.id or 0)
    assert row.ts == message["ts"] and row.channel == CHANNEL
    # Ticks later the same day post nothing more.
    rig.clock.now = REMINDER_AT + timedelta(minutes=5)
    assert rig.scheduler.tick().sent == 0
    assert len(rig.posts()) == 1


def test_missed_within_the_grace_period_goes_out_late_with_a_note(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()  # plans while the bot is up
    rig.clock.now = REMINDER_AT + timedelta(hours=11)  # the bot was down all day
    assert rig.scheduler.tick().sent == 1
    [message] = rig.posts()
    assert "kommer for sent" in visible_text(message)
    assert "24. november 2026" in visible_text(message)


def test_missed_by_more_than_the_grace_period_is_skipped_and_shown(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.clock.now = REMINDER_AT + timedelta(hours=12, minutes=1)
    stats = rig.scheduler.tick()
    assert stats.skipped == 1 and rig.posts() == []
    skipped = [r for r in rig.rows() if r.state == OutboxState.SKIPPED]
    assert [r.error for r in skipped] == ["missed"]


def test_quiet_hours_hold_a_message_until_seven(rig: Rig) -> None:
    deadline = add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    evening = datetime(2026, 11, 24, 19, 30, tzinfo=UTC)  # 20:30 in Oslo
    with session_scope(rig.engine, write=True) as session:
        schedule_message(
            session=session,
            team_id=TEAM,
            kind="reminder",
            unique_key="snooze:manual",
            ref=f"deadline:{deadline}:{DEADLINE_DAY.isoformat()}",
            due_at=evening,
            target=CHANNEL,
            payload={
                "item_kind": "deadline",
                "item_id": deadline,
                "occurrence": DEADLINE_DAY.isoformat(),
                "title": "Årsrapport",
            },
            now=evening,
        )
    rig.clock.now = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)  # 21:30 Oslo: quiet
    stats = rig.scheduler.tick()
    assert stats.postponed == 1 and rig.posts() == []
    held = next(r for r in rig.rows() if r.unique_key == "snooze:manual")
    assert held.due_at == datetime(2026, 11, 25, 6, 0, tzinfo=UTC) and held.late
    rig.clock.now = datetime(2026, 11, 25, 5, 59, tzinfo=UTC)
    assert rig.scheduler.tick().sent == 0
    rig.clock.now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert rig.scheduler.tick().sent == 1
    assert "kommer for sent" in visible_text(rig.posts()[0])


def _claim_as_dead_worker(rig: Rig, *, attempted: bool = False) -> int:
    """A process claims the due row (and records its post attempt), then dies."""
    with session_scope(rig.engine, write=True) as session:
        [claim] = claim_due(
            session=session, now=rig.clock(), worker="dead", lease=timedelta(minutes=5)
        )
        if attempted:
            mark_attempting(session=session, worker="dead", ids=[claim.id], now=rig.clock())
    return claim.id


def _post_as(rig: Rig, message_id: int, channel: str = CHANNEL) -> dict[str, Any]:
    """What the dead process got as far as: the message in Slack, with its marker."""
    client = WebClient(token="xoxb-test-token", base_url=rig.fake.api_url)
    return dict(
        client.chat_postMessage(
            channel=channel,
            text="Påminnelse",
            blocks=[
                {
                    "type": "section",
                    "block_id": outbox_marker(message_id),
                    "text": {"type": "mrkdwn", "text": "Årsrapport"},
                }
            ],
        ).data
    )


def test_killed_after_posting_before_recording_is_not_posted_twice(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.clock.now = REMINDER_AT
    message_id = _claim_as_dead_worker(rig, attempted=True)
    posted = _post_as(rig, message_id)
    rig.clock.now = REMINDER_AT + timedelta(minutes=4)
    assert rig.scheduler.tick().claimed == 0  # the lease still holds
    rig.clock.now = REMINDER_AT + timedelta(minutes=5)
    stats = rig.scheduler.tick()
    assert stats.recovered == 1 and stats.sent == 0
    assert len(rig.posts()) == 1
    with session_scope(rig.engine) as session:
        row = get_message(session=session, message_id=message_id)
        assert row is not None and row.state == OutboxState.SENT and row.ts == posted["ts"]
    assert rig.fake.calls_to("conversations.history")


def test_killed_before_posting_is_posted_once_after_the_lease(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.clock.now = REMINDER_AT
    message_id = _claim_as_dead_worker(rig)
    rig.clock.now = REMINDER_AT + timedelta(minutes=5)
    assert rig.scheduler.tick().sent == 1
    assert markers(rig.posts()) == [outbox_marker(message_id)]
    # Never attempted, so never in Slack: it went out without a history read.
    assert rig.fake.calls_to("conversations.history") == []
    rig.clock.now = REMINDER_AT + timedelta(minutes=20)
    rig.scheduler.tick()
    assert len(rig.posts()) == 1


def test_recovery_under_slacks_history_limit_posts_each_message_once(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.scheduler.history as history

    # Slack's limit for non-Marketplace apps, shortened: a read a second, 3 messages a read.
    rig.fake.limit_history(every=1.0, messages=3)
    monkeypatch.setattr(history, "PAGE", 3)
    deadline_id = add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.clock.now = REMINDER_AT
    _due_in(rig, {CHANNEL: 8}, deadline_id)
    with session_scope(rig.engine, write=True) as session:
        claims = claim_due(
            session=session, now=rig.clock(), worker="dead", lease=timedelta(minutes=5)
        )
        ids = [c.id for c in claims]
        mark_attempting(session=session, worker="dead", ids=ids, now=rig.clock())
    # The dead process posted the first five before it died; none was recorded.
    for message_id in ids[:5]:
        _post_as(rig, message_id)
    rig.clock.now = REMINDER_AT + timedelta(minutes=5)
    stats = rig.scheduler.tick()
    assert stats.recovered == 5 and stats.sent == len(ids) - 5 and stats.failed == 0
    assert sorted(markers(rig.posts())) == sorted(outbox_marker(i) for i in ids)
    # One channel's rows share their reads, and a read Slack refused was waited out.
    reads = rig.fake.calls_to("conversations.history")
    assert 2 <= len(reads) <= 4
    assert all(r.state == OutboxState.SENT for r in rig.rows() if r.id in ids)


def test_a_history_read_held_past_the_lease_gives_the_row_back_without_a_try(
    rig: Rig,
) -> None:
    rig.fake.limit_history(every=600.0)
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.clock.now = REMINDER_AT
    message_id = _claim_as_dead_worker(rig, attempted=True)
    rig.fake.fail("conversations.history", Fault(status=429, retry_after=600))
    rig.clock.now = REMINDER_AT + timedelta(minutes=5)
    stats = rig.scheduler.tick()
    assert stats.sent == 0 and stats.failed == 0 and rig.posts() == []
    with session_scope(rig.engine) as session:
        row = get_message(session=session, message_id=message_id)
        assert row is not None and row.state == OutboxState.PENDING and row.needs_check
        assert row.attempts == 1  # the dead process's try only
        assert row.available_at == rig.clock() + timedelta(seconds=600)


def test_a_429_is_retried_after_retry_after(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.clock.now = REMINDER_AT
    rig.fake.fail("chat.postMessage", Fault(status=429, retry_after=1))
    assert rig.scheduler.tick().sent == 1
    assert len(rig.posts()) == 1
    assert len(rig.fake.calls_to("chat.postMessage")) == 2


def test_a_500_is_retried_after_checking_it_was_not_posted(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.clock.now = REMINDER_AT
    rig.fake.fail("chat.postMessage", Fault(status=500), Fault(status=503))
    stats = rig.scheduler.tick()
    assert stats.retried == 1 and rig.posts() == []
    rig.clock.now = REMINDER_AT + timedelta(seconds=2)
    assert rig.scheduler.tick().retried == 1
    rig.clock.now = REMINDER_AT + timedelta(seconds=12)
    assert rig.scheduler.tick().sent == 1
    assert len(rig.posts()) == 1
    assert len(rig.fake.calls_to("conversations.history")) == 2


def test_a_broken_channel_fails_with_its_reason_and_coordinators_hear_once(rig: Rig) -> None:
    with session_scope(rig.engine, write=True) as session:
        add_coordinator(session=session, team_id=TEAM, user_id=ADMIN)
    add_deadline(rig.engine, TEAM, "Første", DEADLINE_DAY)
    add_deadline(rig.engine, TEAM, "Andre", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.fake.channels[CHANNEL]["is_member"] = False
    rig.clock.now = REMINDER_AT
    stats = rig.scheduler.tick()
    assert stats.failed == 2
    failed = [r for r in rig.rows() if r.state == OutboxState.FAILED]
    assert [r.error for r in failed] == ["not_in_channel", "not_in_channel"]
    dm = rig.fake.messages.get("D0ADMIN", [])
    assert len(dm) == 1
    assert_valid_message(dm[0])
    assert "ikke med i kanalen" in visible_text(dm[0])
    assert "/invite @dks-boten" in visible_text(dm[0])
    rig.scheduler.tick()
    assert len(rig.fake.messages.get("D0ADMIN", [])) == 1


def test_a_reminder_whose_item_vanished_is_cancelled_not_posted(rig: Rig) -> None:
    from storage.models import Deadline

    deadline = add_deadline(rig.engine, TEAM, "Borte", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.scheduler.refresh_every = timedelta(days=1)  # no re-plan in between: the render decides
    with session_scope(rig.engine, write=True) as session:
        row = session.get(Deadline, deadline)
        session.delete(row)
    rig.clock.now = REMINDER_AT
    stats = rig.scheduler.tick()
    assert stats.cancelled == 1 and rig.posts() == []


def test_a_paused_workspace_posts_nothing_until_resumed(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    with session_scope(rig.engine, write=True) as session:
        ws = session.get(Workspace, TEAM)
        assert ws is not None
        ws.reminders_paused = True
    rig.replan()
    rig.clock.now = REMINDER_AT
    assert rig.scheduler.tick().sent == 0
    with session_scope(rig.engine, write=True) as session:
        ws = session.get(Workspace, TEAM)
        assert ws is not None
        ws.reminders_paused = False
    rig.clock.now = REMINDER_AT - timedelta(minutes=1)
    rig.replan()
    rig.clock.now = REMINDER_AT
    assert rig.scheduler.tick().sent == 1


def test_a_uninstalled_workspace_is_never_retried(rig: Rig) -> None:
    from handlers.workspace.stop import stop_workspace

    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    assert stop_workspace(rig.services, TEAM, "uninstalled") == 2  # 7 and 1 days before
    rig.scheduler.refresh(rig.clock())
    for hours in (0, 24 * 7, 24 * 14):
        rig.clock.now = REMINDER_AT + timedelta(hours=hours)
        assert rig.scheduler.tick().claimed == 0
    assert rig.posts() == []
    assert {r.state for r in rig.rows()} == {OutboxState.CANCELLED}


def test_a_user_target_is_posted_as_a_dm(rig: Rig) -> None:
    deadline = add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    with session_scope(rig.engine, write=True) as session:
        schedule_message(
            session=session,
            team_id=TEAM,
            kind="reminder",
            unique_key="dm",
            ref=f"deadline:{deadline}:{DEADLINE_DAY.isoformat()}",
            due_at=rig.clock(),
            target=ADMIN,
            payload={
                "item_kind": "deadline",
                "item_id": deadline,
                "occurrence": DEADLINE_DAY.isoformat(),
            },
            now=rig.clock(),
        )
    assert rig.scheduler.tick().sent == 1
    assert len(rig.fake.messages["D0ADMIN"]) == 1
    row = next(r for r in rig.rows() if r.unique_key == "dm")
    assert row.channel == "D0ADMIN"


def test_the_apscheduler_job_is_stable_and_reports_its_age(rig: Rig, engine: Engine) -> None:
    assert rig.scheduler.last_tick_age() is None
    rig.scheduler.start()
    try:
        job = rig.scheduler._scheduler.get_job(JOB_ID)  # type: ignore[union-attr]
        assert job is not None
        assert job.max_instances == 1 and job.coalesce is True
        assert str(rig.scheduler._scheduler.timezone) == "Europe/Oslo"  # type: ignore[union-attr]
        # Every tick two seconds before a multiple of five seconds: the one before 09:00:00
        # claims what is due at 09:00:00 and has it rendered and its connections open.
        first = job.next_run_time
        later = job.trigger.get_next_fire_time(first, first)
        assert (first.second % 5, first.microsecond) == (3, 0)
        assert later - first == timedelta(seconds=5)
        assert rig.fake.wait_for(lambda: rig.scheduler.last_tick_age() is not None, timeout=10)
        app = create_app(rig.settings, engine=engine, clock=rig.clock)
        url, server = serve_wsgi(create_wsgi_app(app, engine, tick_age=rig.scheduler.last_tick_age))
        try:
            body = httpx.get(url + "/healthz", timeout=5).json()
        finally:
            server.shutdown()
            server.server_close()
        assert body["status"] == "ok"
        assert isinstance(body["scheduler_last_tick_age_seconds"], float)
    finally:
        rig.scheduler.shutdown()
        gc.unfreeze()  # start() froze the test process's objects (see Scheduler.warm_up)


def test_late_note_blocks_stay_valid(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY, description="<b>&</b>")
    rig.scheduler.tick()
    rig.clock.now = REMINDER_AT + timedelta(hours=3)
    rig.scheduler.tick()
    [message] = rig.posts()
    assert_valid_message(message)
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in json.dumps(message["blocks"], ensure_ascii=False)


def test_web_workers_never_start_a_scheduler(settings: Settings) -> None:
    import threading

    from bot.server import build_wsgi_app

    before = {t.name for t in threading.enumerate()}
    assert build_wsgi_app(settings) is not None
    started = {t.name for t in threading.enumerate()} - before
    assert not any("APScheduler" in name or "outbox" in name for name in started), started


def test_a_batch_posts_the_busiest_channels_first_and_each_message_once(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.scheduler.engine as scheduler_module

    # Render one message at a time beside the posting: every chunk boundary is exercised.
    monkeypatch.setattr(scheduler_module, "RENDER_FIRST_CHUNK", 1)
    deadline_id = add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.clock.now = REMINDER_AT
    rig.scheduler.refresh()  # plans the workspace's own reminder (in CHANNEL) first
    counts = {"C0BUSY": 3, "C0MIDDLE": 2, "C0QUIET": 1}
    for channel in counts:
        rig.fake.add_channel(channel, channel.lower(), member=True)
    with session_scope(rig.engine, write=True) as session:
        for i in range(max(counts.values())):
            for channel, n in counts.items():
                if i < n:
                    schedule_message(
                        session=session,
                        team_id=TEAM,
                        kind="reminder",
                        unique_key=f"batch:{channel}:{i}",
                        ref=f"batch:{channel}:{i}:",
                        due_at=REMINDER_AT,
                        target=channel,
                        payload={
                            "item_kind": "deadline",
                            "item_id": deadline_id,
                            "occurrence": DEADLINE_DAY.isoformat(),
                        },
                        now=REMINDER_AT,
                    )
    scheduler = build_scheduler(rig.settings, engine=rig.engine, clock=rig.clock, pace_seconds=0.3)
    try:
        stats = scheduler.tick()
    finally:
        scheduler.shutdown()
    assert stats.sent == 7 and stats.retried == 0
    calls = rig.fake.calls_to("chat.postMessage")
    order = [str(c.args["channel"]) for c in calls]
    # Channels post side by side; the one whose pacing bounds the batch finishes last, its
    # posts a pace apart and no more.
    assert order[-1] == "C0BUSY"
    assert {c: order.count(c) for c in counts} == counts
    busy = [c.at for c in calls if c.args["channel"] == "C0BUSY"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(busy)]
    assert all(0.29 <= gap < 0.6 for gap in gaps), gaps
    assert busy[-1] - calls[0].at < 1.2
    for channel, n in counts.items():
        posted = rig.posts(channel)
        assert len(set(markers(posted))) == n
        for message in posted:
            assert_valid_message(message)
            assert "Årsrapport" in visible_text(message)


def _due_in(rig: Rig, channels: dict[str, int], deadline_id: int) -> None:
    for channel in channels:
        rig.fake.add_channel(channel, channel.lower(), member=True)
    with session_scope(rig.engine, write=True) as session:
        for channel, n in channels.items():
            for i in range(n):
                schedule_message(
                    session=session,
                    team_id=TEAM,
                    kind="reminder",
                    unique_key=f"due:{channel}:{i}",
                    ref=f"due:{channel}:{i}:",
                    due_at=rig.clock(),
                    target=channel,
                    payload={
                        "item_kind": "deadline",
                        "item_id": deadline_id,
                        "occurrence": DEADLINE_DAY.isoformat(),
                    },
                    now=rig.clock(),
                )


def test_a_429_holds_only_its_own_channel(rig: Rig) -> None:
    deadline_id = add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.clock.now = REMINDER_AT
    rig.scheduler.refresh()  # the workspace's own reminder (in CHANNEL) is planned and due
    _due_in(rig, {"C0OTHER": 1}, deadline_id)
    # The first post (the busiest channel goes first; CHANNEL and C0OTHER hold one each, so
    # whichever it is) is refused; the other channel is not held by it.
    rig.fake.fail("chat.postMessage", Fault(status=429, retry_after=1))
    stats = rig.scheduler.tick()
    assert stats.sent == 2 and stats.retried == 0
    calls = rig.fake.calls_to("chat.postMessage")
    assert len(calls) == 3
    # The other channel went on while the limited one rested for its Retry-After.
    limited, other, again = calls
    assert again.args["channel"] == limited.args["channel"] != other.args["channel"]
    assert again.at - limited.at >= 1.0
    assert again.args["blocks"][0]["block_id"] == limited.args["blocks"][0]["block_id"]
    for channel in (CHANNEL, "C0OTHER"):
        assert len(rig.posts(channel)) == 1


def test_a_channel_limited_again_and_again_goes_back_to_the_outbox(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.scheduler.engine as scheduler_module

    monkeypatch.setattr(scheduler_module, "RATE_LIMIT_TRIES", 1)
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.clock.now = REMINDER_AT
    rig.fake.fail("chat.postMessage", *[Fault(status=429, retry_after=7)] * 2)
    stats = rig.scheduler.tick()
    assert stats.sent == 0 and stats.retried == 1 and rig.posts() == []
    [row] = [r for r in rig.rows() if r.state == OutboxState.PENDING and r.due_at == REMINDER_AT]
    # A 429 means nothing was posted: no history check, back when Slack said.
    assert row.error == "ratelimited" and not row.needs_check
    assert row.available_at == REMINDER_AT + timedelta(seconds=7)
    rig.clock.now = REMINDER_AT + timedelta(seconds=7)
    assert rig.scheduler.tick().sent == 1
    assert len(rig.posts()) == 1


def test_the_posted_message_carries_its_marker_and_no_unfurls(rig: Rig) -> None:
    add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.scheduler.tick()
    rig.clock.now = REMINDER_AT
    assert rig.scheduler.tick().sent == 1
    [message] = rig.posts()
    assert_valid_message(message)
    row = next(r for r in rig.rows() if r.state == OutboxState.SENT)
    assert message["blocks"][0]["block_id"] == outbox_marker(row.id or 0)
    assert row.ts == message["ts"] and row.attempted_at is None
    [call] = rig.fake.calls_to("chat.postMessage")
    assert call.args["unfurl_links"] is False and call.args["unfurl_media"] is False
    assert call.headers["authorization"] == "Bearer xoxb-test-token"


def test_sent_rows_are_recorded_together_and_at_once_on_flush(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.scheduler.delivery as scheduler_module

    writes: list[int] = []
    real = scheduler_module.mark_sent_many

    def counting(**kwargs: Any) -> int:
        writes.append(len(kwargs["sent"]))
        return real(**kwargs)

    monkeypatch.setattr(scheduler_module, "mark_sent_many", counting)
    recorder = scheduler_module.SentRecorder(rig.engine, "w1", rig.clock, every=60.0)
    for n in range(3):
        recorder.add(n + 1, CHANNEL, f"1.00000{n}")
    recorder.flush(timeout=10)
    assert writes == [3]  # one write for the three, and flush did not wait the minute


def test_warm_up_keeps_startup_objects_out_of_the_collectors_way(rig: Rig) -> None:
    try:
        rig.scheduler.warm_up()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


class RunningClock:
    """Real time, started at a chosen instant: the tick really waits for what it claimed ahead."""

    def __init__(self, start: datetime) -> None:
        self._start, self._mono = start, time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._mono)


def _ahead_rig(rig: Rig, lead: float) -> tuple[Scheduler, RunningClock, int]:
    """The 7-days-before reminder planned, the clock `lead` seconds before it is due, and a
    scheduler whose next tick falls in the last interval before it."""
    deadline = add_deadline(rig.engine, TEAM, "Årsrapport", DEADLINE_DAY)
    rig.clock.now = REMINDER_AT - timedelta(minutes=1)
    rig.replan()
    clock = RunningClock(REMINDER_AT - timedelta(seconds=lead))
    scheduler = build_scheduler(
        rig.settings, engine=rig.engine, clock=clock, refresh_every=timedelta(1)
    )
    scheduler._last_refresh = clock()  # plans stay as the test made them
    return scheduler, clock, deadline


def _posted_at(rig: Rig, clock: RunningClock) -> list[datetime]:
    """Records, in a thread, when the fake Slack shows the first post in the channel."""
    seen: list[datetime] = []

    def watch() -> None:
        if rig.fake.wait_for(lambda: bool(rig.posts()), timeout=10):
            seen.append(clock())

    threading.Thread(target=watch, daemon=True).start()
    return seen


def test_a_tick_before_its_time_prepares_the_reminder_and_posts_it_on_the_second(
    rig: Rig,
) -> None:
    scheduler, clock, _ = _ahead_rig(rig, lead=1.5)
    seen = _posted_at(rig, clock)
    try:
        stats = scheduler.tick()
    finally:
        scheduler.shutdown()
    assert stats.sent == 1
    [message] = rig.posts()
    assert "Årsrapport" in visible_text(message) and "om 7 dager" in visible_text(message)
    assert "for sent" not in visible_text(message)
    # Claimed ahead by this tick, posted not before its time, and not late either.
    [row] = [r for r in rig.rows() if r.state == OutboxState.SENT]
    assert row.claimed_at is not None and row.claimed_at < REMINDER_AT - timedelta(seconds=1)
    assert seen and REMINDER_AT <= seen[0] < REMINDER_AT + timedelta(seconds=0.5)


@pytest.mark.parametrize("change", ["retitled", "deleted", "paused", "done"])
def test_a_change_after_the_reminder_was_prepared_shows_in_what_is_posted(
    rig: Rig, change: str, caplog: pytest.LogCaptureFixture
) -> None:
    from storage.models import Deadline, DeadlineDone

    scheduler, clock, deadline = _ahead_rig(rig, lead=2.0)
    ticked: list[Any] = []
    worker = threading.Thread(target=lambda: ticked.append(scheduler.tick()), daemon=True)
    with caplog.at_level("INFO", logger="bot.scheduler"):
        worker.start()
        # Claimed (and so rendered, a moment later) well before its time; then the change.
        while not any(r.state == OutboxState.CLAIMED for r in rig.rows()):
            time.sleep(0.02)
        time.sleep(0.5)
        with session_scope(rig.engine, write=True) as session:
            item = session.get(Deadline, deadline)
            assert item is not None
            if change == "retitled":
                item.title = "Årsrapport (ny frist)"
            elif change == "deleted":
                session.delete(item)
            elif change == "paused":
                workspace = session.get(Workspace, TEAM)
                assert workspace is not None
                workspace.reminders_paused = True
            else:
                session.add(
                    DeadlineDone(
                        team_id=TEAM, deadline_id=deadline, occurrence=DEADLINE_DAY, done_by=ADMIN
                    )
                )
        assert clock() < REMINDER_AT
        worker.join(timeout=10)
    scheduler.shutdown()
    assert "changed since rendered" in caplog.text
    [stats] = ticked
    if change == "retitled":
        [message] = rig.posts()
        assert "Årsrapport (ny frist)" in visible_text(message)
    else:
        assert stats.sent == 0 and stats.cancelled == 1 and rig.posts() == []
