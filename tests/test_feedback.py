"""Scenario tests for feedback: signed interactions through the real HTTP endpoint.

The payloads are shaped as Slack documents them (block_actions, block_suggestion,
view_submission); the fake Slack validates every view the bot opens.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Option
from slack_sdk.models.views import View
from sqlalchemy import Engine
from sqlmodel import col, select

import handlers.feedback.listeners as feedback_listeners
from bot.scheduler import build_scheduler
from bot.shell.signing import block_actions_body, button_action, slash_command_body
from handlers.feedback.forms import (
    COMMENT_BLOCKS,
    FEEDBACK_CALLBACK_ID,
    PERFORMANCE_BLOCK,
    PUPILS_BLOCK,
    RATING_BLOCKS,
    STORE_FAILED,
)
from handlers.feedback.kinds import render_prompt
from handlers.feedback.views import (
    FEEDBACK_OPEN_ACTION,
    MISSING_BLOCK,
    PROMPT_BLOCK,
    THANKS_CALLBACK_ID,
    prompt_blocks,
)
from storage.db import session_scope
from storage.feedback import FOLLOWUP_KIND, PROMPT_KIND, respondent_key
from storage.importers.tourplan import import_tourplan, parse_tourplan
from storage.models import Contact, FeedbackAnswer, OutboxMessage, Performance, Workspace
from storage.tourplan import get_performance
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM
from tests.feedback_helpers import (
    KONTAKT,
    OSLO,
    SAMPLE,
    all_stored_text,
    block_suggestion_body,
    form_state,
    load_world,
    opened_view,
    view_submission_body,
)
from tests.helpers import assert_valid_message, visible_text

PLAY = "AS-H26-005"  # Brødrene Løvehjerte, Ås ungdomsskole, today 08:30–09:40
LATER_PLAY = "AS-H26-006"  # the same play at Nordbytun, today 11:00 (not started at 10:00)
STRINGS = "AS-H26-003"  # Strykere på skolebesøk, Nordby skole, 20 November


@pytest.fixture
def world(sqlite_engine, clock) -> dict[str, int]:
    return load_world(sqlite_engine, TEAM, clock.now)


def open_empty_form(slack: Any, *, user: str = ADMIN, text: str = "tilbakemelding") -> dict:
    body = slash_command_body(
        text=text,
        team_id=TEAM,
        user_id=user,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
    )
    before = len(slack.fake.calls_to("views.open"))
    response = slack.post(body)
    assert response.status_code == 200 and response.text == ""  # the modal is the answer
    return opened_view(slack.fake, count=before + 1)


def click(slack: Any, element: dict[str, Any], *, block_id: str, user: str = ADMIN, view=None):
    body = block_actions_body(
        team_id=TEAM,
        user_id=user,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
        action=button_action(element),
        block_id=block_id,
        view=view,
    )
    assert slack.post(body).status_code == 200


def prompt_for(engine: Engine, performance_id: int, kind: str = PROMPT_KIND):
    with session_scope(engine) as session:
        row = session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.ref).like(f"feedback:{performance_id}:%"),
                col(OutboxMessage.kind) == kind,
            )
        ).first()
        assert row is not None
        return row, render_prompt(session, row, row.due_at)


def open_prefilled(slack: Any, engine: Engine, performance_id: int, *, user: str = ADMIN):
    """Click «Gi tilbakemelding» in the prompt message (already posted, so still there)."""
    with session_scope(engine) as session:
        performance = get_performance(session=session, team_id=TEAM, performance_id=performance_id)
    assert performance is not None
    _, prompt = prompt_blocks(performance, OSLO, now=performance.ends_at)
    blocks = [b.to_dict() for b in prompt]
    actions = next(b for b in blocks if b["type"] == "actions")
    before = len(slack.fake.calls_to("views.open"))
    click(slack, actions["elements"][0], block_id=actions["block_id"], user=user)
    return opened_view(slack.fake, count=before + 1)


def submit(slack: Any, view: dict, state: dict, *, user: str = ADMIN) -> dict[str, Any]:
    body = view_submission_body(view=view, state=state, team_id=TEAM, user_id=user)
    response = slack.post(body)
    assert response.status_code == 200
    return json.loads(response.text) if response.text else {}


def answers(engine: Engine) -> list[FeedbackAnswer]:
    with session_scope(engine) as session:
        return list(session.exec(select(FeedbackAnswer).order_by(col(FeedbackAnswer.id))))


def element(view: dict, block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)["element"]


# --- opening ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["tilbakemelding", "evaluering"])
def test_slash_command_opens_an_empty_form_with_a_type_ahead(slack, world, text):
    view = open_empty_form(slack, text=text)
    assert view["callback_id"] == FEEDBACK_CALLBACK_ID
    select_element = element(view, PERFORMANCE_BLOCK)
    assert select_element["type"] == "external_select"
    assert select_element["min_query_length"] == 0  # «Ås» is two letters
    assert "initial_option" not in select_element
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels[:3] == ["Forestilling", "Helhetsinntrykk", "Kommentar til «helhetsinntrykk»"]
    assert "Var elevarrangører med?" in labels and "Hvor mange elever var til stede?" in labels
    anonymous = next(b for b in view["blocks"] if b.get("block_id") == "anonymous")
    assert "heller ikke boten" in anonymous["hint"]["text"]  # honest about the 14 days


def test_prompt_asks_the_kulturkontakt_and_its_button_opens_the_prefilled_form(
    slack, sqlite_engine, world
):
    row, rendered = prompt_for(sqlite_engine, world[PLAY])
    assert row.target == KONTAKT and rendered is not None and rendered.channel is None
    assert rendered.text.startswith(
        "Hvordan gikk «Brødrene Løvehjerte – en fortelling om mot» på Ås ungdomsskole i dag?"
    )
    message = {"text": rendered.text, "blocks": [b.to_dict() for b in rendered.blocks]}
    assert_valid_message(message)
    assert "24. november 2026 kl. 08:30–09:40 · Kulturhuset i Ås, storsalen" in visible_text(
        message
    )
    view = open_prefilled(slack, sqlite_engine, world[PLAY])
    chosen = element(view, PERFORMANCE_BLOCK)["initial_option"]
    assert chosen["value"] == str(world[PLAY])
    assert chosen["text"]["text"] == (
        "Brødrene Løvehjerte – en fortelling… – Ås ungdomsskole – 24. november 2026"
    )
    # The follow-up says the date rather than «i dag».
    _, followup = prompt_for(sqlite_engine, world[PLAY], FOLLOWUP_KIND)
    assert followup is not None
    assert followup.text.startswith("Påminnelse: Hvordan gikk «Brødrene Løvehjerte")
    assert "24. november 2026?" in followup.text


def test_prompt_goes_to_the_reminder_channel_when_no_kulturkontakt_is_on_slack(
    sqlite_engine, world
):
    row, rendered = prompt_for(sqlite_engine, world[STRINGS], FOLLOWUP_KIND)
    assert row.target == "" and rendered is None  # nobody to ask: cancelled, not failed
    with session_scope(sqlite_engine, write=True) as session:
        workspace = session.get(Workspace, TEAM)
        assert workspace is not None
        workspace.reminder_channel_id = CHANNEL
        session.add(workspace)
    _, rendered = prompt_for(sqlite_engine, world[STRINGS], FOLLOWUP_KIND)
    assert rendered is not None and rendered.channel == CHANNEL
    assert "på Nordby skole 20. november 2026?" in rendered.text
    # A kulturkontakt linked after the import is asked directly.
    with session_scope(sqlite_engine, write=True) as session:
        school_id = session.exec(
            select(Performance.school_id).where(col(Performance.id) == world[STRINGS])
        ).one()
        session.add(
            Contact(
                team_id=TEAM, role="kulturkontakt", slack_user_id="U0NORDBY", school_id=school_id
            )
        )
    _, rendered = prompt_for(sqlite_engine, world[STRINGS], FOLLOWUP_KIND)
    assert rendered is not None and rendered.channel == "U0NORDBY"


# --- the type-ahead ----------------------------------------------------------------------------


def test_block_suggestion_returns_options_newest_first(slack, world):
    view = open_empty_form(slack)

    def options(value: str) -> list[dict[str, Any]]:
        body = block_suggestion_body(view=view, value=value, team_id=TEAM, user_id=ADMIN)
        response = slack.post(body)
        assert response.status_code == 200
        # The body is serialised by the bot, not by Bolt: it must still go out as JSON (Socket
        # Mode only parses an application/json ack back into a payload).
        assert response.headers["content-type"].startswith("application/json")
        return json.loads(response.text)["options"]

    everything = options("")
    assert [o["value"] for o in everything][:2] == [str(world[PLAY]), str(world["AS-H26-004"])]
    assert str(world[LATER_PLAY]) not in [o["value"] for o in everything]  # not started yet
    assert all(len(o["text"]["text"]) <= 75 for o in everything)
    # The hand-built dicts are exactly what slack_sdk's Option would send.
    assert all(Option(text=o["text"]["text"], value=o["value"]).to_dict() == o for o in everything)
    assert [o["text"]["text"] for o in options("strykere")] == [
        "Strykere på skolebesøk – Brønnerud skole – 20. november 2026",
        "Strykere på skolebesøk – Nordby skole – 20. november 2026",
    ]
    assert [o["text"]["text"] for o in options("ås ungdom")] == [
        "Brødrene Løvehjerte – en fortelling… – Ås ungdomsskole – 24. november 2026"
    ]
    assert options("finnes ikke") == []
    # Each keystroke is a new search over the same index: ø/å folding, word prefixes.
    assert options("brodrene lovehj") == options("Brødrene Løvehj") == options("ås ungdom")


def test_block_suggestion_answers_empty_when_the_database_fails(slack, world, sqlite_engine):
    view = open_empty_form(slack)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tourplanstate")
    body = block_suggestion_body(view=view, value="", team_id=TEAM, user_id=ADMIN)
    response = slack.post(body)
    # Slack shows its own error for an unanswered type-ahead; an empty list lets the user type on.
    assert response.status_code == 200 and json.loads(response.text) == {"options": []}


# --- validation --------------------------------------------------------------------------------


def test_bad_fields_come_back_as_errors_on_their_blocks(slack, sqlite_engine, world):
    view = open_empty_form(slack)
    state = form_state(
        view,
        performance=(world[LATER_PLAY], "Brødrene Løvehjerte – Nordbytun"),
        ratings={"artistic": None},
        comments={"pupils": "x" * 1001},
        pupils="2500",
    )
    reply = submit(slack, view, state)
    assert reply == {
        "response_action": "errors",
        "errors": {
            PERFORMANCE_BLOCK: "Forestillingen har ikke begynt ennå (den starter "
            "24. november 2026 kl. 11:00). Du kan gi tilbakemelding etterpå.",
            RATING_BLOCKS["artistic"]: "Velg et svar fra «svært bra» til «ikke bra».",
            COMMENT_BLOCKS["pupils"]: "Kommentaren er 1001 tegn. Kort den ned til høyst 1000 tegn.",
            PUPILS_BLOCK: "Skriv antall elever som et helt tall fra 0 til 2000 (du skrev «2500»).",
        },
    }
    reply = submit(slack, view, form_state(view, performance=None, pupils="-3"))
    assert reply == {
        "response_action": "errors",
        "errors": {
            PERFORMANCE_BLOCK: "Velg forestillingen du gir tilbakemelding på.",
            PUPILS_BLOCK: "Skriv antall elever som et helt tall fra 0 til 2000 (du skrev «-3»).",
        },
    }
    cancelled = (world["AS-H26-010"], "Forfatterbesøk – Nordbytun")
    reply = submit(slack, view, form_state(view, performance=cancelled))
    assert reply["errors"] == {PERFORMANCE_BLOCK: "Den forestillingen er avlyst. Velg en annen."}
    assert answers(sqlite_engine) == []


# --- storing -----------------------------------------------------------------------------------


def outbox_states(engine: Engine, performance_id: int) -> dict[str, str]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.ref).like(f"feedback:{performance_id}:%"))
        ).all()
        return {r.unique_key.rsplit(":", 1)[1]: r.state for r in rows}


def test_a_good_answer_is_stored_and_its_follow_ups_cancelled(slack, sqlite_engine, world):
    assert set(outbox_states(sqlite_engine, world[PLAY]).values()) == {"pending"}
    view = open_prefilled(slack, sqlite_engine, world[PLAY], user=KONTAKT)
    reply = submit(
        slack,
        view,
        form_state(
            view,
            comments={"overall": "Elevene satt helt stille i en hel time!"},
            pupil_hosts="ja",
            pupils="152",
            free="Lydanlegget i storsalen knitret litt.",
        ),
        user=KONTAKT,
    )
    assert reply["response_action"] == "update"
    thanks = reply["view"]
    View(**thanks).validate_json()
    assert thanks["callback_id"] == THANKS_CALLBACK_ID
    text = json.dumps(thanks, ensure_ascii=False)
    assert "er lagret" in text and "til og med 8. desember 2026" in text
    [stored] = answers(sqlite_engine)
    assert stored.performance_id == world[PLAY] and stored.user_id == KONTAKT
    assert (stored.rating_overall, stored.rating_practical, stored.pupils_attended) == (5, 3, 152)
    assert stored.comment_overall == "Elevene satt helt stille i en hel time!"
    assert stored.pupil_hosts == "ja" and stored.anonymous is False
    assert outbox_states(sqlite_engine, world[PLAY]) == {
        "prompt": "cancelled",
        "followup1": "cancelled",
        "followup2": "cancelled",
    }
    assert set(outbox_states(sqlite_engine, world["AS-H26-007"]).values()) == {"pending"}
    # And if the scheduler got to a row anyway, the renderer declines to ask again.
    _, rendered = prompt_for(sqlite_engine, world[PLAY], FOLLOWUP_KIND)
    assert rendered is None
    # «Endre svaret» in the thank-you view turns it back into the form, with the answer.
    button = next(b for b in thanks["blocks"] if b["type"] == "actions")["elements"][0]
    shown = {**thanks, "id": view["id"], "hash": "1700000001.thanks"}
    click(slack, button, block_id=PROMPT_BLOCK, user=KONTAKT, view=shown)
    updated = opened_view(slack.fake, "views.update")
    assert updated["id"] == view["id"] and updated["callback_id"] == FEEDBACK_CALLBACK_ID
    assert element(updated, PUPILS_BLOCK)["initial_value"] == "152"


def test_a_double_submit_or_a_retry_stores_one_answer(make_driver, engine, clock):
    """On SQLite and PostgreSQL, where two racing inserts meet the unique key."""
    ids = load_world(engine, TEAM, clock.now)
    slack = make_driver(engine)
    view = open_prefilled(slack, engine, ids[PLAY])
    state = form_state(view, free="Fint!")
    first = submit(slack, view, state)
    second = submit(slack, view, state)
    assert "er lagret" in json.dumps(first["view"], ensure_ascii=False)
    assert "er oppdatert" in json.dumps(second["view"], ensure_ascii=False)
    # A new sender clicking «Send» four times at once.
    view = open_prefilled(slack, engine, ids["AS-H26-004"], user=MEMBER)
    state = form_state(view, free="Dobbeltklikk")
    replies: list[dict] = []
    threads = [
        threading.Thread(target=lambda: replies.append(submit(slack, view, state, user=MEMBER)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["response_action"] for r in replies] == ["update"] * 4
    assert sorted(a.free_comment or "" for a in answers(engine)) == ["Dobbeltklikk", "Fint!"]


def test_the_sender_can_edit_for_14_days_and_not_after(
    slack, sqlite_engine, world, clock, monkeypatch
):
    # Buttons and `/dks tilbakemelding` purge expired keys after their reply. The clock may
    # only move on once those purges are over, or a late one purges with the later time (as
    # on a loaded machine it did).
    purges = {"started": 0, "finished": 0}
    lock = threading.Lock()
    purge = feedback_listeners.forget_quietly

    def counted_purge(*args: Any) -> None:
        with lock:
            purges["started"] += 1
        try:
            purge(*args)
        finally:
            with lock:
                purges["finished"] += 1

    def wait_for_purges(count: int) -> None:
        deadline = time.monotonic() + 10
        while True:
            with lock:
                if purges["finished"] == purges["started"] >= count:
                    return
            assert time.monotonic() < deadline, purges
            time.sleep(0.005)

    monkeypatch.setattr(feedback_listeners, "forget_quietly", counted_purge)
    view = open_prefilled(slack, sqlite_engine, world[PLAY], user=MEMBER)
    submit(slack, view, form_state(view, pupils="140", free="Første tanke"), user=MEMBER)
    # Reopened from the prompt, the form shows the answer.
    view = open_prefilled(slack, sqlite_engine, world[PLAY], user=MEMBER)
    assert element(view, PUPILS_BLOCK)["initial_value"] == "140"
    free = next(b for b in view["blocks"] if b.get("block_id") == "free_comment")
    assert free["element"]["initial_value"] == "Første tanke"
    assert any("Du endrer svaret" in json.dumps(b, ensure_ascii=False) for b in view["blocks"])
    reply = submit(slack, view, form_state(view, free="Andre tanke"), user=MEMBER)
    assert reply["response_action"] == "update"
    [stored] = answers(sqlite_engine)
    assert stored.free_comment == "Andre tanke" and stored.pupils_attended == 140

    # `/dks tilbakemelding` lists it as editable; the button puts the form on top.
    empty = open_empty_form(slack, user=MEMBER)
    listed = next(b for b in empty["blocks"] if b.get("block_id") == "feedback_editable")
    button = listed["elements"][0]
    assert button["action_id"].startswith(FEEDBACK_OPEN_ACTION)
    assert button["text"]["text"].startswith("Brødrene Løvehjerte")
    click(slack, button, block_id=listed["block_id"], user=MEMBER, view=empty)
    pushed = opened_view(slack.fake, "views.push")
    assert element(pushed, PUPILS_BLOCK)["initial_value"] == "140"
    # Two prompt buttons, the slash command and this button.
    wait_for_purges(4)

    clock.now += timedelta(days=14, minutes=1)
    reply = submit(slack, view, form_state(view, free="For sent"), user=MEMBER)
    assert reply == {
        "response_action": "errors",
        "errors": {
            PERFORMANCE_BLOCK: "Du har allerede svart på denne forestillingen, og svaret "
            "kunne bare endres til og med 8. desember 2026."
        },
    }
    [stored] = answers(sqlite_engine)
    assert stored.free_comment == "Andre tanke" and stored.respondent_key is not None
    # The scheduler's tick runs the «forget» row that was planned for the window's end.
    with build_scheduler(slack.settings, engine=sqlite_engine, clock=clock) as scheduler:
        scheduler.tick()
    [stored] = answers(sqlite_engine)
    assert stored.respondent_key is None and stored.user_id == MEMBER  # not anonymous


def test_a_store_that_cannot_finish_in_time_keeps_the_form_open(
    slack, sqlite_engine, world, monkeypatch
):
    monkeypatch.setattr(feedback_listeners, "SUBMIT_BUDGET_SECONDS", 0.8)
    view = open_prefilled(slack, sqlite_engine, world[PLAY])
    state = form_state(view, free="Skrevet med omhu")
    blocker = sqlite_engine.raw_connection()
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        reply = submit(slack, view, state)
    finally:
        blocker.rollback()
        blocker.close()
    assert reply == {"response_action": "errors", "errors": {PERFORMANCE_BLOCK: STORE_FAILED}}
    assert answers(sqlite_engine) == []
    assert submit(slack, view, state)["response_action"] == "update"
    assert [a.free_comment for a in answers(sqlite_engine)] == ["Skrevet med omhu"]


def test_an_anonymous_answer_leaves_no_trace_of_the_sender(make_driver, engine, clock):
    """On SQLite and PostgreSQL: the user id is in no table, and after 14 days nor its HMAC."""
    ids = load_world(engine, TEAM, clock.now)
    slack = make_driver(engine)
    sender = "U0ANONYM"
    slack.fake.add_user(sender, "Anna Anonym")
    view = open_prefilled(slack, engine, ids[PLAY], user=sender)
    reply = submit(
        slack,
        view,
        form_state(view, anonymous=True, free="Helt ærlig: for lang."),
        user=sender,
    )
    assert reply["response_action"] == "update"
    assert "anonymt" in json.dumps(reply["view"], ensure_ascii=False)
    [stored] = answers(engine)
    assert stored.anonymous and stored.user_id is None
    everything = all_stored_text(engine)
    assert "Helt ærlig: for lang." in everything  # the scan does see the answer…
    assert sender not in everything and "Anna Anonym" not in everything  # …but not who
    key = respondent_key(slack.settings.secret_key, TEAM, sender)
    assert key in everything  # the bot can still recognise the sender for 14 days

    clock.now += timedelta(days=14, minutes=1)
    view = open_prefilled(slack, engine, ids["AS-H26-004"])  # any later submit purges
    submit(slack, view, form_state(view))
    everything = all_stored_text(engine)
    assert sender not in everything and key not in everything


# --- the summary and the export ------------------------------------------------------------------


def seed_answers(slack: Any, engine: Engine, ids: dict[str, int]) -> None:
    view = open_prefilled(slack, engine, ids[PLAY], user=MEMBER)
    submit(
        slack,
        view,
        form_state(view, comments={"relevance": "Passet fint til norskfaget."}),
        user=MEMBER,
    )
    view = open_prefilled(slack, engine, ids[PLAY], user=KONTAKT)
    submit(
        slack,
        view,
        form_state(
            view, ratings={"overall": 4, "practical": 2}, anonymous=True, free="For lite plass."
        ),
        user=KONTAKT,
    )


def test_summary_shows_comments_to_coordinators_and_averages_to_everyone(
    slack, sqlite_engine, world
):
    seed_answers(slack, sqlite_engine, world)
    reply = slack.command("tilbakemelding oppsummering løvehjerte", user=ADMIN)
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "Tilbakemeldinger – Brødrene Løvehjerte – en fortelling om mot" in text
    assert "2 svar · svar fra 1 av 1 holdt forestilling (100\u00a0%)" in text
    assert "Helhetsinntrykk: *4,5*" in text and "Praktisk gjennomføring: *2,5*" in text
    assert "«Passet fint til norskfaget.»" in text and f"<@{MEMBER}>" in text
    assert "«For lite plass.»\n— anonym, Ås ungdomsskole" in text
    assert KONTAKT not in json.dumps(reply)
    assert any(b["type"] == "actions" for b in reply["blocks"])

    reply = slack.command("evaluering oppsummering løvehjerte", user=MEMBER)
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "Helhetsinntrykk: *4,5*" in text
    assert "norskfaget" not in text and "For lite plass" not in text
    assert "Bare koordinatorer ser kommentarene." in text
    assert not any(b["type"] == "actions" for b in reply["blocks"])

    overview = visible_text(slack.command("tilbakemelding oppsummering"))
    assert "2 svar i alt, fra 1 av 5 holdte forestillinger (20\u00a0%)." in overview
    missing = visible_text(slack.command("tilbakemelding oppsummering sirkus"))
    assert "Fant ingen produksjon som passer «sirkus»" in missing


def test_export_button_uploads_the_file_to_a_dm_after_the_ack(slack, sqlite_engine, world):
    seed_answers(slack, sqlite_engine, world)
    reply = slack.command("tilbakemelding oppsummering løvehjerte", user=ADMIN)
    actions = next(b for b in reply["blocks"] if b["type"] == "actions")
    excel, csv_button = actions["elements"]
    fake = slack.fake

    click(slack, csv_button, block_id=actions["block_id"], user=ADMIN)
    assert fake.wait_for(lambda: any(u.get("channel") for u in fake.uploads.values()))
    assert fake.calls_to("conversations.open")[0].args["users"] == ADMIN
    [upload] = [u for u in fake.uploads.values() if u.get("channel")]
    assert upload["channel"] == "D0ADMIN" and upload["filename"].endswith(".csv")
    content = upload["content"]
    assert content.startswith("\ufeff".encode())
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:5] == [
        "Svar-ID",
        "Innsendt",
        "Sist endret",
        "Forestilling-ID",
        "Produksjon",
    ]
    assert len(lines) == 3 and "Brødrene Løvehjerte – en fortelling om mot" in lines[1]
    assert fake.wait_for(lambda: any("Filen med 2 svar" in str(r) for _, r in fake.responses))

    click(slack, excel, block_id=actions["block_id"], user=ADMIN)
    assert fake.wait_for(
        lambda: any(str(u.get("filename")).endswith(".xlsx") and u.get("channel")
                    for u in fake.uploads.values())
    )  # fmt: skip
    xlsx = next(u for u in fake.uploads.values() if str(u["filename"]).endswith(".xlsx"))
    assert xlsx["content"][:2] == b"PK"  # a zip: a real xlsx

    before = len(fake.uploads)
    click(slack, csv_button, block_id=actions["block_id"], user=MEMBER)
    assert fake.wait_for(lambda: any("Bare koordinatorer" in str(r) for _, r in fake.responses))
    assert len(fake.uploads) == before


def test_a_moved_performance_or_an_unlinked_contact_stops_the_old_prompt(
    sqlite_engine, world, clock
):
    old_row, rendered = prompt_for(sqlite_engine, world[PLAY])
    assert rendered is not None
    moved = SAMPLE.read_text(encoding="utf-8").replace(
        "24.11.2026;08:30;09:40", "25.11.2026;08:30;09:40"
    )
    with session_scope(sqlite_engine, write=True) as session:
        import_tourplan(
            session=session,
            team_id=TEAM,
            data=parse_tourplan(moved.encode()),
            tz=OSLO,
            now=clock.now,
        )
    with session_scope(sqlite_engine) as session:
        row = session.get(OutboxMessage, old_row.id)
        assert row is not None and row.state == "cancelled"
        # Even a tick that claimed the old row before the import would not ask about it.
        assert render_prompt(session, row, clock.now) is None
    with session_scope(sqlite_engine, write=True) as session:
        contact = session.exec(select(Contact).where(col(Contact.slack_user_id) == KONTAKT)).one()
        contact.historical = True
        session.add(contact)
    with session_scope(sqlite_engine) as session:
        new_row = session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.ref).like(f"feedback:{world[PLAY]}:%"),
                col(OutboxMessage.state) == "pending",
                col(OutboxMessage.kind) == PROMPT_KIND,
            )
        ).one()
        assert new_row.due_at == datetime(2026, 11, 25, 8, 40, tzinfo=UTC)
        assert render_prompt(session, new_row, clock.now) is None  # nobody left to ask


# --- through the scheduler's tick ------------------------------------------------------------


def test_the_scheduler_asks_once_after_the_performance_and_an_answer_stops_follow_ups(
    make_driver, make_scheduler, sqlite_engine, clock
):
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 09:00 in Oslo, before the play ends
    ids = load_world(sqlite_engine, TEAM, clock.now)
    slack = make_driver(sqlite_engine)
    scheduler = make_scheduler(slack.settings, engine=sqlite_engine, clock=clock)
    scheduler.tick()
    assert slack.fake.messages.get("D0KONTAKT", []) == []
    clock.now = datetime(2026, 11, 24, 8, 41, tzinfo=UTC)  # the play ended at 09:40
    scheduler.tick()
    scheduler.tick()  # a second tick (or a restarted process) posts nothing twice
    [posted] = slack.fake.messages["D0KONTAKT"]
    assert posted["text"].startswith("Hvordan gikk «Brødrene Løvehjerte")
    assert_valid_message(posted)
    actions = next(b for b in posted["blocks"] if b["type"] == "actions")
    assert actions["block_id"] == PROMPT_BLOCK
    click(slack, actions["elements"][0], block_id=actions["block_id"], user=KONTAKT)
    view = opened_view(slack.fake)
    assert element(view, PERFORMANCE_BLOCK)["initial_option"]["value"] == str(ids[PLAY])
    assert submit(slack, view, form_state(view), user=KONTAKT)["response_action"] == "update"
    # The follow-up days come and go without a word to the kulturkontakt.
    for moment in (
        datetime(2026, 11, 26, 8, 1, tzinfo=UTC),
        datetime(2026, 11, 30, 8, 1, tzinfo=UTC),
        datetime(2026, 12, 1, 8, 1, tzinfo=UTC),
    ):
        clock.now = moment
        scheduler.tick()
    assert len(slack.fake.messages["D0KONTAKT"]) == 1
    assert outbox_states(sqlite_engine, ids[PLAY]) == {
        "prompt": "sent",
        "followup1": "cancelled",
        "followup2": "cancelled",
    }


def test_an_unanswered_performance_gets_two_follow_ups_and_no_more(
    make_driver, make_scheduler, sqlite_engine, clock
):
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    load_world(sqlite_engine, TEAM, clock.now)
    slack = make_driver(sqlite_engine)
    scheduler = make_scheduler(slack.settings, engine=sqlite_engine, clock=clock)
    posted_at = []
    start = datetime(2026, 11, 24, tzinfo=UTC)
    for day in range(10):
        for hour in (8, 9, 12):  # 09, 10 and 13 in Oslo
            clock.now = start + timedelta(days=day, hours=hour, minutes=1)
            before = len(slack.fake.messages.get("D0KONTAKT", []))
            scheduler.tick()
            for message in slack.fake.messages.get("D0KONTAKT", [])[before:]:
                if "Løvehjerte" in message["text"]:
                    posted_at.append(clock.now.astimezone(OSLO).strftime("%a %d %H"))
    texts = [m["text"] for m in slack.fake.messages["D0KONTAKT"] if "Løvehjerte" in m["text"]]
    # Tuesday's prompt after the 09:40 end, then follow-ups at 09:00 on Thursday (two working
    # days) and the next Tuesday (five); nothing after that.
    assert posted_at == ["Tue 24 10", "Thu 26 09", "Tue 01 09"]
    assert [t.split(":")[0] for t in texts[1:]] == ["Påminnelse", "Påminnelse"]


# --- the Home tab ----------------------------------------------------------------------------


def test_home_lists_held_performances_without_feedback_and_opens_the_form_from_there(
    slack, sqlite_engine, world
):
    from tests.test_editing import open_home
    from tests.test_home import assert_valid_home, headers

    home = open_home(slack, user=KONTAKT)
    assert_valid_home(home)
    assert "Tilbakemeldinger som mangler" in headers(home)
    rows = [b for b in home["blocks"] if b.get("block_id", "").startswith(MISSING_BLOCK)]
    shown = [visible_text({"blocks": [b]}) for b in rows]
    # Held and unanswered, newest first; today's later play has not started, so is not there.
    assert "Brødrene Løvehjerte" in shown[0] and "Ås ungdomsskole" in shown[0]
    assert any("Strykere på skolebesøk" in s for s in shown)
    assert not any("Nordbytun" in s for s in shown)

    # «Gi tilbakemelding» from the Home tab opens the prefilled form over it.
    first = rows[0]
    before = len(slack.fake.calls_to("views.open"))
    click(slack, first["accessory"], block_id=first["block_id"], user=KONTAKT, view=home)
    view = opened_view(slack.fake, count=before + 1)
    assert element(view, PERFORMANCE_BLOCK)["initial_option"]["value"] == str(world[PLAY])
    assert not slack.fake.calls_to("views.update"), "the Home tab itself is left alone"

    # Answered, it leaves the list.
    submit(slack, view, form_state(view), user=KONTAKT)
    again = open_home(slack, user=KONTAKT)
    assert "Brødrene Løvehjerte" not in visible_text(
        {"blocks": [b for b in again["blocks"] if b.get("block_id", "").startswith(MISSING_BLOCK)]}
    )


def test_home_has_no_missing_feedback_section_without_a_tour_plan(slack):
    from tests.test_editing import open_home
    from tests.test_home import headers

    assert "Tilbakemeldinger som mangler" not in headers(open_home(slack))


def test_missing_feedback_section_says_how_many_and_stops_counting_past_a_hundred():
    from zoneinfo import ZoneInfo

    from handlers.feedback.views import missing_feedback_blocks
    from storage.feedback import MissingFeedback

    row = MissingFeedback(
        7,
        "Jazz & joik",
        "Ås skole",
        datetime(2026, 11, 20, 9, tzinfo=UTC),
        datetime(2026, 11, 20, 10, tzinfo=UTC),
    )
    oslo = ZoneInfo("Europe/Oslo")
    assert missing_feedback_blocks([], 0, days=30, tz=oslo) == []
    for total, said in (
        (1, "1 forestilling fra"),
        (3, "Viser 1 av 3 forestillinger"),
        (101, "Viser 1 av over 100"),
    ):
        blocks = [b.to_dict() for b in missing_feedback_blocks([row], total, days=30, tz=oslo)]
        assert_valid_message({"text": "x", "blocks": blocks})
        text = visible_text({"blocks": blocks})
        assert said in text and "Jazz &amp; joik" in text and "20. november 2026" in text
