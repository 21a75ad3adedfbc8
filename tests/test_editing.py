"""Scenario tests for the edit modals: signed slash commands, block_actions and
view_submissions through the real HTTP endpoint, the fake Slack checking every view."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any

import pytest
from sqlmodel import select

from bot.shell.signing import (
    block_actions_body,
    block_suggestion_body,
    button_action,
    event_body,
    overflow_action,
    select_action,
    slash_command_body,
    submitted_state,
    view_submission_body,
)
from handlers.editing.fields import MODAL_DELETE_ACTION, ModalMeta
from handlers.editing.forms import (
    CONTACT_CALLBACK,
    DATE_BLOCK,
    DEADLINE_CALLBACK,
    DELETE_CALLBACK,
    EMAIL_BLOCK,
    END_TIME_BLOCK,
    LINK_BLOCK,
    NAME_BLOCK,
    PLACE_BLOCK,
    RECURRENCE_BLOCK,
    REMINDERS_BLOCK,
    ROLE_BLOCK,
    SCHOOL_BLOCK,
    SCHOOL_SELECT_ACTION,
    SLACK_USER_BLOCK,
    TIME_BLOCK,
    TITLE_BLOCK,
    calendar_modal,
    contact_modal,
    delete_modal,
    school_modal,
)
from handlers.home.views import HOME_CONTACT_PICK, HOME_NEW_CONTACT, ITEM_MENU_ACTION
from storage import audit
from storage.contacts import search_contacts
from storage.db import session_scope
from storage.models import (
    AuditEntry,
    Contact,
    DatePrecision,
    Deadline,
    DeadlineDone,
    Meeting,
    MeetingForm,
    Municipality,
    School,
)
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM
from tests.helpers import add_contact, add_deadline, add_meeting, seeded_workspace, visible_text

NOT_COORDINATOR_MARK = "Bare koordinatorer"


# --- driving Slack ------------------------------------------------------------------------------


def open_home(slack: Any, user: str = ADMIN) -> dict[str, Any]:
    fake = slack.fake
    before = len(fake.calls_to("views.publish"))
    body = event_body(
        team_id=TEAM,
        event={"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"},
    )
    assert slack.post(body, headers=None).status_code == 200
    assert fake.wait_for(lambda: len(fake.calls_to("views.publish")) > before)
    return fake.home_views[user]


def wait_for_call(slack: Any, method: str, before: int) -> None:
    assert slack.fake.wait_for(lambda: len(slack.fake.calls_to(method)) > before), method


def latest_view(slack: Any) -> dict[str, Any]:
    return list(slack.fake.views.values())[-1]


def click(
    slack: Any, view: dict[str, Any], action: dict[str, Any], block_id: str, user: str = ADMIN
) -> None:
    body = block_actions_body(
        team_id=TEAM,
        user_id=user,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
        action=action,
        block_id=block_id,
        view=view,
    )
    assert slack.post(body).status_code == 200


def click_and_wait(
    slack: Any,
    view: dict[str, Any],
    action: dict[str, Any],
    block_id: str,
    method: str,
    user: str = ADMIN,
) -> dict[str, Any]:
    before = len(slack.fake.calls_to(method))
    click(slack, view, action, block_id, user)
    wait_for_call(slack, method, before)
    return latest_view(slack)


def submit(
    slack: Any, view: dict[str, Any], changes: dict[str, Any] | None = None, user: str = ADMIN
) -> dict[str, Any] | None:
    """Submit a modal as Slack would; the ack's body (None when it is empty: modal closes)."""
    body = view_submission_body(
        team_id=TEAM, user_id=user, view=view, values=submitted_state(view, changes)
    )
    response = slack.post(body)
    assert response.status_code == 200, response.text
    return json.loads(response.text) if response.text else None


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def text_of(one_block: dict[str, Any]) -> str:
    return visible_text({"blocks": [one_block]})


def item_block(view: dict[str, Any], kind: str, item_id: int) -> dict[str, Any]:
    return next(
        b
        for b in view["blocks"]
        if str(b.get("block_id", "")).startswith((f"item:{kind}:{item_id}:", f"undated:{kind}:"))
        and f":{item_id}" in b["block_id"]
    )


