"""`/dks hjem` (nynorsk `heim`, English `home`): a short answer only the asker sees, with a link
that opens the app's Home tab in Slack and a line on what is there; listed by `/dks hjelp`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.shell.signing import slash_command_body
from handlers.core.i18n import use_language
from storage.db import session_scope
from storage.workspaces import set_user_language
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM
from tests.helpers import assert_valid_message, seeded_workspace, visible_text

APP_ID = "A0DKSBOT"  # what the signed test requests carry as api_app_id
LINK = f"slack://app?team={TEAM}&amp;id={APP_ID}&amp;tab=home"


def _home(slack: Any, word: str = "hjem", *, user: str = ADMIN, app_id: str = APP_ID) -> Any:
    body = slash_command_body(
        text=word,
        team_id=TEAM,
        user_id=user,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
        api_app_id=app_id,
    )
    response = slack.post(body)
    assert response.status_code == 200, response.text
    return json.loads(response.text)


@pytest.mark.parametrize("user", [ADMIN, MEMBER])
def test_hjem_links_to_the_home_tab_for_everyone(slack, sqlite_engine, user):
    seeded_workspace(sqlite_engine, TEAM)
    reply = _home(slack, user=user)
    assert reply["response_type"] == "ephemeral"
    assert_valid_message(reply)
    text = visible_text(reply)
    assert f"<{LINK}|Åpne Home-fanen min>" in text
    assert "de neste fristene og møtene" in text
    assert "Jeg kjenner ikke" not in text  # not help's «unknown word»
    # Nothing else happens: no modal, no post.
    assert not slack.fake.calls_to("views.open") and not slack.fake.calls_to("chat.postMessage")


def test_the_link_is_slacks_deep_link_to_this_apps_home_tab(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    text = visible_text(_home(slack, app_id="A07OTHERAPP"))
    assert f"<slack://app?team={TEAM}&amp;id=A07OTHERAPP&amp;tab=home|" in text


def test_without_an_app_id_it_still_says_where_to_look(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    text = visible_text(_home(slack, app_id=""))
    assert "slack://" not in text
    assert "Finn DKS-boten under Apper i Slack og velg Home-fanen" in text


@pytest.mark.parametrize("word", ["heim", "home", "Hjem", "HEIM"])
def test_the_nynorsk_and_english_words_route_there_too(slack, sqlite_engine, word):
    seeded_workspace(sqlite_engine, TEAM)
    assert LINK in visible_text(_home(slack, word))


def test_heim_in_nynorsk_answers_in_nynorsk_words(slack, sqlite_engine):
    from handlers.home.commands import home_text

    seeded_workspace(sqlite_engine, TEAM)
    with session_scope(sqlite_engine, write=True) as session:
        set_user_language(session=session, team_id=TEAM, user_id=ADMIN, language="nn")
    reply = _home(slack, "heim")
    assert_valid_message(reply)
    with use_language("nn"):
        assert reply["text"] == home_text(TEAM, APP_ID)
    # Help in nynorsk names the command by its nynorsk word.
    assert "`/dks heim`" in visible_text(slack.command("hjelp"))


def test_help_lists_it(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    text = visible_text(slack.command("hjelp"))
    assert "`/dks hjem` – gir en lenke til Home-fanen" in text
