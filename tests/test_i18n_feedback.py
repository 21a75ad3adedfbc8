"""Feedback and the directory in bokmål, nynorsk and English: the words a user reads, the
counts that pick a noun's form (the grammar slips of #14), the subcommands' words in each
language, and the export, whose words follow the workspace's language whoever asks."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from handlers.core.i18n import use_language
from handlers.feedback.export import export_name, render_export
from handlers.feedback.forms import PERFORMANCE_BLOCK, PUPILS_BLOCK
from handlers.feedback.views import MISSING_BLOCK, missing_feedback_blocks, totals_intro
from storage.db import session_scope
from storage.feedback import FOLLOWUP_KIND, MissingFeedback, Totals
from storage.feedback_export import export_rows
from storage.workspaces import set_user_language, set_workspace_language
from tests.conftest import ADMIN, MEMBER, TEAM
from tests.feedback_helpers import KONTAKT, OSLO, block_suggestion_body, form_state, load_world
from tests.helpers import add_contact, assert_valid_message, visible_text
from tests.test_feedback import (
    PLAY,
    click,
    element,
    open_empty_form,
    open_prefilled,
    prompt_for,
    seed_answers,
    submit,
)

TITLE = "Brødrene Løvehjerte – en fortelling om mot"


@pytest.fixture
def world(sqlite_engine: Engine, clock: Any) -> dict[str, int]:
    return load_world(sqlite_engine, TEAM, clock.now)


def speak(engine: Engine, language: str | None, *, user: str | None = None) -> None:
    """The workspace's language, or (with `user`) a person's own."""
    with session_scope(engine, write=True) as session:
        if user is None:
            assert language is not None
            set_workspace_language(session=session, team_id=TEAM, language=language)
        else:
            set_user_language(session=session, team_id=TEAM, user_id=user, language=language)


# --- «svar fra 1 av 1 holdte forestilling»: the count of performances held governs ------------


@pytest.mark.parametrize(
    ("language", "one_held", "five_held"),
    [
        (
            "nb",
            "2 svar · svar fra 1 av 1 holdt forestilling (100\u00a0%)",
            "2 svar i alt, fra 1 av 5 holdte forestillinger (20\u00a0%).",
        ),
        (
            "nn",
            "2 svar · svar frå 1 av 1 gjennomført framsyning (100\u00a0%)",
            "2 svar i alt, frå 1 av 5 gjennomførte framsyningar (20\u00a0%).",
        ),
        (
            "en",
            "2 answers · answers from 1 of 1 performance held (100%)",
            "2 answers in total, from 1 of 5 performances held (20%).",
        ),
    ],
)
def test_the_summary_agrees_with_the_number_of_performances_held(
    slack, sqlite_engine, world, language, one_held, five_held
):
    seed_answers(slack, sqlite_engine, world)
    speak(sqlite_engine, language)
    reply = slack.command("tilbakemelding oppsummering løvehjerte")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert one_held in text
    assert "holdte forestilling " not in text and "holdte forestilling (" not in text
    assert five_held in visible_text(slack.command("tilbakemelding oppsummering"))


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("nb", "1 svar i alt, fra 1 av 1 holdt forestilling (100\u00a0%)."),
        ("nn", "1 svar i alt, frå 1 av 1 gjennomført framsyning (100\u00a0%)."),
        ("en", "1 answer in total, from 1 of 1 performance held (100%)."),
    ],
)
def test_the_totals_say_one_performance_held_in_the_singular(language, said):
    with use_language(language):
        assert totals_intro(Totals(1, 1, 1, 1)) == said


# --- plural by count, and «Viser N av M», in the Home tab's missing feedback ------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "nb",
            [
                "1 forestilling fra de siste 30 dagene uten tilbakemelding.",
                "Viser 1 av 3 forestillinger fra de siste 30 dagene uten tilbakemelding.",
                "Viser 1 av over 100 forestillinger fra de siste 30 dagene",
            ],
        ),
        (
            "nn",
            [
                "1 framsyning frå dei siste 30 dagane utan tilbakemelding.",
                "Viser 1 av 3 framsyningar frå dei siste 30 dagane utan tilbakemelding.",
                "Viser 1 av over 100 framsyningar frå dei siste 30 dagane",
            ],
        ),
        (
            "en",
            [
                "1 performance from the last 30 days without feedback.",
                "Showing 1 of 3 performances from the last 30 days without feedback.",
                "Showing 1 of over 100 performances from the last 30 days",
            ],
        ),
    ],
)
def test_missing_feedback_counts_pick_the_right_form(language, expected):
    row = MissingFeedback(
        7,
        "Jazz & joik",
        "Ås skole",
        datetime(2026, 11, 20, 9, tzinfo=UTC),
        datetime(2026, 11, 20, 10, tzinfo=UTC),
    )
    with use_language(language):
        for total, said in zip((1, 3, 101), expected, strict=True):
            blocks = [b.to_dict() for b in missing_feedback_blocks([row], total, days=30, tz=OSLO)]
            assert_valid_message({"text": "x", "blocks": blocks})
            assert said in visible_text({"blocks": blocks})
    with use_language("nb"):
        one = visible_text(
            {"blocks": [b.to_dict() for b in missing_feedback_blocks([row], 1, days=30, tz=OSLO)]}
        )
    assert "1 forestillinger" not in one


def test_the_home_tab_keeps_each_readers_language(slack, sqlite_engine, world):
    from tests.test_editing import open_home
    from tests.test_home import assert_valid_home, headers

    speak(sqlite_engine, "nn", user=KONTAKT)
    nynorsk = open_home(slack, user=KONTAKT)
    bokmal = open_home(slack, user=ADMIN)  # within the section's cached minute
    assert_valid_home(nynorsk)
    assert "Tilbakemeldingar som manglar" in headers(nynorsk)
    assert "Tilbakemeldinger som mangler" in headers(bokmal)
    section = {
        "blocks": [
            b
            for b in nynorsk["blocks"]
            if b.get("block_id", "").startswith(MISSING_BLOCK) or b["type"] == "context"
        ]
    }
    buttons = [b["accessory"]["text"]["text"] for b in section["blocks"] if b.get("accessory")]
    assert buttons and set(buttons) == {"Gi tilbakemelding"}
    said = visible_text(section)
    assert "framsyningar frå dei siste 30 dagane utan tilbakemelding" in said
    assert "forestilling" not in said


# --- /dks kontakt ------------------------------------------------------------------------------


def many_teachers(engine: Engine) -> None:
    for n in range(12):
        add_contact(engine, TEAM, name=f"Lærar {n:02d}", role="kulturkontakt")


@pytest.mark.parametrize(
    ("language", "command", "more", "none"),
    [
        (
            "nb",
            "kontakt",
            "Viser 10 av 12 treff. Legg til et ord for å snevre inn.",
            "Fant ingen kontakter som passer «Trondheim».",
        ),
        (
            "nn",
            "kontakt",
            "Viser 10 av 12 treff. Legg til eit ord for å avgrense søket.",
            "Fann ingen kontaktar som passar «Trondheim».",
        ),
        (
            "en",
            "contact",
            "Showing 10 of 12 matches. Add a word to narrow it down.",
            "No contacts match “Trondheim”.",
        ),
    ],
)
def test_contact_search_in_each_language(slack, sqlite_engine, language, command, more, none):
    many_teachers(sqlite_engine)
    speak(sqlite_engine, language, user=ADMIN)
    reply = slack.command(f"{command} lærar")
    assert_valid_message(reply)
    assert more in visible_text(reply)
    missing = slack.command(f"{command} Trondheim")
    assert_valid_message(missing)
    assert missing["text"] == none
    assert none in visible_text(missing)


def test_contact_search_without_words_and_historical_notes_per_reader(slack, sqlite_engine):
    add_contact(sqlite_engine, TEAM, name="Gamle Gunnar", role="kulturkontakt", historical=True)
    speak(sqlite_engine, "en", user=MEMBER)
    usage = visible_text(slack.command("contact", user=MEMBER))
    assert "Type who you're looking for, for example `/dks contact kulturkontakt Ås`" in usage
    # The contact's block is kept in the directory's memo: per language, not the first reader's.
    bokmal = visible_text(slack.command("kontakt gunnar", user=ADMIN))
    english = slack.command("kontakt gunnar", user=MEMBER)
    assert "Denne kontakten er historisk og kan være utdatert." in bokmal
    assert "This contact is historical and may be out of date." in visible_text(english)
    assert "Contacts – “gunnar”" in visible_text(english)
    assert english["text"] == "Contacts: Gamle Gunnar"


# --- /dks tilbakemelding and its words ----------------------------------------------------------


def test_feedback_subcommand_takes_the_nynorsk_and_english_words(slack, sqlite_engine, world):
    seed_answers(slack, sqlite_engine, world)
    speak(sqlite_engine, "en", user=ADMIN)
    reply = slack.command("feedback summary løvehjerte")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert f"Feedback – {TITLE}" in text
    assert f"*{TITLE}* (performing arts)" in text  # the art form is the bot's word, not data
    assert "Overall impression: *4.5*" in text and "Average on a scale from 1" in text
    assert "Download as Excel" in text and "Latest comments" in text
    assert reply["text"].startswith(f"Feedback – {TITLE}: {TITLE} (2 answers)")
    usage = visible_text(slack.command("feedback whatever"))
    assert "`/dks feedback summary [production]`" in usage

    speak(sqlite_engine, "nn", user=MEMBER)
    text = visible_text(slack.command("tilbakemelding oppsummering løvehjerte", user=MEMBER))
    assert f"Tilbakemeldingar – {TITLE}" in text
    assert "Heilskapsinntrykk: *4,5*" in text
    assert "Berre koordinatorar ser kommentarane." in text
    overview = visible_text(slack.command("tilbakemelding samandrag", user=MEMBER))
    assert "2 svar i alt, frå 1 av 5 gjennomførte framsyningar" in overview
    missing = visible_text(slack.command("tilbakemelding oppsummering sirkus", user=MEMBER))
    assert "Fann ingen produksjon som passar «sirkus»" in missing


def test_the_form_speaks_the_readers_language(slack, sqlite_engine, world):
    speak(sqlite_engine, "nn", user=KONTAKT)
    view = open_prefilled(slack, sqlite_engine, world[PLAY], user=KONTAKT)
    assert view["title"]["text"] == "Tilbakemelding"
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels[:3] == ["Framsyning", "Heilskapsinntrykk", "Kommentar til «heilskapsinntrykk»"]
    assert "Kor mange elevar var til stades?" in labels
    options = element(view, "rating_overall")["options"]
    assert [o["text"]["text"] for o in options][-1] == "ikkje bra"
    reply = submit(slack, view, form_state(view, pupils="2500"), user=KONTAKT)
    assert reply["errors"] == {
        PUPILS_BLOCK: "Skriv talet på elevar som eit heilt tal frå 0 til 2000 (du skreiv «2500»)."
    }
    reply = submit(slack, view, form_state(view, pupils="150"), user=KONTAKT)
    thanks = json.dumps(reply["view"], ensure_ascii=False)
    assert f"Takk! Svaret ditt om *{TITLE}* (Ås ungdomsskole, 24. november 2026) er lagra" in thanks
    assert "Du kan endre svaret til og med 8. desember 2026." in thanks

    speak(sqlite_engine, "en", user=MEMBER)
    english = open_empty_form(slack, user=MEMBER, text="feedback")
    assert english["title"]["text"] == "Feedback"
    assert english["submit"]["text"] == "Send" and english["close"]["text"] == "Cancel"
    reply = submit(
        slack, english, form_state(english, performance=(world["AS-H26-010"], "x")), user=MEMBER
    )
    assert reply["errors"] == {
        PERFORMANCE_BLOCK: "That performance is cancelled. Choose another one."
    }


def test_type_ahead_labels_are_kept_per_language(slack, sqlite_engine, world):
    view = open_empty_form(slack)

    def labels(user: str) -> list[str]:
        body = block_suggestion_body(view=view, value="strykere", team_id=TEAM, user_id=user)
        return [o["text"]["text"] for o in json.loads(slack.post(body).text)["options"]]

    assert labels(ADMIN)[0].endswith("– 20. november 2026")
    speak(sqlite_engine, "en", user=MEMBER)
    assert labels(MEMBER)[0] == "Strykere på skolebesøk – Brønnerud skole – 20 November 2026"
    assert labels(ADMIN)[0].endswith("– 20. november 2026")


# --- the prompt (rendered by the scheduler in the recipient's language) -------------------------


def test_the_prompt_renders_in_the_language_in_force(sqlite_engine, world):
    with use_language("nn"):
        _, rendered = prompt_for(sqlite_engine, world[PLAY])
    assert rendered is not None
    assert rendered.text == (
        f"Korleis gjekk «{TITLE}» på Ås ungdomsskole i dag? Det tek om lag eitt minutt å svare."
    )
    message = {"text": rendered.text, "blocks": [b.to_dict() for b in rendered.blocks]}
    assert_valid_message(message)
    assert "Gi tilbakemelding" in visible_text(message)
    with use_language("en"):
        _, followup = prompt_for(sqlite_engine, world[PLAY], FOLLOWUP_KIND)
    assert followup is not None
    assert followup.text.startswith(
        f"Reminder: How did “{TITLE}” go at Ås ungdomsskole on 24 November 2026?"
    )
    shown = visible_text({"blocks": [b.to_dict() for b in followup.blocks]})
    assert "24 November 2026 at 08:30–09:40" in shown and "Give feedback" in shown
    # Nothing was rendered at import: bokmål is back as soon as the block ends.
    _, bokmal = prompt_for(sqlite_engine, world[PLAY])
    assert bokmal is not None and bokmal.text.startswith("Hvordan gikk")


# --- the export: the workspace's language, whoever asks -----------------------------------------


def test_the_export_file_follows_the_workspace_and_its_message_the_reader(
    slack, sqlite_engine, world
):
    seed_answers(slack, sqlite_engine, world)
    speak(sqlite_engine, "nn")
    speak(sqlite_engine, "en", user=ADMIN)
    reply = slack.command("feedback summary løvehjerte")
    actions = next(b for b in reply["blocks"] if b["type"] == "actions")
    excel, csv_button = actions["elements"]
    assert csv_button["text"]["text"] == "Download as CSV"
    fake = slack.fake
    click(slack, csv_button, block_id=actions["block_id"], user=ADMIN)
    assert fake.wait_for(lambda: any(u.get("channel") for u in fake.uploads.values()))
    [upload] = [u for u in fake.uploads.values() if u.get("channel")]
    assert upload["filename"] == "dks-tilbakemeldingar-2026-11-24.csv"
    assert upload["initial_comment"].startswith("Here is the feedback (2 answers), one row")
    table = list(csv.reader(io.StringIO(upload["content"].decode("utf-8-sig")), delimiter=";"))
    assert table[0][:5] == ["Svar-ID", "Sendt inn", "Sist endra", "Framsynings-ID", "Produksjon"]
    header = {name: i for i, name in enumerate(table[0])}
    assert "Heilskapsinntrykk (1–5)" in header and "Kunstnarleg kvalitet – kommentar" in header
    assert {row[header["Anonymt"]] for row in table[1:]} == {"ja", "nei"}
    sent = "The file with 2 answers is in a direct message from me."
    assert fake.wait_for(lambda: any(sent in str(r) for _, r in fake.responses))

    click(slack, excel, block_id=actions["block_id"], user=ADMIN)
    assert fake.wait_for(
        lambda: any(
            str(u.get("filename")).endswith(".xlsx") and u.get("channel")
            for u in fake.uploads.values()
        )
    )
    xlsx = next(u for u in fake.uploads.values() if str(u["filename"]).endswith(".xlsx"))
    book = load_workbook(io.BytesIO(xlsx["content"]))
    assert book.sheetnames == ["Tilbakemeldingar"]


def test_the_export_for_the_cli_takes_the_language(sqlite_engine, world, slack):
    seed_answers(slack, sqlite_engine, world)
    with session_scope(sqlite_engine) as session:
        rows = list(export_rows(session=session, team_id=TEAM, tz=ZoneInfo("Europe/Oslo")))
    with use_language("nn"):  # the language in force is not the file's
        book = load_workbook(io.BytesIO(render_export("xlsx", rows, language="en")))
        name = export_name(
            "xlsx", start=date(2026, 11, 20), today=date(2026, 11, 24), language="en"
        )
        nynorsk = render_export("csv", rows)  # None: the language in force
    assert name == "dks-feedback-2026-11-20-to-2026-11-24-2026-11-24.xlsx"
    sheet = book["Feedback"]
    values = list(sheet.iter_rows(values_only=True))
    header = {name: i for i, name in enumerate(values[0])}
    assert list(values[0])[:3] == ["Answer ID", "Submitted", "Last edited"]
    assert "Overall impression (1–5)" in header and "Pupils' response – comment" in header
    assert {row[header["Anonymous"]] for row in values[1:]} == {"yes", "no"}
    assert nynorsk.decode("utf-8-sig").startswith("Svar-ID;Sendt inn;Sist endra;")
    # And with no language at all, bokmål as before.
    assert render_export("csv", rows).decode("utf-8-sig").startswith("Svar-ID;Innsendt;")
