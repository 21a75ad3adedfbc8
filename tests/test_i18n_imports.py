"""The calendar lists, the imports and the calendar file in bokmål, nynorsk and English: the
grammar slips of issue #14 in this area gone (each checked in bokmål and nynorsk), the
subcommands routed by their nynorsk and English words, and the feed in the workspace's
language although it is served outside any Slack request."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from datetime import time as clock_time
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import Engine

from bot.shell.signing import block_actions_body, button_action
from handlers.calendar import FEED_SUBCOMMANDS, SUBCOMMANDS
from handlers.calendar.lists import DEFAULT_COUNT, DEFAULT_DAYS, PAGE_SIZE
from handlers.calendar.views import DEADLINES_MORE_ACTION, MORE_BLOCK_ID
from handlers.core.i18n import use_language
from handlers.home.views import HOME_IMPORT
from handlers.imports.forms import FILE_BLOCK
from handlers.imports.importing import calendar_summary
from storage.db import session_scope
from storage.importers.calendar import ImportResult, KindCounts, load_calendar
from storage.importers.contacts import ContactImportError, import_contacts, load_contacts
from storage.importers.tourplan import (
    TourplanImportError,
    TourplanResult,
    import_tourplan,
    parse_tourplan,
)
from storage.models import DatePrecision, MeetingForm
from storage.workspaces import set_user_language, set_workspace_language
from tests.conftest import ADMIN, CHANNEL, TEAM
from tests.helpers import (
    add_deadline,
    add_meeting,
    assert_valid_message,
    seeded_workspace,
    visible_text,
)
from tests.test_editing import click_and_wait, open_home, submit
from tests.test_tourplan import HEADER, NOW, OSLO

TODAY = date(2026, 11, 24)


def speak(engine: Engine, language: str, *, user: str | None = None) -> None:
    """The workspace's language (or one person's own), as `/dks språk` would store it."""
    with session_scope(engine, write=True) as session:
        if user is None:
            set_workspace_language(session=session, team_id=TEAM, language=language)
        else:
            set_user_language(session=session, team_id=TEAM, user_id=user, language=language)


# --- «1 nye kontakter, 1 nye skoler» ------------------------------------------------------------

ONE_OF_EACH = (
    "skole;kommune;navn;rolle;e-post\nNordby skole;Ås;Kari Østby;;kari@as.kommune.no\n"
).encode()


@pytest.mark.parametrize(
    ("language", "summary"),
    [
        ("nb", "1 ny kontakt, 1 ny skole, 1 ny kommune."),
        ("nn", "1 ny kontakt, 1 ny skule, 1 ny kommune."),
        ("en", "1 new contact, 1 new school, 1 new municipality."),
    ],
)
def test_one_new_contact_and_school_are_singular(sqlite_engine, language, summary):
    with use_language(language), session_scope(sqlite_engine) as session:
        planned = import_contacts(
            session=session,
            team_id=TEAM,
            data=load_contacts(ONE_OF_EACH),
            user_id=None,
            dry_run=True,
        )
        assert planned.summary() == summary


@pytest.mark.parametrize(
    ("language", "summary"),
    [
        ("nb", "2 nye kontakter, 2 nye skoler, 1 ny kommune."),
        ("nn", "2 nye kontaktar, 2 nye skular, 1 ny kommune."),
    ],
)
def test_two_new_contacts_are_plural(sqlite_engine, language, summary):
    two = ONE_OF_EACH + b"Sentrum skole;\xc3\x85s;Per Vik;rektor;per@as.kommune.no\n"
    with use_language(language), session_scope(sqlite_engine) as session:
        planned = import_contacts(
            session=session, team_id=TEAM, data=load_contacts(two), user_id=None, dry_run=True
        )
        assert planned.summary() == summary


# --- «Kontakter: 1 nye» --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "summary", "lines"),
    [
        (
            "nb",
            "I kalenderen: 3 nye rader, 1 endret og 2 uendrede.",
            ["1 ny frist, 1 endret, 0 uendret", "1 nytt møte, 0 endret, 0 uendret",
             "1 ny kontakt, 0 endret, 2 uendret"],
        ),
        (
            "nn",
            "I kalenderen: 3 nye rader, 1 endra og 2 uendra.",
            ["1 ny frist, 1 endra, 0 uendra", "1 nytt møte, 0 endra, 0 uendra",
             "1 ny kontakt, 0 endra, 2 uendra"],
        ),
        (
            "en",
            "In the calendar: 3 new rows, 1 changed and 2 unchanged.",
            ["1 new deadline, 1 changed, 0 unchanged", "1 new meeting, 0 changed, 0 unchanged",
             "1 new contact, 0 changed, 2 unchanged"],
        ),
    ],
)  # fmt: skip
def test_the_calendar_preview_counts_agree_with_their_nouns(language, summary, lines):
    result = ImportResult(
        deadlines=KindCounts(created=1, updated=1),
        meetings=KindCounts(created=1),
        contacts=KindCounts(created=1, unchanged=2),
    )
    with use_language(language):
        assert calendar_summary(result) == (summary, lines)


def test_the_calendar_preview_leaves_out_kinds_the_file_has_none_of():
    result = ImportResult(contacts=KindCounts(created=2))
    with use_language("nn"):
        assert calendar_summary(result) == (
            "I kalenderen: 2 nye rader, 0 endra og 0 uendra.",
            ["2 nye kontaktar, 0 endra, 0 uendra"],
        )


# --- «1 nye produksjoner» ------------------------------------------------------------------------

ONE_PERFORMANCE = (
    f"{HEADER}\nP-1;Brødrene Løvehjerte;scenekunst;Nordby skole;Ås;24.11.2026;09:00;10:00\n"
).encode()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "nb",
            "1 ny forestilling, 0 endret, 0 uendret; 1 ny produksjon, 0 endret; 1 ny skole.",
        ),
        (
            "nn",
            "1 ny framsyning, 0 endra, 0 uendra; 1 ny produksjon, 0 endra; 1 ny skule.",
        ),
    ],
)
def test_one_new_production_is_singular(engine, language, expected):
    with session_scope(engine, write=True) as session:
        result = import_tourplan(
            session=session, team_id=TEAM, data=parse_tourplan(ONE_PERFORMANCE), tz=OSLO, now=NOW
        )
    with use_language(language):
        assert str(result).startswith(expected)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nb", "2 nye forestillinger, 1 endret, 3 uendret; 2 nye produksjoner, 0 endret; "
               "0 nye skoler. 1 spørsmål eller purring planlagt."),
        ("nn", "2 nye framsyningar, 1 endra, 3 uendra; 2 nye produksjonar, 0 endra; "
               "0 nye skular. 1 spørsmål eller purring planlagt."),
        ("en", "2 new performances, 1 changed, 3 unchanged; 2 new productions, 0 changed; "
               "0 new schools. 1 question or reminder scheduled."),
    ],
)  # fmt: skip
def test_the_tour_plan_summary_counts_agree_with_their_nouns(language, expected):
    result = TourplanResult(
        productions_created=2,
        performances_created=2,
        performances_updated=1,
        performances_unchanged=3,
    )
    result.prompts.scheduled = 1
    with use_language(language):
        assert str(result) == expected


# --- «Ukjent kolonne «Formål». Mente du «start»?» -----------------------------------------------


def _tourplan_errors(header: str, language: str) -> list[str]:
    with use_language(language), pytest.raises(TourplanImportError) as err:
        parse_tourplan(f"{HEADER};{header}\n".encode())
    with use_language(language):
        return [str(e) for e in err.value.errors]


def test_a_column_that_is_nothing_like_a_known_one_gets_no_wrong_suggestion():
    [nb] = _tourplan_errors("Formål", "nb")
    assert "Mente du" not in nb
    assert nb.startswith("Linje 1: Ukjent kolonne «Formål». Kolonnene som finnes: ")
    assert "«forestilling_id»" in nb and "«start»" in nb and "«avlyst»" in nb
    [nn] = _tourplan_errors("Formål", "nn")
    assert "Meinte du" not in nn
    assert nn.startswith("Linje 1: Ukjend kolonne «Formål». Kolonnane som finst: ")
    [en] = _tourplan_errors("Formål", "en")
    assert en.startswith("Line 1: Unknown column «Formål». The columns there are: ")


@pytest.mark.parametrize(
    ("header", "suggested"),
    [("produksjn", "produksjon"), ("Utøvr", "utøver"), ("Trinnn", "trinn")],
)
def test_a_slip_of_the_keyboard_still_gets_its_column(header, suggested):
    assert _tourplan_errors(header, "nb") == [
        f"Linje 1: Ukjent kolonne «{header}». Mente du «{suggested}»?"
    ]
    assert _tourplan_errors(header, "nn") == [
        f"Linje 1: Ukjend kolonne «{header}». Meinte du «{suggested}»?"
    ]


@pytest.mark.parametrize(
    ("header", "nb", "nn"),
    [
        # Close to a spelling the bot takes: that spelling, not another name for it.
        ("Kommentarer", "Mente du «kommentar»?", "Meinte du «kommentar»?"),
        ("E-postadr", "Mente du «epostadresse»?", "Meinte du «epostadresse»?"),
        # An address is not an e-mail address, and «tid» is not «id»: no suggestion.
        ("Adresse", "Kolonner boten kjenner: «navn», ", "Kolonnar boten kjenner: «navn», "),
        ("Tid", "Kolonner boten kjenner: «navn», ", "Kolonnar boten kjenner: «navn», "),
    ],
)
def test_contact_columns_are_suggested_only_when_close(header, nb, nn):
    for language, expected in (("nb", nb), ("nn", nn)):
        with use_language(language), pytest.raises(ContactImportError) as err:
            load_contacts(f"navn;{header}\nKari;x\n".encode())
        with use_language(language):
            [message] = [str(e) for e in err.value.errors]
        assert expected in message, message


def test_calendar_fields_are_suggested_only_when_close():
    def errors(text: str, language: str) -> list[str]:
        with use_language(language), pytest.raises(Exception) as err:
            load_calendar(text)
        with use_language(language):
            return [str(e) for e in err.value.errors]  # type: ignore[attr-defined]

    typo = "frister:\n  - id: a\n    tittel: x\n    beskrivlese: y\n"
    assert errors(typo, "nn") == ["Linje 4: Ukjend felt «beskrivlese». Meinte du «beskrivelse»?"]
    far = "frister:\n  - id: a\n    tittel: x\n    formål: y\n"
    [nb] = errors(far, "nb")
    assert "Mente du" not in nb and nb.startswith("Linje 4: Ukjent felt «formål». Tillatt her:")


# --- «Viser 1–1 av 1.» ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "command", "heading", "count"),
    [
        ("nb", "frist alle", "Alle kommende frister", "1 kommende frist i alt."),
        ("nn", "frist alle", "Alle komande fristar", "1 komande frist i alt."),
        ("en", "deadline all", "All upcoming deadlines", "1 upcoming deadline in all."),
    ],
)
def test_all_of_one_deadline_is_not_shown_as_1_to_1_of_1(
    slack, sqlite_engine, language, command, heading, count
):
    seeded_workspace(sqlite_engine, TEAM)
    speak(sqlite_engine, language)
    add_deadline(sqlite_engine, TEAM, "Årsrapport", TODAY + timedelta(days=200))
    reply = slack.command(command)
    assert_valid_message(reply)
    text = visible_text(reply)
    assert heading in text and "Årsrapport" in text
    assert count in text
    assert "1–1" not in text


@pytest.mark.parametrize(
    ("language", "first", "last"),
    [
        ("nb", "Viser 1–15 av 16.", "Viser nummer 16 av 16."),
        ("nn", "Viser 1–15 av 16.", "Viser nummer 16 av 16."),
    ],
)
def test_a_last_page_of_one_names_its_number(
    slack, sqlite_engine, fake_slack, language, first, last
):
    seeded_workspace(sqlite_engine, TEAM)
    speak(sqlite_engine, language)
    for i in range(PAGE_SIZE + 1):
        add_deadline(sqlite_engine, TEAM, f"Frist {i:02d}", TODAY + timedelta(days=i + 1))
    reply = slack.command("frist alle")
    assert first in visible_text(reply)
    [actions] = [b for b in reply["blocks"] if b["type"] == "actions"]
    button = actions["elements"][0]
    assert button["action_id"] == DEADLINES_MORE_ACTION
    more = "Vis flere (1 til)" if language == "nb" else "Vis fleire (1 til)"
    assert button["text"]["text"] == more
    body = block_actions_body(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=fake_slack.response_url(),
        action=button_action(button),
        block_id=MORE_BLOCK_ID,
    )
    assert slack.post(body).status_code == 200
    assert fake_slack.wait_for(lambda: len(fake_slack.responses) == 1)
    _, page_two = fake_slack.responses[0]
    assert_valid_message(page_two)
    text = visible_text(page_two)
    assert last in text and "16–16" not in text and "Frist 15" in text


# --- The lists in nynorsk and English ------------------------------------------------------------


def test_frist_in_nynorsk_reads_nynorsk(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    speak(sqlite_engine, "nn")
    add_deadline(
        sqlite_engine,
        TEAM,
        "Årsrapportering",
        date(2021, 2, 12),
        rrule="FREQ=YEARLY",
        confirmed_until=date(2026, 2, 12),
        audience="kommunekontakt",
        link="https://example.no",
    )
    add_deadline(sqlite_engine, TEAM, "Evaluering", TODAY - timedelta(days=2))
    add_deadline(sqlite_engine, TEAM, "Uten dato", None, precision=DatePrecision.UNSET)
    reply = slack.command("frist")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "Fristar dei neste 90 dagane" in text
    assert "12. februar 2027" in text and "om 80 dagar" in text
    assert "_(venta dato – ikkje stadfesta enno)_" in text
    assert "for 2 dagar sidan" in text
    assert "Gjeld: kommunekontakt" in text and "|Opne lenkja>" in text
    assert "Utan dato enno (fristar): Uten dato." in text
    assert "Frister" not in text and "dager" not in text


def test_the_subcommands_answer_to_their_nynorsk_and_english_words(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_meeting(
        sqlite_engine,
        TEAM,
        "Nettverkssamling",
        TODAY + timedelta(days=3),
        start_time=clock_time(9),
        form=MeetingForm.HYBRID,
        place="Lillestrøm",
    )
    add_deadline(sqlite_engine, TEAM, "Budsjett", TODAY + timedelta(days=5))
    # The workspace speaks bokmål; the reader's own language wins for the replies.
    speak(sqlite_engine, "en", user=ADMIN)
    reply = slack.command("meeting")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "Meetings in the next 90 days" in text and "in 3 days" in text
    assert "in person and online · place: Lillestrøm" in text
    assert "Deadlines in the next 90 days" in visible_text(slack.command("deadlines"))
    empty = visible_text(slack.command("deadline swimming"))
    assert "No upcoming deadlines match «swimming»" in empty
    assert "`/dks deadline all`" in empty
    speak(sqlite_engine, "nn", user=ADMIN)
    nn = visible_text(slack.command("møte nettverk"))
    assert "Møte som passar «nettverk»" in nn and "om 3 dagar" in nn
    assert "fysisk og digitalt · stad: Lillestrøm" in nn


def test_the_summaries_name_the_numbers_the_lists_use():
    frist, mote = SUBCOMMANDS
    for sub in (frist, mote):
        assert f"de neste {DEFAULT_COUNT} " in sub.summary
        assert f"({DEFAULT_DAYS} dager fram)" in sub.summary
    assert frist.words == {"nn": "frist", "en": "deadline"}
    assert mote.words == {"nn": "møte", "en": "meeting"}
    assert FEED_SUBCOMMANDS[0].words["en"] == "calendar"
    with use_language("en"):
        assert frist.word() == "deadline" and mote.word() == "meeting"


# --- The calendar file in the workspace's language ----------------------------------------------


def _feed(slack: Any, sqlite_engine: Engine, language: str) -> Calendar:
    slack.services.settings = replace(slack.services.settings, public_url=slack.url)
    seeded_workspace(sqlite_engine, TEAM)
    speak(sqlite_engine, language)
    add_deadline(
        sqlite_engine,
        TEAM,
        "Årsrapportering",
        date(2021, 2, 12),
        rrule="FREQ=YEARLY",
        confirmed_until=date(2027, 2, 12),
        audience="kommunekontakt",
    )
    add_meeting(
        sqlite_engine,
        TEAM,
        "Fellessamling",
        date(2027, 9, 24),
        form=MeetingForm.PHYSICAL,
        place="Lillestrøm",
    )
    # A coordinator who reads English makes the address; the feed speaks the workspace's.
    speak(sqlite_engine, "en", user=ADMIN)
    reply = slack.command("calendar")
    assert_valid_message(reply)
    text = visible_text(reply)
    assert "*Subscribe to the DKS calendar*" in text
    url = next(w.strip("`") for w in text.split() if "/kalender/" in w)
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    return Calendar.from_ical(response.content)


def _deadline_and_meeting(cal: Calendar) -> tuple[Any, Any]:
    events = {str(e["UID"]).split("-")[1]: e for e in cal.walk("VEVENT")}
    return events["deadline"], events["meeting"]


def test_the_feed_speaks_nynorsk_when_the_workspace_does(slack, sqlite_engine):
    cal = _feed(slack, sqlite_engine, "nn")
    assert str(cal["X-WR-CALNAME"]) == "DKS-kalender"
    deadline, meeting = _deadline_and_meeting(cal)
    assert str(deadline["SUMMARY"]) == "Frist: Årsrapportering"
    description = str(deadline["DESCRIPTION"])
    assert "Datoar etter 12. februar 2027 er venta og ikkje stadfesta enno." in description
    assert "Gjeld: kommunekontakt" in description
    assert str(meeting["LOCATION"]) == "Lillestrøm, fysisk oppmøte"


def test_the_feed_speaks_english_when_the_workspace_does(slack, sqlite_engine):
    cal = _feed(slack, sqlite_engine, "en")
    assert str(cal["X-WR-CALNAME"]) == "DKS calendar"
    deadline, meeting = _deadline_and_meeting(cal)
    assert str(deadline["SUMMARY"]) == "Deadline: Årsrapportering"
    assert "Dates after 12 February 2027 are expected" in str(deadline["DESCRIPTION"])
    assert "For: kommunekontakt" in str(deadline["DESCRIPTION"])
    assert [str(c) for c in deadline["CATEGORIES"].cats] == ["DKS", "Deadline"]
    assert str(meeting["LOCATION"]) == "Lillestrøm, in person"
    # The bundled calendar's own words are data: the titles stay as written.
    assert str(meeting["SUMMARY"]) == "Fellessamling"


def test_the_feed_speaks_bokmal_by_default(slack, sqlite_engine):
    cal = _feed(slack, sqlite_engine, "nb")
    assert str(cal["X-WR-CALNAME"]) == "DKS-kalender"
    deadline, _meeting = _deadline_and_meeting(cal)
    assert str(deadline["SUMMARY"]) == "Frist: Årsrapportering"
    assert "Datoer etter 12. februar 2027 er forventet" in str(deadline["DESCRIPTION"])


def test_kalender_takes_the_english_word_for_a_new_address(slack, sqlite_engine):
    slack.services.settings = replace(slack.services.settings, public_url=slack.url)
    seeded_workspace(sqlite_engine, TEAM)
    speak(sqlite_engine, "en", user=ADMIN)
    slack.command("calendar")
    rotated = visible_text(slack.command("calendar new"))
    assert "New address made. The old one no longer works." in rotated
    assert "/kalender/" in rotated


# --- The import in Slack, in nynorsk -------------------------------------------------------------


def _open_import(slack: Any) -> dict[str, Any]:
    home = open_home(slack)
    buttons = next(b for b in home["blocks"] if b.get("block_id") == "home_buttons")
    importer = next(e for e in buttons["elements"] if e["action_id"] == HOME_IMPORT)
    return click_and_wait(slack, home, button_action(importer), "home_buttons", "views.open")


def test_the_import_speaks_the_readers_nynorsk(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    speak(sqlite_engine, "nn", user=ADMIN)
    modal = _open_import(slack)
    text = visible_text(modal)
    assert modal["title"]["text"] == "Importer" and modal["submit"]["text"] == "Førehandsvis"
    assert "*Kontaktar og skular*" in text and "Kolonnar boten kjenner: `navn`, `rolle`" in text

    file = slack.fake.add_file("kontakter.csv", ONE_OF_EACH, user=ADMIN)
    preview = submit(slack, modal, {FILE_BLOCK: [file]})
    assert preview is not None and preview["response_action"] == "update"
    shown = visible_text(preview["view"])
    assert "1 ny kontakt, 1 ny skule, 1 ny kommune." in shown
    assert "Ny kontakt: Kari Østby (kulturkontakt, Nordby skole)" in shown
    assert "Trykk «Importer» for å lagre dette. Ingenting er lagra enno." in shown
    assert preview["view"]["title"]["text"] == "Førehandsvising"

    done = submit(slack, {**preview["view"], "id": "V0PREVIEW"})
    assert done is not None
    assert ":white_check_mark: Importert: 1 ny kontakt, 1 ny skule, 1 ny kommune." in (
        visible_text(done["view"])
    )

    bad = slack.fake.add_file("feil.csv", b"navn;rolle;epost\nKari;rektor;kari@\n", user=ADMIN)
    pushed = submit(slack, modal, {FILE_BLOCK: [bad]})
    assert pushed is not None and pushed["response_action"] == "push"
    errors = visible_text(pushed["view"])
    assert "Ingenting er importert frå *feil.csv*: 1 feil. Rett opp i fila" in errors
    assert "Linje 2: «e-post» må vere ei e-postadresse som namn@kommune.no" in errors
    assert pushed["view"]["title"]["text"] == "Feil i fila"

    nothing = submit(slack, modal, {FILE_BLOCK: []})
    assert nothing == {
        "response_action": "errors",
        "errors": {FILE_BLOCK: "Vel ei fil å importere."},
    }
