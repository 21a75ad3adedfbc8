"""Clicks the fuzz suite found crashing the work after the ack: a button Slack only ever sends
from a message (with a `response_url`), signed but sent as if from a view. The bot has nothing
to answer on; it must say so in one line, not with a traceback."""

from __future__ import annotations

import json
import logging
import time
from datetime import date
from typing import Any

import pytest

from bot.shell.signing import block_actions_body
from handlers.calendar.views import DEADLINES_MORE_ACTION, MORE_BLOCK_ID
from handlers.reminders.views import UNDO_ACTION
from tests.conftest import ADMIN, CHANNEL, TEAM, SlackDriver
from tests.helpers import add_deadline, seeded_workspace

NOTHING_TO_ANSWER = "no response_url"


def click_from_a_view(slack: SlackDriver, action: dict[str, Any], block_id: str) -> None:
    """A message's button, posted as if from the Home tab: no response_url comes with it."""
    view = {"id": "V0HOME", "type": "home", "blocks": [], "private_metadata": ""}
    body = block_actions_body(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url="",
        action=action,
        block_id=block_id,
        view=view,
    )
    response = slack.post(body)
    assert response.status_code == 200


def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in r.getMessage() for r in caplog.records):
            return True
        time.sleep(0.05)
    return False


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info]


def test_vis_flere_from_a_view_logs_one_line_not_a_traceback(
    slack: SlackDriver, sqlite_engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    seeded_workspace(sqlite_engine, TEAM)
    for week in range(1, 9):
        add_deadline(sqlite_engine, TEAM, f"Frist {week}", date(2026, 12, 1 + week))
    # The value «Vis flere» carries under `/dks frist` (handlers/calendar/views.py).
    value = json.dumps({"q": "", "o": 5})
    action = {"type": "button", "action_id": DEADLINES_MORE_ACTION, "value": value}
    click_from_a_view(slack, action, MORE_BLOCK_ID)
    assert wait_for_log(caplog, NOTHING_TO_ANSWER)
    assert tracebacks(caplog) == []


def test_a_reminder_button_from_a_view_logs_one_line_not_a_traceback(
    slack: SlackDriver, sqlite_engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    seeded_workspace(sqlite_engine, TEAM)
    action = {"type": "button", "action_id": UNDO_ACTION, "value": "not a reminder"}
    click_from_a_view(slack, action, "reminder_actions")
    assert wait_for_log(caplog, NOTHING_TO_ANSWER)
    assert tracebacks(caplog) == []
