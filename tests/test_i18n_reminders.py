"""Reminders in nynorsk and English beside bokmål: `/dks påminnelser` in the reader's language
and with the words of each, channel posts (the reminders, their edits, «Ferdig») in the
workspace's language, DMs in the person's own, and the grammar slips of issue 14 gone."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli import cli
from handlers.core.i18n import use_language
from handlers.reminders.sync import after_item_change
from handlers.reminders.views import DONE_ACTION, SNOOZE_ACTION, offsets_text
from storage.db import session_scope
from storage.models import Deadline, OutboxMessage, OutboxState, Workspace, utcnow
from storage.outbox import schedule_message
from storage.reminders import ALERT_KIND, REMINDER_KIND
from storage.workspaces import set_user_language, set_workspace_language
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM
from tests.helpers import add_deadline, add_meeting, assert_valid_message, visible_text
from tests.test_reminders_slack import (  # the same world: the app, fake Slack, scheduler
    DUE,
    FIRST,
    World,
    post_first_reminder,
    wait_for_update,
    world,
)

__all__ = ["world"]  # the fixture, imported for these tests


def speak(world: World, workspace: str | None = None, **people: str) -> None:
    """The workspace's language, and people's own (`U0MEMBER="en"`), stored as `/dks språk`
    stores them."""
    with world.slack.services.session(write=True) as session:
        if workspace is not None:
            set_workspace_language(session=session, team_id=TEAM, language=workspace)
        for user, language in people.items():
            set_user_language(session=session, team_id=TEAM, user_id=user, language=language)


def set_channel(world: World) -> None:
    """A coordinator chooses the reminder channel (the reply in whatever language)."""
    reply = world.slack.command(f"påminnelser kanal <#{CHANNEL}|dks>")
    assert reply["text"].startswith(":white_check_mark: "), reply


# --- «kommer nå 0 dager før», «3, 1 dager før» ---------------------------------------------


@pytest.mark.parametrize(
    ("language", "typed", "said"),
    [
        ("nb", "påminnelser dager 0", "Påminnelser kommer nå på selve dagen, kl. 09:00"),
        ("nn", "påminningar dagar 0", "Påminningar kjem no på sjølve dagen, kl. 09:00"),
        ("en", "reminders days 0", "Reminders now come on the day itself, at 09:00"),
    ],
)
def test_zero_days_before_is_said_as_the_day_itself(
    world: World, language: str, typed: str, said: str
) -> None:
    speak(world, language)
    reply = world.slack.command(typed)
    assert_valid_message(reply)
    assert said in reply["text"]
    assert "0 dag" not in reply["text"] and "0 day" not in reply["text"]


@pytest.mark.parametrize(
    ("language", "typed", "said"),
    [
        ("nb", "påminnelser dager 3,1", "Påminnelser kommer nå 3 og 1 dag før,"),
        ("nb", "påminnelser dager 14,7,2", "Påminnelser kommer nå 14, 7 og 2 dager før,"),
        ("nb", "påminnelser dager 7,0", "kommer nå 7 dager før og på selve dagen,"),
        ("nn", "påminningar dagar 3,1", "Påminningar kjem no 3 og 1 dag før,"),
        ("nn", "påminningar dagar 14 7 2", "Påminningar kjem no 14, 7 og 2 dagar før,"),
        ("nn", "påminningar dagar 7,0", "kjem no 7 dagar før og på sjølve dagen,"),
        ("en", "reminders days 14,7,2", "Reminders now come 14, 7 and 2 days before,"),
    ],
)
def test_a_list_of_days_reads_as_a_sentence(
    world: World, language: str, typed: str, said: str
) -> None:
    speak(world, language)
    reply = world.slack.command(typed)
    assert said in reply["text"], reply["text"]
    assert not re.search(r"\d, \d+ (dager|dagar|days)", reply["text"])


@pytest.mark.parametrize(
    ("language", "custom", "default"),
    [
        (
            "nb",
            "*Når:* 3 og 1 dag før",
            "*Når:* som standard – frister 14, 7 og 1 dag før, møter 7 og 1 dag før",
        ),
        (
            "nn",
            "*Når:* 3 og 1 dag før",
            "*Når:* som standard – fristar 14, 7 og 1 dag før, møte 7 og 1 dag før",
        ),
    ],
)
def test_status_says_the_days_before_as_a_sentence(
    world: World, language: str, custom: str, default: str
) -> None:
    speak(world, language)
    assert default in visible_text(world.slack.command("påminnelser status"))
    world.slack.command("påminnelser dager 1,3")
    assert custom in visible_text(world.slack.command("påminnelser status"))


def test_offsets_text_in_each_language() -> None:
    cases = {
        "nb": ["14, 7 og 1 dag før", "7 og 2 dager før", "1 dag før", "på selve dagen"],
        "nn": ["14, 7 og 1 dag før", "7 og 2 dagar før", "1 dag før", "på sjølve dagen"],
        "en": [
            "14, 7 and 1 day before",
            "7 and 2 days before",
            "1 day before",
            "on the day itself",
        ],
    }
    for language, expected in cases.items():
        with use_language(language):
            got = [offsets_text(o) for o in [(14, 7, 1), (2, 7), (1,), (0,)]]
        assert got == expected


# --- «– «reminder_alert»: …» in `påminnelser status` ---------------------------------------


@pytest.mark.parametrize(
    ("language", "alert", "reminder"),
    [
        (
            "nb",
            f"beskjeden til <@{ADMIN}> om at kanalen ikke virker: boten er ikke lenger installert",
            "«Rapport»: boten er ikke med i kanalen",
        ),
        (
            "nn",
            f"meldinga til <@{ADMIN}> om at kanalen ikkje verkar: boten er ikkje lenger installert",
            "«Rapport»: boten er ikkje med i kanalen",
        ),
    ],
)
def test_status_names_what_was_not_sent_in_words(
    world: World, language: str, alert: str, reminder: str
) -> None:
    speak(world, language)
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    world.fake.channels[CHANNEL]["is_member"] = False
    world.clock.now = FIRST
    assert world.scheduler.tick().failed == 1
    # The alert DM to the coordinator could not be delivered either.
    with session_scope(world.engine, write=True) as session:
        row = schedule_message(
            session=session,
            team_id=TEAM,
            kind=ALERT_KIND,
            unique_key="alert:test",
            ref="alert:test:",
            due_at=FIRST,
            target=ADMIN,
            payload={"channel": CHANNEL, "reason": "not_in_channel"},
            now=FIRST,
        )
        row.state, row.error = OutboxState.FAILED.value, "account_inactive"
        session.add(row)
    text = visible_text(world.slack.command("påminnelser status", user=MEMBER))
    assert alert in text
    assert reminder in text
    assert "reminder_alert" not in text and ALERT_KIND not in text


# --- «Viser N av M» -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("nb", "Viser de 10 første av %d påminnelser."),
        ("nn", "Viser dei 10 første av %d påminningar."),
    ],
)
def test_the_list_says_how_many_it_shows_of_how_many(
    world: World, language: str, shown: str
) -> None:
    speak(world, language)
    for n in range(8):
        add_deadline(world.engine, TEAM, f"Frist {n}", DUE + timedelta(days=7 * n))
    set_channel(world)
    with session_scope(world.engine) as session:
        total = len(
            session.exec(
                select(OutboxMessage).where(
                    col(OutboxMessage.kind) == REMINDER_KIND,
                    col(OutboxMessage.state) == OutboxState.PENDING.value,
                )
            ).all()
        )
    assert total > 10
    reply = world.slack.command("påminnelser")
    assert_valid_message(reply)
    assert shown % total in visible_text(reply)


# --- channel posts in the workspace's language; a person is a mention -----------------------


def test_done_is_told_in_the_channel_in_the_workspaces_language_with_a_mention(
    world: World,
) -> None:
    speak(world, "nn", **{MEMBER: "en"})
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    message = post_first_reminder(world)
    assert_valid_message(message)
    # The reminder itself is the channel's: nynorsk, whoever reads it.
    assert message["text"] == "Påminning: Rapport – fristen er 8. desember 2026 (om 7 dagar)."
    buttons = [e["text"]["text"] for e in message["blocks"][-1]["elements"]]
    assert buttons == ["Ferdig", "Minn meg på i morgon"]
    stale = dict(message)
    world.click(message, DONE_ACTION, user=MEMBER)
    done = wait_for_update(world, 0)
    assert_valid_message(done)
    # The English-speaking member pressed it; the channel still reads nynorsk.
    update = world.fake.calls_to("chat.update")[-1].args
    assert update["text"] == f"Rapport: merkt som ferdig av <@{MEMBER}>."
    assert f"Merkt som ferdig av <@{MEMBER}> 1. desember 2026 kl." in visible_text(done)
    assert f"av {MEMBER}" not in update["text"] + visible_text(done)
    # What only the presser reads is in their own language.
    before = len(world.fake.responses)
    world.click(stale, DONE_ACTION, user=MEMBER)
    assert world.fake.wait_for(lambda: len(world.fake.responses) > before)
    assert world.fake.responses[-1][1]["text"] == (
        f"This deadline was already marked as done by <@{MEMBER}>."
    )
    before = len(world.fake.responses)
    world.click(stale, DONE_ACTION, user=ADMIN)
    assert world.fake.wait_for(lambda: len(world.fake.responses) > before)
    assert world.fake.responses[-1][1]["text"] == (
        f"Denne fristen var alt merkt som ferdig av <@{MEMBER}>."
    )


def test_done_in_bokmal_names_the_person_as_a_mention(world: World) -> None:
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    message = post_first_reminder(world)
    world.click(message, DONE_ACTION, user=MEMBER)
    wait_for_update(world, 0)
    update = world.fake.calls_to("chat.update")[-1].args
    assert update["text"] == f"Rapport: markert som ferdig av <@{MEMBER}>."


def test_a_snooze_is_confirmed_in_the_pressers_language(world: World) -> None:
    speak(world, "nn", **{MEMBER: "en"})
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    message = post_first_reminder(world)
    world.clock.now = FIRST + timedelta(hours=2)
    before = len(world.fake.responses)
    world.click(message, SNOOZE_ACTION, user=MEMBER)
    assert world.fake.wait_for(lambda: len(world.fake.responses) > before)
    assert world.fake.responses[-1][1]["text"] == (
        ":zzz: OK, I'll remind you again on Wednesday 2 December 2026 at 09:00."
    )
    # The reminder it brings back is the channel's: nynorsk.
    world.clock.now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert world.scheduler.tick().sent == 1
    again = world.channel_messages()[-1]
    assert f"Du bad om ei ny påminning i dag (<@{MEMBER}>)." in visible_text(again)


def test_a_moved_deadline_edits_the_posted_reminder_in_the_workspaces_language(
    world: World,
) -> None:
    speak(world, "nn", **{ADMIN: "en"})
    deadline = add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    post_first_reminder(world)
    with session_scope(world.engine, write=True) as session:
        row = session.get(Deadline, deadline)
        assert row is not None
        row.due_date, row.due_time = date(2026, 12, 15), time(12, 0)
    after_item_change(
        client=world.slack.app.client,
        services=world.slack.services,
        team_id=TEAM,
        kind="deadline",
        item_id=deadline,
        logger=logging.getLogger("test"),
    )
    edited = wait_for_update(world, 0)
    assert_valid_message(edited)
    assert ":warning: *Endra:* ny dato tysdag 15. desember 2026 kl. 12:00." in visible_text(edited)


def test_the_channel_offer_is_in_the_workspaces_language(world: World) -> None:
    speak(world, "nn", **{ADMIN: "en"})
    world.fake.add_channel("C0NEW", "ny", member=True)
    world.event(
        {
            "type": "member_joined_channel",
            "user": "U0DKSBOT",
            "channel": "C0NEW",
            "channel_type": "C",
            "team": TEAM,
            "inviter": ADMIN,
        }
    )
    assert world.fake.wait_for(lambda: world.fake.messages.get("C0NEW"))
    [offer] = world.fake.messages["C0NEW"]
    assert_valid_message(offer)
    assert offer["text"] == "Vil de ha påminningar om fristar og møte i denne kanalen?"
    assert offer["blocks"][-1]["elements"][0]["text"]["text"] == (
        "Bruk denne kanalen til påminningar"
    )


# --- the scheduler: a channel reads the workspace's language, a DM the person's -------------


@pytest.mark.parametrize(
    ("own", "expected"),
    [
        ("en", "I couldn't post a reminder in the channel: the bot is not in the channel."),
        (None, "Eg fekk ikkje posta ei påminning i kanalen: boten er ikkje med i kanalen."),
    ],
)
def test_the_alert_dm_is_in_the_coordinators_own_language(
    world: World, own: str | None, expected: str
) -> None:
    speak(world, "nn", **({ADMIN: own} if own else {}))
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    world.fake.channels[CHANNEL]["is_member"] = False
    world.clock.now = FIRST
    world.scheduler.tick()
    [dm] = world.fake.messages["D0ADMIN"]
    assert_valid_message(dm)
    assert dm["text"] == expected
    assert "`/dks påminningar kanal #kanal`" in visible_text(dm) or own == "en"


def test_a_late_reminder_and_its_note_are_in_the_workspaces_language(world: World) -> None:
    speak(world, "nn")
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    world.clock.now = FIRST + timedelta(hours=2)  # the bot was down at 09:00
    assert world.scheduler.tick().sent == 1
    [message] = world.channel_messages()
    assert_valid_message(message)
    text = visible_text(message)
    assert "Frist: *tysdag 8. desember 2026*" in text
    assert "Denne meldinga kjem for seint: ho skulle vore sendt 1. desember 2026 kl." in text
    assert "men boten var nede." in text


def test_the_languages_of_a_batch_are_read_in_a_few_queries(world: World) -> None:
    """Readers' languages for a batch come in one query per batch (two with DMs), not one
    per message."""
    from sqlalchemy import event

    speak(world, "nn")
    for n in range(6):
        add_deadline(world.engine, TEAM, f"Frist {n}", DUE)
    set_channel(world)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(world.engine, "before_cursor_execute", seen)
    try:
        world.clock.now = FIRST
        assert world.scheduler.tick().sent == 6
    finally:
        event.remove(world.engine, "before_cursor_execute", seen)
    # The readers' languages: one read of the workspaces' for the batch; no people's (every
    # message goes to a channel).
    language_reads = [
        s for s in statements if s.startswith("SELECT workspace.team_id, workspace.language")
    ]
    assert len(language_reads) == 1
    assert not [s for s in statements if "FROM user_language" in s]
    assert all(m["text"].startswith("Påminning: Frist") for m in world.channel_messages())


# --- the words of `/dks påminnelser` in every language ---------------------------------------


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_every_language_routes_every_languages_words(world: World, language: str) -> None:
    speak(world, language)
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    for typed in ("påminnelser av", "påminningar av", "reminders off"):
        world.slack.command(f"{typed.split()[0]} på")
        world.slack.command(typed)
        with session_scope(world.engine) as session:
            ws = session.get(Workspace, TEAM)
            assert ws is not None and ws.reminders_paused, typed
    for typed in ("påminnelser på", "påminningar på", "reminders on", "paminnelser pa"):
        world.slack.command("påminnelser av")
        world.slack.command(typed)
        with session_scope(world.engine) as session:
            ws = session.get(Workspace, TEAM)
            assert ws is not None and not ws.reminders_paused, typed
    for typed in ("påminnelser dager 5", "påminningar dagar 5", "reminders days 5"):
        world.slack.command("påminnelser dager standard")
        world.slack.command(typed)
        with session_scope(world.engine) as session:
            ws = session.get(Workspace, TEAM)
            assert ws is not None and ws.reminder_offsets_days == "5", typed
    world.slack.command("reminders days default")
    with session_scope(world.engine) as session:
        ws = session.get(Workspace, TEAM)
        assert ws is not None and ws.reminder_offsets_days is None
    heading = {
        "nb": "Påminnelser – status",
        "nn": "Påminningar – status",
        "en": "Reminders – status",
    }
    for typed in ("påminnelser status", "påminningar status", "reminders status"):
        reply = world.slack.command(typed, user=MEMBER)
        assert reply["blocks"][0]["text"]["text"] == heading[language]
    # Members may read but not change, in any language's words.
    for typed in ("påminningar av", "reminders off", "reminders channel #x"):
        refused = world.slack.command(typed, user=MEMBER)
        assert "/dks" in refused["text"]
        with session_scope(world.engine) as session:
            ws = session.get(Workspace, TEAM)
            assert ws is not None and not ws.reminders_paused


@pytest.mark.parametrize(
    ("language", "intro", "listed"),
    [
        ("nb", "Jeg forstår ikke «tull».", "/dks påminnelser kanal #kanal"),
        ("nn", "Eg forstår ikkje «tull».", "/dks påminningar kanal #kanal"),
        ("en", "I don't understand “tull”.", "/dks reminders channel #channel"),
    ],
)
def test_the_usage_reply_suggests_words_that_work(
    world: World, language: str, intro: str, listed: str
) -> None:
    speak(world, language)
    reply = world.slack.command("påminnelser tull")
    assert_valid_message(reply)
    assert reply["text"].startswith(intro)
    suggested = re.findall(r"`(/dks [^`]+)`", reply["text"])
    assert listed in suggested and len(suggested) >= 5
    for command in suggested:
        answer = world.slack.command(command.removeprefix("/dks "))
        assert not answer["text"].startswith(intro), command


def test_a_reply_in_nynorsk_reads_nynorsk(world: World) -> None:
    speak(world, "nn")
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    reply = world.slack.command("påminningar")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "Det er ikkje valt nokon kanal for påminningar enno" in text
    assert "`/dks påminningar kanal #kanal`" in text
    assert "• *tysdag 1. desember 2026 kl. 09:00* – «Rapport» (fristen 8. desember 2026)" in text
    reply = world.slack.command(f"påminningar kanal <#{CHANNEL}|dks>")
    assert reply["text"].startswith(
        f":white_check_mark: Påminningar kjem no i <#{CHANNEL}>. Neste: «Rapport», "
        "tysdag 1. desember 2026 kl. 09:00."
    )
    for word in ("ikke", "påminnelser", "dager", "hvor", "kommer"):
        assert word not in reply["text"]


def test_a_reply_in_english_reads_english(world: World) -> None:
    speak(world, "nb", **{ADMIN: "en"})
    add_deadline(world.engine, TEAM, "Rapport", DUE)
    set_channel(world)
    text = visible_text(world.slack.command("reminders"))
    assert f"The next reminders in <#{CHANNEL}>, and when they are posted:" in text
    assert "• *Tuesday 1 December 2026 at 09:00* – “Rapport” (deadline 8 December 2026)" in text
    reply = world.slack.command("reminders days 400")
    assert reply["text"] == "400 days before is too early; use at most 90."


# --- the CLI about a workspace --------------------------------------------------------------


def test_the_cli_preview_is_in_the_workspaces_language(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("BOT_TIMEZONE", "Europe/Oslo")
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with session_scope(sqlite_engine, write=True) as session:
        session.merge(
            Workspace(
                team_id="T0CLI", seeded_at=utcnow(), reminder_channel_id="C0REM", language="nn"
            )
        )
    add_meeting(sqlite_engine, "T0CLI", "Nettverksmøte", date(2026, 12, 9), start_time=time(12))
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False):
        result = CliRunner().invoke(
            cli, ["påminnelser", "forhåndsvis", "--til", "2026-12-31", "--team", "T0CLI"]
        )
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "2026-12-02 09:00  T0CLI  #C0REM  møte: Nettverksmøte – 9. desember 2026, 7 dagar før",
        "2026-12-08 09:00  T0CLI  #C0REM  møte: Nettverksmøte – 9. desember 2026, 1 dag før",
        "2026-12-09 09:00  T0CLI  #C0REM  møte: Nettverksmøte – 9. desember 2026, same morgon",
        "3 påminningar fram til og med 31. desember 2026.",
    ]


def test_a_message_sent_on_to_a_channel_is_written_for_the_channel(world: World) -> None:
    """A kind may send a DM on to a channel (feedback prompts do, when a school has no
    culture contact): it is rendered for the reader where it goes."""
    from bot.scheduler import build_scheduler
    from handlers.core.i18n import _
    from handlers.core.outbox_kinds import Kind, KindRegistry, RenderedMessage

    def render(session: Any, row: OutboxMessage, now: datetime) -> RenderedMessage:
        to_channel = bool((row.payload or {}).get("to_channel"))
        text = _("Påminnelser")
        return RenderedMessage(text, channel=CHANNEL if to_channel else None)

    speak(world, "nn", **{MEMBER: "en"})
    scheduler = build_scheduler(
        world.slack.settings,
        engine=world.engine,
        clock=world.clock,
        pace_seconds=0.1,
        kinds=KindRegistry([Kind("test_sent_on", render)]),
    )
    try:
        with session_scope(world.engine, write=True) as session:
            for key, to_channel in (("dm", False), ("on", True)):
                schedule_message(
                    session=session,
                    team_id=TEAM,
                    kind="test_sent_on",
                    unique_key=key,
                    ref=key,
                    due_at=FIRST - timedelta(hours=1),  # late: the note is the reader's too
                    target=MEMBER,
                    payload={"to_channel": to_channel},
                    now=FIRST,
                )
        world.clock.now = FIRST
        assert scheduler.tick().sent == 2
    finally:
        scheduler.shutdown()
    [dm] = world.fake.messages["D0MEMBER"]
    assert dm["text"] == "Reminders"
    assert "This message is late: it should have been sent on 1 December 2026" in visible_text(dm)
    [posted] = world.channel_messages()
    assert posted["text"] == "Påminningar"
    assert "Denne meldinga kjem for seint" in visible_text(posted)


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_help_writes_words_the_router_takes(world: World, language: str) -> None:
    """`/dks hjelp` shows the subcommand, its summary and example in the reader's language:
    every command word they name is one `/dks påminnelser` routes."""
    from handlers.core.i18n import _
    from handlers.reminders import SUBCOMMANDS
    from handlers.reminders.commands import READING_VERBS, WRITING_VERBS
    from storage.folding import fold

    [sub] = SUBCOMMANDS
    with use_language(language):
        summary, example, word = _(sub.summary), _(sub.example), sub.word()
    assert word == {"nb": "påminnelser", "nn": "påminningar", "en": "reminders"}[language]
    verbs = {**WRITING_VERBS, **READING_VERBS}
    named = [fragment.split()[0] for fragment in re.findall(r"`([^`]+)`", summary)]
    assert len(named) == 5 and all(fold(w) in verbs for w in named), named
    _slash, typed, verb, _channel = example.split()
    assert typed == word and fold(verb) in verbs
    speak(world, language)
    assert f"`/dks {word}`" in visible_text(world.slack.command("hjelp"))
