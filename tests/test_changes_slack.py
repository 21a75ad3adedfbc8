"""Scenario tests for tour-plan change requests in Slack (issue #17), over signed HTTP.

A workspace with a tour plan for three schools, each with its kulturkontakt on Slack: the
coordinator starts a round, the kulturkontakter get their DMs; one files a change (after a
field error), one answers «Alt ser bra ut», one stays silent and gets exactly two follow-ups
from the scheduler. The coordinator sets statuses on the Home tab and the kulturkontakt is told.
The fake Slack validates every view the bot opens; the views in acks and the messages are
validated here (slack_sdk.models).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.shell.signing import block_actions_body, button_action, select_action, slash_command_body
from handlers.changes.forms import (
    CLOSING_BLOCK,
    COMMENT_BLOCK,
    CONTACT_BLOCK,
    DATE_BLOCK,
    OPEN_CALLBACK,
    PERFORMANCE_BLOCK,
    PICK_CALLBACK,
    REASON_BLOCK,
    REQUEST_CALLBACK,
    SCHOOL_BLOCK,
    TIME_BLOCK,
    VALUE_ACTION,
    WEEK_BLOCK,
)
from handlers.changes.kinds import render_followup
from handlers.changes.views import (
    EDIT_ACTION,
    LIST_CALLBACK,
    NO_CHANGES_ACTION,
    PLAN_ACTION,
    PLAN_CALLBACK,
    REPORT_ACTION,
    REQUEST_BLOCK_PREFIX,
    ROUND_ACTION,
    ROUND_CALLBACK,
    START_ACTION,
    STATUS_ACTION,
    WITHDRAW_ACTION,
)
from storage.changes import FOLLOWUP_KIND
from storage.contacts import save_contact
from storage.db import session_scope
from storage.importers.tourplan import import_tourplan, parse_tourplan
from storage.models import (
    ChangeAnswer,
    ChangeRequest,
    ChangeRound,
    Contact,
    Municipality,
    OutboxMessage,
    Performance,
    School,
    Workspace,
    utcnow,
)
from storage.workspaces import set_user_language
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM
from tests.feedback_helpers import OSLO, opened_view, view_submission_body
from tests.helpers import assert_valid_message, visible_text

KONTAKT = "U0KONTAKT"  # Ås ungdomsskole: files a change
NORDBY = "U0NORDBY"  # Nordby skole: «Alt ser bra ut»
KROER = "U0KROER"  # Kroer skole: silent
SCHOOLS = {"Ås ungdomsskole": KONTAKT, "Nordby skole": NORDBY, "Kroer skole": KROER}
CLOSING = date(2026, 12, 11)  # a Friday; the round opens on Tuesday 24 November

COLUMNS = (
    "forestilling_id;produksjon;kunstuttrykk;utøver;skole;kommune;dato;start;slutt;sted;trinn;"
    "elever"
)
ROWS = (
    # Ås ungdomsskole
    "AS-V27-101;Samisk joik og fortelling;tverrkunstnerisk;Ánne Márjá Gaup;Ås ungdomsskole;Ås;"
    "12.01.2027;09:00;09:50;Gymsalen;8-10;160",
    "AS-V27-102;Hip hop-verksted;musikk;Kollektivet Bølge;Ås ungdomsskole;Ås;03.02.2027;08:30;"
    "11:30;Musikkrommet;10;75",
    # Nordby skole
    "AS-V27-103;Dans på timeplanen;scenekunst;Kompani Ørn;Nordby skole;Ås;09.03.2027;10:15;11:00;"
    "Gymsalen;5-7;105",
    # Kroer skole, and a performance of last week (not in the round)
    "AS-V27-104;Kunst i skogen;visuell kunst;Land art-kollektivet Mose;Kroer skole;Ås;11.05.2027;"
    "09:00;13:00;Skogen bak skolen;1-7;96",
    "AS-H26-090;Fyrvokterens dagbok;kulturarv;Follo museum;Kroer skole;Ås;18.11.2026;09:00;10:30;"
    "Klasserommene;5-7;41",
)
PLAN = "\n".join((COLUMNS, *ROWS)) + "\n"


# --- the world -----------------------------------------------------------------------------------


def load_plan(
    engine: Engine, now: datetime, *, plan: str = PLAN, linked: dict[str, str] | None = None
) -> dict[str, int]:
    """Three schools in Ås, each with its kulturkontakt on Slack (`linked`), and the plan.

    Returns performance ids by forestilling_id."""
    linked = SCHOOLS if linked is None else linked
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=TEAM, seeded_at=utcnow()))
    with session_scope(engine, write=True) as session:
        place = Municipality(team_id=TEAM, name="Ås")
        session.add(place)
        session.flush()
        for name in SCHOOLS:
            school = School(team_id=TEAM, name=name, municipality_id=place.id)
            session.add(school)
            session.flush()
            if name in linked:
                save_contact(
                    session=session,
                    contact=Contact(
                        team_id=TEAM,
                        name=f"Kulturkontakt {name}",
                        role="Kulturkontakt",
                        slack_user_id=linked[name],
                        school_id=school.id,
                    ),
                )
    with session_scope(engine, write=True) as session:
        import_tourplan(
            session=session, team_id=TEAM, data=parse_tourplan(plan.encode()), tz=OSLO, now=now
        )
        return {p.external_key: p.id for p in session.exec(select(Performance)) if p.id}


@pytest.fixture
def world(sqlite_engine: Engine, clock: Any, fake_slack: Any) -> dict[str, int]:
    for user, name in (
        (KONTAKT, "Kari Kulturkontakt"),
        (NORDBY, "Nora Nordby"),
        (KROER, "Kai Kroer"),
    ):
        fake_slack.add_user(user, name)
    return load_plan(sqlite_engine, clock.now)


# --- requests as Slack sends them ----------------------------------------------------------------


def command(slack: Any, text: str, *, user: str = ADMIN) -> dict[str, Any]:
    response = slack.post(
        slash_command_body(
            text=text,
            team_id=TEAM,
            user_id=user,
            channel_id=CHANNEL,
            response_url=slack.fake.response_url(),
        )
    )
    assert response.status_code == 200
    return json.loads(response.text) if response.text else {}


def click(
    slack: Any,
    element: dict[str, Any],
    *,
    block_id: str,
    user: str,
    view: dict[str, Any] | None = None,
    option: dict[str, Any] | None = None,
    channel: str = CHANNEL,
) -> None:
    action = select_action(element, option) if option is not None else button_action(element)
    body = block_actions_body(
        team_id=TEAM,
        user_id=user,
        channel_id=channel,
        response_url=slack.fake.response_url(),
        action=action,
        block_id=block_id,
        view=view,
        is_ephemeral=False,
    )
    assert slack.post(body).status_code == 200


def submit(
    slack: Any, view: dict[str, Any], values: dict[str, Any], *, user: str
) -> dict[str, Any]:
    body = view_submission_body(view=view, state=values, team_id=TEAM, user_id=user)
    response = slack.post(body)
    assert response.status_code == 200
    answer = json.loads(response.text) if response.text else {}
    if isinstance(answer.get("view"), dict):
        View(**answer["view"]).validate_json()
    return answer


def buttons(message: dict[str, Any]) -> dict[str, tuple[dict[str, Any], str]]:
    """A message's or view's buttons by action_id: (element, block_id)."""
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for block in message.get("blocks", []):
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id"):
                found.setdefault(element["action_id"], (element, block.get("block_id", "")))
    return found


def dms(slack: Any, user: str) -> list[dict[str, Any]]:
    return slack.fake.messages.get("D" + user[1:], [])


def wait_for_dms(slack: Any, user: str, count: int) -> list[dict[str, Any]]:
    assert slack.fake.wait_for(lambda: len(dms(slack, user)) >= count), f"no DM to {user}"
    return dms(slack, user)


def state(view: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`view.state.values` for the request form: every input as the bot drew it, with
    `changes` (block id → the state's value) on top."""
    keys = {
        "static_select": ("selected_option", "initial_option"),
        "radio_buttons": ("selected_option", "initial_option"),
        "datepicker": ("selected_date", "initial_date"),
        "timepicker": ("selected_time", "initial_time"),
        "number_input": ("value", "initial_value"),
        "plain_text_input": ("value", "initial_value"),
    }
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        key, initial = keys[element["type"]]
        value = changes.get(block["block_id"], element.get(initial))
        values[block["block_id"]] = {element["action_id"]: {"type": element["type"], key: value}}
    return values


