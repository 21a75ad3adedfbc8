"""Snoozing a reminder («Minn meg på …») never brings it back after the thing it is about:
on the day (or the day before an early meeting) it offers times that still come first,
or says kindly that it cannot be snoozed; an old «i morgen» button is refused on the server."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from handlers.reminders.views import SNOOZE_ACTION
from storage.models import OutboxState
from tests import test_reminders_slack
from tests.conftest import MEMBER, TEAM
from tests.helpers import add_deadline, add_meeting, assert_valid_message, visible_text
from tests.test_reminders_slack import World, set_channel

# The Slack scenario rig of test_reminders_slack: signed requests, fake Slack, a scheduler.
world = test_reminders_slack.world

MEETING_DAY = date(2026, 12, 9)  # a Wednesday
MORNING = datetime(2026, 12, 9, 8, 0, tzinfo=UTC)  # 09:00 in Oslo
NEXT_MORNING = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
    ]


def post_morning_reminder(world: World) -> dict[str, Any]:
    """The reminder due at 09:00 on MEETING_DAY, as posted (earlier ones were missed)."""
    set_channel(world)
    world.clock.now = MORNING
    assert world.scheduler.tick().sent == 1
    message = world.channel_messages()[-1]
    assert_valid_message(message)
    return message


def click_button(world: World, message: dict[str, Any], label: str) -> dict[str, Any]:
    """Click the button with this label; the ephemeral reply the clicker gets."""
    element = next(
        e
        for block in message["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
        if e["text"]["text"] == label
    )
    return _click(world, message, element)


def click_old_snooze_button(world: World, message: dict[str, Any]) -> dict[str, Any]:
    """«Minn meg på i morgen» as a message posted before this change still shows it."""
    value = next(
        e["value"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
    )
    element = {
        "type": "button",
        "action_id": SNOOZE_ACTION,
        "text": {"type": "plain_text", "text": "Minn meg på i morgen"},
        "value": value,
    }
    return _click(world, message, element)


def _click(world: World, message: dict[str, Any], element: dict[str, Any]) -> dict[str, Any]:
    response = test_reminders_slack.click_reminder_button(world, message, element)
    assert response.get("response_type") == "ephemeral"
    return response


def test_on_the_day_of_a_meeting_snooze_offers_times_before_it(world: World) -> None:
    add_meeting(world.engine, TEAM, "Nettverksmøte", MEETING_DAY, start_time=time(13, 0))
    message = post_morning_reminder(world)
    assert "møtet er 9. desember 2026 (i dag)" in message["text"]
    # «i morgen» would come after the meeting; 10:00 and 12:00 come before it, 15:00 does not.
    assert buttons(message) == ["Minn meg på om 1 time", "Minn meg på kl. 12"]

    world.clock.now = datetime(2026, 12, 9, 8, 5, tzinfo=UTC)
    reply = click_button(world, message, "Minn meg på om 1 time")
    assert "onsdag 9. desember 2026 kl. 10:05" in reply["text"]
    world.clock.now = datetime(2026, 12, 9, 9, 5, tzinfo=UTC)
    assert world.scheduler.tick().sent == 1
    again = world.channel_messages()[-1]
    assert "møtet er 9. desember 2026 (i dag)" in again["text"]
    assert f"Du ba om en ny påminnelse i dag (<@{MEMBER}>)" in visible_text(again)
    # Snoozed at 10:05, «om 1 time» would be 11:05 and 12:00 is still before 13:00.
    assert buttons(again) == ["Minn meg på om 1 time", "Minn meg på kl. 12"]
    world.clock.now = NEXT_MORNING
    assert world.scheduler.tick().sent == 0
    assert not any("(i går)" in m["text"] for m in world.channel_messages())


def test_the_day_before_an_early_meeting_snooze_stays_on_that_day(world: World) -> None:
    add_meeting(world.engine, TEAM, "Frokostmøte", MEETING_DAY, start_time=time(8, 0))
    set_channel(world)
    world.clock.now = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)  # Tuesday 09:00, the day before
    assert world.scheduler.tick().sent == 1
    message = world.channel_messages()[-1]
    assert "møtet er 9. desember 2026 (i morgen)" in message["text"]
    assert buttons(message) == [
        "Minn meg på om 1 time",
        "Minn meg på kl. 12",
        "Minn meg på kl. 15",
    ]


def test_an_old_snooze_button_never_brings_the_reminder_back_after_the_meeting(
    world: World,
) -> None:
    add_meeting(world.engine, TEAM, "Nettverksmøte", MEETING_DAY, start_time=time(13, 0))
    message = post_morning_reminder(world)
    world.clock.now = datetime(2026, 12, 9, 8, 5, tzinfo=UTC)
    reply = click_old_snooze_button(world, message)
    assert reply["text"].startswith(
        "Møtet er i dag kl. 13:00, så jeg kan ikke minne deg på det i morgen."
    )
    # It offers what still fits instead.
    assert buttons(reply) == ["Minn meg på om 1 time", "Minn meg på kl. 12"]
    assert not [r for r in world.rows() if r.unique_key.startswith("snooze:")]
    world.clock.now = NEXT_MORNING
    assert world.scheduler.tick().sent == 0
    assert len(world.channel_messages()) == 1


def test_a_reminder_too_close_to_its_deadline_says_it_cannot_be_snoozed(world: World) -> None:
    add_deadline(
        world.engine,
        TEAM,
        "Påmelding",
        MEETING_DAY,
        due_time=time(10, 0),
        reminder_offsets_days="0",
    )
    message = post_morning_reminder(world)
    assert "fristen er 9. desember 2026 (i dag)" in message["text"]
    assert buttons(message) == ["Ferdig"]
    assert "Fristen er så nær at påminnelsen ikke kan utsettes." in visible_text(message)

    world.clock.now = datetime(2026, 12, 9, 8, 5, tzinfo=UTC)
    reply = click_old_snooze_button(world, message)
    assert reply["text"] == (
        "Fristen er i dag kl. 10:00, så jeg kan ikke minne deg på den i morgen. "
        "Det er for kort tid igjen til å utsette påminnelsen."
    )
    assert [r.state for r in world.rows()] == [OutboxState.SENT]


@pytest.mark.parametrize(
    ("start", "clicked", "label", "reply"),
    [
        (
            time(13, 0),
            datetime(2026, 12, 9, 11, 30, tzinfo=UTC),  # 12:30 in Oslo
            "Minn meg på kl. 12",
            "Kl. 12 er allerede passert. Det er for kort tid igjen til å utsette påminnelsen.",
        ),
        (
            time(16, 0),
            datetime(2026, 12, 9, 19, 30, tzinfo=UTC),  # 20:30, after the meeting's day ends
            "Minn meg på om 1 time",
            "Møtet er i dag kl. 16:00, så jeg kan ikke minne deg på det om 1 time. "
            "Det er for kort tid igjen til å utsette påminnelsen.",
        ),
    ],
)
def test_a_snooze_time_that_no_longer_fits_is_refused_with_the_reason(
    world: World, start: time, clicked: datetime, label: str, reply: str
) -> None:
    add_meeting(world.engine, TEAM, "Nettverksmøte", MEETING_DAY, start_time=start)
    message = post_morning_reminder(world)
    world.clock.now = clicked
    assert click_button(world, message, label)["text"] == reply
    assert not [r for r in world.rows() if r.unique_key.startswith("snooze:")]


def test_a_snooze_into_quiet_hours_is_refused(world: World) -> None:
    add_meeting(world.engine, TEAM, "Frokostmøte", MEETING_DAY, start_time=time(8, 0))
    set_channel(world)
    world.clock.now = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)  # Tuesday 09:00, the day before
    assert world.scheduler.tick().sent == 1
    message = world.channel_messages()[-1]
    world.clock.now = datetime(2026, 12, 8, 19, 30, tzinfo=UTC)  # 20:30
    assert click_button(world, message, "Minn meg på om 1 time")["text"] == (
        "Jeg kan ikke minne deg på det om 1 time: jeg poster påminnelser bare på hverdager "
        "mellom kl. 07 og 21. Det er for kort tid igjen til å utsette påminnelsen."
    )
