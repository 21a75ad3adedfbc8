"""The HTTP front door (issue #12): size, signature and shape are checked before Bolt parses
anything, a refused request is one log line without its body, log lines cannot be forged,
and a malformed request is a 4xx, never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.views import View
from sqlmodel import select

from bot.inbound import MAX_BODY_BYTES
from bot.shell.signing import (
    block_actions_body,
    button_action,
    interaction_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from handlers.core.seeding import WorkspaceSeeder
from handlers.editing.fields import ModalMeta
from handlers.editing.forms import calendar_modal, contact_modal, school_modal
from handlers.feedback.forms import feedback_modal
from handlers.home.views import HOME_MORE
from storage.db import session_scope
from storage.models import Municipality, School, Workspace
from tests.conftest import ADMIN, CHANNEL, TEAM
from tests.helpers import add_deadline, add_meeting, seeded_workspace
from tests.test_editing import open_home

FORGED = "\n1999-12-04 13:00:00,000 ERROR handlers.core: forged line"
SECRET_WORDS = "hemmelig-kommentar-U0ANON"
SAFE_LOGGER = "bot.inbound"


def form_headers() -> dict[str, str]:
    return {"content-type": "application/x-www-form-urlencoded"}


def refused_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == SAFE_LOGGER]


# --- size --------------------------------------------------------------------------------------


def test_a_body_over_the_limit_gets_413_before_the_signature_is_even_checked(slack, caplog):
    big = "x" * (MAX_BODY_BYTES + 1)
    with caplog.at_level(logging.INFO):
        response = slack.post(big, headers=form_headers())
    assert response.status_code == 413
    # The same body within the limit, unsigned, is refused for its signature instead.
    within = slack.post(big[:MAX_BODY_BYTES], headers=form_headers())
    assert within.status_code == 401
    assert "x" * 100 not in caplog.text


def test_a_declared_length_over_the_limit_is_refused_unread(slack):
    """A Content-Length over the limit is answered without waiting for (or reading) a body."""
    host, port = slack.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {MAX_BODY_BYTES * 50}\r\n\r\n".encode()
            + b"payload="
        )
        answer = conn.recv(200)
    assert answer.startswith(b"HTTP/1.0 413") or answer.startswith(b"HTTP/1.1 413"), answer


# --- the signature -----------------------------------------------------------------------------


def test_an_unsigned_request_is_one_log_line_with_nothing_of_its_body(slack, caplog):
    body = "payload=" + "A" * 100_000 + FORGED + SECRET_WORDS
    with caplog.at_level(logging.DEBUG):
        response = slack.post(body, headers=form_headers())
    assert response.status_code == 401
    assert SECRET_WORDS not in caplog.text and "forged line" not in caplog.text
    lines = refused_lines(caplog)
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert "signature" in message and str(len(body)) in message and "127.0.0.1" in message
    # Bolt's own verification logger, which writes the body, is kept quiet.
    assert not logging.getLogger("slack_bolt.RequestVerification").isEnabledFor(logging.INFO)


def test_a_stale_signed_answer_logs_neither_the_user_nor_the_comment(slack, caplog):
    payload = {
        "type": "view_submission",
        "user": {"id": "U0ANONYMOUS", "team_id": TEAM},
        "team": {"id": TEAM},
        "view": {"callback_id": "feedback", "state": {"values": {"c": {"v": SECRET_WORDS}}}},
    }
    body = interaction_body(payload)
    stale = signed_headers(
        slack.settings.slack_signing_secret, body, timestamp=int(time.time()) - 10 * 60
    )
    with caplog.at_level(logging.DEBUG):
        response = slack.post(body, headers=stale)
    assert response.status_code == 401
    assert "U0ANONYMOUS" not in caplog.text and SECRET_WORDS not in caplog.text
    (line,) = refused_lines(caplog)
    assert "stale" in line.getMessage()


@pytest.mark.parametrize("timestamp", ["abc", "", "1e3", "١٢٣", "9" * 40, "-5"])
def test_a_malformed_timestamp_is_refused_as_unsigned(slack, timestamp):
    body = "payload=" + json.dumps({"type": "block_actions"})
    headers = signed_headers(slack.settings.slack_signing_secret, body)
    sent: dict[str, Any] = {**headers, "x-slack-request-timestamp": timestamp.encode()}
    assert slack.post(body, headers=sent).status_code == 401


def test_unsigned_garbage_is_401_not_500(slack):
    for body in (b"payload=<not JSON>", b"payload=[]", b"{", b"payload=%7B%7D\xff\xfe"):
        response = slack.http.post(
            slack.url + "/slack/events", content=body, headers=form_headers()
        )
        assert response.status_code == 401, body
    # Signed as Slack signs (an HMAC of the bytes), but not UTF-8: not Slack's either.
    body = b"payload=%7B%7D\xff\xfe"
    timestamp = str(int(time.time()))
    secret = slack.settings.slack_signing_secret.encode()
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    headers = {
        **form_headers(),
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": "v0=" + digest.hexdigest(),
    }
    response = slack.http.post(slack.url + "/slack/events", content=body, headers=headers)
    assert response.status_code == 401


# --- malformed but signed ----------------------------------------------------------------------


def _action_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": ADMIN, "team_id": TEAM},
        "team": {"id": TEAM},
        "api_app_id": "A0DKSBOT",
        "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": "reminder_done", "value": "1"}],
    }
    payload.update(changes)
    return payload


MALFORMED = {
    "payload not JSON": "payload=%3Cnot+JSON%3E",
    "payload a list": "payload=%5B%5D",
    "payload a string": "payload=%22x%22",
    "JSON body a list": "[1, 2]",
    "JSON body broken": '{"type": ',
    "nested 5,000 deep": "payload=" + "%5B" * 5000 + "%5D" * 5000,
    "nested object 5,000 deep": '{"a":' * 5000 + "1" + "}" * 5000,
    "nested 200 deep in a value": interaction_body(
        _action_payload(state=json.loads("[" * 200 + "]" * 200))
    ),
    "actions null": interaction_body(_action_payload(actions=None)),
    "actions empty": interaction_body(_action_payload(actions=[])),
    "actions of strings": interaction_body(_action_payload(actions=["x"])),
    "view a list": interaction_body({**_action_payload(), "type": "view_submission", "view": []}),
    "event a string": json.dumps({"type": "event_callback", "team_id": TEAM, "event": "x"}),
    "view state a list": interaction_body(
        {**_action_payload(), "type": "view_submission", "view": {"id": "V0", "state": []}}
    ),
    "view state values of strings": interaction_body(
        {
            **_action_payload(),
            "type": "view_submission",
            "view": {"id": "V0", "state": {"values": {"block": "x"}}},
        }
    ),
    "click state of a list": interaction_body(_action_payload(state={"values": {"b": {"a": []}}})),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_signed_request_gets_400_and_no_traceback(slack, caplog, name):
    raw = MALFORMED[name]
    headers = signed_headers(slack.settings.slack_signing_secret, raw)
    if raw.startswith("["):
        headers["content-type"] = "application/json"
    with caplog.at_level(logging.INFO):
        response = slack.post(raw, headers=headers)
    assert response.status_code == 400, (name, response.status_code, response.text)
    assert "Traceback" not in caplog.text
    assert not any(r.exc_info for r in caplog.records)


# Signed, parsed by Bolt without an error, but no shape Slack sends: Bolt would look for a
# listener, find none, and answer 404 "unhandled request" (which Slack retries).
NOT_SLACK = {
    "an empty body": "",
    "an empty JSON list": "[]",
    "brackets nested 5,000 deep": "[" * 5000 + "]" * 5000,
    "a form of neither command nor payload": "team_id=T0JUNK&user_id=U0JUNK&text=hei",
    "a form of junk": "%3C%40U0VICTIM%3E+%C3%AE",
    "an event of no type": json.dumps({"type": "event_callback", "event": {"type": None}}),
    "an event of a numeric type": json.dumps(
        {"type": "event_callback", "team_id": TEAM, "event": {"type": 5}}
    ),
    "a payload of no type": interaction_body({"team": {"id": TEAM}, "actions": []}),
    "a payload of a numeric type": interaction_body({"type": 5}),
    "a payload of a type Slack does not have": interaction_body(
        {"type": "no_such_type", "team": {"id": TEAM}}
    ),
    "a command that is not the app's": slash_command_body(
        text="hjelp",
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url="",
        command="Z",
    ),
}


@pytest.mark.parametrize("name", list(NOT_SLACK))
def test_a_signed_body_of_no_slack_shape_gets_400_not_404(slack, caplog, name):
    raw = NOT_SLACK[name]
    with caplog.at_level(logging.INFO):
        response = slack.post(raw)
    assert response.status_code == 400, (name, response.status_code, response.text)
    assert "Unhandled request" not in caplog.text
    assert not any(r.exc_info for r in caplog.records)


JUNK_TEAM_IDS = {
    "longer than 32": "T" + "A" * 40,
    "a mention and spaces": "<@U0VICTIM> æ",
    "lower case": "t0dks",
    "empty after the letter": "T",
}


@pytest.mark.parametrize("name", list(JUNK_TEAM_IDS))
def test_a_team_id_that_is_not_slacks_gets_400_on_either_database(
    make_driver, engine, caplog, name
):
    """On PostgreSQL a team id over 32 characters made the seeding raise DataError."""
    slack = make_driver(engine)
    team = JUNK_TEAM_IDS[name]
    with caplog.at_level(logging.INFO):
        command = slack.post(slack.command_body("hjelp", team=team))
        click = slack.post(interaction_body(_action_payload(team={"id": team}, user={"id": ADMIN})))
    assert (command.status_code, click.status_code) == (400, 400)
    assert not any(r.exc_info for r in caplog.records)
    with session_scope(engine) as session:
        assert session.get(Workspace, team) is None


def test_the_workspace_seeding_never_raises_on_a_junk_team_id(engine, caplog):
    """Socket Mode has no front door: the middleware sees whatever the payload says."""
    seeder = WorkspaceSeeder(engine)
    with caplog.at_level(logging.INFO):
        for team in JUNK_TEAM_IDS.values():
            seeder.ensure(team)
    assert not any(r.exc_info for r in caplog.records)
    with session_scope(engine) as session:
        assert session.exec(select(Workspace)).all() == []
    seeder.ensure(TEAM)  # a real id is seeded as before
    with session_scope(engine) as session:
        seeded = session.get(Workspace, TEAM)
        assert seeded is not None and seeded.seeded_at is not None


def test_a_well_formed_request_still_works(slack):
    reply = slack.command("hjelp")
    assert reply["response_type"] == "ephemeral"


# --- log lines cannot be forged ----------------------------------------------------------------


def test_log_lines_cannot_be_forged_through_messages_args_or_exceptions(tmp_path):
    """What the processes configure (setup_logging): every record starts one line with its
    timestamp; user text inside it can start no line of its own."""
    script = f"""