def requests(engine: Engine) -> list[ChangeRequest]:
    with session_scope(engine) as session:
        return list(session.exec(select(ChangeRequest).order_by(col(ChangeRequest.id))))


def answers(engine: Engine) -> dict[int, str]:
    with session_scope(engine) as session:
        return {a.school_id: a.answer for a in session.exec(select(ChangeAnswer))}


def school_id(engine: Engine, name: str) -> int:
    with session_scope(engine) as session:
        found = session.exec(select(School.id).where(col(School.name) == name)).one()
        assert found is not None
        return int(found)


def start_round(slack: Any, closing: date = CLOSING) -> dict[str, Any]:
    """`/dks endringer start` and the closing date: the view the coordinator is shown."""
    before = len(slack.fake.calls_to("views.open"))
    assert command(slack, "endringer start") == {}
    form = opened_view(slack.fake, count=before + 1)
    assert form["callback_id"] == OPEN_CALLBACK
    answer = submit(
        slack,
        form,
        {
            CLOSING_BLOCK: {
                VALUE_ACTION: {"type": "datepicker", "selected_date": closing.isoformat()}
            }
        },
        user=ADMIN,
    )
    assert answer.get("response_action") == "update", answer
    return answer["view"]


def open_home(slack: Any, user: str = ADMIN) -> dict[str, Any]:
    from tests.test_editing import open_home as home

    return home(slack, user=user)


