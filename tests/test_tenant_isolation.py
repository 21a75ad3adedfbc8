"""Tenant isolation, as a regression suite (issue #13): one bot serves two municipalities'
workspaces through «Add to Slack». Workspace A has data of every kind (the bundled calendar,
its own deadlines and meetings, contacts, schools, a tour plan, feedback, reminders posted and
marked done, a calendar feed, an import waiting for confirmation).

Everything A's Slack showed its coordinator (the Home tab, lists, modals, reminder messages,
feedback prompts) is first used by A, as A would; then every button, menu, form and
type-ahead of it, carrying A's ids, is sent again as workspace B's coordinator through the
real signed HTTP endpoint. None may change a row of A, and nothing B is shown (the ack, a
response_url post, any Web API call the request made, any file it uploaded) may hold a text of
A. The listeners come from the features' own registration, so a new button, form or type-ahead
is probed as soon as A's Slack shows it, and the suite fails if one cannot be reached.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.scheduler import build_scheduler
from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import button_action
from handlers.changes import forms as change_forms
from handlers.changes.views import ROUND_ACTION
from handlers.core.access import NOT_COORDINATOR
from handlers.feedback.forms import FEEDBACK_CALLBACK_ID, PERFORMANCE_BLOCK
from handlers.imports.forms import IMPORT_CALLBACK
from handlers.reminders.views import REMINDER_ACTIONS_BLOCK_ID, UNDO_ACTION
from storage.db import session_scope
from storage.importers.calendar import seed_workspace
from storage.importers.tourplan import import_tourplan, load_tourplan
from storage.models import OutboxMessage, School, Workspace, utcnow
from tests.conftest import FrozenClock
from tests.feedback_helpers import KONTAKT, OSLO, form_state, load_world
from tests.helpers import add_contact, add_deadline, add_meeting
from tests.isolation_probe import (
    County,
    Database,
    Listener,
    Surface,
    actions_for,
    as_workspace,
    body_of,
    build_county,
    elements,
    event,
    marks,
    new_surfaces,
    press,
    registered_listeners,
    scrub,
    shown_since,
    shown_state,
    slash,
    submission,
    suggestion,
)

A, B = "T0AGDER", "T0BOE"
A_ADMIN, A_MEMBER, B_ADMIN = "U0AADM", "U0AMEM", "U0BADM"
A_CHANNEL, A_OFFER, B_CHANNEL = "C0ADKS", "C0AOFFER", "C0BDKS"
DUE = date(2026, 12, 8)
FIRST = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 in Oslo: DUE's 7-day reminder
# The texts of a workspace that must never reach another: titles, names, addresses, answers,
# an uploaded file's name (the feed token is stored only as its hash: nothing to leak).
TEXT_COLUMNS = {
    "deadline": ("title", "description", "date_note"),
    "meeting": ("title", "description", "place"),
    "contact": ("name", "email", "phone", "note", "purpose"),
    "school": ("name",),
    "municipality": ("name",),
    "production": ("title", "producer", "description"),
    "performance": ("venue",),
    "feedbackanswer": (
        "free_comment",
        "comment_overall",
        "comment_artistic",
        "comment_relevance",
        "comment_pupils",
        "comment_practical",
    ),
    "pending_import": ("filename",),
    "change_request": ("production_title", "contact_person", "comment"),
}
# What B types into searches and type-aheads: the start of A's names.
SEARCHED = {
    "contact": ("name",),
    "school": ("name",),
    "municipality": ("name",),
    "production": ("title",),
    "deadline": ("title",),
}
B_TOURPLAN = (
    "forestilling_id;produksjon;kunstuttrykk;utøver;beskrivelse;skole;kommune;dato;start;slutt;"
    "sted;trinn;elever;avlyst\n"
    "BO-1;Bølgjer og bårer;musikk;Bø spelemannslag;;Bøhamna skule;Bø;20.11.2026;10:00;11:00;"
    "Bøhallen;1-4;40;\n"
    "BO-2;Bølgjer og bårer;musikk;Bø spelemannslag;;Bøhamna skule;Bø;03.12.2026;10:00;11:00;"
    "Bøhallen;5-7;38;\n"
)
HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
A_IMPORT = (
    "navn;rolle;skole;kommune\nAnnfrid Agdestein;kulturkontakt;Agder hemmelige skole;Agderby\n"
)


@pytest.fixture
def county(engine: Engine, clock: FrozenClock) -> Iterator[County]:
    with FakeSlack(team_id=A, bot_user_id=f"U{A[1:]}BOT") as fake:
        fake.add_workspace(B, name="Bø kommune")
        fake.add_user(A_ADMIN, "Agda Koordinator", admin=True, team_id=A)
        fake.add_user(A_MEMBER, "Arne Lærer", team_id=A)
        fake.add_user(KONTAKT, "Kari Kulturkontakt", team_id=A)
        fake.add_user(B_ADMIN, "Bodil Koordinator", admin=True, team_id=B)
        fake.add_channel(A_CHANNEL, "dks", team_id=A)
        fake.add_channel(A_OFFER, "kultur", team_id=A)
        fake.add_channel(B_CHANNEL, "dks", team_id=B)
        built = build_county(fake, engine, clock)
        built.install(A, "Agder kommune")
        built.install(B, "Bø kommune")
        yield built
        built.close()


# --- the two workspaces' data ---------------------------------------------------------------


def fill_a(engine: Engine, now: datetime) -> None:
    load_world(engine, A, now)  # the sample tour plan; a kulturkontakt on Slack
    with session_scope(engine, write=True) as session:
        seed_workspace(session=session, team_id=A)
        for i in range(21):  # more than a page of the school list
            session.add(School(team_id=A, name=f"Agder skole nummer {i:02d}"))
    add_deadline(engine, A, "Agder: hemmelig søknadsfrist", DUE)
    add_deadline(engine, A, "Agder: frist uten dato ennå", None)
    add_meeting(engine, A, "Agder: hemmelig nettverksmøte", DUE, place="Agderhuset")
    for i in range(16):  # more than a page of `/dks frist alle` and the Home tab's lists
        add_deadline(engine, A, f"Agder-frist nummer {i:02d}", now.date() + timedelta(3 + 4 * i))
        add_meeting(engine, A, f"Agder-samling nummer {i:02d}", now.date() + timedelta(2 + 5 * i))
    add_contact(
        engine,
        A,
        name="Agnes Agdersen",
        role="rektor",
        email="agnes@agder.example",
        phone="+47 400 11 222",
        school="Agder hemmelige skole",
        municipality="Agderby",
    )


def fill_b(engine: Engine, now: datetime, tmp_path: Path) -> None:
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=B, seeded_at=utcnow(), reminder_channel_id=B_CHANNEL))
    add_deadline(engine, B, "Bø: søknadsfrist for kulturmidler", DUE)
    add_deadline(engine, B, "Bø: årsmelding", None)
    add_meeting(engine, B, "Bø: nettverkssamling", DUE + timedelta(days=2))
    add_contact(
        engine,
        B,
        name="Bjørg Bøe",
        role="kulturkontakt",
        email="bjorg@bo.example",
        school="Bøhamna skule",
        municipality="Bø",
    )
    plan = tmp_path / "bo.csv"
    plan.write_text(B_TOURPLAN, encoding="utf-8")
    with session_scope(engine, write=True) as session:
        import_tourplan(session=session, team_id=B, data=load_tourplan(plan), tz=OSLO, now=now)


# --- a person in a workspace, using what the bot shows ----------------------------------------


@dataclass
class Person:
    county: County
    team: str
    user: str
    channel: str
    listeners: list[Listener]
    surfaces: list[Surface] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def fake(self) -> FakeSlack:
        return self.county.fake

    def _send(self, body: str, content_type: str = "") -> list[Surface]:
        before = marks(self.fake)
        response = self.county.post(body, content_type=content_type)
        assert response.status_code == 200, response.text
        found = new_surfaces(self.fake, before, response.text, self.channel)
        self.surfaces += found
        return found

    def command(self, text: str) -> list[Surface]:
        url = self.fake.response_url()
        return self._send(
            slash(text, team=self.team, user=self.user, channel=self.channel, url=url)
        )

    def event(self, payload: dict[str, Any]) -> list[Surface]:
        return self._send(event(self.team, payload), "application/json")

    def interact(self, payload: dict[str, Any]) -> list[Surface]:
        self.sent.append(payload)
        return self._send(body_of(payload))

    def suggest(self, element: dict[str, Any], value: str = "") -> list[dict[str, Any]]:
        """The options a type-ahead in an actions block offers (to pick one of them)."""
        payload = suggestion(None, "", element["action_id"], value, team=self.team, user=self.user)
        response = self.county.post(body_of(payload))
        return list(json.loads(response.text).get("options") or [])[:3]

    def handled(self, kind: str, name: str) -> bool:
        return any(listener.matches(kind, name) for listener in self.listeners)

    def crawl(self, start: list[Surface], depth: int, pressed: set[tuple[str, ...]]) -> None:
        """Use every button and menu option once per kind, on what each use shows next."""
        frontier = start
        for _ in range(depth):
            shown: list[Surface] = []
            for surface in frontier:
                for block_id, element, in_input in list(elements(surface)):
                    action_id = str(element.get("action_id") or "")
                    if in_input or not self.handled("action", action_id):
                        continue
                    for action in actions_for(element, self.suggest) or []:
                        key = press_key(action)
                        if key in pressed:
                            continue
                        pressed.add(key)
                        url = self.fake.response_url()
                        payload = press(
                            surface, action, block_id, team=self.team, user=self.user, url=url
                        )
                        shown += self.interact(payload)
            frontier = shown


def press_key(action: dict[str, Any]) -> tuple[str, ...]:
    value = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")
    return (str(action.get("action_id")), re.sub(r"\d+", "#", value))


def harvest(county: County, listeners: list[Listener]) -> Person:
    """A's coordinator uses the bot as a coordinator would; everything it shows is kept."""
    a = Person(county, A, A_ADMIN, A_CHANNEL, listeners)
    # The bot invited to a channel before any is chosen: it offers that one.
    a.event({"type": "member_joined_channel", "user": f"U{A[1:]}BOT", "channel": A_OFFER})
    for text in (
        f"påminnelser kanal <#{A_CHANNEL}|dks>",
        f"admin legg til <@{A_MEMBER}>",
        "frist alle",
        "møte alle",
        "kontakt agnes",
        "påminnelser",
        "påminnelser status",
        "kalender",
        "tilbakemelding",
        "rapport 2026",  # the report in A's coordinator's DM, with «Last ned rapport»
    ):
        a.command(text)
    a.event({"type": "app_home_opened", "user": A_ADMIN, "channel": "D0AHOME", "tab": "home"})
    pressed: set[tuple[str, ...]] = set()
    a.crawl(list(a.surfaces), 4, pressed)
    # Two forms need what a person adds: ratings for a performance, a file to import.
    feedback = [
        s.view
        for s in a.surfaces
        if s.view and s.view.get("callback_id") == FEEDBACK_CALLBACK_ID and _preselected(s.view)
    ]
    assert feedback, "A's Slack offered no feedback form for a performance"
    for user, anonymous in ((A_ADMIN, False), (A_MEMBER, True)):
        state = form_state(
            feedback[0], free=f"Agder: {user} syntes elevene koste seg", anonymous=anonymous
        )
        shown = a.interact(submission(feedback[0], state, team=A, user=user))
        a.crawl(shown, 2, pressed)
    a.crawl(a.command("tilbakemelding oppsummering"), 1, pressed)  # with answers to export
    importer = next(
        s.view for s in a.surfaces if s.view and s.view.get("callback_id") == IMPORT_CALLBACK
    )
    state = shown_state(importer)
    assert state is not None
    upload = a.fake.add_file("agder-kontakter.csv", A_IMPORT.encode(), user=A_ADMIN, team_id=A)
    [file_input] = [e for v in state.values() for e in v.values() if e["type"] == "file_input"]
    file_input["files"] = [upload]
    a.interact(submission(importer, state, team=A, user=A_ADMIN))  # left unconfirmed
    # The clock process posts the reminders and the feedback prompts; A uses them too.
    county.clock.now = FIRST
    scheduler = build_scheduler(
        county.settings, engine=county.engine, clock=county.clock, pace_seconds=0.05
    )
    try:
        before = marks(county.fake)
        scheduler.refresh(FIRST)
        assert scheduler.tick().sent > 0
        posted = new_surfaces(county.fake, before, "", A_CHANNEL)
    finally:
        scheduler.shutdown()
    posted = [s for s in posted if county.fake.team_of(s.channel) == A]  # B's went to B
    a.surfaces += posted
    a.crawl(posted, 3, pressed)
    change_round(a, pressed)
    return a


