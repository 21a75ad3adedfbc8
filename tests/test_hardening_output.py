"""What users or imports wrote reaches Slack defused (issue #12, defect 3): no mention token
(`<!channel>`, `<!here>`, `<@U…>`, `<!subteam^…>`) comes alive, no formatting is applied to
it, and a `|` cannot move where a link ends, in the notification `text` and in every mrkdwn
field, through the real scheduler and the real HTTP endpoint."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from bot.shell.signing import block_actions_body, button_action
from handlers.core.services import Services
from handlers.reminders.sync import after_item_change
from handlers.reminders.views import DONE_ACTION, REMINDER_ACTIONS_BLOCK_ID
from storage.db import session_scope
from storage.feedback import QUESTION_KEYS, AnswerInput, respondent_key, save_answer
from storage.folding import fold
from storage.models import Deadline, Production, School
from storage.tourplan import get_performance
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM, FrozenClock, SlackDriver
from tests.feedback_helpers import KONTAKT, load_world
from tests.helpers import add_contact, add_deadline, assert_valid_message, seeded_workspace

EVIL = "<!channel> <!here> <@U0ADMIN> <!subteam^S123> *fet* ~x~ a|b"
ATTACKS = {"!channel", "!here", "@U0ADMIN", "!subteam^S123"}
# A link that ends early if its `|` is taken as Slack's separator: the label would be «Vinn».
EVIL_LINK = "https://example.com/?q=a|Vinn-en-premie"
DUE = date(2026, 12, 8)  # reminders on Tuesday 1 December, 09:00 in Oslo
FIRST = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
_TOKEN = re.compile(r"<([^<>]*)>")


def parsed_texts(message: dict[str, Any]) -> list[str]:
    """The strings Slack parses for mentions and formatting: the top-level `text` (the
    notification) and every mrkdwn text object. plain_text is never parsed."""
    found = [str(message.get("text") or "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and "text" in node:
                found.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks", []))
    return found


def assert_defused(
    message: dict[str, Any], *, labels: set[str] | None = None, shown: bool = True
) -> None:
    """No attacker's token is live, no link carries a label the bot did not write, and the
    attacker's formatting is not applied (but the text is still shown, literally)."""
    texts = parsed_texts(message)
    for text in texts:
        for token in _TOKEN.findall(text):
            target, _, label = token.partition("|")
            assert target not in ATTACKS, f"live token <{token}> in {text!r}"
            if target.startswith(("http", "mailto:", "tel:")):
                assert label in (labels or set()), f"link label {label!r} in {text!r}"
        assert "*fet*" not in text and "~x~" not in text, f"formatting applied in {text!r}"
    if shown:
        assert any("&lt;!channel&gt;" in t for t in texts), "the text should still be shown"


def signed_reminder_world(make_driver: Any, make_scheduler: Any, engine: Engine, clock: Any):  # type: ignore[no-untyped-def]
    seeded_workspace(engine, TEAM)
    slack = make_driver(engine)
    scheduler = make_scheduler(slack.settings, engine=engine, clock=clock, pace_seconds=0.1)
    deadline = add_deadline(
        engine, TEAM, EVIL, DUE, description=EVIL, link=EVIL_LINK, audience=EVIL
    )
    reply = slack.command(f"påminnelser kanal <#{CHANNEL}|dks>")
    assert "Påminnelser kommer nå i" in reply["text"], reply
    assert_defused(reply)
    assert_defused(slack.command("påminnelser"))  # the list names the deadline too
    clock.now = FIRST
    assert scheduler.tick().sent == 1
    [message] = slack.fake.messages[CHANNEL]
    return slack, deadline, message


def test_a_reminder_and_its_update_after_ferdig_carry_no_live_mention(
    make_driver, make_scheduler, sqlite_engine, clock
):
    slack, _, message = signed_reminder_world(make_driver, make_scheduler, sqlite_engine, clock)
    assert_valid_message(message)
    assert_defused(message, labels={"Åpne lenke"})
    assert "%7CVinn-en-premie" in message["blocks"][0]["text"]["text"]  # the whole address

    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    done = next(e for e in actions["elements"] if e["action_id"] == DONE_ACTION)
    body = block_actions_body(
        team_id=TEAM,
        user_id=MEMBER,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
        action=button_action(done),
        block_id=REMINDER_ACTIONS_BLOCK_ID,
        message_ts=message["ts"],
        is_ephemeral=False,
    )
    assert slack.post(body).status_code == 200
    assert slack.fake.wait_for(lambda: bool(slack.fake.calls_to("chat.update")))
    [update] = slack.fake.calls_to("chat.update")
    sent = {"text": update.args["text"], "blocks": update.args.get("blocks", [])}
    assert_defused(sent, labels={"Åpne lenke"})
    [updated] = slack.fake.messages[CHANNEL]
    assert_valid_message(updated)
    assert_defused(updated, labels={"Åpne lenke"})
    assert f"<@{MEMBER}>" in str(updated["blocks"])  # the bot's own mention still works


