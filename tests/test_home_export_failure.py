"""The Home tab's «Eksporter kalender» when Slack refuses the upload: the coordinator hears it
in a DM (the Home tab has no reply of its own), worded as the feedback export's failure, and
nothing crashes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.shell.fakeslack import Fault
from bot.shell.signing import block_actions_body, button_action
from handlers.core.i18n import use_language
from storage.db import session_scope
from storage.workspaces import set_user_language
from tests.conftest import ADMIN, CHANNEL, TEAM
from tests.feedback_helpers import load_world
from tests.helpers import add_meeting, seeded_workspace
from tests.test_editing import open_home
from tests.test_feedback import click, seed_answers

DM = "D" + ADMIN.removeprefix("U")
FAILED = (
    "Jeg fikk ikke laget eller sendt filen. Prøv igjen om litt, eller be den som drifter "
    "boten kjøre `dks-bot export kalender`."
)


def _press_export(slack: Any) -> None:
    home = open_home(slack)
    buttons = next(b for b in home["blocks"] if b.get("block_id") == "home_buttons")
    export = next(e for e in buttons["elements"] if e["action_id"] == "dks_home_export")
    body = block_actions_body(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
        action=button_action(export),
        block_id="home_buttons",
        view=home,
    )
    response = slack.post(body)
    assert response.status_code == 200
    assert response.text == ""  # acked at once, the work after


def _dm_texts(slack: Any) -> list[str]:
    return [str(m.get("text")) for m in slack.fake.messages.get(DM, [])]


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "files.completeUploadExternal"])
def test_a_failed_upload_from_home_is_told_in_a_dm(slack, sqlite_engine, method):
    seeded_workspace(sqlite_engine, TEAM)
    add_meeting(sqlite_engine, TEAM, "Kulturkontaktmøte", date(2027, 2, 2))
    slack.fake.fail(method, Fault(error="internal_error"))
    _press_export(slack)
    assert slack.fake.wait_for(lambda: FAILED in _dm_texts(slack)), _dm_texts(slack)
    assert _dm_texts(slack) == [FAILED]
    # Still working: the next press sends the file.
    _press_export(slack)
    assert slack.fake.wait_for(lambda: slack.fake.uploads), "no file after the retry"


def test_the_failure_speaks_the_readers_language(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    with session_scope(sqlite_engine, write=True) as session:
        set_user_language(session=session, team_id=TEAM, user_id=ADMIN, language="nn")
    slack.fake.fail("files.getUploadURLExternal", Fault(error="internal_error"))
    _press_export(slack)
    assert slack.fake.wait_for(lambda: _dm_texts(slack)), "nothing said"
    from handlers.core.exports import export_failed_text

    with use_language("nn"):
        assert _dm_texts(slack) == [export_failed_text("dks-bot export kalender")]


def test_the_feedback_export_fails_in_the_same_words(slack, sqlite_engine, clock):
    """Both exports build their failure from one helper, each naming its own CLI command."""
    seed_answers(slack, sqlite_engine, load_world(sqlite_engine, TEAM, clock.now))
    reply = slack.command("tilbakemelding oppsummering løvehjerte", user=ADMIN)
    actions = next(b for b in reply["blocks"] if b["type"] == "actions")
    _excel, csv_button = actions["elements"]
    slack.fake.fail("files.completeUploadExternal", Fault(error="internal_error"))
    click(slack, csv_button, block_id=actions["block_id"], user=ADMIN)
    said = FAILED.replace("kalender", "tilbakemeldinger")
    assert slack.fake.wait_for(
        lambda: any(body.get("text") == said for _, body in slack.fake.responses)
    ), slack.fake.responses


def test_the_change_request_export_fails_in_the_same_words(slack, sqlite_engine):
    """The county's change-request export (a coordinator's «Last ned som CSV») says its
    failure in a DM with the same helper, naming `dks-bot export endringer`."""
    from handlers.changes.views import EXPORT_CSV_ACTION
    from handlers.core.exports import export_failed_text
    from tests.changes_world import build_world, opened_round

    build_world(sqlite_engine)
    opened = opened_round(sqlite_engine)
    slack.fake.fail("files.getUploadURLExternal", Fault(error="internal_error"))
    button = {
        "type": "button",
        "action_id": EXPORT_CSV_ACTION,
        "text": {"type": "plain_text", "text": "Last ned som CSV"},
        "value": str(opened.round.id),
    }
    body = block_actions_body(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
        action=button_action(button),
        block_id="changes_export",
    )
    assert slack.post(body).status_code == 200
    expected = export_failed_text("dks-bot export endringer")
    assert slack.fake.wait_for(lambda: expected in _dm_texts(slack)), _dm_texts(slack)
    assert not slack.fake.uploads