def home_section(home: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = home["blocks"]
    start = next(i for i, b in enumerate(blocks) if b.get("block_id") == "changes_home")
    end = next(
        (i for i in range(start + 1, len(blocks)) if blocks[i]["type"] == "divider"), len(blocks)
    )
    return blocks[start:end]


# --- the round ------------------------------------------------------------------------------------


def test_a_round_with_three_schools(slack, sqlite_engine, world, make_scheduler, clock):
    # Before any round: the coordinator is told how to start one; a member may not start one.
    reply = command(slack, "endringer")
    assert "Ingen endringsrunde er startet ennå" in reply["text"]
    assert START_ACTION in buttons(reply)
    refused = command(slack, "endringer start", user=MEMBER)
    assert refused["text"].startswith("Bare koordinatorer kan starte en endringsrunde")

    # The closing date must be in the future: a field error, nothing stored.
    before = len(slack.fake.calls_to("views.open"))
    command(slack, "endringer start")
    form = opened_view(slack.fake, count=before + 1)
    past = {CLOSING_BLOCK: {VALUE_ACTION: {"type": "datepicker", "selected_date": "2026-11-20"}}}
    answer = submit(slack, form, past, user=ADMIN)
    assert answer == {
        "response_action": "errors",
        "errors": {CLOSING_BLOCK: "Fristen må være etter i dag."},
    }
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(ChangeRound)).first() is None

    opened = start_round(slack)
    shown = visible_text(opened)
    assert "Endringsrunden er startet, med frist 11. desember 2026." in shown
    assert "3 skoler har forestillinger i turnéplanen." in shown
    assert "Jeg sender melding til 3 kulturkontakter nå." in shown
    assert "Uten kulturkontakt" not in shown

    # Each kulturkontakt gets a DM with the three buttons.
    for name, user in SCHOOLS.items():
        [invitation] = wait_for_dms(slack, user, 1)
        assert_valid_message(invitation)
        assert invitation["text"] == (
            f"Turnéplanen for {name} er klar. Se den og si fra om noe må endres innen "
            "11. desember 2026."
        )
        found = buttons(invitation)
        assert [
            found[a][0]["text"]["text"] for a in (PLAN_ACTION, REPORT_ACTION, NO_CHANGES_ACTION)
        ] == [
            "Se turnéplanen",
            "Meld endring",
            "Alt ser bra ut",
        ]

    # «Se turnéplanen»: the school's performances, with date, time, grades, pupils, place.
    [invitation] = dms(slack, KONTAKT)
    element, block_id = buttons(invitation)[PLAN_ACTION]
    before = len(slack.fake.calls_to("views.open"))
    click(slack, element, block_id=block_id, user=KONTAKT, channel="D0KONTAKT")
    plan = opened_view(slack.fake, count=before + 1)
    assert plan["callback_id"] == PLAN_CALLBACK
    text = visible_text(plan)
    assert "*Ås ungdomsskole (Ås)* har 2 forestillinger i turnéplanen:" in text
    assert (
        "*Samisk joik og fortelling*\ntirsdag 12. januar 2027 kl. 09:00–09:50 · 8.–10. trinn · "
        "160 elever · Gymsalen"
    ) in text
    assert "Hip hop-verksted" in text and "Dans på timeplanen" not in text

    # «Meld endring»: the form for the one school the kulturkontakt serves.
    element, block_id = buttons(invitation)[REPORT_ACTION]
    before = len(slack.fake.calls_to("views.open"))
    click(slack, element, block_id=block_id, user=KONTAKT, channel="D0KONTAKT")
    form = opened_view(slack.fake, count=before + 1)
    assert form["callback_id"] == REQUEST_CALLBACK
    inputs = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        PERFORMANCE_BLOCK,
        REASON_BLOCK,
        DATE_BLOCK,
        TIME_BLOCK,
        WEEK_BLOCK,
        CONTACT_BLOCK,
        COMMENT_BLOCK,
    ]
    choices = [o["text"]["text"] for o in inputs[PERFORMANCE_BLOCK]["options"]]
    assert choices == [
        "Samisk joik og fortelling – 12.01.2027 kl. 09:00",
        "Hip hop-verksted – 03.02.2027 kl. 08:30",
    ]
    assert [o["text"]["text"] for o in inputs[REASON_BLOCK]["options"]] == [
        "elevfri dag",
        "prøve/eksamen",
        "tur/leirskole",
        "for mange/få elever",
        "lokale",
        "annet",
    ]
    joik = inputs[PERFORMANCE_BLOCK]["options"][0]
    # No reason, and a wished date that has passed: field errors, nothing stored.
    bad = state(form, **{PERFORMANCE_BLOCK: joik, DATE_BLOCK: "2026-11-01"})
    answer = submit(slack, form, bad, user=KONTAKT)
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        REASON_BLOCK: "Velg en grunn.",
        DATE_BLOCK: "Ønsket dato har vært.",
    }
    assert requests(sqlite_engine) == []
    trip = inputs[REASON_BLOCK]["options"][2]
    good = state(
        form,
        **{
            PERFORMANCE_BLOCK: joik,
            REASON_BLOCK: trip,
            DATE_BLOCK: "2027-01-19",
            TIME_BLOCK: "10:00",
            CONTACT_BLOCK: "Kari Kulturkontakt, 900 00 000",
            COMMENT_BLOCK: "8. trinn er på leirskole den uka.",
        },
    )
    answer = submit(slack, form, good, user=KONTAKT)
    assert answer["response_action"] == "update"
    assert answer["view"]["callback_id"] == LIST_CALLBACK
    thanks = visible_text(answer["view"])
    assert (
        "Takk! Endringsønsket for *Samisk joik og fortelling* 12. januar 2027 er sendt til "
        "koordinatoren."
    ) in thanks
    assert "ønsket tirsdag 19. januar 2027 kl. 10:00" in thanks
    [stored] = requests(sqlite_engine)
    assert (stored.external_key, stored.reason, stored.wished_date, stored.status) == (
        "AS-V27-101",
        "trip",
        date(2027, 1, 19),
        "new",
    )

    # Nordby: «Alt ser bra ut» replaces the message clicked; no request is stored.
    [invitation] = dms(slack, NORDBY)
    element, block_id = buttons(invitation)[NO_CHANGES_ACTION]
    before = len(slack.fake.responses)
    click(slack, element, block_id=block_id, user=NORDBY, channel="D0NORDBY")
    assert slack.fake.wait_for(lambda: len(slack.fake.responses) > before)
    _url, replaced = slack.fake.responses[-1]
    assert replaced["replace_original"] is True
    assert replaced["text"] == (
        ":white_check_mark: Takk! Registrert at alt ser bra ut i turnéplanen for Nordby skole."
    )
    assert_valid_message(
        {
            "text": replaced["text"],
            "blocks": json.loads(replaced["blocks"])
            if isinstance(replaced["blocks"], str)
            else replaced["blocks"],
        }
    )
    assert answers(sqlite_engine) == {
        school_id(sqlite_engine, "Ås ungdomsskole"): "changes",
        school_id(sqlite_engine, "Nordby skole"): "no_changes",
    }
    assert len(requests(sqlite_engine)) == 1

    # Only the school's own kulturkontakt (or a coordinator) can file for it: a member who
    # clicks the button from someone else's message, or another school's kulturkontakt who
    # sends the form, is refused, and nothing is stored.
    [invitation] = dms(slack, KONTAKT)
    element, block_id = buttons(invitation)[REPORT_ACTION]
    before = len(slack.fake.responses)
    opened_before = len(slack.fake.calls_to("views.open"))
    click(slack, element, block_id=block_id, user=MEMBER, channel="D0KONTAKT")
    assert slack.fake.wait_for(lambda: len(slack.fake.responses) > before)
    assert slack.fake.responses[-1][1]["text"].startswith(
        "Bare skolens kulturkontakt eller en koordinator kan melde endringer for skolen."
    )
    assert len(slack.fake.calls_to("views.open")) == opened_before
    hip_hop = inputs[PERFORMANCE_BLOCK]["options"][1]
    crafted = state(form, **{PERFORMANCE_BLOCK: hip_hop, REASON_BLOCK: trip})
    for outsider in (MEMBER, NORDBY):
        answer = submit(slack, form, crafted, user=outsider)
        assert answer["response_action"] == "update"
        assert visible_text(answer["view"]).startswith("Bare skolens kulturkontakt")
    assert len(requests(sqlite_engine)) == 1

    # The kulturkontakt edits the request from `/dks endringer`: a week instead of a date.
    reply = command(slack, "endringer", user=KONTAKT)
    assert reply["text"] == "Endringsrunden er åpen til og med 11. desember 2026."
    assert "*Ås ungdomsskole (Ås)* – :pencil2: 1 endringsønske" in visible_text(reply)
    element, block_id = buttons(reply)["changes_list"]
    before = len(slack.fake.calls_to("views.open"))
    click(slack, element, block_id=block_id, user=KONTAKT)
    listed = opened_view(slack.fake, count=before + 1)
    assert listed["callback_id"] == LIST_CALLBACK
    element, block_id = buttons(listed)[EDIT_ACTION]
    click(slack, element, block_id=block_id, user=KONTAKT, view=listed)
    editing = opened_view(slack.fake, "views.push")
    assert "Du endrer endringsønsket som ble meldt 24. november 2026." in visible_text(editing)
    edited = state(editing, **{DATE_BLOCK: None, TIME_BLOCK: None, WEEK_BLOCK: "4"})
    answer = submit(slack, editing, edited, user=KONTAKT)
    assert (
        "Endringsønsket for *Samisk joik og fortelling* 12. januar 2027 er oppdatert."
        in visible_text(answer["view"])
    )
    assert "ønsket: hvilken som helst dag i uke 4 (2027)" in visible_text(answer["view"])
    [stored] = requests(sqlite_engine)
    assert (stored.wished_date, stored.wished_week, stored.wished_year) == (None, 4, 2027)

    # A second request, withdrawn again from the list: the list is drawn again without it.
    element, block_id = buttons(answer["view"])[REPORT_ACTION]
    shown = {"id": "V0LIST", **answer["view"]}
    before = len(slack.fake.calls_to("views.push"))
    click(slack, element, block_id=block_id, user=KONTAKT, view=shown)
    second = opened_view(slack.fake, "views.push", count=before + 1)
    answer = submit(
        slack,
        second,
        state(
            second, **{PERFORMANCE_BLOCK: hip_hop, REASON_BLOCK: inputs[REASON_BLOCK]["options"][4]}
        ),
        user=KONTAKT,
    )
    assert answer["response_action"] == "update"
    assert len([r for r in requests(sqlite_engine) if r.status == "new"]) == 2
    listed = {"id": "V0LIST2", **answer["view"]}
    withdraw_buttons = [
        (e, b["block_id"])
        for b in listed["blocks"]
        for e in b.get("elements") or []
        if e.get("action_id") == WITHDRAW_ACTION
    ]
    assert len(withdraw_buttons) == 2
    element, block_id = withdraw_buttons[1]
    assert element["confirm"]["title"]["text"] == "Trekke tilbake?"
    before = len(slack.fake.calls_to("views.update"))
    click(slack, element, block_id=block_id, user=KONTAKT, view=listed)
    assert slack.fake.wait_for(lambda: len(slack.fake.calls_to("views.update")) > before)
    redrawn = slack.fake.calls_to("views.update")[-1].args["view"]
    redrawn = json.loads(redrawn) if isinstance(redrawn, str) else redrawn
    assert (
        "Endringsønsket for *Hip hop-verksted* 3. februar 2027 er trukket tilbake."
        in visible_text(redrawn)
    )
    assert [r.status for r in requests(sqlite_engine)] == ["new", "withdrawn"]

    # The coordinator's Home tab: the round per school, the request with its status menu.
    home = open_home(slack)
    section = home_section(home)
    assert len(section) <= 12
    text = visible_text({"blocks": section})
    assert "*Frist for skolene: 11. desember 2026* (åpen)" in text
    assert (
        "3 skoler: 1 med endringer (1 endringsønske), 1 alt ser bra ut, 1 har ikke svart." in text
    )
    assert "*Ikke svart:* Kroer skole (Ås)" in text
    [row] = [b for b in section if b.get("block_id", "").startswith(REQUEST_BLOCK_PREFIX)]
    assert "Samisk joik og fortelling" in visible_text({"blocks": [row]})
    menu = row["accessory"]
    assert menu["action_id"] == STATUS_ACTION
    assert [o["text"]["text"] for o in menu["options"]] == [
        "ny",
        "sendt til fylket",
        "avslått",
        "endret",
    ]
    assert menu["initial_option"]["text"]["text"] == "ny"
    # A member cannot set a status (a crafted click is refused, nothing changes).
    sent_option = menu["options"][1]
    click(slack, menu, block_id=row["block_id"], user=MEMBER, view=home, option=sent_option)
    assert slack.fake.wait_for(
        lambda: any(
            "Bare koordinatorer kan se hele runden"
            in json.dumps(c.args.get("view"), ensure_ascii=False)
            for c in slack.fake.calls_to("views.open")
        )
    )
    assert requests(sqlite_engine)[0].status == "new"
    # «sendt til fylket», then «avslått», then «endret»: each tells the kulturkontakt in a DM.
    told = len(dms(slack, KONTAKT))
    for choice, sentence in (
        (1, "er sendt til fylket."),
        (2, "er avslått."),
        (3, "er tatt til følge: forestillingen er endret."),
    ):
        click(
            slack,
            menu,
            block_id=row["block_id"],
            user=ADMIN,
            view=home,
            option=menu["options"][choice],
        )
        told += 1
        message = wait_for_dms(slack, KONTAKT, told)[-1]
        assert_valid_message(message)
        assert message["text"] == (
            "Endringsønsket for «Samisk joik og fortelling» på Ås ungdomsskole 12. januar 2027 "
            + sentence
        )
    assert requests(sqlite_engine)[0].status == "changed"
    # The same status again tells nobody (the Home tab is drawn again once it is stored).
    published = len(slack.fake.calls_to("views.publish"))
    click(slack, menu, block_id=row["block_id"], user=ADMIN, view=home, option=menu["options"][3])
    assert slack.fake.wait_for(lambda: len(slack.fake.calls_to("views.publish")) > published)
    home = open_home(slack)
    [row] = [
        b for b in home_section(home) if b.get("block_id", "").startswith(REQUEST_BLOCK_PREFIX)
    ]
    assert row["accessory"]["initial_option"]["text"]["text"] == "endret"
    assert len(dms(slack, KONTAKT)) == told

    # The scheduler: the silent school gets its follow-ups five and two working days before
    # the closing date (Friday 4 and Wednesday 9 December, 09:00), the others none.
    scheduler = make_scheduler(slack.settings, engine=sqlite_engine, clock=clock)
    posted: dict[str, list[str]] = {user: [] for user in SCHOOLS.values()}
    start = datetime(2026, 11, 24, tzinfo=UTC)
    for day in range(20):
        for hour in (8, 12):  # 09 and 13 in Oslo
            clock.now = start + timedelta(days=day, hours=hour, minutes=1)
            seen = {user: len(dms(slack, user)) for user in SCHOOLS.values()}
            scheduler.tick()
            for user in SCHOOLS.values():
                for message in dms(slack, user)[seen[user] :]:
                    if "Turnéplanen" not in message["text"]:
                        continue  # the feedback prompts about last week's performance
                    posted[user].append(clock.now.astimezone(OSLO).strftime("%a %d %H"))
                    if user == KROER:
                        assert_valid_message(message)
                        assert message["text"].startswith(
                            "Påminnelse: Turnéplanen for Kroer skole venter på svar."
                        )
                        assert NO_CHANGES_ACTION in buttons(message)
    assert posted == {KONTAKT: [], NORDBY: [], KROER: ["Fri 04 09", "Wed 09 09"]}

    # After the closing date the buttons say so, and nothing can be filed.
    assert clock.now.astimezone(OSLO).date() > CLOSING
    [invitation, *_rest] = dms(slack, KROER)
    element, block_id = buttons(invitation)[REPORT_ACTION]
    before = len(slack.fake.calls_to("views.open"))
    click(slack, element, block_id=block_id, user=KROER, channel="D0KROER")
    notice = opened_view(slack.fake, count=before + 1)
    assert visible_text(notice).startswith("Fristen for endringer var 11. desember 2026.")


