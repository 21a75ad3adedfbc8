"""Inputs that gave 500s, tracebacks or hangs (issue #12, defects 7 and 8), each answered in
the surface's own form: a field error that keeps the form, a friendly reply, no options.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import func, select

from bot.shell.signing import (
    block_actions_body,
    block_suggestion_body,
    submitted_state,
    view_submission_body,
)
from handlers.editing.fields import ModalMeta
from handlers.editing.forms import (
    REMINDERS_BLOCK,
    SCHOOL_BLOCK,
    SCHOOL_SELECT_ACTION,
    TITLE_BLOCK,
    calendar_modal,
    contact_modal,
)
from handlers.home.views import ITEM_MENU_ACTION
from storage.db import make_engine, session_scope
from storage.models import Contact, Coordinator, Deadline
from tests.conftest import ADMIN, CHANNEL, TEAM
from tests.helpers import add_deadline, seeded_workspace

HUGE_IDS = {"sqlite": ["9223372036854775808", "1" + "0" * 30], "postgresql": ["2147483648"]}


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info]


def submit_view(slack: Any, view: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    body = view_submission_body(
        team_id=TEAM, user_id=ADMIN, view=view, values=submitted_state(view, changes)
    )
    response = slack.post(body)
    assert response.status_code == 200, response.text
    return json.loads(response.text) if response.text else {}


def click(slack: Any, action: dict[str, Any]) -> None:
    body = block_actions_body(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
        action=action,
        block_id="b",
        is_ephemeral=False,
    )
    assert slack.post(body).status_code == 200


def count(engine: Any, model: Any) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


# --- «²» and «①» ------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["²", "①", "7,²", "٣", "9" * 60])
def test_unicode_digits_in_reminder_days_are_a_field_error(slack, sqlite_engine, caplog, typed):
    seeded_workspace(sqlite_engine, TEAM)
    modal = calendar_modal("deadline", None, meta=ModalMeta("deadline")).to_dict()
    with caplog.at_level(logging.WARNING):
        ack = submit_view(slack, modal, {TITLE_BLOCK: "Rapport", REMINDERS_BLOCK: typed})
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) == {REMINDERS_BLOCK}, ack
    assert "dager" in ack["errors"][REMINDERS_BLOCK]
    assert tracebacks(caplog) == []
    assert count(sqlite_engine, Deadline) == 0


@pytest.mark.parametrize("typed", ["²", "①", "1,²"])
def test_unicode_digits_in_the_reminder_days_command_get_a_friendly_reply(slack, caplog, typed):
    with caplog.at_level(logging.WARNING):
        reply = slack.command(f"påminnelser dager {typed}")
    assert "antall dager" in reply["text"]
    assert tracebacks(caplog) == []


# --- ids no row can have ------------------------------------------------------------------------


def test_a_chosen_school_id_no_row_can_have_is_a_field_error(make_driver, engine, caplog):
    slack = make_driver(engine)
    seeded_workspace(engine, TEAM)
    modal = contact_modal(None, meta=ModalMeta("contact")).to_dict()
    backend = engine.dialect.name
    for value in ["²", "①", "-1", "0", "1e400", *HUGE_IDS[backend]]:
        option = {"text": {"type": "plain_text", "text": "Skole"}, "value": value}
        with caplog.at_level(logging.WARNING):
            ack = submit_view(slack, modal, {"name": "Kari", SCHOOL_BLOCK: option})
        assert ack.get("response_action") == "errors", (value, ack)
        assert "Velg" in ack["errors"][SCHOOL_BLOCK], (value, ack)
    assert tracebacks(caplog) == []
    assert count(engine, Contact) == 0


def test_a_form_for_an_id_no_row_can_have_says_it_is_gone(make_driver, engine, caplog):
    slack = make_driver(engine)
    seeded_workspace(engine, TEAM)
    for value in HUGE_IDS[engine.dialect.name]:
        meta = ModalMeta("deadline", item_id=int(value))
        modal = calendar_modal("deadline", None, meta=meta).to_dict()
        with caplog.at_level(logging.WARNING):
            ack = submit_view(slack, modal, {TITLE_BLOCK: "Rapport"})
        assert ack["response_action"] in ("update", "errors"), ack
        assert "prøv igjen" not in json.dumps(ack, ensure_ascii=False), "not a database error"
    assert tracebacks(caplog) == []
    assert count(engine, Deadline) == 0


def test_a_menu_click_for_an_id_no_row_can_have_logs_no_traceback(make_driver, engine, caplog):
    slack = make_driver(engine)
    seeded_workspace(engine, TEAM)
    for value in HUGE_IDS[engine.dialect.name]:
        with caplog.at_level(logging.WARNING):
            click(
                slack,
                {
                    "type": "overflow",
                    "action_id": ITEM_MENU_ACTION,
                    "selected_option": {
                        "text": {"type": "plain_text", "text": "Endre"},
                        "value": f"edit:deadline:{value}",
                    },
                },
            )
    slack.fake.wait_for(lambda: False, 0.5)
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(
    "value",
    [
        '{"k": "deadline", "i": 1e400, "o": "2026-12-01", "m": 0}',
        '{"k": "deadline", "i": 1, "o": "2026-12-01", "m": 1e400}',
        '{"k": "deadline", "i": 9223372036854775808, "o": "2026-12-01", "m": 0}',
        '{"k": "deadline", "i": true, "o": "2026-12-01", "m": 0}',
        "[1e400]",
    ],
)
def test_a_crafted_reminder_button_value_is_refused_without_a_traceback(
    slack, sqlite_engine, caplog, value
):
    seeded_workspace(sqlite_engine, TEAM)
    add_deadline(sqlite_engine, TEAM, "Rapportering", date(2026, 12, 1))
    with caplog.at_level(logging.WARNING):
        click(slack, {"type": "button", "action_id": "reminder_done", "value": value})
        assert slack.fake.wait_for(lambda: slack.fake.responses, 5.0), "the presser is told"
    assert tracebacks(caplog) == []


# --- PostgreSQL that does not answer ----------------------------------------------------------


@pytest.fixture
def silent_postgres() -> Iterator[str]:
    """A PostgreSQL address that accepts connections and never answers (a hung server or a
    dropped route)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"postgresql+psycopg://postgres@127.0.0.1:{server.getsockname()[1]}/dks"
    server.close()
    for conn in held:
        conn.close()