def _view(a: Person, callback_id: str) -> dict[str, Any] | None:
    return next(
        (
            s.view
            for s in reversed(a.surfaces)
            if s.view and s.view.get("callback_id") == callback_id
        ),
        None,
    )


def change_round(a: Person, pressed: set[tuple[str, ...]]) -> None:
    """A round of change requests (issue #17): A's coordinator starts it (the kulturkontakt's
    DM is among what it shows), files a request for a school, and decides on the Home tab."""
    a.command("endringer start")
    opening = _view(a, change_forms.OPEN_CALLBACK)
    assert opening is not None, "A's Slack offered no form to start a round"
    state = shown_state(opening)
    assert state is not None
    state[change_forms.CLOSING_BLOCK][change_forms.VALUE_ACTION]["selected_date"] = (
        DUE + timedelta(days=10)
    ).isoformat()
    a.crawl(a.interact(submission(opening, state, team=A, user=A_ADMIN)), 1, pressed)
    a.crawl(a.command("endringer"), 2, pressed)  # «Meld endring»: which school, then the form
    pick = _view(a, change_forms.PICK_CALLBACK)
    if pick is not None:
        state = shown_state(pick)
        assert state is not None
        menu = next(b for b in pick["blocks"] if b.get("block_id") == change_forms.SCHOOL_BLOCK)[
            "element"
        ]
        state[change_forms.SCHOOL_BLOCK][change_forms.VALUE_ACTION]["selected_option"] = menu[
            "options"
        ][0]
        a.interact(submission(pick, state, team=A, user=A_ADMIN))
    form = _view(a, change_forms.REQUEST_CALLBACK)
    assert form is not None, "A's Slack offered no change request form"
    state = shown_state(form)
    assert state is not None
    for block in form["blocks"]:
        if block.get("block_id") in (change_forms.PERFORMANCE_BLOCK, change_forms.REASON_BLOCK):
            options = block["element"]["options"]
            state[block["block_id"]][change_forms.VALUE_ACTION]["selected_option"] = options[0]
    state[change_forms.COMMENT_BLOCK][change_forms.VALUE_ACTION]["value"] = (
        "Agder: elevene er på hemmelig leirskole"
    )
    filed = a.interact(submission(form, state, team=A, user=A_ADMIN))
    # The Home tab first (status menus, the whole round, the file), then the school's list,
    # whose «Trekk tilbake» takes the request away.
    home = a.event(
        {"type": "app_home_opened", "user": A_ADMIN, "channel": "D0AHOME", "tab": "home"}
    )
    a.crawl(home, 2, pressed)
    # «Se hele runden» again, now with a request in it (it was pressed when there was none).
    for surface in home:
        for block_id, element, _input in list(elements(surface)):
            if element.get("action_id") == ROUND_ACTION:
                url = a.fake.response_url()
                shown = a.interact(
                    press(surface, button_action(element), block_id, team=A, user=A_ADMIN, url=url)
                )
                a.crawl(shown, 1, pressed)
    a.crawl(filed, 2, pressed)


