"""Time travel in the local shell (`tid +3d`): the shell's clock moves forward through every
moment something is due, and the scheduler posts each message at its own time, never late;
scoped to the shell's workspace, it leaves every other workspace's rows and data alone.
On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.shell.fakeslack import FakeSlack
from bot.shell.timetravel import MAX_TURNS_PER_ROW, ShellClock, Step, step_header, travel
from storage.db import session_scope
from storage.models import OutboxMessage, OutboxState, Workspace
from storage.outbox import next_due, schedule_message
from tests.conftest import CHANNEL, TEAM
from tests.feedback_helpers import load_world
from tests.helpers import add_deadline, visible_text

OSLO = ZoneInfo("Europe/Oslo")
START = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 23 November 2026, 08:00 in Oslo
TARGET = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)  # Wednesday, 12:00 in Oslo
DEADLINE_DAY = date(2026, 12, 1)  # its 7-days-before reminder: Tuesday 24 November 09:00
REMINDER_AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
PLAY_ENDS = datetime(2026, 11, 24, 8, 40, tzinfo=UTC)  # Løvehjerte at Ås ungdomsskole, 09:40
LATER_PLAY_ENDS = datetime(2026, 11, 24, 11, 10, tzinfo=UTC)  # at Nordbytun, 12:10
OTHER = "T0REAL"
OTHER_CHANNEL = "C0REAL"
GONE = "T0GONE"
LATE = "kommer for sent"


class RecordingClock(ShellClock):
    """The shell's clock, remembering every reading in the order they were made."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.readings: list[datetime] = []
        self._record = threading.Lock()

    def __call__(self) -> datetime:
        with self._record:
            now = super().__call__()
            self.readings.append(now)
            return now


def set_channel(engine: Engine, team_id: str, channel: str) -> None:
    with session_scope(engine, write=True) as session:
        workspace = session.get(Workspace, team_id)
        if workspace is None:
            workspace = Workspace(team_id=team_id, seeded_at=START)
        workspace.reminder_channel_id = channel
        session.add(workspace)


def rows_of(engine: Engine, team_id: str) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        stmt = select(OutboxMessage).where(col(OutboxMessage.team_id) == team_id)
        return list(session.exec(stmt.order_by(col(OutboxMessage.id))).all())


def shell_scheduler(make_driver: Any, make_scheduler: Any, engine: Engine, clock: ShellClock):
    # The App registers the outbox kinds, as in the shell; pacing a tenth keeps it quick.
    slack = make_driver(engine, clock=clock)
    return make_scheduler(
        slack.settings,
        engine=engine,
        clock=clock,
        teams=(TEAM,),
        pace_seconds=0.1,
        lookahead=timedelta(0),
    )


def test_travel_posts_the_reminder_and_the_feedback_questions_each_at_its_time(
    engine: Engine, fake_slack: FakeSlack, make_driver: Any, make_scheduler: Any
) -> None:
    clock = RecordingClock(START)
    fake_slack.now = lambda: clock().timestamp()  # Slack stamps posts by the shell's clock
    load_world(engine, TEAM, clock())
    set_channel(engine, TEAM, CHANNEL)
    add_deadline(engine, TEAM, "Årsrapport", DEADLINE_DAY)
    scheduler = shell_scheduler(make_driver, make_scheduler, engine, clock)
    seen: list[tuple[Step, list[dict[str, Any]]]] = []

    def on_step(step: Step) -> None:
        done = sum(len(posts) for _, posts in seen)
        calls = fake_slack.calls_to("chat.postMessage")[done:]
        seen.append((step, [call.args for call in calls]))

    steps = travel(scheduler, clock, TARGET, on_step=on_step)

    assert clock() >= TARGET
    assert [step for step, _ in seen] == steps
    moments = [step.moment for step in steps]
    assert moments == sorted(moments) and REMINDER_AT in moments
    assert all(step.posted == len(posts) for step, posts in seen)

    def posted_at(moment: datetime) -> list[dict[str, Any]]:
        return next(posts for step, posts in seen if step.moment == moment)

    [reminder] = [p for p in posted_at(REMINDER_AT) if p["text"].startswith("Påminnelse: Års")]
    assert reminder["channel"] == CHANNEL and "om 7 dager" in reminder["text"]
    [prompt] = posted_at(PLAY_ENDS)
    assert prompt["channel"] == "D0KONTAKT"
    assert prompt["text"].startswith("Hvordan gikk «Brødrene Løvehjerte")
    [later] = posted_at(LATER_PLAY_ENDS)
    assert "Nordbytun ungdomsskole" in later["text"] and later["channel"] == CHANNEL
    # In the order of their times, and none with a late note.
    texts = [call.args["text"] for call in fake_slack.calls_to("chat.postMessage")]
    assert texts.index(reminder["text"]) < texts.index(prompt["text"]) < texts.index(later["text"])
    for channel in (CHANNEL, "D0KONTAKT"):
        for message in fake_slack.messages[channel]:
            assert LATE not in visible_text(message)
    sent = [r for r in rows_of(engine, TEAM) if r.state == OutboxState.SENT]
    assert len(sent) == len(texts) and not any(r.late for r in sent)
    assert all(r.sent_at and r.sent_at - r.due_at < timedelta(seconds=30) for r in sent)
    # Nothing is posted ahead of its time: what falls after the target waits.
    assert all(r.due_at > TARGET for r in rows_of(engine, TEAM) if r.state == "pending")
    # The clock never went back, whoever read it (the scheduler's threads, Slack's stamps).
    assert clock.readings == sorted(clock.readings)
    assert step_header(REMINDER_AT, OSLO) == "— tirsdag 24. november kl. 09:00 —"


