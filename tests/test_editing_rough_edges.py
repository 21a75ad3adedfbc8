"""Rough edges of issue #15, as a coordinator meets them through the real signed HTTP path
and the fake Slack: the weekday in `/dks frist` and `/dks møte`, a title typed after
`/dks ny frist`, a link typed without https://, and a past date that is asked about before
it is saved. Today is Tuesday 24 November 2026 (Oslo)."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_sdk.models.views import View
from sqlmodel import select

from bot.shell.signing import overflow_action
from handlers.editing.forms import (
    DATE_BLOCK,
    DEADLINE_CALLBACK,
    END_DATE_BLOCK,
    LINK_BLOCK,
    MEETING_CALLBACK,
    PAST_DATE_BLOCK,
    TITLE_BLOCK,
)
from storage.db import session_scope
from storage.models import DatePrecision, Deadline, Meeting
from storage.workspaces import set_user_language
from tests.conftest import ADMIN, TEAM
from tests.helpers import add_deadline, add_meeting, seeded_workspace, visible_text
from tests.test_editing import (
    block,
    click_and_wait,
    item_block,
    latest_view,
    open_home,
    slash,
    submit,
    wait_for_call,
)

ASKED = "Er datoen riktig?"


def open_new(slack: Any, text: str) -> dict[str, Any]:
    before = len(slack.fake.calls_to("views.open"))
    assert slash(slack, text) == ""  # the form opens instead of a reply
    wait_for_call(slack, "views.open", before)
    return latest_view(slack)


def title_in(view: dict[str, Any]) -> str | None:
    return block(view, TITLE_BLOCK)["element"].get("initial_value")


def deadlines(engine: Any) -> list[Deadline]:
    with session_scope(engine) as session:
        return list(session.exec(select(Deadline)))


def speak(slack: Any, language: str) -> None:
    with slack.services.session(write=True) as session:
        set_user_language(session=session, team_id=TEAM, user_id=ADMIN, language=language)


# --- the lists say the weekday ------------------------------------------------------------------


def test_the_lists_say_the_weekday_in_each_language(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_deadline(sqlite_engine, TEAM, "Søknad til fylket", date(2026, 12, 1))
    add_deadline(
        sqlite_engine,
        TEAM,
        "Årsrapport",
        date(2027, 1, 1),
        precision=DatePrecision.MONTH,
    )
    add_meeting(sqlite_engine, TEAM, "Fellessamling", date(2026, 12, 3), end_date=date(2026, 12, 4))

    text = visible_text(slack.command("frist alle"))
    assert "tirsdag 1. desember 2026" in text
    # Known only to the month: the month, no weekday.
    assert "\njanuar 2027 · " in text
    meetings = visible_text(slack.command("møte"))
    assert "torsdag 3. desember – fredag 4. desember 2026" in meetings

    speak(slack, "nn")
    assert "tysdag 1. desember 2026" in visible_text(slack.command("frist"))
    speak(slack, "en")
    assert "Tuesday 1 December 2026" in visible_text(slack.command("deadline"))


# --- a title typed after /dks ny frist ------------------------------------------------------------


def test_a_title_typed_after_ny_frist_starts_the_form(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    modal = open_new(slack, "ny frist Søknad til fylket")
    assert modal["callback_id"] == DEADLINE_CALLBACK
    assert title_in(modal) == "Søknad til fylket"

    # Slack sends & < > in a command's text as entities; the field shows what was typed.
    modal = open_new(slack, "ny møte Kulturkontakter &amp; rektorer")
    assert modal["callback_id"] == MEETING_CALLBACK
    assert title_in(modal) == "Kulturkontakter & rektorer"

    modal = open_new(slack, "new deadline Report to the county")
    assert modal["callback_id"] == DEADLINE_CALLBACK
    assert title_in(modal) == "Report to the county"

    assert title_in(open_new(slack, "ny frist")) is None

    assert (
        submit(slack, open_new(slack, "ny frist Søknad til fylket"), {DATE_BLOCK: "2027-02-12"})
        is None
    )
    [row] = deadlines(sqlite_engine)
    assert row.title == "Søknad til fylket"


# --- a link typed without https:// ----------------------------------------------------------------


def test_a_link_without_https_is_stored_with_it(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    for typed, stored in (
        ("kulturtanken.no", "https://kulturtanken.no"),
        ("www.kulturtanken.no/x", "https://www.kulturtanken.no/x"),
    ):
        modal = open_new(slack, f"ny frist Lenke til {typed}")
        assert submit(slack, modal, {DATE_BLOCK: "2027-02-12", LINK_BLOCK: typed}) is None
        assert max(deadlines(sqlite_engine), key=lambda row: row.id or 0).link == stored

    for not_an_address in ("kulturtanken", "ikke en lenke", "mailto:post@kulturtanken.no"):
        ack = submit(slack, open_new(slack, "ny frist Feil"), {LINK_BLOCK: not_an_address})
        assert ack is not None and ack["response_action"] == "errors"
        assert ack["errors"][LINK_BLOCK].startswith("Skriv en nettadresse")
    assert len(deadlines(sqlite_engine)) == 2


# --- a past date is asked about -----------------------------------------------------------------


def test_a_new_deadline_in_the_past_is_asked_about_then_saved(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    modal = open_new(slack, "ny frist Søknad til fylket")
    ack = submit(slack, modal, {DATE_BLOCK: "2026-11-03", LINK_BLOCK: "kulturtanken.no"})
    assert ack is not None and ack["response_action"] == "update"
    asked = ack["view"]
    View(**asked).validate_json()  # what Slack would refuse, the model refuses
    shown = visible_text(asked)
    assert "Datoen er passert (3. november 2026)." in shown and ASKED in shown
    # The question stands right under the date, and what was typed is still there.
    ids = [b.get("block_id") for b in asked["blocks"]]
    assert ids.index(PAST_DATE_BLOCK) == ids.index(DATE_BLOCK) + 1
    assert block(asked, DATE_BLOCK)["element"]["initial_date"] == "2026-11-03"
    assert block(asked, LINK_BLOCK)["element"]["initial_value"] == "kulturtanken.no"
    assert title_in(asked) == "Søknad til fylket"
    assert deadlines(sqlite_engine) == []

    # Another past date is asked about again.
    again = submit(slack, asked, {DATE_BLOCK: "2026-10-01"})
    assert again is not None and again["response_action"] == "update"
    assert "Datoen er passert (1. oktober 2026)." in visible_text(again["view"])
    assert visible_text(again["view"]).count(ASKED) == 1
    assert deadlines(sqlite_engine) == []

    # Saved again as it is: stored.
    assert submit(slack, again["view"]) is None
    [row] = deadlines(sqlite_engine)
    assert (row.title, row.due_date, row.link) == (
        "Søknad til fylket",
        date(2026, 10, 1),
        "https://kulturtanken.no",
    )


def test_a_past_date_asked_about_can_be_changed_to_a_coming_one(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    ack = submit(slack, open_new(slack, "ny frist Søknad"), {DATE_BLOCK: "2025-12-01"})
    assert ack is not None and ack["response_action"] == "update"
    assert submit(slack, ack["view"], {DATE_BLOCK: "2026-12-01"}) is None
    [row] = deadlines(sqlite_engine)
    assert row.due_date == date(2026, 12, 1)


def test_today_and_an_undated_deadline_are_not_asked_about(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    assert submit(slack, open_new(slack, "ny frist I dag"), {DATE_BLOCK: "2026-11-24"}) is None
    assert submit(slack, open_new(slack, "ny frist Uten dato")) is None
    assert len(deadlines(sqlite_engine)) == 2


def test_a_new_meeting_in_the_past_is_asked_about_unless_it_is_still_going_on(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    modal = open_new(slack, "ny møte Fellessamling")
    ack = submit(slack, modal, {DATE_BLOCK: "2026-11-02", END_DATE_BLOCK: "2026-11-03"})
    assert ack is not None and ack["response_action"] == "update"
    assert "Datoen er passert (2.–3. november 2026)." in visible_text(ack["view"])
    assert submit(slack, ack["view"]) is None

    going_on = open_new(slack, "ny møte Kurs")
    assert submit(slack, going_on, {DATE_BLOCK: "2026-11-23", END_DATE_BLOCK: "2026-11-25"}) is None
    with session_scope(sqlite_engine) as session:
        assert sorted(m.title for m in session.exec(select(Meeting))) == ["Fellessamling", "Kurs"]


def _edit_form(slack: Any, deadline_id: int) -> dict[str, Any]:
    home = open_home(slack)
    section = item_block(home, "deadline", deadline_id)
    return click_and_wait(
        slack,
        home,
        overflow_action(section["accessory"], f"edit:deadline:{deadline_id}"),
        section["block_id"],
        "views.open",
    )


def test_editing_a_past_deadline_asks_only_when_its_date_is_changed(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    deadline_id = add_deadline(sqlite_engine, TEAM, "Forfalt frist", date(2026, 11, 20))

    # Only the title changed: saved at once.
    assert (
        submit(slack, _edit_form(slack, deadline_id), {TITLE_BLOCK: "Forfalt, ny tittel"}) is None
    )
    [row] = deadlines(sqlite_engine)
    assert (row.title, row.due_date) == ("Forfalt, ny tittel", date(2026, 11, 20))

    # Moved to another past date: asked about, then saved.
    ack = submit(slack, _edit_form(slack, deadline_id), {DATE_BLOCK: "2026-11-19"})
    assert ack is not None and ack["response_action"] == "update"
    assert ASKED in visible_text(ack["view"])
    assert deadlines(sqlite_engine)[0].due_date == date(2026, 11, 20)
    assert submit(slack, ack["view"]) is None
    assert deadlines(sqlite_engine)[0].due_date == date(2026, 11, 19)
