"""`/dks påminnelser`, the reminder buttons and events, through signed requests as Slack
sends them; the scheduler posts into the fake Slack with the same frozen clock."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.scheduler import build_scheduler
from bot.scheduler.engine import Scheduler
from bot.shell.signing import block_actions_body, button_action, event_body, signed_headers
from handlers.reminders.sync import after_item_change
from handlers.reminders.views import (
    DONE_ACTION,
    REMINDER_ACTIONS_BLOCK_ID,
    SNOOZE_ACTION,
    UNDO_ACTION,
    USE_CHANNEL_ACTION,
    USE_CHANNEL_BLOCK_ID,
)
from storage.db import session_scope
from storage.models import Deadline, OutboxMessage, OutboxState, Workspace
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM, FrozenClock, SlackDriver
from tests.helpers import add_deadline, assert_valid_message, seeded_workspace, visible_text

DUE = date(2026, 12, 8)  # Tuesday: reminders Tuesday 1 December and Monday 7 December
FIRST = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 in Oslo


@dataclass
class World:
    slack: SlackDriver
    engine: Engine
    clock: FrozenClock
    scheduler: Scheduler

    @property
    def fake(self):  # type: ignore[no-untyped-def]
        return self.slack.fake

    def rows(self, state: str | None = None) -> list[OutboxMessage]:
        with session_scope(self.engine) as session:
            stmt = select(OutboxMessage).order_by(col(OutboxMessage.due_at))
            if state:
                stmt = stmt.where(col(OutboxMessage.state) == state)
            return list(session.exec(stmt).all())

    def click(self, message: dict[str, Any], action_id: str, *, user: str = MEMBER) -> None:
        element = next(
            e
            for block in message["blocks"]
            if block["type"] == "actions"
            for e in block["elements"]
            if e["action_id"] == action_id
        )
        block_id = next(
            b["block_id"] for b in message["blocks"] if element in b.get("elements", [])
        )
        self.press(message, element, block_id=block_id, user=user)

    def press(
        self, message: dict[str, Any], element: dict[str, Any], *, block_id: str, user: str
    ) -> None:
        """`user` presses `element` of a posted `message` (a block_actions request)."""
        body = block_actions_body(
            team_id=TEAM,
            user_id=user,
            channel_id=CHANNEL,
            response_url=self.fake.response_url(),
            action=button_action(element),
            block_id=block_id,
            message_ts=message["ts"],
            is_ephemeral=False,
        )
        assert self.slack.post(body).status_code == 200

    def event(self, event: dict[str, Any]) -> None:
        body = event_body(team_id=TEAM, event=event)
        assert self.slack.settings.slack_signing_secret
        headers = signed_headers(
            self.slack.settings.slack_signing_secret, body, content_type="application/json"
        )
        assert self.slack.post(body, headers=headers).status_code == 200

    def channel_messages(self) -> list[dict[str, Any]]:
        return self.fake.messages.get(CHANNEL, [])


@pytest.fixture
def world(make_driver, sqlite_engine: Engine, clock: FrozenClock) -> Iterator[World]:  # type: ignore[no-untyped-def]
    seeded_workspace(sqlite_engine, TEAM)
    slack = make_driver(sqlite_engine)
    scheduler = build_scheduler(slack.settings, engine=sqlite_engine, clock=clock, pace_seconds=0.1)
    yield World(slack, sqlite_engine, clock, scheduler)
    scheduler.shutdown()


def set_channel(world: World) -> None:
    reply = world.slack.command(f"påminnelser kanal <#{CHANNEL}|dks>")
    assert "Påminnelser kommer nå i" in reply["text"], reply


def wait_for_update(world: World, before: int) -> dict[str, Any]:
    assert world.fake.wait_for(lambda: len(world.fake.calls_to("chat.update")) > before)
    ts = world.fake.calls_to("chat.update")[-1].args["ts"]
    return next(m for m in world.channel_messages() if m["ts"] == ts)


def click_reminder_button(
    world: World, message: dict[str, Any], element: dict[str, Any]
) -> dict[str, Any]:
    """A member presses a button of a posted reminder; what the bot answered at the
    response_url."""
    before = len(world.fake.responses)
    world.press(message, element, block_id=REMINDER_ACTIONS_BLOCK_ID, user=MEMBER)
    assert world.fake.wait_for(lambda: len(world.fake.responses) > before)
    return dict(world.fake.responses[-1][1])


def post_first_reminder(world: World) -> dict[str, Any]:
    world.clock.now = FIRST
    assert world.scheduler.tick().sent == 1
    [message] = world.channel_messages()
    return message


def test_kanal_checks_the_channel_and_only_coordinators_may_set_it(world: World) -> None:
    world.fake.add_channel("C0OUT", "ute", member=False)
    world.fake.add_channel("C0OLD", "gammel", member=True, archived=True)
    reply = world.slack.command("påminnelser kanal <#C0OUT|ute>")
    assert_valid_message(reply)
    assert "Jeg er ikke med i <#C0OUT> ennå" in reply["text"]
    assert "/invite @dks-boten" in reply["text"]
    assert "arkivert" in world.slack.command("påminnelser kanal <#C0OLD|gammel>")["text"]
    assert "finner ikke" in world.slack.command("påminnelser kanal <#C0NONE|borte>")["text"]
    assert "Skriv kanalen slik" in world.slack.command("påminnelser kanal dks")["text"]
    refused = world.slack.command(f"påminnelser kanal <#{CHANNEL}|dks>", user=MEMBER)
    assert "Bare koordinatorer" in refused["text"]
    with session_scope(world.engine) as session:
        ws = session.get(Workspace, TEAM)
        assert ws is not None and ws.reminder_channel_id is None
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    reply = world.slack.command(f"påminnelser kanal <#{CHANNEL}|dks>")
    assert_valid_message(reply)
    assert "Neste: «Rapport», tirsdag 1. desember 2026 kl. 09:00" in reply["text"]


def test_list_without_a_channel_previews_and_with_one_shows_when(world: World) -> None:
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    reply = world.slack.command("påminnelser")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "ikke valgt noen kanal" in text
    assert "tirsdag 1. desember 2026 kl. 09:00" in text and "«Rapport»" in text
    set_channel(world)
    reply = world.slack.command("paminnelser")  # without å, as people type on phones
    text = visible_text(reply)
    assert f"De neste påminnelsene i <#{CHANNEL}>" in text
    assert "• *tirsdag 1. desember 2026 kl. 09:00* – «Rapport» (fristen 8. desember 2026)" in text
    assert "• *mandag 7. desember 2026 kl. 09:00*" in text


def test_pause_and_resume(world: World) -> None:
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    assert "pause" in world.slack.command("påminnelser av")["text"]
    assert {r.state for r in world.rows()} == {OutboxState.CANCELLED}
    assert "satt på pause" in visible_text(world.slack.command("påminnelser"))
    world.clock.now = FIRST
    assert world.scheduler.tick().sent == 0
    world.clock.now = FIRST - timedelta(hours=2)
    reply = world.slack.command("påminnelser på")
    assert "i gang igjen" in reply["text"]
    world.clock.now = FIRST
    assert world.scheduler.tick().sent == 1
    assert "Bare koordinatorer" in world.slack.command("påminnelser av", user=MEMBER)["text"]


def test_offsets_per_workspace(world: World) -> None:
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    reply = world.slack.command("påminnelser dager 3")
    assert "3 dager før" in reply["text"]
    pending = world.rows(OutboxState.PENDING)
    assert [r.due_at for r in pending] == [
        datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    ]  # Saturday → Fri
    assert "ikke et antall dager" in world.slack.command("påminnelser dager tre")["text"]
    assert "høyst 90" in world.slack.command("påminnelser dager 365")["text"]
    assert "Tilbake til standard" in world.slack.command("påminnelser dager standard")["text"]
    assert len(world.rows(OutboxState.PENDING)) == 2
    assert "Jeg forstår ikke «tull»" in world.slack.command("påminnelser tull")["text"]


def test_status_shows_failures_and_the_channel(world: World) -> None:
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    world.fake.channels[CHANNEL]["is_member"] = False
    world.clock.now = FIRST
    assert world.scheduler.tick().failed == 1
    reply = world.slack.command("påminnelser status", user=MEMBER)
    assert_valid_message(reply)
    text = visible_text(reply)
    assert f"*Kanal:* <#{CHANNEL}> (valgt av <@{ADMIN}> 24. november 2026)" in text
    assert "«Rapport»: boten er ikke med i kanalen" in text
    assert "koordinatorene har fått beskjed" in text
    # The coordinator who chose the channel was told by DM, once.
    assert len(world.fake.messages.get("D0ADMIN", [])) == 1
    # Choosing the channel again (after inviting the bot) clears the alert.
    world.fake.channels[CHANNEL]["is_member"] = True
    set_channel(world)
    assert "koordinatorene har fått beskjed" not in visible_text(
        world.slack.command("påminnelser status")
    )


def test_done_closes_the_occurrence_for_everyone_and_undo_reopens_it(world: World) -> None:
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    message = post_first_reminder(world)
    assert_valid_message(message)
    assert [e["text"]["text"] for e in message["blocks"][-1]["elements"]] == [
        "Ferdig",
        "Minn meg på i morgen",
    ]
    world.click(message, DONE_ACTION, user=MEMBER)
    done = wait_for_update(world, 0)
    assert_valid_message(done)
    text = visible_text(done)
    assert f"Markert som ferdig av <@{MEMBER}> 1. desember 2026" in text
    assert [e["action_id"] for e in done["blocks"][-1]["elements"]] == [UNDO_ACTION]
    assert done["blocks"][0]["block_id"] == message["blocks"][0]["block_id"]  # marker kept
    later = [r for r in world.rows() if r.due_at > FIRST]
    assert [r.state for r in later] == [OutboxState.CANCELLED]
    world.clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert world.scheduler.tick().sent == 0

    world.clock.now = FIRST + timedelta(minutes=5)
    world.click(done, UNDO_ACTION, user=ADMIN)
    undone = wait_for_update(world, 1)
    assert_valid_message(undone)
    assert [e["action_id"] for e in undone["blocks"][-1]["elements"]] == [
        DONE_ACTION,
        SNOOZE_ACTION,
    ]
    later = [r for r in world.rows() if r.due_at > FIRST]
    assert [r.state for r in later] == [OutboxState.PENDING]


def test_done_on_a_reminder_is_audited_as_done_from_the_home_tab(world: World) -> None:
    from handlers.editing.fields import ModalMeta
    from handlers.editing.loading import build_modal
    from storage import audit

    deadline = add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    message = post_first_reminder(world)
    stale = json.loads(json.dumps(message))  # as another member's Slack still shows it
    world.click(message, DONE_ACTION, user=MEMBER)
    wait_for_update(world, 0)

    def entries() -> list[Any]:
        with session_scope(world.engine) as session:
            return audit.entries_for(
                session=session, team_id=TEAM, item_kind="deadline", item_id=deadline
            )

    [entry] = entries()
    assert (entry.action, entry.user_id, entry.source, entry.summary) == (
        "done",
        MEMBER,
        "slack",
        "Rapport",
    )
    assert audit.changes_of(entry) == {"occurrence": DUE.isoformat()}
    assert entry.at == FIRST
    with session_scope(world.engine) as session:
        last = audit.last_change(
            session=session, team_id=TEAM, item_kind="deadline", item_id=deadline
        )
    assert last == audit.LastChange(MEMBER, "slack", "done", FIRST)
    # The edit modal's footer («Sist endret …») tells who closed it.
    modal = build_modal(_services(world), team_id=TEAM, meta=ModalMeta("deadline", deadline))
    assert modal is not None
    assert f"Merket som ferdig av <@{MEMBER}> den 1. desember 2026 kl. 09:00." in visible_text(
        modal.to_dict()
    )

    # A second «Ferdig» on the same reminder changes nothing, so it is not audited again.
    before = len(world.fake.responses)
    world.click(stale, DONE_ACTION, user=ADMIN)
    assert world.fake.wait_for(lambda: len(world.fake.responses) > before)
    assert "allerede markert som ferdig" in world.fake.responses[-1][1]["text"]
    assert len(entries()) == 1


def test_snooze_on_a_friday_comes_back_monday_at_nine(world: World) -> None:
    add_deadline(world.engine, TEAM, "Rapport", date(2026, 12, 4))  # Friday
    set_channel(world)
    world.clock.now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # Friday 09:00, 7 days before
    assert world.scheduler.tick().sent == 1
    [message] = world.channel_messages()
    world.clock.now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    before = len(world.fake.responses)
    world.click(message, SNOOZE_ACTION, user=MEMBER)
    assert world.fake.wait_for(lambda: len(world.fake.responses) > before)
    _, response = world.fake.responses[-1]
    assert "mandag 30. november 2026 kl. 09:00" in response["text"]
    assert response.get("response_type") == "ephemeral"
    world.clock.now = datetime(2026, 11, 30, 7, 59, tzinfo=UTC)
    assert world.scheduler.tick().sent == 0
    world.clock.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert world.scheduler.tick().sent == 1
    snoozed = world.channel_messages()[-1]
    assert f"Du ba om en ny påminnelse i dag (<@{MEMBER}>)" in visible_text(snoozed)
    assert "fredag 4. desember 2026" in visible_text(snoozed)


def test_moving_a_deadline_moves_reminders_and_edits_the_posted_one(world: World) -> None:
    deadline = add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    message = post_first_reminder(world)
    with session_scope(world.engine, write=True) as session:
        row = session.get(Deadline, deadline)
        assert row is not None
        row.due_date = date(2026, 12, 15)
    after_item_change(
        client=world.slack.app.client,
        services=_services(world),
        team_id=TEAM,
        kind="deadline",
        item_id=deadline,
        logger=logging.getLogger("test"),
    )
    [update] = world.fake.calls_to("chat.update")
    assert update.args["ts"] == message["ts"]
    edited = world.channel_messages()[0]
    assert_valid_message(edited)
    assert "*Endret:* ny dato tirsdag 15. desember 2026." in visible_text(edited)
    assert not any(b["type"] == "actions" for b in edited["blocks"])
    pending = world.rows(OutboxState.PENDING)
    # The new date's own reminders: 14 days before is right now, then 7 and 1 day before.
    assert [r.due_at for r in pending] == [
        datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 12, 8, 8, 0, tzinfo=UTC),
        datetime(2026, 12, 14, 8, 0, tzinfo=UTC),
    ]
    assert {r.ref for r in pending} == {f"deadline:{deadline}:2026-12-15"}
    # Calling it again changes nothing more.
    after_item_change(
        client=world.slack.app.client,
        services=_services(world),
        team_id=TEAM,
        kind="deadline",
        item_id=deadline,
        logger=logging.getLogger("test"),
    )
    assert len(world.fake.calls_to("chat.update")) == 1

    with session_scope(world.engine, write=True) as session:
        session.delete(session.get(Deadline, deadline))
    after_item_change(
        client=world.slack.app.client,
        services=_services(world),
        team_id=TEAM,
        kind="deadline",
        item_id=deadline,
        logger=logging.getLogger("test"),
    )
    cancelled = world.channel_messages()[0]
    assert "*Avlyst:* Fristen er fjernet fra kalenderen." in visible_text(cancelled)
    assert world.rows(OutboxState.PENDING) == []


def _services(world: World):  # type: ignore[no-untyped-def]
    from handlers.core.services import Services

    return Services(settings=world.slack.settings, engine=world.engine, clock=world.clock)


def test_invited_to_a_channel_the_bot_offers_it_and_a_coordinator_accepts(world: World) -> None:
    world.fake.add_channel("C0NEW", "ny", member=True)
    world.event(
        {
            "type": "member_joined_channel",
            "user": "U0DKSBOT",
            "channel": "C0NEW",
            "channel_type": "C",
            "team": TEAM,
            "inviter": ADMIN,
        }
    )
    assert world.fake.wait_for(lambda: world.fake.messages.get("C0NEW"))
    [offer] = world.fake.messages["C0NEW"]
    assert_valid_message(offer)
    assert offer["blocks"][-1]["block_id"] == USE_CHANNEL_BLOCK_ID
    element = offer["blocks"][-1]["elements"][0]
    assert element["text"]["text"] == "Bruk denne kanalen til påminnelser"
    # A member who is not a coordinator cannot take it.
    body = block_actions_body(
        team_id=TEAM,
        user_id=MEMBER,
        channel_id="C0NEW",
        response_url=world.fake.response_url(),
        action=button_action(element),
        block_id=USE_CHANNEL_BLOCK_ID,
        message_ts=offer["ts"],
        is_ephemeral=False,
    )
    before = len(world.fake.responses)
    world.slack.post(body)
    assert world.fake.wait_for(lambda: len(world.fake.responses) > before)
    assert "Bare koordinatorer" in world.fake.responses[-1][1]["text"]
    body = body.replace(MEMBER, ADMIN)
    world.slack.post(body)
    assert world.fake.wait_for(lambda: world.fake.calls_to("chat.update"))
    assert "Påminnelser kommer nå i <#C0NEW>" in visible_text(world.fake.messages["C0NEW"][0])
    with session_scope(world.engine) as session:
        ws = session.get(Workspace, TEAM)
        assert ws is not None and ws.reminder_channel_id == "C0NEW"
    # Someone else joining, or the bot joining once a channel is set, offers nothing.
    world.fake.add_channel("C0MORE", "mer", member=True)
    world.event({"type": "member_joined_channel", "user": "U0DKSBOT", "channel": "C0MORE"})
    world.event({"type": "member_joined_channel", "user": MEMBER, "channel": "C0NEW"})
    assert "C0MORE" not in world.fake.messages
    assert len(world.fake.messages["C0NEW"]) == 1
    assert element["action_id"] == USE_CHANNEL_ACTION


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0DKSBOT"]}},
    ],
)
def test_uninstall_and_revoked_tokens_stop_the_outbox(world: World, event: dict[str, Any]) -> None:
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    assert len(world.rows(OutboxState.PENDING)) == 2
    world.event(event)
    assert world.fake.wait_for(lambda: world.rows(OutboxState.PENDING) == [], timeout=5)
    for day in (1, 7, 8):
        world.clock.now = datetime(2026, 12, day, 8, 0, tzinfo=UTC)
        assert world.scheduler.tick().claimed == 0
    assert world.channel_messages() == []
    with session_scope(world.engine) as session:
        ws = session.get(Workspace, TEAM)
        assert ws is not None and ws.uninstalled_at is not None


def test_help_lists_the_reminders_command(world: World) -> None:
    text = visible_text(world.slack.command("hjelp"))
    assert "/dks påminnelser" in text


def test_a_crafted_button_value_is_refused_kindly(world: World) -> None:
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    message = post_first_reminder(world)
    element = dict(message["blocks"][-1]["elements"][0])
    element["value"] = json.dumps({"k": "deadline", "i": "x"})
    response = click_reminder_button(world, message, element)
    assert "Den knappen forstår jeg ikke" in response["text"]
    assert world.fake.calls_to("chat.update") == []