def test_a_scoped_scheduler_leaves_other_workspaces_alone(
    engine: Engine, fake_slack: FakeSlack, make_driver: Any, make_scheduler: Any
) -> None:
    clock = ShellClock(START)
    fake_slack.add_channel(OTHER_CHANNEL, "ekte", member=True)  # a leak would be posted
    set_channel(engine, TEAM, CHANNEL)
    add_deadline(engine, TEAM, "Årsrapport", DEADLINE_DAY)
    # A real workspace in the same database, with a calendar and a row due on the way.
    set_channel(engine, OTHER, OTHER_CHANNEL)
    add_deadline(engine, OTHER, "Søknad", DEADLINE_DAY)
    with session_scope(engine, write=True) as session:
        schedule_message(
            session=session,
            team_id=OTHER,
            kind="reminder",
            unique_key="real",
            ref="deadline:0:2026-12-01",
            due_at=REMINDER_AT,
            target=OTHER_CHANNEL,
            payload={"title": "Søknad"},
            now=START,
        )
        # And one that removed the bot long ago: only the clock process's retention rule,
        # by the real time, may delete its data.
        session.add(Workspace(team_id=GONE, uninstalled_at=START - timedelta(days=400)))
    [before] = rows_of(engine, OTHER)
    scheduler = shell_scheduler(make_driver, make_scheduler, engine, clock)

    travel(scheduler, clock, TARGET)

    posted = fake_slack.calls_to("chat.postMessage")
    assert any(call.args["text"].startswith("Påminnelse: Årsrapport") for call in posted)
    assert fake_slack.messages.get(OTHER_CHANNEL, []) == []
    assert all(call.args["channel"] != OTHER_CHANNEL for call in posted)
    [after] = rows_of(engine, OTHER)  # not claimed, and nothing planned for it either
    assert after.state == OutboxState.PENDING and after.claimed_by is None
    assert (after.attempts, after.available_at) == (0, before.available_at)
    with session_scope(engine) as session:
        assert session.get(Workspace, GONE) is not None


def test_a_row_that_keeps_coming_back_stops_the_journey(
    engine: Engine, fake_slack: FakeSlack, make_driver: Any, make_scheduler: Any
) -> None:
    clock = ShellClock(START)
    set_channel(engine, TEAM, CHANNEL)
    with session_scope(engine, write=True) as session:
        # A kind no feature renders is given back for a minute later, again and again.
        schedule_message(
            session=session,
            team_id=TEAM,
            kind="unknown",
            unique_key="x",
            ref="x:",
            due_at=START + timedelta(hours=1),
            target=CHANNEL,
            now=START,
        )
    scheduler = shell_scheduler(make_driver, make_scheduler, engine, clock)

    steps = travel(scheduler, clock, TARGET)

    stuck = steps[-1].stuck
    assert stuck is not None and stuck.kind == "unknown"
    assert len(steps) == MAX_TURNS_PER_ROW + 1
    assert clock() < START + timedelta(hours=2) < TARGET
    assert fake_slack.calls_to("chat.postMessage") == []


def test_next_due_finds_the_earliest_row_of_the_workspaces_in_the_window(engine: Engine) -> None:
    with session_scope(engine, write=True) as session:
        for team_id, key, hours in ((TEAM, "a", 3), (TEAM, "b", 1), (OTHER, "c", 0.5)):
            schedule_message(
                session=session,
                team_id=team_id,
                kind="reminder",
                unique_key=key,
                ref=f"{key}:",
                due_at=START + timedelta(hours=hours),
                target=CHANNEL,
                now=START,
            )
    with session_scope(engine) as session:

        def due(after: float, until: float, teams: tuple[str, ...] | None = (TEAM,)) -> Any:
            found = next_due(
                session=session,
                team_ids=teams,
                after=START + timedelta(hours=after),
                until=START + timedelta(hours=until),
            )
            return found and found.available_at

        assert due(0, 5) == START + timedelta(hours=1)
        assert due(0, 5, None) == START + timedelta(hours=0.5)
        assert due(1, 5) == START + timedelta(hours=3)  # after: exclusive
        assert due(1, 3) == START + timedelta(hours=3)  # until: inclusive
        assert due(1, 2.9) is None
        assert due(0, 5, ()) is None


def test_the_shell_clock_follows_real_time_and_only_moves_forward() -> None:
    clock = ShellClock()
    assert abs(clock() - datetime.now(UTC)) < timedelta(seconds=1)
    moved = clock.advance_to(datetime(2030, 2, 11, 8, 0, tzinfo=UTC))
    time.sleep(0.05)
    assert moved + timedelta(seconds=0.04) < clock() < moved + timedelta(seconds=5)
    with pytest.raises(ValueError):
        clock.advance_to(moved)
    with pytest.raises(ValueError):
        clock.advance_by(timedelta(days=-1))
    assert clock.at_least(moved) > moved  # already past: stays where it is
    assert clock.advance_by(timedelta(days=3)) > moved + timedelta(days=3)
    with pytest.raises(ValueError):
        clock.advance_to(datetime(2030, 3, 1, 8, 0))  # naive
