"""Socket Mode end to end: the real App behind slack_bolt's SocketModeHandler (the built-in
client, as `dks-bot run` uses it) against the fake Slack's Socket Mode endpoint
(bot/shell/fakesocket.py): every kind of envelope acked with the right payload, reconnects
after Slack's `disconnect` and after a dropped socket, redeliveries handled once, and the
scheduler in the same process ticking through it all."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlmodel import select

from bot.app import create_app
from bot.settings import Settings
from bot.shell.fakesocket import FakeSocketSlack
from bot.shell.signing import (
    block_actions_body,
    block_suggestion_body,
    button_action,
    event_body,
    slash_command_body,
    submitted_state,
    view_submission_body,
)
from bot.socket_mode import socket_mode_handler
from handlers.core.services import Services
from handlers.editing.forms import (
    CONTACT_CALLBACK,
    DEADLINE_CALLBACK,
    SCHOOL_BLOCK,
    SCHOOL_SELECT_ACTION,
    TITLE_BLOCK,
)
from handlers.home.views import BUTTONS_BLOCK, HOME_NEW_CONTACT, HOME_NEW_DEADLINE
from handlers.reminders.views import USE_CHANNEL_ACTION
from storage.db import session_scope
from storage.models import Deadline, Municipality, ReminderChannelChange, School, Workspace
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM
from tests.helpers import assert_valid_message, seeded_workspace

APP_TOKEN = "xapp-1-A0DKSBOT-1-0123456789abcdef"
BOT_USER = "U0DKSBOT"


@pytest.fixture
def fake_slack() -> Iterator[FakeSocketSlack]:
    """The fake Slack with its Socket Mode endpoint, set up as conftest's `fake_slack`."""
    with FakeSocketSlack(team_id=TEAM, bot_user_id=BOT_USER) as fake:
        fake.add_user(ADMIN, "Kari Koordinator", admin=True)
        fake.add_user(MEMBER, "Per Kulturkontakt")
        fake.add_channel(CHANNEL, "dks", member=True)
        yield fake


@dataclass
class Bot:
    fake: FakeSocketSlack
    engine: Engine
    settings: Settings
    app: App

    def settle(self) -> None:
        """Wait until the work after every ack so far (Bolt's lazy listeners) has finished."""
        executor: Any = self.app.listener_runner.listener_executor
        workers = int(getattr(executor, "_max_workers", 5))
        barrier = threading.Barrier(workers + 1)
        for _ in range(workers):
            executor.submit(barrier.wait, 30)
        barrier.wait(30)

    def command(self, text: str, *, lose_ack: bool = False) -> Any:
        body = slash_command_body(
            text=text,
            team_id=TEAM,
            user_id=ADMIN,
            channel_id=CHANNEL,
            response_url=self.fake.response_url(),
        )
        return self.fake.send(body, lose_ack=lose_ack)

    def calls(self, method: str) -> int:
        return len(self.fake.calls_to(method))

    def wait_calls(self, method: str, count: int) -> None:
        assert self.fake.wait_for(lambda: self.calls(method) >= count, 10), method


@pytest.fixture
def run_bot(
    fake_slack: FakeSocketSlack, settings: Settings, clock: Any
) -> Iterator[Callable[[Engine], Bot]]:
    """Start the bot in Socket Mode on a database, connected to the fake."""
    handlers: list[Any] = []

    def start(engine: Engine) -> Bot:
        used = replace(
            settings,
            slack_app_token=APP_TOKEN,
            database_url=engine.url.render_as_string(hide_password=False),
        )
        services = Services(settings=used, engine=engine, clock=clock)
        app = create_app(used, services=services)
        # The client's monitor notices a broken socket within one ping interval (Bolt's
        # default is 10 s): short here so a dropped socket does not make a slow test.
        handler = socket_mode_handler(app, used, ping_interval=1)
        handlers.append(handler)
        handler.connect()
        assert fake_slack.wait_for_handshakes(1), "the bot did not connect"
        return Bot(fake=fake_slack, engine=engine, settings=used, app=app)

    yield start
    for handler in handlers:
        # Closing waits for the client's blocking read (up to 3 s) unless the socket is gone.
        handler.client.auto_reconnect_enabled = False
        fake_slack.drop()
        handler.close()


