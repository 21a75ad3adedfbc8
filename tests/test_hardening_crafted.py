"""What the fuzz suite (tests/test_fuzz.py) found, each as a focused test.

Clicks crashing the work after the ack: a button Slack only ever sends from a message (with a
`response_url`), signed but sent as if from a view. The bot has nothing to answer on; it must
say so in one line, not with a traceback. Form values of the wrong type (a number where Slack
sends a list). And dates at the ends of the calendar (year 1, year 9999), which made every
later Home tab fail once one item held them."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from sqlmodel import select

from bot.shell.signing import block_actions_body, interaction_body, view_submission_body
from handlers.calendar.views import (
    DEADLINES_MORE_ACTION,
    FEED_ACTIONS_BLOCK,
    MORE_BLOCK_ID,
    ROTATE_ACTION,
)
from handlers.editing.forms import DATE_BLOCK, END_DATE_BLOCK, RECURRENCE_BLOCK, TITLE_BLOCK
from handlers.feedback.forms import ANONYMOUS_ACTION, ANONYMOUS_BLOCK, FEEDBACK_CALLBACK_ID
from handlers.feedback.views import EXPORT_CSV_ACTION, SUMMARY_EXPORT_BLOCK
from handlers.imports.forms import FILE_ACTION, FILE_BLOCK, NO_FILE, import_modal
from handlers.reminders.views import UNDO_ACTION
from storage.db import session_scope
from storage.models import Meeting
from tests.conftest import ADMIN, CHANNEL, TEAM, SlackDriver
from tests.helpers import add_deadline, add_meeting, seeded_workspace, visible_text
from tests.test_editing import latest_view, open_home, option, slash, submit, wait_for_call

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


def test_lag_ny_adresse_from_a_view_keeps_the_address_and_logs_one_line(
    slack: SlackDriver, sqlite_engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Rotating first and failing to answer after would kill the address the coordinator
    uses without ever showing the new one."""
    caplog.set_level(logging.INFO)
    seeded_workspace(sqlite_engine, TEAM)
    slack.services.settings = replace(slack.services.settings, public_url=slack.url)
    reply = slack.command("kalender")
    url = next(w.strip("`") for w in visible_text(reply).split() if "/kalender/" in w)
    action = {"type": "button", "action_id": ROTATE_ACTION, "value": "rotate"}
    click_from_a_view(slack, action, FEED_ACTIONS_BLOCK)
    assert wait_for_log(caplog, NOTHING_TO_ANSWER)
    assert tracebacks(caplog) == []
    assert url.startswith(slack.url)
    with httpx.Client(timeout=10) as http:
        assert http.get(url).status_code == 200


def test_last_ned_from_a_view_still_sends_the_file_and_logs_one_line(
    slack: SlackDriver, sqlite_engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    seeded_workspace(sqlite_engine, TEAM)
    fake = slack.fake
    action = {"type": "button", "action_id": EXPORT_CSV_ACTION, "value": "alle"}
    click_from_a_view(slack, action, SUMMARY_EXPORT_BLOCK)
    # The file in the DM is the answer; there is no message to add a word under.
    assert fake.wait_for(lambda: any(u.get("channel") for u in fake.uploads.values()))
    assert wait_for_log(caplog, NOTHING_TO_ANSWER)
    assert tracebacks(caplog) == []


def test_a_date_at_the_ends_of_the_calendar_is_a_field_error(
    slack: SlackDriver, sqlite_engine: Any
) -> None:
    seeded_workspace(sqlite_engine, TEAM)
    slash(slack, "ny møte")
    wait_for_call(slack, "views.open", 0)
    modal = latest_view(slack)
    ack = submit(
        slack,
        modal,
        {
            TITLE_BLOCK: "Samling",
            DATE_BLOCK: "0001-01-01",
            END_DATE_BLOCK: "9999-12-31",
            RECURRENCE_BLOCK: option(modal, RECURRENCE_BLOCK, "monthly"),
        },
    )
    assert ack is not None and ack["response_action"] == "errors"
    assert "1900" in ack["errors"][DATE_BLOCK] and "1900" in ack["errors"][END_DATE_BLOCK]
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Meeting)).all() == []