def test_an_answer_stops_the_follow_ups_and_a_short_round_skips_the_first(
    slack, sqlite_engine, world, make_scheduler, clock
):
    # Closing Friday 27 November, opened Tuesday the 24th: the follow-up five working days
    # before (the 20th) has passed and is never sent; the one two days before (Wednesday the
    # 25th) is planned.
    start_round(slack, date(2026, 11, 27))
    with session_scope(sqlite_engine) as session:
        rows = list(
            session.exec(select(OutboxMessage).where(col(OutboxMessage.kind) == FOLLOWUP_KIND))
        )
    assert sorted(
        {
            r.due_at.astimezone(OSLO).strftime("%a %d %H:%M")
            if r.due_at.tzinfo
            else r.due_at.replace(tzinfo=UTC).astimezone(OSLO).strftime("%a %d %H:%M")
            for r in rows
        }
    ) == ["Wed 25 09:00"]
    assert len(rows) == 3  # one per school

    # Kroer answers «Alt ser bra ut» before it is due: its follow-up is cancelled, and were it
    # rendered anyway (claimed before the answer), the renderer declines.
    [invitation] = wait_for_dms(slack, KROER, 1)
    element, block_id = buttons(invitation)[NO_CHANGES_ACTION]
    click(slack, element, block_id=block_id, user=KROER, channel="D0KROER")
    assert slack.fake.wait_for(lambda: bool(answers(sqlite_engine)))
    with session_scope(sqlite_engine) as session:
        kroer = school_id(sqlite_engine, "Kroer skole")
        row = next(
            r
            for r in session.exec(
                select(OutboxMessage).where(col(OutboxMessage.kind) == FOLLOWUP_KIND)
            )
            if r.payload["school_id"] == kroer
        )
        assert row.state == "cancelled"
        assert render_followup(session, row, row.due_at) is None

    scheduler = make_scheduler(slack.settings, engine=sqlite_engine, clock=clock)
    for moment in (
        datetime(2026, 11, 25, 8, 1, tzinfo=UTC),
        datetime(2026, 11, 26, 8, 1, tzinfo=UTC),
        datetime(2026, 11, 27, 8, 1, tzinfo=UTC),
    ):
        clock.now = moment
        scheduler.tick()
    reminded = {
        user: [
            m["text"] for m in dms(slack, user) if m["text"].startswith("Påminnelse: Turnéplanen")
        ]
        for user in SCHOOLS.values()
    }
    said = (
        "Påminnelse: Turnéplanen for {} venter på svar. Si fra om noe må endres innen "
        "27. november 2026, eller trykk «Alt ser bra ut»."
    )
    assert reminded == {
        KONTAKT: [said.format("Ås ungdomsskole")],
        NORDBY: [said.format("Nordby skole")],
        KROER: [],
    }


