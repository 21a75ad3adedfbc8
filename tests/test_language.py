"""Languages (issue 14): `/dks språk` and the Home tab's menus choose the workspace's language
(coordinators) and each person's own; replies, help and refusals follow the reader's choice,
routed by the same table in every language; dates and distances in bokmål, nynorsk and English.

Everything runs through the real HTTP endpoint with signed requests, as Slack sends them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import select

from bot.shell.signing import select_action
from handlers import features
from handlers.core.commands import COMMAND, find
from handlers.core.format import date_span, day_text, distance
from handlers.core.i18n import LANGUAGES, _, use_language
from handlers.language.choices import language_of, parse
from handlers.language.home import OWN_ACTION, OWN_BLOCK, WORKSPACE_ACTION, WORKSPACE_BLOCK
from storage.db import session_scope
from storage.models import AuditEntry
from storage.workspaces import set_user_language, user_languages, workspace_language
from tests.conftest import ADMIN, MEMBER, TEAM
from tests.helpers import assert_valid_message, seeded_workspace, visible_text
from tests.test_editing import block, click, latest_view, open_home, wait_for_call
from tests.test_home import assert_valid_home, headers


def said(slack: Any, text: str, user: str = ADMIN) -> str:
    reply = slack.command(text, user=user)
    assert_valid_message(reply)
    return visible_text(reply)


def stored_languages(engine: Any) -> tuple[str | None, dict[str, str]]:
    with session_scope(engine) as session:
        return (
            workspace_language(session=session, team_id=TEAM),
            user_languages(session=session, team_id=TEAM),
        )


# --- /dks språk -------------------------------------------------------------------------------


def test_a_coordinator_sets_the_workspaces_language_and_the_reply_is_in_it(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    # Before any choice: bokmål, and the overview says how to choose.
    shown = said(slack, "språk")
    assert "Arbeidsområdet bruker bokmål" in shown and "/dks språk meg nynorsk" in shown

    text = said(slack, "språk nynorsk")
    assert text.startswith(":white_check_mark: Arbeidsområdet brukar no nynorsk")
    assert stored_languages(sqlite_engine)[0] == "nn"
    # Everyone who has not chosen now reads nynorsk, the coordinator too.
    assert "Arbeidsområdet brukar nynorsk" in said(slack, "språk", user=MEMBER)
    assert "*Koordinatorar* kan endre fristar" in said(slack, "admin")

    # The words in any case and with or without diacritics; the reply is in the new language.
    assert "The workspace now uses English" in said(slack, "SPRAK Engelsk")
    assert stored_languages(sqlite_engine)[0] == "en"
    assert "Arbeidsområdet bruker nå bokmål" in said(slack, "språk BOKMAL")
    assert "Arbeidsområdet brukar no nynorsk" in said(slack, "language nn")
    with session_scope(sqlite_engine) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.item_kind == "workspace")).all()
    assert [(e.user_id, e.changes) for e in entries] == [
        (ADMIN, '{"language": [null, "nn"]}'),
        (ADMIN, '{"language": ["nn", "en"]}'),
        (ADMIN, '{"language": ["en", "nb"]}'),
        (ADMIN, '{"language": ["nb", "nn"]}'),
    ]

    # A word that names no language changes nothing and says what is possible.
    assert "Eg kjenner ikkje språket «svensk»" in said(slack, "språk svensk")
    assert stored_languages(sqlite_engine)[0] == "nn"


def test_a_member_may_not_set_the_workspaces_language_and_is_told_in_their_own(
    slack, sqlite_engine
):
    seeded_workspace(sqlite_engine, TEAM)
    said(slack, "språk nynorsk")
    refusal = said(slack, "språk bokmål", user=MEMBER)
    assert refusal.startswith("Berre koordinatorar kan velje språk for arbeidsområdet")
    assert stored_languages(sqlite_engine)[0] == "nn"

    said(slack, "språk meg english", user=MEMBER)
    refusal = said(slack, "language nynorsk", user=MEMBER)
    assert refusal.startswith("Only coordinators can choose the workspace's language")
    assert stored_languages(sqlite_engine) == ("nn", {MEMBER: "en"})
    # Looking is for everyone.
    assert "You have chosen English for yourself" in said(slack, "språk", user=MEMBER)


def test_a_persons_own_language_wins_in_their_replies_only(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    said(slack, "språk nynorsk")

    text = said(slack, "språk meg english", user=MEMBER)
    assert text == (
        ":white_check_mark: You now get replies in English. Channels and reminders follow "
        "the workspace's language (Nynorsk)."
    )
    assert stored_languages(sqlite_engine) == ("nn", {MEMBER: "en"})
    # Their ephemeral replies are English; everyone else still reads the workspace's nynorsk.
    assert "*Coordinators* can change deadlines" in said(slack, "admin", user=MEMBER)
    assert "*Koordinatorar* kan endre fristar" in said(slack, "admin")
    assert "This is what I can help with:" in said(slack, "hjelp", user=MEMBER)
    assert "Dette kan eg hjelpe deg med:" in said(slack, "hjelp")

    # The coordinator's own choice wins for them too, even as they change the workspace's.
    said(slack, "språk meg bokmål")
    text = said(slack, "språk english")
    assert text.startswith(":white_check_mark: The workspace now uses English")
    assert "You have chosen Bokmål for yourself and still get replies in it" in text
    assert "*Koordinatorer* kan endre frister" in said(slack, "admin")

    # «standard» (or «workspace») goes back to the workspace's language.
    assert said(slack, "språk meg standard") == (
        ":white_check_mark: You now follow the workspace's language: English."
    )
    assert said(slack, "sprak me workspace", user=MEMBER).endswith(
        "follow the workspace's language: English."
    )
    assert stored_languages(sqlite_engine) == ("en", {})


def test_the_language_words_are_read_as_people_type_them():
    assert {language_of(w) for w in ("nynorsk", "NN", "Nynorsk", "norsk nynorsk")} == {"nn"}
    assert {language_of(w) for w in ("bokmål", "Bokmal", "BOKMAAL", "nb")} == {"nb"}
    assert {language_of(w) for w in ("english", "English", "engelsk", "en")} == {"en"}
    assert language_of("svensk") is None
    assert parse("meg english").own and parse("me nynorsk").language == "nn"
    assert parse("meg standard").action == "clear" and parse("meg Workspace").action == "clear"
    assert parse("").action == "show" and parse("meg").action == "show"
    # «standard» alone is not a language for the workspace.
    assert parse("standard").action == "unknown"


# --- help and routing, from the one table --------------------------------------------------------


def test_every_word_in_every_language_routes_to_its_own_subcommand():
    subcommands = [sub for feature in features() for sub in feature.subcommands]
    for sub in subcommands:
        for name in sub.names():
            assert find(subcommands, name) is sub, (sub.name, name)
        for language in LANGUAGES:
            assert find(subcommands, sub.word(language)) is sub, (sub.name, language)


@pytest.mark.parametrize(
    ("language", "header", "intro"),
    [
        ("nb", "DKS-boten – hjelp", "Dette kan jeg hjelpe deg med:"),
        ("nn", "DKS-boten – hjelp", "Dette kan eg hjelpe deg med:"),
        ("en", "DKS bot – help", "This is what I can help with:"),
    ],
)
def test_help_lists_each_subcommand_in_the_readers_language(
    slack, sqlite_engine, language, header, intro
):
    seeded_workspace(sqlite_engine, TEAM)
    with session_scope(sqlite_engine, write=True) as session:
        set_user_language(session=session, team_id=TEAM, user_id=MEMBER, language=language)
    reply = slack.command("hjelp", user=MEMBER)
    assert_valid_message(reply)
    assert reply["blocks"][0]["text"]["text"] == header
    text = visible_text(reply)
    assert intro in text
    with use_language(language):
        for sub in slack.services.subcommands:
            assert f"`{COMMAND} {sub.word()}` – {_(sub.summary)}" in text, sub.name
            assert f"`{_(sub.example)}`" in text, sub.name
    if language == "nn":
        assert "`/dks språk` – viser kva språk boten skriv" in text
        assert "`/dks tilbakemelding`" in text and "_Døme:_" in text
    if language == "en":
        assert "`/dks language` – shows which language" in text
        assert "`/dks help` – shows this overview." in text


def test_the_words_of_every_language_reach_the_same_subcommand(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    said(slack, "språk nynorsk")
    # `/dks deadline` is `/dks frist`, `/dks help` is `/dks hjelp`, `/dks language` is
    # `/dks språk`: the same reply, in the reader's language.
    assert said(slack, "deadline") == said(slack, "frist")
    assert said(slack, "help") == said(slack, "hjelp")
    assert said(slack, "language") == said(slack, "språk")
    # A word the bot does not know gets help, saying so in the reader's language.
    assert "Eg kjenner ikkje «frobnicate». Dette kan eg hjelpe deg med:" in said(
        slack, "frobnicate"
    )


# --- the Home tab --------------------------------------------------------------------------------


def menu(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return block(view, block_id)["accessory"]


def choose(slack: Any, view: dict[str, Any], block_id: str, value: str, user: str) -> None:
    element = menu(view, block_id)
    option = next(o for o in element["options"] if o["value"] == value)
    before = len(slack.fake.calls_to("views.publish"))
    click(slack, view, select_action(element, option), block_id, user=user)
    wait_for_call(slack, "views.publish", before)


def test_the_home_tab_chooses_languages_and_shows_itself_in_the_new_one(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    view = open_home(slack)
    assert_valid_home(view)
    assert "Språk" in headers(view)
    own, workspace = menu(view, OWN_BLOCK), menu(view, WORKSPACE_BLOCK)
    assert own["initial_option"]["text"]["text"] == "Som arbeidsområdet (bokmål)"
    assert [o["text"]["text"] for o in workspace["options"]] == ["Bokmål", "Nynorsk", "English"]
    assert workspace["initial_option"]["value"] == "nb"
    # A member chooses only their own.
    member_view = open_home(slack, user=MEMBER)
    assert_valid_home(member_view)
    assert menu(member_view, OWN_BLOCK)["action_id"] == OWN_ACTION
    assert not any(b.get("block_id") == WORKSPACE_BLOCK for b in member_view["blocks"])

    # The coordinator picks nynorsk for the workspace: stored, and the tab comes back in it.
    choose(slack, view, WORKSPACE_BLOCK, "nn", user=ADMIN)
    assert stored_languages(sqlite_engine)[0] == "nn"
    view = slack.fake.home_views[ADMIN]
    assert_valid_home(view)
    assert "*Språket til arbeidsområdet*" in visible_text(view)
    assert menu(view, WORKSPACE_BLOCK)["initial_option"]["value"] == "nn"
    assert menu(view, OWN_BLOCK)["initial_option"]["text"]["text"] == (
        "Som arbeidsområdet (nynorsk)"
    )

    # The member picks English for themselves: their tab is English, the workspace stays.
    member_view = open_home(slack, user=MEMBER)
    choose(slack, member_view, OWN_BLOCK, "en", user=MEMBER)
    assert stored_languages(sqlite_engine) == ("nn", {MEMBER: "en"})
    member_view = slack.fake.home_views[MEMBER]
    assert_valid_home(member_view)
    assert "Language" in headers(member_view)
    assert "*Your language*" in visible_text(member_view)
    assert menu(member_view, OWN_BLOCK)["initial_option"]["value"] == "en"
    # …and back to the workspace's.
    choose(slack, member_view, OWN_BLOCK, "standard", user=MEMBER)
    assert stored_languages(sqlite_engine) == ("nn", {})
    assert "*Ditt språk*" in visible_text(slack.fake.home_views[MEMBER])


def test_a_crafted_workspace_choice_from_a_member_is_refused_in_their_language(
    slack, sqlite_engine
):
    seeded_workspace(sqlite_engine, TEAM)
    with session_scope(sqlite_engine, write=True) as session:
        set_user_language(session=session, team_id=TEAM, user_id=MEMBER, language="en")
    # The member's tab has no such menu; the admin's does, and the member sends its click.
    admin_view = open_home(slack)
    element = menu(admin_view, WORKSPACE_BLOCK)
    option = next(o for o in element["options"] if o["value"] == "nn")
    opened = len(slack.fake.calls_to("views.open"))
    click(slack, admin_view, select_action(element, option), WORKSPACE_BLOCK, user=MEMBER)
    wait_for_call(slack, "views.open", opened)
    refusal = visible_text(latest_view(slack))
    assert refusal.startswith("Only coordinators can change deadlines")
    assert stored_languages(sqlite_engine) == (None, {MEMBER: "en"})

    # A value that is no language of ours changes nothing either.
    before = len(slack.fake.calls_to("views.publish"))
    crafted = {"type": "static_select", "action_id": WORKSPACE_ACTION}
    click(
        slack,
        admin_view,
        {
            **crafted,
            "selected_option": {"value": "sv", "text": {"type": "plain_text", "text": "x"}},
        },
        WORKSPACE_BLOCK,
    )
    assert not slack.fake.wait_for(
        lambda: len(slack.fake.calls_to("views.publish")) > before, timeout=0.5
    )
    assert stored_languages(sqlite_engine) == (None, {MEMBER: "en"})


# --- dates and distances in each language -----------------------------------------------------


@pytest.mark.parametrize(
    ("language", "weekday", "span", "words"),
    [
        (
            "nb",
            "tirsdag 3. november 2026",
            "3.–5. november 2026",
            ["om 3 dager", "i morgen", "i dag", "i går", "for 2 dager siden"],
        ),
        (
            "nn",
            "tysdag 3. november 2026",
            "3.–5. november 2026",
            ["om 3 dagar", "i morgon", "i dag", "i går", "for 2 dagar sidan"],
        ),
        (
            "en",
            "Tuesday 3 November 2026",
            "3–5 November 2026",
            ["in 3 days", "tomorrow", "today", "yesterday", "2 days ago"],
        ),
    ],
)
def test_dates_and_distances_are_written_in_each_language(language, weekday, span, words):
    today = date(2026, 11, 3)
    with use_language(language):
        assert day_text(today, weekday=True) == weekday
        assert date_span(today, date(2026, 11, 5)) == span
        assert [distance(date(2026, 11, 3 + d), today) for d in (3, 1, 0, -1)] + [
            distance(date(2026, 11, 1), today)
        ] == words