def test_an_item_spanning_the_whole_calendar_does_not_break_the_home_tab(
    slack: SlackDriver, sqlite_engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Stored before the forms checked, or imported: the lists show the rest as before."""
    seeded_workspace(sqlite_engine, TEAM)
    add_meeting(
        sqlite_engine,
        TEAM,
        "Evig samling",
        date(1, 1, 1),
        end_date=date(9999, 12, 31),
        rrule="FREQ=MONTHLY",
    )
    add_meeting(sqlite_engine, TEAM, "Årets samling", date(1, 1, 1), rrule="FREQ=YEARLY")
    add_deadline(sqlite_engine, TEAM, "Søknadsfrist", date(2026, 12, 1))
    with caplog.at_level(logging.INFO):
        home = open_home(slack)
        listed = visible_text(slack.command("møte alle"))
    assert "Søknadsfrist" in visible_text(home)
    assert "Evig samling" in listed
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("files", [5.0, 7, True, "F0FILE", {"id": "F0FILE"}])
def test_an_import_whose_files_are_not_a_list_asks_for_a_file(
    slack: SlackDriver, sqlite_engine: Any, caplog: pytest.LogCaptureFixture, files: Any
) -> None:
    seeded_workspace(sqlite_engine, TEAM)
    view = {**import_modal().to_dict(), "id": "V0IMPORT"}
    values = {FILE_BLOCK: {FILE_ACTION: {"type": "file_input", "files": files}}}
    with caplog.at_level(logging.INFO):
        response = slack.post(
            view_submission_body(team_id=TEAM, user_id=ADMIN, view=view, values=values)
        )
    assert response.status_code == 200
    assert json.loads(response.text) == {
        "response_action": "errors",
        "errors": {FILE_BLOCK: NO_FILE},
    }
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(
    "block",
    [
        {ANONYMOUS_ACTION: {"type": "checkboxes", "selected_options": 5}},
        {ANONYMOUS_ACTION: {"type": "checkboxes", "selected_options": "anonymous"}},
        {ANONYMOUS_ACTION: {"type": "checkboxes", "selected_options": {"value": "anonymous"}}},
        {ANONYMOUS_ACTION: {"type": "checkboxes", "selected_options": None}},
        "anonymous",
        [{"value": "anonymous"}],
    ],
)
def test_feedback_whose_anonymous_choice_is_not_a_list_is_answered_calmly(
    slack: SlackDriver, sqlite_engine: Any, caplog: pytest.LogCaptureFixture, block: Any
) -> None:
    seeded_workspace(sqlite_engine, TEAM)
    view = {"type": "modal", "id": "V0FEEDBACK", "callback_id": FEEDBACK_CALLBACK_ID, "blocks": []}
    with caplog.at_level(logging.INFO):
        response = slack.post(
            view_submission_body(
                team_id=TEAM, user_id=ADMIN, view=view, values={ANONYMOUS_BLOCK: block}
            )
        )
        slack_settle(slack)
    # A block that is not an object is refused at the front door (bot/inbound.py).
    assert response.status_code in (200, 400)
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("state", [[], "x", {"values": []}, {"values": "x"}])
def test_feedback_whose_state_is_not_an_object_is_answered_calmly(
    slack: SlackDriver, sqlite_engine: Any, caplog: pytest.LogCaptureFixture, state: Any
) -> None:
    seeded_workspace(sqlite_engine, TEAM)
    body = view_submission_body(
        team_id=TEAM,
        user_id=ADMIN,
        view={"type": "modal", "id": "V0FEEDBACK", "callback_id": FEEDBACK_CALLBACK_ID},
        values={},
    )
    payload = json.loads(parse_qs(body)["payload"][0])
    payload["view"]["state"] = state
    with caplog.at_level(logging.INFO):
        response = slack.post(interaction_body(payload))
        slack_settle(slack)
    assert response.status_code in (200, 400)
    assert tracebacks(caplog) == []


def slack_settle(slack: SlackDriver) -> None:
    """Wait until the work after every ack so far (Bolt's lazy listeners) has finished."""
    executor: Any = slack.app.listener_runner.listener_executor
    workers = int(getattr(executor, "_max_workers", 5))
    barrier = threading.Barrier(workers + 1)
    for _ in range(workers):
        executor.submit(barrier.wait, 30)
    barrier.wait(30)