def _preselected(view: dict[str, Any]) -> bool:
    block = next(b for b in view["blocks"] if b.get("block_id") == PERFORMANCE_BLOCK)
    return bool(block["element"].get("initial_option"))


# --- the probes ------------------------------------------------------------------------------


def probe_key(payload: dict[str, Any]) -> tuple[str, ...]:
    def norm(value: Any) -> str:
        return re.sub(r"\d+", "#", str(value or ""))

    kind = str(payload["type"])
    if kind == "block_actions":
        container = str(payload["container"]["type"])
        return (kind, container, *press_key(payload["actions"][0]))
    if kind == "view_submission":
        view = payload["view"]
        files = "files" in json.dumps(view["state"])
        return (kind, view["callback_id"], norm(view.get("private_metadata")), str(files))
    return (kind, str(payload["action_id"]), str(payload["value"]))


def probes_from(a: Person, queries: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Everything A did, and everything A's Slack showed that can be used, as payloads."""
    made: list[dict[str, Any]] = list(a.sent)
    problems: list[str] = []
    for surface in a.surfaces:
        view = surface.view
        if view and a.handled("view", str(view.get("callback_id"))):
            state = shown_state(view)
            if state is None:
                problems.append(f"no way yet to submit the form {view.get('callback_id')}")
            else:
                made.append(submission(view, state, team=A, user=A_ADMIN))
        for block_id, element, in_input in elements(surface):
            action_id = str(element.get("action_id") or "")
            if element.get("type") == "external_select" and a.handled("options", action_id):
                for query in queries:
                    made.append(suggestion(view, block_id, action_id, query, team=A, user=A_ADMIN))
            if in_input or not a.handled("action", action_id):
                continue
            actions = actions_for(element, a.suggest)
            if actions is None:
                problems.append(f"no way yet to use a {element.get('type')} ({action_id})")
                continue
            url = a.fake.response_url()
            made += [press(surface, x, block_id, team=A, user=A_ADMIN, url=url) for x in actions]
    unique: dict[tuple[str, ...], dict[str, Any]] = {}
    for payload in made:
        unique.setdefault(probe_key(payload), payload)
    return list(unique.values()), problems


def describe(payload: dict[str, Any]) -> str:
    kind = payload["type"]
    if kind == "block_actions":
        action = payload["actions"][0]
        value = action.get("value") or (action.get("selected_option") or {}).get("value")
        return f"{kind} {action['action_id']}={value!r} in a {payload['container']['type']}"
    if kind == "view_submission":
        view = payload["view"]
        return f"{kind} {view['callback_id']} {view.get('private_metadata')!r}"
    return f"{kind} {payload['action_id']} {payload['value']!r}"


def covered(listener: Listener, probes: list[dict[str, Any]]) -> bool:
    for payload in probes:
        if payload["type"] == "block_actions":
            kind, name = "action", payload["actions"][0]["action_id"]
        elif payload["type"] == "view_submission":
            kind, name = "view", payload["view"]["callback_id"]
        else:
            kind, name = "options", payload["action_id"]
        if listener.matches(kind, name):
            return True
    return False


def text_markers(db: Database) -> list[str]:
    """A's texts that B's data does not hold, as stored and as escaped for Slack."""
    b_text = db.all_text(B)
    # A text the bot's own copy also holds (a placeholder's example) tells nothing.
    copy = "\n".join(p.read_text(encoding="utf-8") for p in HANDLERS.rglob("*.py"))
    # …and the catalogs' translations: a deadline a round created is titled in the catalog's
    # words (B's round gets the same title).
    copy += "\n".join(
        p.read_text(encoding="utf-8") for p in (HANDLERS / "core" / "locale").rglob("*.po")
    )
    markers = sorted(
        t for t in db.texts(A, TEXT_COLUMNS) if len(t) >= 5 and t not in b_text and t not in copy
    )
    return markers + [
        m.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for m in markers
    ]


def as_b(county: County, payload: dict[str, Any], markers: list[str]) -> list[str]:
    """Send A's `payload` as B's coordinator; what went wrong (shown, refused, HTTP)."""
    fake = county.fake
    sent = scrub(as_workspace(payload, team=B, user=B_ADMIN, url=fake.response_url()), markers)
    assert not any(m in json.dumps(sent, ensure_ascii=False) for m in markers)
    before = marks(fake)
    response = county.post(body_of(sent))
    what = describe(sent)
    problems = [f"{what}: HTTP {response.status_code}"] if response.status_code != 200 else []
    shown = shown_since(fake, before, response.text)
    problems += [f"{what} showed B «{m}» of A" for m in markers if m in shown][:3]
    if NOT_COORDINATOR in shown:
        problems.append(f"{what}: B's coordinator was refused, so the handler was not probed")
    return problems


def test_nothing_of_one_workspace_reaches_another(
    county: County, clock: FrozenClock, tmp_path: Path
) -> None:
    listeners = registered_listeners()
    fill_a(county.engine, clock.now)
    fill_b(county.engine, clock.now, tmp_path)
    a = harvest(county, listeners)
    db = Database(county.engine)
    markers = text_markers(db)
    # The check sees A's texts where A's own Slack shows them.
    a_shown = json.dumps([s.blocks for s in a.surfaces], ensure_ascii=False)
    assert "Agder: hemmelig søknadsfrist" in markers and "Agder: hemmelig søknadsfrist" in a_shown
    names = db.texts(A, SEARCHED)
    queries = ["", *sorted({n.split()[0][:4] for n in names if len(n.split()[0]) >= 4})]

    probes, problems = probes_from(a, queries)
    assert len(probes) > 50, len(probes)
    problems += [f"no probe reaches {x}" for x in listeners if not covered(x, probes)]
    baseline = db.rows_of(A)
    for payload in probes:
        problems += as_b(county, payload, markers)
        now_rows = db.rows_of(A)
        if now_rows != baseline:
            changed = [t for t in baseline if baseline[t] != now_rows[t]]
            problems.append(f"{describe(payload)} changed A's {', '.join(changed)}")
            baseline = now_rows
    # B searching its own data for A's names.
    words = [f"{c} {q}" for q in queries[1:] for c in ("frist", "møte", "kontakt")]
    fake = county.fake
    for text in [*words, "tilbakemelding oppsummering", "påminnelser", "kalender"]:
        before = marks(fake)
        url = fake.response_url()
        response = county.post(slash(text, team=B, user=B_ADMIN, channel=B_CHANNEL, url=url))
        shown = shown_since(fake, before, response.text)
        problems += [f"/dks {text} showed B «{m}» of A" for m in markers if m in shown][:3]
    problems += db.crossing(B, A)
    assert not problems, "\n".join(problems)


def test_a_reminder_button_reads_nothing_of_another_workspaces_message(
    county: County, clock: FrozenClock
) -> None:
    """A reminder's buttons carry the item and the outbox row: B's own deadline with A's row
    must be answered exactly as with no row at all (A's row says its date is only expected)."""
    with session_scope(county.engine, write=True) as session:
        seed_workspace(session=session, team_id=A)  # a yearly deadline with an expected date
        session.merge(Workspace(team_id=A, seeded_at=utcnow()))
        session.merge(Workspace(team_id=B, seeded_at=utcnow(), reminder_channel_id=B_CHANNEL))
    b_deadline = add_deadline(county.engine, B, "Bø: søknadsfrist for kulturmidler", DUE)
    clock.now = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)  # the reporting deadline is near
    a = Person(county, A, A_ADMIN, A_CHANNEL, [])
    a.command(f"påminnelser kanal <#{A_CHANNEL}|dks>")
    with session_scope(county.engine) as session:
        rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.team_id) == A)).all()
        expected = [r.id for r in rows if (r.payload or {}).get("expected")]
    assert expected, "A has no reminder for an expected date"
    fake = county.fake

    def undo(message_id: int) -> str:
        value = json.dumps(
            {"k": "deadline", "i": b_deadline, "o": DUE.isoformat(), "m": message_id}
        )
        button = {
            "type": "button",
            "action_id": UNDO_ACTION,
            "value": value,
            "text": {"type": "plain_text", "text": "Angre"},
        }
        surface = Surface([], channel=B_CHANNEL, ts="1700000000.000200", ephemeral=False)
        payload = press(
            surface,
            button_action(button),
            REMINDER_ACTIONS_BLOCK_ID,
            team=B,
            user=B_ADMIN,
            url=fake.response_url(),
        )
        before = len(fake.calls_to("chat.update"))
        assert county.post(body_of(payload)).status_code == 200
        [call] = fake.calls_to("chat.update")[before:]
        shown = json.dumps({k: call.args[k] for k in ("channel", "ts", "text", "blocks")})
        return re.sub(r'(\\*"m\\*": )\d+', r"\1#", shown)  # the button's own row id

    assert undo(expected[0]) == undo(0)
