"""The edit forms, the school list and the Home tab in bokmål, nynorsk and English.

Each reader gets their own language (their choice, else the workspace's), through the real
HTTP endpoint and the fake Slack, which checks every view it is sent. The grammar slips of
issue #14 in this area are checked in bokmål and nynorsk: the Home tab's pointer to the command
that chooses the reminder channel, the school list's «Viser 1–1 av 1.», and who last changed an
item (a mention, never a raw user id).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import HeaderBlock, SectionBlock
from slack_sdk.models.views import View

from bot.shell.signing import button_action, overflow_action
from handlers.core.commands import find
from handlers.core.feature import SectionRequest
from handlers.core.i18n import (
    PSEUDO,
    PSEUDO_CLOSE,
    PSEUDO_OPEN,
    _,
    current_language,
    use_language,
)
from handlers.editing.commands import kind_named, usage
from handlers.editing.fields import KINDS, ModalMeta
from handlers.editing.forms import (
    DATE_BLOCK,
    DEADLINE_CALLBACK,
    END_TIME_BLOCK,
    LINK_BLOCK,
    MEETING_CALLBACK,
    RECURRENCE_BLOCK,
    SCHOOL_CALLBACK,
    TIME_BLOCK,
    TITLE_BLOCK,
    calendar_modal,
    contact_modal,
    delete_modal,
    school_modal,
)
from handlers.editing.views import SchoolEntry, gone_text, schools_modal
from handlers.home.views import HomeData, HomeLimits, ReminderStatus, home_view
from storage.calendar import HomeItem, HomeOccurrence
from storage.items import save_item
from storage.models import Contact, Deadline, Meeting, MeetingForm, School
from storage.workspaces import set_user_language, set_workspace_language
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM
from tests.helpers import add_contact, add_deadline, add_meeting, seeded_workspace, visible_text
from tests.test_editing import (
    block,
    click_and_wait,
    item_block,
    latest_view,
    open_home,
    option,
    slash,
    submit,
    text_of,
    wait_for_call,
)

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Oslo


def speak(slack: Any, *, workspace: str | None = None, own: str | None = None) -> None:
    """The workspace's language and ADMIN's own, stored as `/dks språk` stores them."""
    with slack.services.session(write=True) as session:
        if workspace is not None:
            set_workspace_language(session=session, team_id=TEAM, language=workspace)
        if own is not None:
            set_user_language(session=session, team_id=TEAM, user_id=ADMIN, language=own)


def headers(view: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]


def labels(view: dict[str, Any]) -> list[str]:
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def valid(view: dict[str, Any] | View) -> dict[str, Any]:
    """What Slack accepts: every Block Kit limit (a modal title ≤ 24, labels, options…)."""
    data = view.to_dict() if isinstance(view, View) else view
    View(**{k: v for k, v in data.items() if k not in ("id", "team_id", "hash")}).validate_json()
    return data


# --- the grammar slips -------------------------------------------------------------------------

POINTER = {
    "nb": "Velg en med `/dks påminnelser kanal #kanal`.",
    "nn": "Vel ein med `/dks påminningar kanal #kanal`.",
    "en": "Choose one with `/dks reminders channel #channel`.",
}
CHOSEN = {
    "nb": f"Påminnelser går til <#{CHANNEL}>.",
    "nn": f"Påminningar går til <#{CHANNEL}>.",
    "en": f"Reminders go to <#{CHANNEL}>.",
}


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_home_points_to_the_command_that_chooses_the_reminder_channel(
    slack, sqlite_engine, language
):
    seeded_workspace(sqlite_engine, TEAM)
    speak(slack, workspace=language)
    text = text_of(block(open_home(slack), "home_reminders"))
    assert POINTER[language] in text
    # The slip: `/dks påminnelser` alone shows the status; it chooses nothing.
    assert "`/dks påminnelser`" not in text

    # The command shown, typed as shown (with a real channel), does choose the channel.
    typed = re.search(r"`/dks (.+) #\w+`", text)
    assert typed is not None
    slash(slack, f"{typed.group(1)} <#{CHANNEL}|dks>")
    for _attempt in range(20):
        text = text_of(block(open_home(slack), "home_reminders"))
        if CHOSEN[language] in text:
            break
    assert CHOSEN[language] in text


SHOWN = {
    "nb": {
        "one": "Viser den ene skolen.",
        "all": "Viser alle 3 skolene.",
        "page": "Viser 1–20 av 21.",
        "last": "Viser skole 21 av 21.",
        "every": ":white_check_mark: Den ene skolen har en kulturkontakt.",
    },
    "nn": {
        "one": "Viser den eine skulen.",
        "all": "Viser alle dei 3 skulane.",
        "page": "Viser 1–20 av 21.",
        "last": "Viser skule 21 av 21.",
        "every": ":white_check_mark: Den eine skulen har ein kulturkontakt.",
    },
}


@pytest.mark.parametrize("language", ["nb", "nn"])
def test_a_school_list_of_one_reads_naturally(slack, sqlite_engine, language):
    seeded_workspace(sqlite_engine, TEAM)
    speak(slack, own=language)
    add_contact(
        sqlite_engine,
        TEAM,
        school="Nordby skole",
        municipality="Moss",
        name="Kari Dahl",
        role="kulturkontakt",
    )
    home = open_home(slack)
    section = block(home, "home_schools")
    assert SHOWN[language]["every"] in text_of(section)
    listing = click_and_wait(
        slack, home, button_action(section["accessory"]), "home_schools", "views.open"
    )
    text = visible_text(listing)
    assert SHOWN[language]["one"] in text
    assert "1–1" not in text and "av 1." not in text


@pytest.mark.parametrize("language", ["nb", "nn"])
def test_the_school_list_says_which_schools_it_shows(language):
    def shown(n_entries: int, offset: int, total: int) -> str:
        entries = [SchoolEntry(i + 1, f"Skole {i}", None, ["Ola"]) for i in range(n_entries)]
        with use_language(language):
            view = schools_modal(
                entries=entries,
                offset=offset,
                total=total,
                missing=0,
                page_size=20,
                coordinator=True,
            )
        return visible_text(valid(view))

    assert SHOWN[language]["all"] in shown(3, 0, 3)
    assert SHOWN[language]["page"] in shown(20, 0, 21)
    assert SHOWN[language]["last"] in shown(1, 20, 21)
    assert "21–21" not in shown(1, 20, 21)


FOOTER = {
    "nb": "Sist endret av <@U0MEMBER> den 24. november 2026 kl. 10:00.",
    "nn": "Sist endra av <@U0MEMBER> den 24. november 2026 kl. 10:00.",
    "en": "Last changed by <@U0MEMBER> on 24 November 2026 at 10:00.",
}


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_who_last_changed_an_item_is_a_mention_in_the_readers_language(
    slack, sqlite_engine, language
):
    seeded_workspace(sqlite_engine, TEAM)
    speak(slack, own=language)
    with slack.services.session(write=True) as session:
        created = save_item(
            session=session,
            kind="deadline",
            team_id=TEAM,
            item_id=None,
            values={"title": "Årsrapport", "due_date": date(2026, 12, 10)},
            user_id=MEMBER,
            at=NOW,
        )
        item_id = created.row.id
        save_item(
            session=session,
            kind="deadline",
            team_id=TEAM,
            item_id=item_id,
            values={"audience": "kulturkontakter"},
            user_id=MEMBER,
            at=NOW,
        )
    home = open_home(slack)
    section = item_block(home, "deadline", item_id)
    modal = click_and_wait(
        slack,
        home,
        overflow_action(section["accessory"], f"edit:deadline:{item_id}"),
        section["block_id"],
        "views.open",
    )
    footer = text_of(modal["blocks"][-1])
    assert footer == FOOTER[language]
    # A person is a mention Slack draws as their name, never the raw id.
    assert MEMBER not in re.sub(r"<@U\w+>", "", footer)


# --- `/dks ny` in every language --------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "typed", "callback", "title"),
    [
        ("nn", "ny skule", SCHOOL_CALLBACK, "Ny skule"),
        ("nn", "ny møte", MEETING_CALLBACK, "Nytt møte"),
        ("en", "new meeting", MEETING_CALLBACK, "New meeting"),
        ("en", "new deadline", DEADLINE_CALLBACK, "New deadline"),
        # The words route whoever types them; the form is in the reader's language.
        ("nb", "new school", SCHOOL_CALLBACK, "Ny skole"),
    ],
)
def test_ny_accepts_the_words_of_every_language(
    slack, sqlite_engine, language, typed, callback, title
):
    seeded_workspace(sqlite_engine, TEAM)
    speak(slack, own=language)
    before = len(slack.fake.calls_to("views.open"))
    assert slash(slack, typed) == ""
    wait_for_call(slack, "views.open", before)
    modal = valid(latest_view(slack))
    assert (modal["callback_id"], modal["title"]["text"]) == (callback, title)


USAGE_START = {
    "nb": "Hva vil du legge inn?",
    "nn": "Kva vil du leggja inn?",
    "en": "What do you want to add?",
}


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_ny_alone_explains_itself_with_commands_that_work(slack, sqlite_engine, language):
    seeded_workspace(sqlite_engine, TEAM)
    speak(slack, own=language)
    reply = slack.command("ny", user=ADMIN)
    assert reply["text"].startswith(USAGE_START[language])
    with use_language(language):
        shown = re.findall(r"`/dks (\S+) ([^`]+)`", usage())
    assert len(shown) == 4
    kinds = set()
    for word, kind in shown:
        sub = find(slack.services.subcommands, word)
        assert sub is not None and sub.name == "ny", word
        kinds.add(kind_named(kind))
    assert kinds == set(KINDS)


# --- forms in nynorsk and English -------------------------------------------------------------

FORM_WORDS: dict[str, dict[str, Any]] = {
    "nn": {
        "labels": ["Tittel", "Type møte", "Dato", "Byrjar kl.", "Siste dag", "Stad"],
        "submit": "Lagra",
        "errors": {
            TITLE_BLOCK: "Skriv ein tittel.",
            TIME_BLOCK: "Eit klokkeslett treng ein dato.",
            END_TIME_BLOCK: "Møtet må slutta etter at det byrjar.",
            RECURRENCE_BLOCK: "Gjentaking treng ein dato for første gong.",
        },
        "link": "Skriv ei nettadresse",
    },
    "en": {
        "labels": ["Title", "Kind of meeting", "Date", "Starts at", "Last day", "Venue"],
        "submit": "Save",
        "errors": {
            TITLE_BLOCK: "Write a title.",
            TIME_BLOCK: "A time needs a date.",
            END_TIME_BLOCK: "The meeting must end after it starts.",
            RECURRENCE_BLOCK: "Repeating needs a date for the first time.",
        },
        "link": "Write a web address",
    },
}


@pytest.mark.parametrize("language", ["nn", "en"])
def test_a_meeting_form_and_its_errors_in_the_readers_language(slack, sqlite_engine, language):
    seeded_workspace(sqlite_engine, TEAM)
    speak(slack, own=language)
    words = FORM_WORDS[language]
    slash(slack, "ny møte")
    wait_for_call(slack, "views.open", 0)
    modal = valid(latest_view(slack))
    assert [label for label in labels(modal) if label in words["labels"]] == words["labels"]
    assert modal["submit"]["text"] == words["submit"]
    ack = submit(
        slack,
        modal,
        {
            TIME_BLOCK: "09:00",
            END_TIME_BLOCK: "08:00",
            RECURRENCE_BLOCK: option(modal, RECURRENCE_BLOCK, "monthly"),
            LINK_BLOCK: "ikkje ei lenkje",
        },
    )
    assert ack is not None and ack["response_action"] == "errors"
    errors = ack["errors"]
    for block_id, error in words["errors"].items():
        assert errors[block_id] == error
    assert errors[LINK_BLOCK].startswith(words["link"])
    assert DATE_BLOCK not in errors


# --- the Home tab -------------------------------------------------------------------------------

HOME_WORDS: dict[str, dict[str, Any]] = {
    "nb": {
        "headers": ["Neste frister", "Kommende møter", "Mangler dato", "Skoler uten kulturkontakt"],
        "buttons": ["Ny frist", "Nytt møte", "Ny kontakt", "Importer", "Eksporter kalender"],
        "menu": ["Endre", "Merk som ferdig", "Slett"],
        "row": "gjelder kulturkontakter · gjentas",
        "undated": "Møte uten dato",
        "section": "Vis flere",
    },
    "nn": {
        "headers": ["Neste fristar", "Komande møte", "Manglar dato", "Skular utan kulturkontakt"],
        "buttons": ["Ny frist", "Nytt møte", "Ny kontakt", "Importer", "Eksporter kalender"],
        "menu": ["Endra", "Merk som ferdig", "Slett"],
        "row": "gjeld kulturkontakter · gjentek seg",
        "undated": "Møte utan dato",
        "section": "Vis fleire",
    },
    "en": {
        "headers": [
            "Next deadlines",
            "Upcoming meetings",
            "No date yet",
            "Schools without a culture contact",
        ],
        "buttons": ["New deadline", "New meeting", "New contact", "Import", "Export calendar"],
        "menu": ["Edit", "Mark as done", "Delete"],
        "row": "for kulturkontakter · repeats",
        "undated": "Meeting without a date",
        "section": "Show more",
    },
}


def test_the_home_tab_follows_the_readers_language_rows_and_sections_too(slack, sqlite_engine):
    """The same rows are remembered per language: switching shows them in the new one."""
    seeded_workspace(sqlite_engine, TEAM)
    deadline = add_deadline(
        sqlite_engine,
        TEAM,
        "Søknadsfrist Kulturrådet",
        TODAY + timedelta(days=3),
        audience="kulturkontakter",
        rrule="FREQ=YEARLY",
        confirmed_until=TODAY + timedelta(days=3),
    )
    add_meeting(sqlite_engine, TEAM, "Nettverkssamling", None)
    add_contact(
        sqlite_engine, TEAM, school="Nordby skole", municipality="Moss", name="Ola", role="rektor"
    )

    def plugged(request: SectionRequest) -> list[Any]:
        # As a feature's `home_sections` entry (the language chooser is one): built while
        # the reader's language is in force.
        return [
            HeaderBlock(text=_("Vis flere")),
            SectionBlock(block_id="plugged", text=f"language={current_language()}"),
        ]

    slack.services.home_sections.append(plugged)
    for language in ("nb", "nn", "en", "nb"):
        speak(slack, own=language)
        words = HOME_WORDS[language]
        view = valid(open_home(slack))
        names = headers(view)
        assert [h for h in names if h in words["headers"]] == words["headers"], language
        buttons = block(view, "home_buttons")
        assert [e["text"]["text"] for e in buttons["elements"]] == words["buttons"]
        row = item_block(view, "deadline", deadline)
        assert words["row"] in text_of(row)
        assert [o["text"]["text"] for o in row["accessory"]["options"]] == words["menu"]
        assert words["undated"] in visible_text(view)
        assert words["section"] in names
        assert text_of(block(view, "plugged")) == f"language={language}"


def test_a_workspace_language_is_every_readers_unless_they_chose_their_own(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    speak(slack, workspace="nn")
    member = open_home(slack, user=MEMBER)
    assert "Berre koordinatorar kan endra" in visible_text(member)
    assert "Neste fristar" in headers(member)
    speak(slack, own="en")
    assert "Next deadlines" in headers(open_home(slack))
    assert "Neste fristar" in headers(open_home(slack, user=MEMBER))


# --- every builder in every language, and nothing written outside the catalogs ------------------


# What someone wrote, shown in the views below: exempt from the catalogs.
DATA = (
    "Nordby skole",
    "Bakken skole",
    "Årsrapport",
    "Nettverksmøte",
    "Søknad",
    "Kari Dahl",
    "Ola",
    "Moss",
    "Teams",
    "juni eller august",
    "FREQ=WEEKLY",
)


def _modals() -> list[View]:
    """Every editing view, with representative data."""
    deadline = Deadline(id=1, team_id=TEAM, title="Årsrapport", due_date=TODAY, due_time=time(12))
    meeting = Meeting(
        id=2,
        team_id=TEAM,
        title="Nettverksmøte",
        start_date=TODAY,
        kind="nettverksmøte",
        form=MeetingForm.HYBRID,
        rrule="FREQ=WEEKLY",
    )
    contact = Contact(id=3, team_id=TEAM, name="Kari Dahl", role="kulturkontakt")
    school = School(id=4, team_id=TEAM, name="Nordby skole")
    entries = [
        SchoolEntry(4, "Nordby skole", "Moss", ["Kari Dahl", "Ola"]),
        SchoolEntry(5, "Bakken skole", None, []),
    ]
    views = [
        calendar_modal("deadline", None, meta=ModalMeta("deadline")),
        calendar_modal("meeting", None, meta=ModalMeta("meeting")),
        calendar_modal("deadline", deadline, meta=ModalMeta("deadline", 1)),
        calendar_modal("meeting", meeting, meta=ModalMeta("meeting", 2)),
        contact_modal(None, meta=ModalMeta("contact"), role="kulturkontakt"),
        contact_modal(
            contact,
            meta=ModalMeta("contact", 3),
            school=(4, "Nordby skole (Moss)"),
            municipality=(6, "Moss"),
        ),
        school_modal(None, meta=ModalMeta("school")),
        school_modal(school, meta=ModalMeta("school", 4), municipality=(6, "Moss")),
        *(delete_modal(meta=ModalMeta(kind, 9), label="Årsrapport") for kind in KINDS),
        schools_modal(
            entries=entries, offset=20, total=22, missing=1, page_size=20, coordinator=True
        ),
    ]
    return views


def _texts(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            found.append(str(node["text"]))
        for value in node.values():
            found += _texts(value)
    elif isinstance(node, list):
        for value in node:
            found += _texts(value)
    return found


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_every_editing_view_fits_slacks_limits(language):
    with use_language(language):
        for view in _modals():
            valid(view)
        for kind in KINDS:
            assert gone_text(kind)


def _home_data() -> HomeData:
    item = HomeItem(
        "meeting",
        7,
        "Nettverksmøte",
        audience="kulturkontakter",
        rrule="FREQ=YEARLY",
        start_time=time(9),
        end_time=time(15),
        place="Teams",
        form="hybrid",
    )
    deadline = HomeItem("deadline", 8, "Årsrapport", start_time=time(12))
    return HomeData(
        today=TODAY,
        coordinator=True,
        limits=HomeLimits(deadlines=1, meetings=1),
        deadlines=[HomeOccurrence(deadline, TODAY - timedelta(days=2), None)],
        deadlines_more=True,
        meetings=[HomeOccurrence(item, TODAY + timedelta(days=3), None, expected=True)],
        meetings_more=True,
        undated=[HomeItem("deadline", 9, "Søknad", date_note="juni eller august")],
        undated_total=3,
        schools_missing=[("Nordby skole", "Moss")],
        schools_missing_total=2,
        schools_total=5,
        reminders=ReminderStatus(channel_id=None, paused=False),
    )


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_the_home_tab_fits_slacks_limits(language):
    with use_language(language):
        view = home_view(_home_data())
        valid(view)
        for status in (ReminderStatus(CHANNEL, True), ReminderStatus(CHANNEL, False)):
            valid(home_view(replace(_home_data(), reminders=status)))


def test_nothing_a_user_reads_in_editing_or_home_is_written_outside_the_catalogs():
    """In the marking language every message comes back as ⟦…⟧: words left once the marked
    parts, the data and Slack's markup are taken out were written outside the catalogs."""
    # Innermost first: a marked message may hold marked parts (a date in a sentence).
    marked = re.compile(f"{PSEUDO_OPEN}[^{PSEUDO_OPEN}{PSEUDO_CLOSE}]*{PSEUDO_CLOSE}")
    emoji = re.compile(r":[a-z_]+:")
    with use_language(PSEUDO):
        views = [valid(view) for view in _modals()]
        views.append(valid(home_view(_home_data())))
    for view in views:
        for text in _texts(view):
            left = text
            while marked.search(left):
                left = marked.sub("", left)
            left = emoji.sub("", left)
            for data in DATA:
                left = left.replace(data, "")
            assert not re.search(r"[^\W\d_]", left), (view.get("callback_id"), text)
