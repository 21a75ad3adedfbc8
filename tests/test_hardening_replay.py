"""The replay guard (issue #12): a signed request that writes acts once, however often it
arrives, in every process; an event is handled once however often Slack retries it.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, func, select

from bot.shell.signing import block_actions_body, event_body, signed_headers
from storage import replay
from storage.db import session_scope
from storage.models import DeadlineDone, ReminderChannelChange, RequestReplay, utcnow
from tests.conftest import ADMIN, CHANNEL, TEAM
from tests.helpers import add_deadline, seeded_workspace

PUBLIC_URL = "https://dks.example.no"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """conftest's settings, with the bot's public address."""
    return replace(settings, public_url=PUBLIC_URL)


def count(engine: Any, model: Any) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def replay_of(slack: Any, body: str) -> tuple[str, dict[str, str]]:
    """A request exactly as it was sent once: the same body, timestamp and signature."""
    assert slack.settings.slack_signing_secret
    return body, signed_headers(slack.settings.slack_signing_secret, body)


def test_a_replayed_channel_choice_writes_one_history_row(make_driver, engine):
    slack = make_driver(engine)
    seeded_workspace(engine, TEAM)
    body, headers = replay_of(slack, slack.command_body(f"påminnelser kanal <#{CHANNEL}|dks>"))
    first = slack.post(body, headers=headers)
    assert first.status_code == 200
    assert "Påminnelser kommer nå i" in first.json()["text"]
    for _ in range(2):
        again = slack.post(body, headers=headers)
        assert again.status_code == 200
        assert again.text == "", "a replay changes nothing and says nothing"
    assert count(engine, ReminderChannelChange) == 1
    # A new request (Slack signs each one anew) is not a replay.
    assert slack.command(f"påminnelser kanal <#{CHANNEL}|dks>")["text"]
    assert count(engine, ReminderChannelChange) == 2


def test_a_replayed_new_feed_address_rotates_once_and_the_first_address_keeps_working(
    make_driver, engine
):
    slack = make_driver(engine)
    seeded_workspace(engine, TEAM)
    slack.command("kalender")
    body, headers = replay_of(slack, slack.command_body("kalender ny"))
    first = slack.post(body, headers=headers).text
    found = re.search(re.escape(PUBLIC_URL) + r"(/kalender/[A-Za-z0-9_-]+\.ics)", first)
    assert found, first
    assert slack.post(body, headers=headers).text == ""
    path = found.group(1)
    feed = httpx.get(slack.url + path, timeout=5)
    assert feed.status_code == 200, "the address the user was given still works"
    assert feed.text.startswith("BEGIN:VCALENDAR")


def test_concurrent_replays_write_once(make_driver, engine):
    slack = make_driver(engine)
    seeded_workspace(engine, TEAM)
    body, headers = replay_of(slack, slack.command_body(f"påminnelser kanal <#{CHANNEL}|dks>"))
    statuses: list[int] = []

    def send() -> None:
        with httpx.Client(timeout=30) as client:
            response = client.post(
                slack.url + "/slack/events", content=body.encode(), headers=headers
            )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    assert count(engine, ReminderChannelChange) == 1


def test_a_replayed_button_does_its_work_after_the_ack_once(slack, sqlite_engine):
    """«Ferdig» acks first and writes in Bolt's lazy listener: the guard reaches it there."""
    seeded_workspace(sqlite_engine, TEAM)
    due = date(2026, 12, 1)
    deadline_id = add_deadline(sqlite_engine, TEAM, "Rapportering", due)
    value = json.dumps({"k": "deadline", "i": deadline_id, "o": due.isoformat(), "m": 0})
    body, headers = replay_of(
        slack,
        block_actions_body(
            team_id=TEAM,
            user_id=ADMIN,
            channel_id=CHANNEL,
            response_url=slack.fake.response_url(),
            action={"type": "button", "action_id": "reminder_done", "value": value},
            block_id="b",
            is_ephemeral=False,
        ),
    )
    assert slack.post(body, headers=headers).status_code == 200
    assert slack.fake.wait_for(lambda: slack.fake.calls_to("chat.update"))
    assert slack.post(body, headers=headers).status_code == 200
    assert not slack.fake.wait_for(lambda: len(slack.fake.calls_to("chat.update")) > 1, 1.0)
    assert count(sqlite_engine, DeadlineDone) == 1


def test_reads_store_no_key_and_old_keys_are_pruned(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    with session_scope(sqlite_engine, write=True) as session:
        session.add(RequestReplay(key="sig:old", seen_at=utcnow() - timedelta(minutes=20)))
        session.add(RequestReplay(key="sig:recent", seen_at=utcnow() - timedelta(minutes=2)))
    slack.command("frist")
    slack.command("hjelp")
    with session_scope(sqlite_engine) as session:
        keys = set(session.exec(select(RequestReplay.key)))
    assert keys == {"sig:old", "sig:recent"}, "reads record nothing"
    replay._pruned_at = 0.0  # due now
    slack.command("påminnelser pause")
    with session_scope(sqlite_engine) as session:
        keys = set(session.exec(select(RequestReplay.key)))
    assert "sig:old" not in keys and "sig:recent" in keys
    assert len([k for k in keys if k.startswith("sig:v0=")]) == 1, "the write's own key"


def _bot_joined(slack: Any, event_id: str, retry: int | None) -> httpx.Response:
    body = event_body(
        team_id=TEAM,
        event={
            "type": "member_joined_channel",
            "user": "U0DKSBOT",
            "channel": "C0NEW",
            "channel_type": "C",
            "team": TEAM,
        },
        event_id=event_id,
    )
    assert slack.settings.slack_signing_secret
    headers = signed_headers(
        slack.settings.slack_signing_secret, body, content_type="application/json"
    )
    if retry is not None:
        headers["x-slack-retry-num"] = str(retry)
        headers["x-slack-retry-reason"] = "http_timeout"
    return slack.post(body, headers=headers)


def test_slacks_retries_of_an_event_post_the_channel_offer_once(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    slack.fake.add_channel("C0NEW", "ny-kanal", member=True)
    for retry in (None, 1, 2):
        assert _bot_joined(slack, "Ev0RETRIED01", retry).status_code == 200
    assert slack.fake.wait_for(lambda: slack.fake.calls_to("chat.postMessage"))
    assert not slack.fake.wait_for(lambda: len(slack.fake.calls_to("chat.postMessage")) > 1, 1.0)
    offers = slack.fake.calls_to("chat.postMessage")
    assert len(offers) == 1 and offers[0].args["channel"] == "C0NEW"
    # Another event (another id) is handled.
    assert _bot_joined(slack, "Ev0ANOTHER02", None).status_code == 200
    assert slack.fake.wait_for(lambda: len(slack.fake.calls_to("chat.postMessage")) == 2)
    with session_scope(sqlite_engine) as session:
        keys = set(
            session.exec(
                select(RequestReplay.key).where(col(RequestReplay.key).startswith("event:"))
            )
        )
    assert keys == {"event:Ev0RETRIED01", "event:Ev0ANOTHER02"}