def test_schools_without_a_kulturkontakt_are_listed_and_the_coordinator_files_for_them(
    slack, sqlite_engine, clock, fake_slack
):
    fake_slack.add_user(KONTAKT, "Kari Kulturkontakt")
    load_plan(sqlite_engine, clock.now, linked={"Ås ungdomsskole": KONTAKT})
    opened = visible_text(start_round(slack))
    assert "Jeg sender melding til 1 kulturkontakt nå." in opened
    assert "*Uten kulturkontakt i Slack* (2): Kroer skole (Ås), Nordby skole (Ås)" in opened
    reply = command(slack, "endringer")
    text = visible_text(reply)
    assert "• Kroer skole (Ås) – :grey_question: ikke svart (ingen kulturkontakt i Slack)" in text
    assert "• Ås ungdomsskole (Ås) – :hourglass_flowing_sand: ikke svart" in text

    # The coordinator may file for any school: «Hvilken skole?» first, then its form.
    element, block_id = buttons(reply)[REPORT_ACTION]
    before = len(slack.fake.calls_to("views.open"))
    click(slack, element, block_id=block_id, user=ADMIN)
    pick = opened_view(slack.fake, count=before + 1)
    assert pick["callback_id"] == PICK_CALLBACK
    menu = next(b for b in pick["blocks"] if b.get("block_id") == SCHOOL_BLOCK)["element"]
    labels = {o["text"]["text"]: o for o in menu["options"]}
    assert sorted(labels) == ["Kroer skole (Ås)", "Nordby skole (Ås)", "Ås ungdomsskole (Ås)"]
    chosen = {
        SCHOOL_BLOCK: {
            VALUE_ACTION: {"type": "static_select", "selected_option": labels["Nordby skole (Ås)"]}
        }
    }
    answer = submit(slack, pick, chosen, user=ADMIN)
    assert answer["response_action"] == "update"
    form = {"id": "V0FORM", **answer["view"]}
    assert form["callback_id"] == REQUEST_CALLBACK
    assert "*Nordby skole (Ås)*" in visible_text(form)
    performance = next(b for b in form["blocks"] if b.get("block_id") == PERFORMANCE_BLOCK)[
        "element"
    ]
    [dance] = performance["options"]
    reason = next(b for b in form["blocks"] if b.get("block_id") == REASON_BLOCK)["element"]
    # «annet» needs a comment.
    values = state(
        form, **{PERFORMANCE_BLOCK: dance, REASON_BLOCK: reason["options"][5], WEEK_BLOCK: "12"}
    )
    answer = submit(slack, form, values, user=ADMIN)
    assert answer == {
        "response_action": "errors",
        "errors": {COMMENT_BLOCK: "Skriv hva som må endres når grunnen er «annet»."},
    }
    values[COMMENT_BLOCK] = {
        VALUE_ACTION: {"type": "plain_text_input", "value": "Gymsalen pusses opp."}
    }
    answer = submit(slack, form, values, user=ADMIN)
    assert answer["response_action"] == "update"
    [stored] = requests(sqlite_engine)
    assert (stored.school_id, stored.filed_by, stored.wished_week) == (
        school_id(sqlite_engine, "Nordby skole"),
        ADMIN,
        12,
    )
    # «Se hele runden» on the Home tab: every school, the request with its status menu, and
    # «Endre eller trekk» to change it on the school's behalf.
    home = open_home(slack)
    element, block_id = buttons({"blocks": home_section(home)})[ROUND_ACTION]
    before = len(slack.fake.calls_to("views.open"))
    click(slack, element, block_id=block_id, user=ADMIN, view=home)
    whole = opened_view(slack.fake, count=before + 1)
    assert whole["callback_id"] == ROUND_CALLBACK
    text = visible_text(whole)
    assert "*Nordby skole (Ås)* – :pencil2: 1 endringsønske" in text
    assert "Gymsalen pusses opp." in text
    element, block_id = buttons(whole)["changes_list"]
    assert element["text"]["text"] == "Endre eller trekk"
    click(slack, element, block_id=block_id, user=ADMIN, view=whole)
    listed = opened_view(slack.fake, "views.push")
    assert listed["callback_id"] == LIST_CALLBACK
    element, block_id = buttons(listed)[WITHDRAW_ACTION]
    click(slack, element, block_id=block_id, user=ADMIN, view=listed)
    assert slack.fake.wait_for(lambda: requests(sqlite_engine)[0].status == "withdrawn")

    # A kulturkontakt cannot pick another school than their own.
    answer = submit(slack, pick, chosen, user=KONTAKT)
    assert visible_text(answer["view"]).startswith("Bare skolens kulturkontakt")