@pytest.fixture
def bot(run_bot: Callable[[Engine], Bot], sqlite_engine: Engine) -> Bot:
    seeded_workspace(sqlite_engine, TEAM)
    return run_bot(sqlite_engine)


def open_home(bot: Bot) -> dict[str, Any]:
    before = bot.calls("views.publish")
    event = {"type": "app_home_opened", "user": ADMIN, "channel": "D0HOME", "tab": "home"}
    ack = bot.fake.send(event_body(team_id=TEAM, event=event)).wait_ack()
    assert ack == {}
    bot.wait_calls("views.publish", before + 1)
    return bot.fake.home_views[ADMIN]


def click_home_button(bot: Bot, home: dict[str, Any], action_id: str) -> dict[str, Any]:
    """Click a Home tab button that opens a modal; returns the ack's payload and the modal."""
    buttons = next(b for b in home["blocks"] if b.get("block_id") == BUTTONS_BLOCK)
    button = next(e for e in buttons["elements"] if e["action_id"] == action_id)
    before = bot.calls("views.open")
    body = block_actions_body(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=bot.fake.response_url(),
        action=button_action(button),
        block_id=BUTTONS_BLOCK,
        view=home,
    )
    envelope = bot.fake.send(body)
    assert envelope.type == "interactive" and not envelope.accepts_response_payload
    assert envelope.wait_ack() == {}
    bot.wait_calls("views.open", before + 1)
    return list(bot.fake.views.values())[-1]


def channel_changes(engine: Engine) -> int:
    with session_scope(engine) as session:
        return len(session.exec(select(ReminderChannelChange)).all())


# --- the fake's endpoint ---------------------------------------------------------------------


def test_only_an_app_token_opens_a_socket(fake_slack: FakeSocketSlack) -> None:
    with pytest.raises(SlackApiError) as refused:
        WebClient(base_url=fake_slack.api_url).apps_connections_open(app_token="xoxb-bot")
    assert refused.value.response["error"] == "not_allowed_token_type"
    opened = WebClient(base_url=fake_slack.api_url).apps_connections_open(app_token=APP_TOKEN)
    assert opened["url"].startswith("ws://127.0.0.1:") and "ticket=" in opened["url"]


# --- each kind of envelope, acked with its payload ---------------------------------------------


def test_a_slash_command_is_answered_in_its_ack(bot: Bot) -> None:
    envelope = bot.command("hjelp")
    assert envelope.type == "slash_commands" and envelope.accepts_response_payload
    reply = envelope.wait_ack()
    assert "/dks frist" in reply["text"]
    assert_valid_message(reply)
    assert [a["envelope_id"] for a in envelope.acks] == [envelope.envelope_id]


def test_a_button_is_acked_empty_and_its_modal_opens_after(bot: Bot) -> None:
    modal = click_home_button(bot, open_home(bot), HOME_NEW_DEADLINE)
    assert modal["callback_id"] == DEADLINE_CALLBACK


def test_a_form_with_bad_input_gets_its_field_errors_in_the_ack(bot: Bot) -> None:
    modal = click_home_button(bot, open_home(bot), HOME_NEW_DEADLINE)
    body = view_submission_body(
        team_id=TEAM, user_id=ADMIN, view=modal, values=submitted_state(modal, {})
    )
    envelope = bot.fake.send(body)
    assert envelope.accepts_response_payload
    ack = envelope.wait_ack()
    assert ack["response_action"] == "errors"
    assert ack["errors"][TITLE_BLOCK] == "Skriv en tittel."
    with session_scope(bot.engine) as session:
        assert session.exec(select(Deadline)).all() == []

    good = submitted_state(modal, {TITLE_BLOCK: "Søknad til Kulturrådet"})
    envelope = bot.fake.send(
        view_submission_body(team_id=TEAM, user_id=ADMIN, view=modal, values=good)
    )
    assert envelope.wait_ack() == {}  # stored: the modal closes
    with session_scope(bot.engine) as session:
        assert [d.title for d in session.exec(select(Deadline))] == ["Søknad til Kulturrådet"]