def test_a_moved_reminder_is_edited_without_a_live_mention(
    make_driver, make_scheduler, sqlite_engine, clock
):
    slack, deadline, _ = signed_reminder_world(make_driver, make_scheduler, sqlite_engine, clock)
    with session_scope(sqlite_engine, write=True) as session:
        row = session.get(Deadline, deadline)
        assert row is not None
        row.due_date = date(2026, 12, 15)
    after_item_change(
        client=slack.app.client,
        services=Services(settings=slack.settings, engine=sqlite_engine, clock=clock),
        team_id=TEAM,
        kind="deadline",
        item_id=deadline,
        logger=logging.getLogger("test"),
    )
    [update] = slack.fake.calls_to("chat.update")
    assert_defused({"text": update.args["text"], "blocks": update.args.get("blocks", [])})


def test_calendar_lists_and_the_home_tab_show_hostile_titles_defused(slack, sqlite_engine):
    from tests.test_editing import open_home

    seeded_workspace(sqlite_engine, TEAM)
    add_deadline(sqlite_engine, TEAM, EVIL, DUE, description=EVIL, link=EVIL_LINK, audience=EVIL)
    add_deadline(sqlite_engine, TEAM, EVIL, None)  # «uten dato»
    for words in ("frist", "frist alle", "frist fet", "frist <!channel>"):
        reply = slack.command(words)
        assert_valid_message(reply)
        assert_defused(reply, labels={"Åpne lenke"})
    assert_defused({"blocks": open_home(slack)["blocks"]})


def test_directory_and_help_replies_defuse_what_was_written(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_contact(
        sqlite_engine,
        TEAM,
        name=EVIL,
        role="kulturkontakt",
        organisation=EVIL,
        email="a|Vinn@x.no",
        phone="12345678",
        purpose=EVIL,
        note=EVIL,
        school="Ås <!here> *skole*",
    )
    reply = slack.command("kontakt fet")
    assert_valid_message(reply)
    assert_defused(reply, labels={"a∣Vinn@x.no", "12345678"})
    assert "<mailto:a%7CVinn@x.no|" in str(reply["blocks"])
    # Slack sends «@channel» typed in a slash command as <!channel> (should_escape).
    # An unknown subcommand is quoted back with the help.
    for words in ("kontakt <!channel> *fet*", "*fet*<!channel>", "hjelp <!channel> *fet*"):
        reply = slack.command(words)
        assert_valid_message(reply)
        shown = not words.startswith("hjelp")  # help for a word does not repeat it
        assert_defused(reply, labels={"a∣Vinn@x.no", "12345678"}, shown=shown)


def test_feedback_prompts_and_summaries_defuse_tour_plan_names(
    make_driver, make_scheduler, sqlite_engine, clock: FrozenClock
):
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    ids = load_world(sqlite_engine, TEAM, clock.now)
    with session_scope(sqlite_engine, write=True) as session:
        play = session.exec(
            select(Production).where(col(Production.title).startswith("Brødrene"))
        ).one()
        play.title, play.title_key = EVIL, fold(EVIL)
        school = session.exec(select(School).where(col(School.name) == "Ås ungdomsskole")).one()
        school.name = "Ås <@U0ADMIN> *skole*"
        session.add_all([play, school])
    slack: SlackDriver = make_driver(sqlite_engine)
    scheduler = make_scheduler(slack.settings, engine=sqlite_engine, clock=clock)
    clock.now = datetime(2026, 11, 24, 8, 41, tzinfo=UTC)  # the play ended at 09:40 in Oslo
    scheduler.tick()
    [prompt] = slack.fake.messages[f"D{KONTAKT[1:]}"]
    assert_valid_message(prompt)
    assert_defused(prompt)

    with session_scope(sqlite_engine, write=True) as session:
        performance = get_performance(
            session=session, team_id=TEAM, performance_id=ids["AS-H26-005"]
        )
        assert performance is not None
        save_answer(
            session=session,
            team_id=TEAM,
            user_id=MEMBER,
            key=respondent_key(slack.settings.secret_key, TEAM, MEMBER),
            performance=performance,
            answer=AnswerInput(
                performance_id=performance.id,
                ratings=dict.fromkeys(QUESTION_KEYS, 4),
                comments={"artistic": EVIL},
                pupil_hosts=None,
                pupils_attended=None,
                free_comment=EVIL,
                anonymous=False,
            ),
            now=clock.now,
        )
    for words in ("tilbakemelding oppsummering", "tilbakemelding oppsummering fet"):
        reply = slack.command(words, user=ADMIN)
        assert_valid_message(reply)
        assert_defused(reply)
