"""What the database keeps (issue #12, defect 10): SQLite overwrites what it deletes, an answer
switched to anonymous leaves its sender's id in no file once it is stored, and the calendar
feed's secret is kept only as a hash (existing addresses keep working after the upgrade)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from bot.settings import Settings
from handlers.calendar.views import ROTATE_ACTION
from storage.db import make_engine, session_scope, upgrade
from storage.ics import team_for_token
from storage.models import FeedbackAnswer
from tests.conftest import TEAM
from tests.feedback_helpers import all_stored_text, form_state, load_world
from tests.helpers import add_deadline, seeded_workspace, visible_text

PLAY = "AS-H26-005"
SIGNED = "U0SIGNERT"
PUBLIC_URL = "https://dks.kommune.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """conftest's, with the public address feed links start with."""
    return replace(settings, public_url=PUBLIC_URL)


def test_sqlite_connections_overwrite_what_they_delete(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'dks.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    finally:
        engine.dispose()


def _files_hold(engine: Engine, needle: bytes) -> bool:
    """Whether the SQLite database file or its write-ahead log holds `needle` anywhere."""
    path = Path(str(engine.url.database))
    files = [path, path.with_name(path.name + "-wal")]
    return any(needle in f.read_bytes() for f in files if f.exists())


def test_an_answer_switched_to_anonymous_leaves_its_sender_in_no_file(
    make_driver, sqlite_engine, clock
):
    from tests.test_feedback import open_prefilled, submit

    ids = load_world(sqlite_engine, TEAM, clock.now)
    slack = make_driver(sqlite_engine)
    slack.fake.add_user(SIGNED, "Signe Signert")
    view = open_prefilled(slack, sqlite_engine, ids[PLAY], user=SIGNED)
    signed = submit(slack, view, form_state(view, free="Fin forestilling."), user=SIGNED)
    assert signed["response_action"] == "update"
    assert _files_hold(sqlite_engine, SIGNED.encode())  # the scan does see a signed answer

    view = open_prefilled(slack, sqlite_engine, ids[PLAY], user=SIGNED)
    switched = submit(slack, view, form_state(view, anonymous=True), user=SIGNED)
    assert switched["response_action"] == "update"
    with session_scope(sqlite_engine) as session:
        [answer] = session.exec(select(FeedbackAnswer)).all()
    assert answer.anonymous and answer.user_id is None
    assert SIGNED not in all_stored_text(sqlite_engine)
    # The checkpoint runs just after the ack: the old row version leaves the WAL, and the
    # database file's copy of it is overwritten.
    assert slack.fake.wait_for(lambda: not _files_hold(sqlite_engine, SIGNED.encode()))


def _feed_url(reply: dict) -> str | None:
    words = visible_text(reply).split()
    return next((w.strip("`") for w in words if "/kalender/" in w), None)


def test_the_feed_token_is_kept_as_a_hash_and_shown_only_when_made(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_deadline(sqlite_engine, TEAM, "Søknadsfrist", None)
    reply = slack.command("kalender")
    url = _feed_url(reply)
    assert url is not None
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    stored = all_stored_text(sqlite_engine)
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored

    # Asked again, the address cannot be shown: it says how to get a new one.
    again = slack.command("kalender")
    assert _feed_url(again) is None and token not in str(again)
    assert "Lag ny adresse" in visible_text(again)
    actions = next(b for b in again["blocks"] if b["type"] == "actions")
    assert ROTATE_ACTION in [e["action_id"] for e in actions["elements"]]

    assert url.startswith(f"{PUBLIC_URL}/kalender/")

    def get(address: str) -> int:
        return http.get(slack.url + urlsplit(address).path).status_code  # the bot, here

    with httpx.Client(timeout=10) as http:
        assert get(url) == 200
        new_url = _feed_url(slack.command("kalender ny"))
        assert new_url is not None and new_url != url
        assert get(url) == 404
        assert get(new_url) == 200


def test_the_upgrade_hashes_existing_tokens_so_their_addresses_keep_working(db_url: str) -> None:
    """On SQLite and PostgreSQL: a database at 0008 with a plaintext token."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0008")
        token = "Abc-_" + "x" * 38
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO calendar_feed (team_id, token) VALUES (:t, :token)"),
                {"t": TEAM, "token": token},
            )
        upgrade(engine)
        with session_scope(engine) as session:
            assert team_for_token(session=session, token=token) == TEAM
            assert team_for_token(session=session, token=token[:-1] + "y") is None
        stored = all_stored_text(engine)
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored
    finally:
        engine.dispose()