def test_a_type_ahead_gets_its_options_in_the_ack(bot: Bot) -> None:
    with session_scope(bot.engine, write=True) as session:
        moss = Municipality(team_id=TEAM, name="Moss")
        session.add(moss)
        session.flush()
        session.add(School(team_id=TEAM, name="Nordby skole", municipality_id=moss.id))
    modal = click_home_button(bot, open_home(bot), HOME_NEW_CONTACT)
    assert modal["callback_id"] == CONTACT_CALLBACK
    body = block_suggestion_body(
        team_id=TEAM,
        user_id=ADMIN,
        action_id=SCHOOL_SELECT_ACTION,
        block_id=SCHOOL_BLOCK,
        value="nord",
        view=modal,
    )
    envelope = bot.fake.send(body)
    assert envelope.accepts_response_payload
    options = envelope.wait_ack()["options"]
    assert [o["text"]["text"] for o in options] == ["Nordby skole (Moss)"]


def test_an_event_is_acked_at_once_and_handled_once_when_slack_retries_it(bot: Bot) -> None:
    # The bot is invited into a channel: it offers it for reminders. Slack retries an event
    # (same event_id) in a new envelope; the offer is still posted once.
    event = {
        "type": "member_joined_channel",
        "user": BOT_USER,
        "channel": CHANNEL,
        "channel_type": "C",
        "team": TEAM,
        "inviter": ADMIN,
    }
    body = event_body(team_id=TEAM, event=event, event_id="Ev0JOINED0001")
    first = bot.fake.send(body)
    assert first.type == "events_api" and first.frame()["retry_attempt"] == 0
    assert first.wait_ack() == {}
    bot.wait_calls("chat.postMessage", 1)
    again = bot.fake.send(body)
    assert again.envelope_id != first.envelope_id
    assert again.wait_ack() == {}
    bot.command("hjelp").wait_ack()  # later traffic has gone through
    offers = [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]
    assert len(offers) == 1


# --- reconnects and redelivery --------------------------------------------------------------