def test_the_kulturkontakt_reads_and_files_in_nynorsk(slack, sqlite_engine, world):
    with session_scope(sqlite_engine, write=True) as session:
        set_user_language(session=session, team_id=TEAM, user_id=KONTAKT, language="nn")
    start_round(slack)
    [invitation] = wait_for_dms(slack, KONTAKT, 1)
    [other] = wait_for_dms(slack, NORDBY, 1)
    assert other["text"].startswith("Turnéplanen for Nordby skole er klar. Se den")  # bokmål
    assert invitation["text"] == (
        "Turnéplanen for Ås ungdomsskole er klar. Sjå han og sei frå om noko må endrast innan "
        "11. desember 2026."
    )
    found = buttons(invitation)
    assert [
        found[a][0]["text"]["text"] for a in (PLAN_ACTION, REPORT_ACTION, NO_CHANGES_ACTION)
    ] == [
        "Sjå turnéplanen",
        "Meld endring",
        "Alt ser bra ut",
    ]
    element, block_id = found[REPORT_ACTION]
    before = len(slack.fake.calls_to("views.open"))
    click(slack, element, block_id=block_id, user=KONTAKT, channel="D0KONTAKT")
    form = opened_view(slack.fake, count=before + 1)
    labels = [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"]
    assert labels[:3] == ["Framsyning", "Grunn", "Ønskt dato"]
    inputs = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    values = state(
        form,
        **{
            PERFORMANCE_BLOCK: inputs[PERFORMANCE_BLOCK]["options"][0],
            DATE_BLOCK: "2027-01-19",
            WEEK_BLOCK: "3",
        },
    )
    answer = submit(slack, form, values, user=KONTAKT)
    assert answer["errors"] == {
        REASON_BLOCK: "Vel ein grunn.",
        WEEK_BLOCK: "Vel anten ein dato eller ei veke, ikkje begge.",
    }
    assert requests(sqlite_engine) == []
    # `/dks endringar` (the nynorsk word) shows the kulturkontakt's school, in nynorsk.
    reply = command(slack, "endringar", user=KONTAKT)
    assert reply["text"] == "Endringsrunden er open til og med 11. desember 2026."
    assert "*Ås ungdomsskole (Ås)* – :hourglass_flowing_sand: ikkje svart" in visible_text(reply)
    assert [element["text"]["text"] for element, _block in buttons(reply).values()] == [
        "Sjå turnéplanen",
        "Meld endring",
        "Alt ser bra ut",
    ]


def test_a_new_tour_plan_that_grants_a_request_tells_the_kulturkontakt(
    slack, sqlite_engine, world, make_scheduler, clock
):
    start_round(slack)
    [invitation] = wait_for_dms(slack, KONTAKT, 1)
    element, block_id = buttons(invitation)[REPORT_ACTION]
    before = len(slack.fake.calls_to("views.open"))
    click(slack, element, block_id=block_id, user=KONTAKT, channel="D0KONTAKT")
    form = opened_view(slack.fake, count=before + 1)
    inputs = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    values = state(
        form,
        **{
            PERFORMANCE_BLOCK: inputs[PERFORMANCE_BLOCK]["options"][0],
            REASON_BLOCK: inputs[REASON_BLOCK]["options"][0],
            DATE_BLOCK: "2027-01-19",
            TIME_BLOCK: "10:00",
        },
    )
    assert submit(slack, form, values, user=KONTAKT)["response_action"] == "update"
    with session_scope(sqlite_engine, write=True) as session:
        set_user_language(session=session, team_id=TEAM, user_id=KONTAKT, language="nn")
    # The county's new plan has the joik on the wished day and time.
    moved = PLAN.replace("12.01.2027;09:00;09:50", "19.01.2027;10:00;10:50")
    with session_scope(sqlite_engine, write=True) as session:
        import_tourplan(
            session=session,
            team_id=TEAM,
            data=parse_tourplan(moved.encode()),
            tz=OSLO,
            now=clock.now,
            source="turneplan-v2.csv",
            user_id=ADMIN,
        )
    assert requests(sqlite_engine)[0].status == "changed"
    scheduler = make_scheduler(slack.settings, engine=sqlite_engine, clock=clock)
    clock.now += timedelta(minutes=5)
    scheduler.tick()
    message = wait_for_dms(slack, KONTAKT, 2)[-1]
    assert_valid_message(message)
    assert message["text"] == (
        "Endringsønsket for «Samisk joik og fortelling» på Ås ungdomsskole 12. januar 2027 er "
        "teke til følgje: framsyninga er endra."
    )
    assert "Den nye turnéplanen har framsyninga på ønskt tid." in visible_text(message)