def option(view: dict[str, Any], block_id: str, value: str) -> dict[str, Any]:
    element = block(view, block_id)["element"]
    return next(o for o in element["options"] if o["value"] == value)


def slash(slack: Any, text: str, user: str = ADMIN) -> str:
    body = slash_command_body(
        text=text,
        team_id=TEAM,
        user_id=user,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
    )
    response = slack.post(body)
    assert response.status_code == 200
    return response.text


def audit_rows(engine: Any) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))  # type: ignore[arg-type]


@pytest.fixture
def reminder_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Records the reminders hook (the reminders feature is tested on its own)."""
    from handlers.reminders import sync as reminders

    calls: list[tuple[str, int]] = []

    def spy(
        *, client: Any, services: Any, team_id: str, kind: str, item_id: int, logger: Any
    ) -> None:
        assert team_id == TEAM
        calls.append((kind, item_id))

    monkeypatch.setattr(reminders, "after_item_change", spy)
    return calls


# --- deadlines and meetings ---------------------------------------------------------------------


def test_ny_frist_opens_a_modal_and_saving_stores_audits_and_refreshes_home(
    slack, sqlite_engine, reminder_calls
):
    seeded_workspace(sqlite_engine, TEAM)
    before = len(slack.fake.calls_to("views.open"))
    assert slash(slack, "ny frist") == ""  # the modal opens instead of a reply
    wait_for_call(slack, "views.open", before)
    modal = latest_view(slack)
    assert modal["callback_id"] == DEADLINE_CALLBACK and modal["title"]["text"] == "Ny frist"

    publishes = len(slack.fake.calls_to("views.publish"))
    ack = submit(
        slack,
        modal,
        {
            TITLE_BLOCK: "Søknad til Kulturrådet",
            DATE_BLOCK: "2027-01-15",
            TIME_BLOCK: "12:00",
            RECURRENCE_BLOCK: option(modal, RECURRENCE_BLOCK, "yearly"),
            LINK_BLOCK: "www.kulturradet.no",
            REMINDERS_BLOCK: "7, 14",
        },
    )
    assert ack is None  # stored; the modal closes
    with session_scope(sqlite_engine) as session:
        row = session.exec(select(Deadline)).one()
        assert row.title == "Søknad til Kulturrådet"
        assert (row.due_date, row.due_time) == (date(2027, 1, 15), clock_time(12))
        assert row.rrule == "FREQ=YEARLY" and row.confirmed_until == date(2027, 1, 15)
        assert row.link == "https://www.kulturradet.no"
        assert row.reminder_offsets_days == "14,7"
        assert row.precision == DatePrecision.DAY
        assert row.search_key == "soknad til kulturradet"
    [entry] = audit_rows(sqlite_engine)
    assert (entry.user_id, entry.action, entry.item_kind) == (ADMIN, "create", "deadline")
    assert entry.at.replace(tzinfo=UTC) == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    wait_for_call(slack, "views.publish", publishes)  # after the reminders hook
    assert reminder_calls == [("deadline", row.id)]
    assert "Søknad til Kulturrådet" in visible_text(slack.fake.home_views[ADMIN])


def test_bad_input_comes_back_as_field_errors_and_stores_nothing(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    slash(slack, "ny møte")
    wait_for_call(slack, "views.open", 0)
    modal = latest_view(slack)
    ack = submit(
        slack,
        modal,
        {
            TIME_BLOCK: "09:00",
            END_TIME_BLOCK: "08:00",
            RECURRENCE_BLOCK: option(modal, RECURRENCE_BLOCK, "monthly"),
            LINK_BLOCK: "ikke en lenke",
            REMINDERS_BLOCK: "sju",
        },
    )
    assert ack is not None and ack["response_action"] == "errors"
    errors = ack["errors"]
    assert errors[TITLE_BLOCK] == "Skriv en tittel."
    assert errors[TIME_BLOCK] == "Et klokkeslett trenger en dato."
    assert "https://" in errors[LINK_BLOCK]
    assert "sju" in errors[REMINDERS_BLOCK]
    assert set(errors) <= {b["block_id"] for b in modal["blocks"]}
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Meeting)).all() == []
    assert audit_rows(sqlite_engine) == []


def test_editing_from_home_keeps_precision_and_shows_who_changed_it_last(
    slack, sqlite_engine, reminder_calls
):
    seeded_workspace(sqlite_engine, TEAM)
    meeting_id = add_meeting(
        sqlite_engine,
        TEAM,
        "Veiledning, kommunegruppe 2",
        date(2026, 11, 30),
        end_date=date(2026, 12, 27),
        precision=DatePrecision.WEEK,
        form=MeetingForm.DIGITAL,
        external_key="veiledning-2",
    )
    home = open_home(slack)
    section = item_block(home, "meeting", meeting_id)
    menu = section["accessory"]
    modal = click_and_wait(
        slack,
        home,
        overflow_action(menu, f"edit:meeting:{meeting_id}"),
        section["block_id"],
        "views.open",
    )
    assert modal["title"]["text"] == "Endre møte"
    assert "medfølgende DKS-kalenderen" in visible_text(modal)
    publishes = len(slack.fake.calls_to("views.publish"))
    assert submit(slack, modal, {PLACE_BLOCK: "Teams"}) is None
    wait_for_call(slack, "views.publish", publishes)
    with session_scope(sqlite_engine) as session:
        row = session.get(Meeting, meeting_id)
        assert row is not None and row.place == "Teams"
        assert row.precision == DatePrecision.WEEK and row.end_date == date(2026, 12, 27)
        assert "teams" in row.search_key
    [entry] = audit_rows(sqlite_engine)
    assert entry.action == "update"
    assert audit.changes_of(entry) == {"place": [None, "Teams"]}
    assert reminder_calls == [("meeting", meeting_id)]

    home = open_home(slack)
    section = item_block(home, "meeting", meeting_id)
    modal = click_and_wait(
        slack,
        home,
        overflow_action(section["accessory"], f"edit:meeting:{meeting_id}"),
        section["block_id"],
        "views.open",
    )
    assert f"Sist endret av <@{ADMIN}> den 24. november 2026 kl. 10:00." in visible_text(modal)


def test_deleting_and_marking_done_from_the_home_tab(slack, sqlite_engine, reminder_calls):
    seeded_workspace(sqlite_engine, TEAM)
    gone = add_deadline(sqlite_engine, TEAM, "Frist som skal bort", date(2026, 12, 1))
    done = add_deadline(sqlite_engine, TEAM, "Frist som blir ferdig", date(2026, 12, 2))
    home = open_home(slack)
    section = item_block(home, "deadline", gone)
    confirm = click_and_wait(
        slack,
        home,
        overflow_action(section["accessory"], f"delete:deadline:{gone}"),
        section["block_id"],
        "views.open",
    )
    assert confirm["callback_id"] == DELETE_CALLBACK
    assert "Frist som skal bort" in visible_text(confirm)
    publishes = len(slack.fake.calls_to("views.publish"))
    assert submit(slack, confirm) is None
    wait_for_call(slack, "views.publish", publishes)
    assert "Frist som skal bort" not in visible_text(slack.fake.home_views[ADMIN])

    home = slack.fake.home_views[ADMIN]
    section = item_block(home, "deadline", done)
    publishes = len(slack.fake.calls_to("views.publish"))
    click(
        slack,
        home,
        overflow_action(section["accessory"], f"done:deadline:{done}:2026-12-02"),
        section["block_id"],
    )
    wait_for_call(slack, "views.publish", publishes)
    assert "Frist som blir ferdig" not in visible_text(slack.fake.home_views[ADMIN])
    with session_scope(sqlite_engine) as session:
        assert session.get(Deadline, gone) is None
        mark = session.exec(select(DeadlineDone)).one()
        assert (mark.deadline_id, mark.occurrence, mark.done_by) == (
            done,
            date(2026, 12, 2),
            ADMIN,
        )
    assert [(e.action, e.item_id) for e in audit_rows(sqlite_engine)] == [
        ("delete", gone),
        ("done", done),
    ]
    assert reminder_calls == [("deadline", gone), ("deadline", done)]


def test_a_modal_for_something_deleted_meanwhile_says_so(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    deadline_id = add_deadline(sqlite_engine, TEAM, "Snart borte", date(2026, 12, 1))
    home = open_home(slack)
    section = item_block(home, "deadline", deadline_id)
    modal = click_and_wait(
        slack,
        home,
        overflow_action(section["accessory"], f"edit:deadline:{deadline_id}"),
        section["block_id"],
        "views.open",
    )
    with session_scope(sqlite_engine, write=True) as session:
        row = session.get(Deadline, deadline_id)
        session.delete(row)
    ack = submit(slack, modal, {TITLE_BLOCK: "Nytt navn"})
    assert ack is not None and ack["response_action"] == "update"
    assert "Finner ikke fristen" in visible_text(ack["view"])
    # …and the stale Home tab's menu says the same in a modal.
    notice = click_and_wait(
        slack,
        home,
        overflow_action(section["accessory"], f"edit:deadline:{deadline_id}"),
        section["block_id"],
        "views.open",
    )
    assert "Finner ikke fristen" in visible_text(notice)


# --- roles on every write path -------------------------------------------------------------------


def test_crafted_payloads_from_a_non_coordinator_are_refused_and_change_nothing(
    slack, sqlite_engine, reminder_calls
):
    seeded_workspace(sqlite_engine, TEAM)
    deadline_id = add_deadline(sqlite_engine, TEAM, "Årsrapport", date(2026, 12, 1))
    contact_id = add_contact(sqlite_engine, TEAM, name="Kari", role="rektor")

    # The slash command refuses in the reply and opens nothing.
    assert NOT_COORDINATOR_MARK in slash(slack, "ny frist", user=MEMBER)
    assert slack.fake.calls_to("views.open") == []

    # A member's Home tab has no buttons and no menus…
    home = open_home(slack, user=MEMBER)
    assert not any(b.get("accessory", {}).get("type") == "overflow" for b in home["blocks"])
    assert not any(
        b["type"] == "actions" and b.get("block_id") == "home_buttons" for b in home["blocks"]
    )

    # …but a crafted edit of a real deadline is refused on the server.
    admin_home = open_home(slack, user=ADMIN)
    section = item_block(admin_home, "deadline", deadline_id)
    edit = click_and_wait(
        slack,
        admin_home,
        overflow_action(section["accessory"], f"edit:deadline:{deadline_id}"),
        section["block_id"],
        "views.open",
    )
    ack = submit(slack, edit, {TITLE_BLOCK: "Kapret"}, user=MEMBER)
    assert ack is not None and ack["response_action"] == "update"
    assert NOT_COORDINATOR_MARK in visible_text(ack["view"])

    crafted_delete = {
        "id": "V0CRAFTED",
        "type": "modal",
        "callback_id": DELETE_CALLBACK,
        "private_metadata": ModalMeta("contact", contact_id).dump(),
        "blocks": [],
    }
    ack = submit(slack, crafted_delete, user=MEMBER)
    assert ack is not None and NOT_COORDINATOR_MARK in visible_text(ack["view"])

    opened = len(slack.fake.calls_to("views.open"))
    click(
        slack,
        admin_home,
        overflow_action(section["accessory"], f"done:deadline:{deadline_id}:2026-12-01"),
        section["block_id"],
        user=MEMBER,
    )
    wait_for_call(slack, "views.open", opened)
    assert NOT_COORDINATOR_MARK in visible_text(latest_view(slack))

    with session_scope(sqlite_engine) as session:
        row = session.get(Deadline, deadline_id)
        assert row is not None and row.title == "Årsrapport"
        assert session.get(Contact, contact_id) is not None
        assert session.exec(select(DeadlineDone)).all() == []
    assert audit_rows(sqlite_engine) == []
    assert reminder_calls == []


def _crafted_forms(deadline_id: int, meeting_id: int, contact_id: int, school_id: int) -> list[Any]:
    """Each edit form as a member could craft it: (its view, what they typed)."""
    return [
        (
            calendar_modal("deadline", None, meta=ModalMeta("deadline", deadline_id)),
            {TITLE_BLOCK: "Kapret"},
        ),
        (
            calendar_modal("meeting", None, meta=ModalMeta("meeting", meeting_id)),
            {TITLE_BLOCK: "Kapret"},
        ),
        (calendar_modal("meeting", None, meta=ModalMeta("meeting")), {TITLE_BLOCK: "Nytt"}),
        (
            contact_modal(None, meta=ModalMeta("contact", contact_id)),
            {NAME_BLOCK: "Kapret", ROLE_BLOCK: "rektor"},
        ),
        (school_modal(None, meta=ModalMeta("school")), {TITLE_BLOCK: "Kapret skole"}),
        (school_modal(None, meta=ModalMeta("school", school_id)), {TITLE_BLOCK: "Kapret"}),
        (delete_modal(meta=ModalMeta("deadline", deadline_id), label="Årsrapport"), {}),
        (delete_modal(meta=ModalMeta("school", school_id), label="Nordby skole"), {}),
    ]


def test_every_form_and_menu_refuses_a_non_coordinator_and_changes_nothing(
    slack, sqlite_engine, reminder_calls
):
    seeded_workspace(sqlite_engine, TEAM)
    deadline_id = add_deadline(sqlite_engine, TEAM, "Årsrapport", date(2026, 12, 1))
    meeting_id = add_meeting(sqlite_engine, TEAM, "Nettverksmøte", date(2026, 12, 3))
    contact_id = add_contact(sqlite_engine, TEAM, name="Kari", role="rektor")
    school_id = _school(sqlite_engine, "Nordby skole", "Moss")

    def stored() -> list[Any]:
        with session_scope(sqlite_engine) as session:
            return [
                [tuple(getattr(r, c.name) for c in model.__table__.columns) for r in rows]  # type: ignore[attr-defined]
                for model in (Deadline, Meeting, Contact, School, DeadlineDone)
                for rows in [session.exec(select(model)).all()]
            ]

    # `/dks ny` with no known word only explains itself, to anyone.
    assert "Hva vil du legge inn?" in slash(slack, "ny", user=MEMBER)
    assert NOT_COORDINATOR_MARK in slash(slack, "ny skole", user=MEMBER)

    before = stored()
    for view, typed in _crafted_forms(deadline_id, meeting_id, contact_id, school_id):
        crafted = {**view.to_dict(), "id": "V0CRAFTED"}
        ack = submit(slack, crafted, typed, user=MEMBER)
        assert ack is not None and ack["response_action"] == "update", crafted["callback_id"]
        assert NOT_COORDINATOR_MARK in visible_text(ack["view"]), crafted["callback_id"]

    menu = {
        "type": "overflow",
        "action_id": ITEM_MENU_ACTION,
        "options": [
            {"text": {"type": "plain_text", "text": value}, "value": value}
            for value in (
                f"edit:deadline:{deadline_id}",
                f"delete:meeting:{meeting_id}",
                f"done:deadline:{deadline_id}:2026-12-01",
                f"newcontact:school:{school_id}:0",
                f"delete:school:{school_id}:0",
            )
        ],
    }
    home = open_home(slack, user=MEMBER)
    for choice in menu["options"]:
        opened = len(slack.fake.calls_to("views.open"))
        click(slack, home, overflow_action(menu, choice["value"]), "item", user=MEMBER)
        wait_for_call(slack, "views.open", opened)
        assert NOT_COORDINATOR_MARK in visible_text(latest_view(slack)), choice["value"]

    assert stored() == before
    assert audit_rows(sqlite_engine) == []
    assert reminder_calls == []


# --- contacts and schools ------------------------------------------------------------------------


def _school(engine: Any, name: str, municipality: str, team: str = TEAM) -> int:
    with session_scope(engine, write=True) as session:
        muni = session.exec(
            select(Municipality).where(
                Municipality.team_id == team, Municipality.name == municipality
            )  # type: ignore[arg-type]
        ).first()
        if muni is None:
            muni = Municipality(team_id=team, name=municipality)
            session.add(muni)
            session.flush()
        school = School(team_id=team, name=name, municipality_id=muni.id)
        session.add(school)
        session.flush()
        assert school.id is not None
        return school.id


def suggest(
    slack: Any, action_id: str, block_id: str, value: str, view: dict[str, Any]
) -> list[dict[str, Any]]:
    body = block_suggestion_body(
        team_id=TEAM, user_id=ADMIN, action_id=action_id, block_id=block_id, value=value, view=view
    )
    response = slack.post(body)
    assert response.status_code == 200
    return json.loads(response.text)["options"]


def test_a_contact_links_to_a_slack_user_and_a_school(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    nordby = _school(sqlite_engine, "Nordby skole", "Moss")
    _school(sqlite_engine, "Åsen skole", "Moss")
    elsewhere = _school(sqlite_engine, "Deres skole", "Annen", team="T0OTHER")

    home = open_home(slack)
    buttons = block(home, "home_buttons")
    new = next(e for e in buttons["elements"] if e["action_id"] == HOME_NEW_CONTACT)
    modal = click_and_wait(slack, home, button_action(new), "home_buttons", "views.open")
    assert modal["callback_id"] == CONTACT_CALLBACK

    options = suggest(slack, SCHOOL_SELECT_ACTION, SCHOOL_BLOCK, "nord", modal)
    assert [o["text"]["text"] for o in options] == ["Nordby skole (Moss)"]
    assert [
        o["text"]["text"] for o in suggest(slack, SCHOOL_SELECT_ACTION, SCHOOL_BLOCK, "asen", modal)
    ] == ["Åsen skole (Moss)"]

    # An id from another workspace is refused, whatever the payload says.
    foreign = {"text": {"type": "plain_text", "text": "Deres skole"}, "value": str(elsewhere)}
    ack = submit(
        slack, modal, {NAME_BLOCK: "Kari Dahl", ROLE_BLOCK: "Kulturkontakt", SCHOOL_BLOCK: foreign}
    )
    assert ack is not None and ack["errors"] == {SCHOOL_BLOCK: "Velg en skole fra lista."}

    publishes = len(slack.fake.calls_to("views.publish"))
    ack = submit(
        slack,
        modal,
        {
            NAME_BLOCK: "Kari Dahl",
            ROLE_BLOCK: "Kulturkontakt",
            EMAIL_BLOCK: "kari.dahl@moss.kommune.no",
            SLACK_USER_BLOCK: MEMBER,
            SCHOOL_BLOCK: options[0],
        },
    )
    assert ack is None
    with session_scope(sqlite_engine) as session:
        contact = session.exec(select(Contact)).one()
        assert contact.role == "kulturkontakt"
        assert (contact.slack_user_id, contact.school_id) == (MEMBER, nordby)
        assert search_contacts(session=session, team_id=TEAM, query="nordby skole moss")[1] == 1
    wait_for_call(slack, "views.publish", publishes)
    home = slack.fake.home_views[ADMIN]
    assert "Nordby skole" not in text_of(block(home, "home_schools"))
    assert "Åsen skole" in text_of(block(home, "home_schools"))

    # Find the contact again with the Home tab's picker and delete it from its modal.
    picker = block(home, "home_contact_pick")["elements"][0]
    found = suggest(slack, HOME_CONTACT_PICK, "home_contact_pick", "kari moss", home)
    assert len(found) == 1 and "Kari Dahl" in found[0]["text"]["text"]
    edit = click_and_wait(
        slack, home, select_action(picker, found[0]), "home_contact_pick", "views.open"
    )
    assert block(edit, SCHOOL_BLOCK)["element"]["initial_option"]["value"] == str(nordby)
    assert block(edit, SLACK_USER_BLOCK)["element"]["initial_user"] == MEMBER
    delete = next(b for b in edit["blocks"] if b.get("block_id") == "delete")["elements"][0]
    assert delete["action_id"] == MODAL_DELETE_ACTION
    confirm = click_and_wait(slack, edit, button_action(delete), "delete", "views.push")
    ack = submit(slack, confirm)
    assert ack == {"response_action": "clear"}  # the edit modal under it goes too
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Contact)).all() == []
    assert [e.action for e in audit_rows(sqlite_engine)] == ["create", "delete"]


def test_the_school_list_flags_schools_without_kulturkontakt_and_adds_one(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    covered = _school(sqlite_engine, "Bakken skole", "Moss")
    missing = _school(sqlite_engine, "Holmen skole", "Moss")
    add_contact(sqlite_engine, TEAM, name="Per", role="kulturkontakt")
    with session_scope(sqlite_engine, write=True) as session:
        session.add(Contact(team_id=TEAM, name="Ola", role="kulturkontakt", school_id=covered))

    home = open_home(slack)
    section = block(home, "home_schools")
    assert "1 av 2 skoler" in text_of(section) and "Holmen skole" in text_of(section)
    listing = click_and_wait(
        slack, home, button_action(section["accessory"]), "home_schools", "views.open"
    )
    text = visible_text(listing)
    assert text.index("Holmen skole") < text.index("Bakken skole")  # missing ones first
    assert "Kulturkontakt: Ola" in text and "Mangler kulturkontakt" in text

    row = block(listing, f"school:{missing}")
    contact_modal = click_and_wait(
        slack,
        listing,
        overflow_action(row["accessory"], f"newcontact:school:{missing}:0"),
        row["block_id"],
        "views.push",
    )
    assert block(contact_modal, ROLE_BLOCK)["element"]["initial_value"] == "kulturkontakt"
    assert block(contact_modal, SCHOOL_BLOCK)["element"]["initial_option"]["value"] == str(missing)
    updates = len(slack.fake.calls_to("views.update"))
    # Slack tells a pushed modal which view is under it.
    pushed = {**contact_modal, "previous_view_id": listing["id"]}
    assert submit(slack, pushed, {NAME_BLOCK: "Siri Vik"}) is None
    wait_for_call(slack, "views.update", updates)
    refreshed = slack.fake.views[listing["id"]]
    assert "Kulturkontakt: Siri Vik" in visible_text(refreshed)
    assert "0 uten kulturkontakt" in visible_text(refreshed)


def test_the_school_list_pages_and_adds_schools(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    for i in range(23):
        _school(sqlite_engine, f"Skole {i:02d}", "Moss")
    home = open_home(slack)
    section = block(home, "home_schools")
    listing = click_and_wait(
        slack, home, button_action(section["accessory"]), "home_schools", "views.open"
    )
    assert "Viser 1–20 av 23" in visible_text(listing)
    nav = block(listing, "schools_nav")
    more = next(e for e in nav["elements"] if e["text"]["text"] == "Vis flere")
    updates = len(slack.fake.calls_to("views.update"))
    click(slack, listing, button_action(more), "schools_nav")
    wait_for_call(slack, "views.update", updates)
    page_two = slack.fake.views[listing["id"]]
    assert "Viser 21–23 av 23" in visible_text(page_two)
    assert "Skole 22" in visible_text(page_two) and "Skole 00" not in visible_text(page_two)

    new = next(b for b in page_two["blocks"] if b["type"] == "actions")["elements"][0]
    school_modal = click_and_wait(slack, page_two, button_action(new), "x", "views.push")
    assert school_modal["callback_id"] == "dks_edit_school"
    moss = suggest(slack, "dks_pick_municipality", "municipality", "mo", school_modal)
    assert [o["text"]["text"] for o in moss] == ["Moss"]
    ack = submit(slack, school_modal, {TITLE_BLOCK: "skole 05", "municipality": moss[0]})
    assert ack == {
        "response_action": "errors",
        "errors": {TITLE_BLOCK: "Det finnes allerede en skole med det navnet her."},
    }
    updates = len(slack.fake.calls_to("views.update"))
    pushed = {**school_modal, "previous_view_id": listing["id"]}
    assert submit(slack, pushed, {TITLE_BLOCK: "Ny skole i Moss", "municipality": moss[0]}) is None
    wait_for_call(slack, "views.update", updates)
    assert "av 24" in visible_text(slack.fake.views[listing["id"]])
    with session_scope(sqlite_engine) as session:
        school = session.exec(select(School).where(School.name == "Ny skole i Moss")).one()  # type: ignore[arg-type]
        assert school.municipality_id is not None
    assert [e.action for e in audit_rows(sqlite_engine)] == ["create"]