def test_a_database_that_does_not_answer_gets_friendly_answers_not_a_hang(
    make_driver, silent_postgres, caplog
):
    engine = make_engine(silent_postgres)
    slack = make_driver(engine)
    slack.http.timeout = 15
    # The seeding middleware (a workspace's first request) and a command.
    reply = slack.post(slack.command_body("frist"))
    assert reply.status_code == 200
    assert "prøv igjen om litt" in reply.json()["text"].lower()
    # A form keeps what was written.
    modal = calendar_modal("deadline", None, meta=ModalMeta("deadline")).to_dict()
    ack = submit_view(slack, modal, {TITLE_BLOCK: "Rapport"})
    assert ack["response_action"] == "errors"
    assert "står her fortsatt" in next(iter(ack["errors"].values()))
    engine.dispose()


# --- concurrent /dks admin legg til -----------------------------------------------------------


def test_concurrent_admin_additions_all_succeed(make_driver, engine):
    slack = make_driver(engine)
    seeded_workspace(engine, TEAM)
    slack.fake.add_user("U0NEW", "Ny Koordinator")
    replies: list[str] = []

    def add() -> None:
        replies.append(slack.command("admin legg til <@U0NEW|ny>")["text"])

    threads = [threading.Thread(target=add) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == 12
    assert not [r for r in replies if "Noe gikk galt" in r], replies
    assert all("<@U0NEW>" in r for r in replies)
    assert sum("er nå koordinator" in r for r in replies) == 1
    assert count(engine, Coordinator) == 1


# --- database errors of every kind ------------------------------------------------------------

DATABASE_ERRORS = [
    psycopg.OperationalError("server closed the connection unexpectedly"),
    sqlite3.OperationalError("database is locked"),
    DBAPIError("SELECT 1", {}, psycopg.OperationalError("connection refused")),
]


def _fail_with(error: Exception) -> Any:
    def fail(**_: Any) -> Any:
        raise error

    return fail


@pytest.mark.parametrize("error", DATABASE_ERRORS, ids=lambda e: type(e).__module__)
def test_database_errors_of_every_kind_get_the_friendly_answer(
    slack, sqlite_engine, monkeypatch, error
):
    seeded_workspace(sqlite_engine, TEAM)
    monkeypatch.setattr("handlers.admin.commands.listed_coordinators", _fail_with(error))
    assert "prøv igjen om litt" in slack.command("admin")["text"].lower()
    # A form keeps what was written; a type-ahead offers nothing (the user types on).
    monkeypatch.setattr("handlers.editing.listeners.save", lambda *a, **k: _fail_with(error)())
    modal = calendar_modal("deadline", None, meta=ModalMeta("deadline")).to_dict()
    ack = submit_view(slack, modal, {TITLE_BLOCK: "Rapport"})
    assert ack["response_action"] == "errors"
    assert "står her fortsatt" in ack["errors"][TITLE_BLOCK]
    monkeypatch.setattr("handlers.editing.listeners.search_schools", _fail_with(error))
    body = block_suggestion_body(
        team_id=TEAM, user_id=ADMIN, action_id=SCHOOL_SELECT_ACTION, block_id="b", value="Sk"
    )
    response = slack.post(body)
    assert response.status_code == 200 and response.json() == {"options": []}


def test_a_database_error_after_the_ack_is_told_where_the_user_clicked(slack, sqlite_engine):
    """«Ferdig» acks, then its write fails: the presser hears about it in the channel."""
    seeded_workspace(sqlite_engine, TEAM)
    due = date(2026, 12, 1)
    deadline_id = add_deadline(sqlite_engine, TEAM, "Rapportering", due)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE deadline_done")
    value = json.dumps({"k": "deadline", "i": deadline_id, "o": due.isoformat(), "m": 0})
    click(slack, {"type": "button", "action_id": "reminder_done", "value": value})
    assert slack.fake.wait_for(lambda: slack.fake.responses, 5.0)
    _, said = slack.fake.responses[0]
    assert "prøv igjen om litt" in said["text"].lower()
    assert said["response_type"] == "ephemeral" and said["replace_original"] is False