import logging
from bot.cli.common import setup_logging
setup_logging()
log = logging.getLogger("handlers.x")
log.warning("typed: %s", {FORGED!r})
log.warning({FORGED!r} + "\\x1b[31m\\x07")
try:
    int({FORGED!r})
except ValueError:
    log.exception("parse failed")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    starts = [line for line in lines if line[:4].isdigit()]
    assert len(starts) == 3, lines
    assert not any(line.startswith("1999-12-04") for line in lines)
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "forged line" in result.stderr, "the text is kept, escaped"
    # The traceback is kept, each of its lines indented under its record.
    assert any("Traceback" in line for line in lines)
    assert all(line.startswith((" ", "2")) or line[:4].isdigit() for line in lines), lines


# --- the limit is measured ---------------------------------------------------------------------

AEOA = "æøå"


def _as_slack_sends(payload: dict[str, Any]) -> int:
    """The size of a form-encoded interaction as Slack posts it: JSON with non-ASCII escaped
    as \\uXXXX, URL-encoded (the larger of Slack's two spellings of «æ»)."""
    return len(urlencode({"payload": json.dumps(payload)}).encode())


def _slack_view(view: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """A view as Slack sends it back in a payload (its stored fields and the state)."""
    return {
        "id": "V0123456789",
        "team_id": TEAM,
        "type": view["type"],
        "blocks": view["blocks"],
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": state},
        "hash": "1700000000.abcdefgh",
        "title": view.get("title"),
        "clear_on_close": False,
        "notify_on_close": False,
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": "V0123456788",
        "root_view_id": "V0123456787",
        "app_id": "A0DKSBOT",
        "external_id": "",
        "app_installed_team_id": TEAM,
        "bot_id": "B0DKSBOT",
    }


def _at_max(view: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The view with every text input's initial value at its max_length in æøå (an item
    stored at its limits), and the state of a submission changing each to another such text
    and choosing the longest option of every menu."""
    view = json.loads(json.dumps(view))
    long_option = {"text": {"type": "plain_text", "text": "Æ" * 75}, "value": "9" * 150}
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        kind = element.get("type")
        if block.get("type") != "input":
            continue
        if kind == "plain_text_input":
            limit = int(element.get("max_length") or 3000)
            element["initial_value"] = (AEOA * limit)[:limit]
            value: dict[str, Any] = {"value": ("ÆØÅ" * limit)[:limit]}
        elif kind == "checkboxes":
            value = {"selected_options": element["options"]}
        elif kind in ("datepicker", "timepicker"):
            value = {"selected_date": "2027-02-12"} if kind == "datepicker" else {}
            value = value or {"selected_time": "09:00"}
        elif kind == "external_select":
            value = {"selected_option": long_option}
        else:
            options = element.get("options") or [long_option]
            value = {"selected_option": max(options, key=lambda o: len(json.dumps(o)))}
        state[block["block_id"]] = {element["action_id"]: {"type": kind, **value}}
    return view, state


def _largest_modal() -> int:
    meta = ModalMeta("deadline", item_id=2**31 - 1, back="schools:990")
    modals = [
        calendar_modal("deadline", None, meta=meta, footer=AEOA * 100),
        calendar_modal("meeting", None, meta=ModalMeta("meeting", 2**31 - 1), footer=AEOA * 100),
        contact_modal(None, meta=ModalMeta("contact", 2**31 - 1), footer=AEOA * 100),
        school_modal(None, meta=ModalMeta("school", 2**31 - 1), footer=AEOA * 100),
        feedback_modal(tz=ZoneInfo("Europe/Oslo")),
    ]
    sizes = []
    for modal in modals:
        assert isinstance(modal, View)
        view, state = _at_max(modal.to_dict())
        body = view_submission_body(team_id=TEAM, user_id=ADMIN, view=view, values=state)
        payload = json.loads(parse_qs(body)["payload"][0])
        payload["view"] = _slack_view(view, state)
        sizes.append(_as_slack_sends(payload))
    return max(sizes)


def _buttons(view: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    return [
        (b["block_id"], e)
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["type"] == "button" and e["action_id"].startswith(prefix)
    ]


def _click_body(slack: Any, view: dict[str, Any], block_id: str, button: dict[str, Any]) -> str:
    return block_actions_body(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
        action=button_action(button),
        block_id=block_id,
        view=view,
    )


def _full_home_click(slack: Any, engine: Any) -> int:
    """A click on the Home tab at its fullest: every section grown with «Vis flere» until
    Slack's 100 blocks are used, every row at its longest in æøå."""
    seeded_workspace(engine, TEAM)
    today = date(2026, 11, 24)
    long = (AEOA * 200)[:200]
    for n in range(120):
        day = today + timedelta(days=n % 80 + 1)
        add_deadline(engine, TEAM, f"{n} {long}", day)
        add_meeting(engine, TEAM, f"{n} {long}", day, place=long)
    for n in range(30):
        add_deadline(engine, TEAM, f"u{n} {long}", None)
    with session_scope(engine, write=True) as session:
        muni = Municipality(team_id=TEAM, name=long)
        session.add(muni)
        session.flush()
        for n in range(40):
            session.add(School(team_id=TEAM, name=f"{n} {long}", municipality_id=muni.id))
    view = open_home(slack)
    while more := _buttons(view, HOME_MORE):
        published = len(slack.fake.calls_to("views.publish"))
        assert slack.post(_click_body(slack, view, *more[0])).status_code == 200
        assert slack.fake.wait_for(
            lambda n=published: len(slack.fake.calls_to("views.publish")) > n  # type: ignore[misc]
        )
        view = slack.fake.home_views[ADMIN]
    assert len(view["blocks"]) >= 95, "a full Home tab"
    body = _click_body(slack, view, *_buttons(view)[0])
    payload = json.loads(parse_qs(body)["payload"][0])
    payload["view"] = _slack_view(view, {})
    return _as_slack_sends(payload)


def test_the_body_limit_is_twice_the_largest_request_our_views_cause(slack, sqlite_engine):
    home, modal = _full_home_click(slack, sqlite_engine), _largest_modal()
    largest = max(home, modal)
    print(f"home click {home} bytes, largest modal {modal} bytes; limit {MAX_BODY_BYTES}")
    assert 2 * largest <= MAX_BODY_BYTES <= 3 * largest
    # And a body at the limit is read, checked and refused for its signature, not its size.
    assert slack.post("x" * MAX_BODY_BYTES, headers=form_headers()).status_code == 401


def test_a_slash_command_body_is_small_beside_the_limit():
    body = slash_command_body(
        text="x" * 4000, team_id=TEAM, user_id=ADMIN, channel_id=CHANNEL, response_url="http://x"
    )
    assert len(body.encode()) * 20 < MAX_BODY_BYTES
