"""A deadline or meeting close at hand still gets a reminder when its last reminder time had
already passed when it was added, moved there, or the reminder channel was chosen: one, at the
next allowed time, saying why it is late."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from handlers.core.services import Services
from handlers.reminders.sync import after_item_change
from storage.db import session_scope
from storage.models import Deadline
from tests import test_reminders_slack
from tests.conftest import CHANNEL, TEAM
from tests.helpers import add_deadline, assert_valid_message, visible_text
from tests.test_reminders_slack import World, set_channel

# The Slack scenario rig of test_reminders_slack: signed requests, fake Slack, a scheduler.
world = test_reminders_slack.world

MONDAY = date(2026, 12, 14)  # its 1-day reminder would be Friday 11 December at 09:00
FRIDAY_AFTERNOON = datetime(2026, 12, 11, 13, 17, tzinfo=UTC)  # 14:17 in Oslo
MONDAY_MORNING = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)  # 09:00 in Oslo


def changed(world: World, deadline_id: int) -> None:
    """What a save in Slack leads to: the reminders hear that the deadline changed."""
    after_item_change(
        client=world.slack.app.client,
        services=Services(settings=world.slack.settings, engine=world.engine, clock=world.clock),
        team_id=TEAM,
        kind="deadline",
        item_id=deadline_id,
        logger=logging.getLogger("test"),
    )


def test_a_channel_chosen_after_the_last_slot_still_gets_one_late_reminder(world: World) -> None:
    add_deadline(world.engine, TEAM, "Rapport", MONDAY)
    world.clock.now = FRIDAY_AFTERNOON
    reply = world.slack.command(f"påminnelser kanal <#{CHANNEL}|dks>")
    assert "Neste: «Rapport», fredag 11. desember 2026 kl. 14:17" in reply["text"]
    assert world.scheduler.tick().sent == 1
    [message] = world.channel_messages()
    assert_valid_message(message)
    assert message["text"] == "Påminnelse: Rapport – fristen er 14. desember 2026 (om 3 dager)."
    text = visible_text(message)
    assert "Denne meldingen kommer for sent: den skulle vært sendt 11. desember 2026 kl." in text
    assert "|09:00>, men da var det ikke valgt noen kanal for påminnelser." in text
    # Three reminder times had passed (30 November, 7 and 11 December): one reminder, once.
    set_channel(world)
    world.clock.now = FRIDAY_AFTERNOON + timedelta(hours=1)
    assert world.scheduler.tick().sent == 0
    assert "«Rapport»" not in visible_text(world.slack.command("påminnelser"))
    world.clock.now = MONDAY_MORNING
    assert world.scheduler.tick().sent == 0
    assert len(world.channel_messages()) == 1


def test_a_deadline_added_late_at_night_gets_its_reminder_the_next_working_morning(
    world: World,
) -> None:
    set_channel(world)
    world.clock.now = datetime(2026, 12, 11, 21, 30, tzinfo=UTC)  # Friday 22:30 in Oslo
    deadline = add_deadline(world.engine, TEAM, "Rapport", MONDAY)
    gone = add_deadline(world.engine, TEAM, "Passert", date(2026, 12, 11), due_time=time(16, 0))
    changed(world, deadline)
    changed(world, gone)
    assert world.scheduler.tick().sent == 0
    listed = visible_text(world.slack.command("påminnelser"))
    assert "• *mandag 14. desember 2026 kl. 07:00* – «Rapport» (fristen 14. desember 2026)" in (
        listed
    )
    assert "Passert" not in listed  # its time is over: nothing to remind of
    changed(world, deadline)  # saved again: still one
    world.clock.now = datetime(2026, 12, 14, 6, 0, tzinfo=UTC)  # Monday 07:00 in Oslo
    assert world.scheduler.tick().sent == 1
    [message] = world.channel_messages()
    assert message["text"] == "Påminnelse: Rapport – fristen er 14. desember 2026 (i dag)."
    assert "men da sto ikke fristen i kalenderen med denne datoen." in visible_text(message)
    changed(world, deadline)
    world.clock.now = MONDAY_MORNING
    assert world.scheduler.tick().sent == 0
    assert len(world.channel_messages()) == 1


def test_a_deadline_moved_close_gets_one_late_reminder(world: World) -> None:
    deadline = add_deadline(world.engine, TEAM, "Rapport", date(2026, 12, 21))
    set_channel(world)
    world.clock.now = FRIDAY_AFTERNOON
    with session_scope(world.engine, write=True) as session:
        row = session.get(Deadline, deadline)
        assert row is not None
        row.due_date = MONDAY
    changed(world, deadline)
    changed(world, deadline)
    assert world.scheduler.tick().sent == 1
    [message] = world.channel_messages()
    assert message["text"] == "Påminnelse: Rapport – fristen er 14. desember 2026 (om 3 dager)."
    assert "men da sto ikke fristen i kalenderen med denne datoen." in visible_text(message)
    world.clock.now = MONDAY_MORNING
    assert world.scheduler.tick().sent == 0
    assert len(world.channel_messages()) == 1


def test_a_waiting_late_reminder_follows_a_new_channel_and_keeps_its_time(world: World) -> None:
    set_channel(world)
    world.clock.now = datetime(2026, 12, 11, 21, 30, tzinfo=UTC)  # Friday 22:30 in Oslo
    changed(world, add_deadline(world.engine, TEAM, "Rapport", MONDAY))
    world.clock.now = datetime(2026, 12, 12, 10, 0, tzinfo=UTC)  # Saturday
    world.fake.add_channel("C0NEW", "ny", member=True)
    assert "Påminnelser kommer nå i" in world.slack.command("påminnelser kanal <#C0NEW|ny>")["text"]
    world.clock.now = datetime(2026, 12, 14, 6, 0, tzinfo=UTC)  # Monday 07:00 in Oslo
    assert world.scheduler.tick().sent == 1
    assert world.channel_messages() == []
    [message] = world.fake.messages["C0NEW"]
    assert "men da sto ikke fristen i kalenderen med denne datoen." in visible_text(message)