def test_slacks_refresh_request_and_a_dropped_socket_lead_to_a_reconnect(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake = bot.fake
    fake.disconnect("refresh_requested")
    assert fake.wait_for_handshakes(2)
    assert "/dks frist" in bot.command("hjelp").wait_ack()["text"]
    assert fake.wait_for(lambda: fake.open_sockets() == 1), "the old socket stays open"

    fake.drop()
    # Sent while no socket is open: Slack holds it for the next one.
    waiting = bot.command("hjelp")
    assert fake.wait_for_handshakes(3)
    assert "/dks frist" in waiting.wait_ack()["text"]
    assert len(fake.calls_to("apps.connections.open")) == 3  # a fresh URL each time
    # The client logs the reset as one line; nothing of ours fails on the way.
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_an_envelope_whose_ack_was_lost_comes_again_and_acts_once(
    run_bot: Callable[[Engine], Bot], engine: Engine
) -> None:
    seeded_workspace(engine, TEAM)
    bot = run_bot(engine)
    envelope = bot.command(f"påminnelser kanal <#{CHANNEL}|dks>", lose_ack=True)
    ack = envelope.wait_ack(15)
    # The first ack was lost with its socket; the fake sent the envelope again, as a retry.
    assert envelope.deliveries == 2 and envelope.frame()["retry_attempt"] == 1
    assert envelope.frame()["retry_reason"]
    assert bot.fake.handshakes == 2
    assert ack == {}  # acted on the first time; nothing again
    assert channel_changes(engine) == 1
    # A later command still works, and is its own request.
    envelope = bot.command(f"påminnelser kanal <#{CHANNEL}|dks>")
    assert "Påminnelser kommer nå" in envelope.wait_ack()["text"]
    assert channel_changes(engine) == 2


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_click_whose_ack_was_lost_does_its_work_after_the_ack_once(
    run_bot: Callable[[Engine], Bot], engine: Engine
) -> None:
    # «Bruk denne kanalen til påminnelser» stores the channel after the ack (a lazy
    # listener): the redelivered click must not store it again.
    seeded_workspace(engine, TEAM)
    bot = run_bot(engine)
    offer = {"type": "button", "action_id": USE_CHANNEL_ACTION, "value": "use"}
    body = block_actions_body(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=bot.fake.response_url(),
        action=offer,
        block_id="channel_offer",
        is_ephemeral=False,
    )
    envelope = bot.fake.send(body, lose_ack=True)
    assert envelope.wait_ack(15) == {}
    assert envelope.deliveries == 2
    bot.settle()
    assert len(bot.fake.calls_to("chat.update")) == 1
    assert channel_changes(engine) == 1


def test_the_scheduler_in_the_same_process_ticks_through_reconnects(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.scheduler import start_in_process

    scheduler = start_in_process(bot.settings)

    def ticked_since(moment: float) -> bool:
        age = scheduler.last_tick_age()
        return age is not None and time.monotonic() - age > moment

    def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    try:
        assert wait_until(lambda: ticked_since(0.0), 10)
        bot.fake.disconnect("refresh_requested")
        assert bot.fake.wait_for_handshakes(2)
        bot.fake.drop()
        assert bot.fake.wait_for_handshakes(3)
        dropped = time.monotonic()
        # A tick ends after the drop: the clock kept going beside the sockets.
        assert wait_until(lambda: ticked_since(dropped), scheduler.interval * 2 + 5)
        assert "/dks frist" in bot.command("hjelp").wait_ack()["text"]
    finally:
        scheduler.shutdown()
    assert not [r for r in caplog.records if r.name.startswith("bot.scheduler") and r.exc_info]


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("slash_commands", {"command": "/dks", "text": "hjelp", "team_id": "T" + "A" * 40}),
        ("slash_commands", {"command": "/dks", "text": "hjelp", "team_id": "<@U0VICTIM>"}),
        ("events_api", {"type": "event_callback", "team_id": TEAM, "event": {"type": None}}),
        ("interactive", {"type": "no_such_type", "team": {"id": TEAM}}),
    ],
)
def test_an_envelope_slack_would_never_send_is_acked_and_does_nothing(
    run_bot: Callable[[Engine], Bot],
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    payload: dict[str, Any],
) -> None:
    """Socket Mode has no front door: the same shape check, then an empty ack so that Slack
    does not send it again; on PostgreSQL a team id over 32 characters raised DataError."""
    bot = run_bot(engine)
    with caplog.at_level(logging.INFO):
        envelope = bot.fake.send_envelope(kind, {**payload, "user_id": ADMIN})
        assert envelope.wait_ack() == {}
        bot.settle()
    assert not any(r.exc_info for r in caplog.records)
    assert "Unhandled request" not in caplog.text
    assert any(r.name == "bot.socket_mode" for r in caplog.records)
    with session_scope(engine) as session:
        assert session.exec(select(Workspace)).all() == []


def test_the_ack_of_every_envelope_names_it(bot: Bot) -> None:
    envelopes = [bot.command("hjelp") for _ in range(3)]
    for envelope in envelopes:
        envelope.wait_ack()
        assert [a["envelope_id"] for a in envelope.acks] == [envelope.envelope_id]
    assert bot.fake.unknown_acks == []
    assert json.loads(json.dumps(envelopes[0].frame()))["type"] == "slash_commands"


def test_dks_bot_run_answers_over_the_socket(fake_slack: FakeSocketSlack, tmp_path: Any) -> None:
    """The installed `dks-bot run`, as a municipality without a public address starts it."""
    from tests.test_cli import DKS_BOT, SETTINGS

    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=fake_slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'dks.db'}",
        DKS_SECRET_KEY=secrets.token_hex(32),
    )
    process = subprocess.Popen(
        [DKS_BOT, "run"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert fake_slack.wait_for_handshakes(1, timeout=60), "dks-bot run did not connect"
        body = slash_command_body(
            text="hjelp",
            team_id=TEAM,
            user_id=ADMIN,
            channel_id=CHANNEL,
            response_url=fake_slack.response_url(),
        )
        assert "/dks frist" in fake_slack.send(body).wait_ack(30)["text"]
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert "Traceback" not in output, output
