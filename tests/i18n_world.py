"""The i18n coverage suite's world (tests/test_i18n_coverage.py): every surface the bot shows a
user, rendered in one language, with representative data, and collected.

`render_world(language, tmp_path)` builds a workspace in SQLite (the bundled calendar, the
sample tour plan with its schools and a kulturkontakt on Slack, deadlines and meetings of every
kind of date, contacts), an empty second workspace, the fake Slack, and the App behind the real
signed HTTP endpoint; warms every cache in bokmål; then switches the workspace and its users to
`language` and drives everything a user can reach:

- every `/dks` subcommand, with representative words, words in the reader's language, wrong
  words, and as a coordinator and as a member (refusals);
- the Home tab for a coordinator, a member and the kulturkontakt, and its «Vis flere»;
- every button and menu option on every surface drawn (Home, replies, modals, posted
  messages), as a coordinator and as a member; every type-ahead;
- every modal submitted as filled in, empty, with bad values and with dates that contradict
  each other (`response_action: errors`), and the delete confirmations;
- the scheduler over two weeks: reminders (on time, late, caught up, snoozed, done, moved,
  cancelled), the alert DM when the channel refuses them, feedback prompts and follow-ups;
- a round of tour-plan change requests (`changes_flows`): started, the kulturkontakter's DMs,
  the request form, editing and withdrawing, the coordinator's Home section, statuses and
  file, and the follow-up the scheduler sends a school that stays silent;
- imports (contacts and calendar, good and bad files), the feedback export (CSV and Excel:
  their header rows), the calendar file and the feed (their words);
- `/dks språk` when it exists.

Everything the bot sent or answered is a `Payload`, with what caused it (`source`); `texts()`
gives every string a user reads in it, and `data_strings()` the data the world put in (titles,
names, the bundled calendar's and tour plan's texts), which the pseudo-language test exempts.
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml
from sqlalchemy import Engine
from sqlmodel import col, select

import handlers
from bot.app import create_app
from bot.server import create_wsgi_app
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import (
    block_suggestion_body,
    event_body,
    interaction_body,
    new_trigger_id,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from handlers.core import i18n
from handlers.core.format import escape
from handlers.core.i18n import PSEUDO as PSEUDO_LANGUAGE
from handlers.core.services import Services
from storage.db import make_engine, session_scope, upgrade
from storage.importers.calendar import seed_workspace as seed_bundled_calendar
from storage.models import DatePrecision, MeetingForm, Performance, Workspace, utcnow
from storage.workspaces import set_user_language, set_workspace_language
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM, FrozenClock, serve_wsgi
from tests.feedback_helpers import KONTAKT, load_world
from tests.fuzz_world import STATE_KEYS, listened_to, log_problem, subcommand_words
from tests.helpers import add_contact, add_deadline, add_meeting

ROOT = Path(__file__).resolve().parents[1]
OSLO = ZoneInfo("Europe/Oslo")
# Tuesday 24 November 2026, 09:00 in Oslo: the tour plan's first plays are over, one is on.
START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)

PAGED = 18  # rows of each kind beyond the sample data: more than a page of every list
EMPTY_TEAM = "T0EMPTY"  # a workspace with nothing in it: every list's empty state
EMPTY_ADMIN = "U0EMPTYADM"
OUTSIDE = "C0UTE"  # a channel the bot is not in
ARCHIVED = "C0GAMMEL"
GONE = "C0BORTE"  # a channel Slack does not know
OFFERED = "C0NY"  # the bot is invited here and offers it for reminders

# Words a user types that are nobody's copy: echoed back («Jeg forstår ikke «xyzzy»»).
NONSENSE = ("xyzzy", "qwertyuiop")

# Arguments in each language, for the sub-arguments the help names (`kanal`, `av`, `alle`…).
# The bokmål ones drive the world; the others are shown in the reader's language too.
ARG_WORDS: dict[str, dict[str, str]] = {
    "alle": {"nn": "alle", "en": "all"},
    "kanal": {"nn": "kanal", "en": "channel"},
    "av": {"nn": "av", "en": "off"},
    "på": {"nn": "på", "en": "on"},
    "dager": {"nn": "dagar", "en": "days"},
    "status": {"nn": "status", "en": "status"},
    "oppsummering": {"nn": "oppsummering", "en": "summary"},
    "legg til": {"nn": "legg til", "en": "add"},
    "fjern": {"nn": "fjern", "en": "remove"},
    "frist": {"nn": "frist", "en": "deadline"},
    "møte": {"nn": "møte", "en": "meeting"},
    "kontakt": {"nn": "kontakt", "en": "contact"},
    "skole": {"nn": "skule", "en": "school"},
    "ny": {"nn": "ny", "en": "new"},
    "meg": {"nn": "meg", "en": "me"},
}
# The languages every cache is filled in before the world switches to its own.
WARM_LANGUAGES = ("nb", "nn", "en")
# The Home tab's menus that change whose language: chosen in `language_choices`, where the
# world's own language is put back after each.
LANGUAGE_MENUS = ("language_own", "language_workspace")
# What `/dks språk` is given for each language (its own name).
LANGUAGE_WORDS = {"nb": "bokmål", "nn": "nynorsk", "en": "english"}


# --- what the world collects -------------------------------------------------------------------


@dataclass
class Payload:
    """One thing the bot showed: a message, a view, options, field errors, a file's words."""

    source: str  # what the user (or the scheduler) did: «/dks frist alle», «click …», «tick …»
    via: str  # how it came: ack, chat.postMessage, views.open, response_url, upload, feed, …
    kind: str  # "message" | "view" | "options" | "errors" | "file"
    data: Any
    # For field errors: the input blocks of the view they answer (Slack refuses others).
    inputs: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.via} after {self.source}"


@dataclass
class Rendered:
    language: str
    payloads: list[Payload]
    problems: list[str]  # tracebacks and unacked requests in the log, failed requests
    reached: dict[str, set[str]]  # what was exercised: actions, views, options, events, commands
    data: frozenset[str]  # data strings the world put in
    # The pseudo language only: every message looked up, as (context, msgid, plural msgid).
    looked_up: frozenset[tuple[str | None, str, str | None]] = frozenset()


_TEXT_TYPES = ("plain_text", "mrkdwn")


def _walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if node.get("type") in _TEXT_TYPES and isinstance(node.get("text"), str):
            yield path, node["text"]
            return
        if node.get("type") in ("text", "link") and isinstance(node.get("text"), str):
            yield path, node["text"]  # rich_text elements
        for key, value in node.items():
            if key == "alt_text" and isinstance(value, str):
                yield f"{path}.alt_text", value
            elif key not in ("value", "action_id", "block_id", "private_metadata", "url"):
                yield from _walk(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def texts(payload: Payload) -> Iterator[tuple[str, str]]:
    """(where in the payload, text) for every string a user reads in it."""
    data = payload.data
    if payload.kind == "message":
        if isinstance(data.get("text"), str) and data["text"]:
            yield "text", data["text"]
        yield from _walk(data.get("blocks") or [], "blocks")
        yield from _walk(data.get("attachments") or [], "attachments")
    elif payload.kind == "view":
        yield from _walk({k: v for k, v in data.items() if k != "state"}, "")
    elif payload.kind == "options":
        yield from _walk(data, "")
    elif payload.kind == "errors":
        for block_id, text in (data or {}).items():
            yield f"errors.{block_id}", str(text)
    elif payload.kind == "file":
        for key, text in data.items():
            if isinstance(text, str) and text:
                yield key, text
            elif isinstance(text, list):
                for i, cell in enumerate(text):
                    if isinstance(cell, str) and cell:
                        yield f"{key}[{i}]", cell


# --- the data the world puts in ------------------------------------------------------------------

# The bundled calendar's fields that hold what a coordinator wrote (not ids, dates or choices).
_CALENDAR_TEXT_FIELDS = {
    "tittel",
    "beskrivelse",
    "datonotat",
    "lenke",
    "gjelder",
    "kilde",
    "type",
    "sted",
    "navn",
    "rolle",
    "organisasjon",
    "epost",
    "telefon",
    "formål",
    "merknad",
}
_TOURPLAN_TEXT_COLUMNS = (
    "produksjon",
    "kunstuttrykk",
    "utøver",
    "beskrivelse",
    "skole",
    "kommune",
    "sted",
    "trinn",
)


@cache
def sample_data_strings() -> frozenset[str]:
    """The free texts of the bundled calendar (data/dks-kalender.yaml) and the sample tour
    plan (data/turneplan-eksempel.csv)."""
    found: set[str] = set()
    calendar = yaml.safe_load((ROOT / "data" / "dks-kalender.yaml").read_text(encoding="utf-8"))
    for rows in calendar.values():
        for row in rows or []:
            for key, value in row.items():
                if key in _CALENDAR_TEXT_FIELDS and isinstance(value, str):
                    found.add(value)
    with open(ROOT / "data" / "turneplan-eksempel.csv", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f, delimiter=";"):
            found.update(row[c] for c in _TOURPLAN_TEXT_COLUMNS if row.get(c))
    return frozenset(s.strip() for s in found if s.strip())


# --- files the imports are given ----------------------------------------------------------------

CONTACTS_CSV = (
    "skole;kommune;navn;rolle;e-post;telefon\n"
    "Nordby skole;Ås;Nina Nyberg;Rektor;nina.nyberg@example.no;12345678\n"
)
CONTACTS_BAD_CSV = (
    "skole;kommune;navn;rolle;e-post;telefon;Formål\n"
    "Nordby skole;Ås;Nils Nilsen;Rektor;ikke-en-adresse;12\n"
    ";;;;;\n"
)
CALENDAR_YAML = """
frister:
  - id: harness-frist
    tittel: Innspill til fylkets program
    dato: 2027-01-15
    beskrivelse: Send inn innspill til programmet.
moter:
  - id: harness-mote
    tittel: Regionmøte Follo
    dato: 2027-02-03
    klokkeslett: "10:00"
    slutt_klokkeslett: "14:00"
    type: nettverksmøte
    form: hybrid
    sted: Ås kulturhus
"""
CALENDAR_BAD_YAML = """
frister:
  - id: Harness Feil
    tittel: ""
    dato: 2027-13-45
    presisjon: kanskje
    ukjentfelt: 1
moter:
  - tittel: Uten id
    klokkeslett: "25:99"
    form: telepati
"""
IMPORT_FILE_TEXTS = (
    "Nina Nyberg",
    "Rektor",
    "nina.nyberg@example.no",
    "Nils Nilsen",
    "ikke-en-adresse",
    "Formål",
    "Innspill til fylkets program",
    "Send inn innspill til programmet.",
    "Regionmøte Follo",
    "Ås kulturhus",
    "Harness Feil",
    "Uten id",
    "kanskje",
    "ukjentfelt",
    "telepati",
    "harness-frist",
    "harness-mote",
    "kontakter.csv",
    "kontakter-feil.csv",
    "kalender.yaml",
    "kalender-feil.yaml",
    "notater.pdf",
    "tom.csv",
)

# The world's own rows: titles, names, places; data, not copy.
SEEDED_TEXTS = (
    "Årsrapport Ås kommune",
    "Søknad Kulturtanken",
    "Send søknaden om ekstra midler.",
    "kulturkontaktene",
    "Planlegging vårsemester",
    "Budsjettinnspill",
    "Evaluering høstsemester",
    "Rapport fra høstens turné",
    "Nettverksmøte Follo",
    "nettverksmøte",
    "Kulturkontaktsamling Ås",
    "samling",
    "Fagdag for kulturkontakter",
    "Ås kulturhus",
    "Ola Nordmann",
    "Rektor",
    "ola.nordmann@example.no",
    "Nordby skole",
    "Moss",
    "Postmottak Ås kommune",
    "Kommunekontakt",
    "Ås kommune",
    "Kari Koordinator",
    "Per Kulturkontakt",
    "Kari Kulturkontakt",
    "Kulturkontakt",
    "Tom Tomrom",
    "Eva Empty",
    "Supert opplegg, elevene var engasjerte.",
    "Fyrvokterens",
    "Nettverksmøte",
    "Fylt ut av koordinatoren",
    "fylt.ut@example.no",
    # Typed into the change request forms (tour-plan change requests, issue #17).
    "Tone Togrenda",
    "Kari Kulturkontakt, 900 00 000",
    "Åttende trinn er på leirskole den uka.",
    # What the world searches for (echoed in headings: «Frister som passer «Søknad»»).
    "Søknad",
    "Ola",
    "Strykere",
    "Kari",
    "Nord",
    "Løve",
    "Fyr",
)


# --- the world ---------------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _shape(value: Any) -> str:
    """A click's kind: its value without the numbers (`edit:deadline:#`)."""
    return re.sub(r"\d+", "#", str(value or ""))


@dataclass
class Surface:
    """Something drawn that holds elements to click: a view (with its id) or a message."""

    kind: str  # "view" | "message"
    data: dict[str, Any]
    channel: str = CHANNEL
    reader: str = ADMIN
    ephemeral: bool = True


@dataclass
class World:
    language: str
    fake: FakeSlack
    engine: Engine
    settings: Settings
    services: Services
    clock: FrozenClock
    url: str
    http: httpx.Client
    app: Any
    scheduler: Any = None
    payloads: list[Payload] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reached: dict[str, set[str]] = field(
        default_factory=lambda: {
            k: set() for k in ("actions", "views", "options", "events", "commands")
        }
    )
    data: set[str] = field(default_factory=set)
    surfaces: list[Surface] = field(default_factory=list)
    modals: list[dict[str, Any]] = field(default_factory=list)
    recording: bool = True
    _records: _Records = field(default_factory=_Records)
    _calls_seen: int = 0
    _responses_seen: int = 0
    _records_seen: int = 0
    _source: str = "set-up"

    # --- recording ------------------------------------------------------------------------

    def add(self, source: str, via: str, kind: str, data: Any, **extra: Any) -> None:
        if self.recording:
            self.payloads.append(Payload(source, via, kind, data, **extra))

    @contextmanager
    def step(self, source: str) -> Iterator[None]:
        """Everything the bot does while (and after) `source` happens is laid at its door."""
        self._source = source
        try:
            yield
        finally:
            self.settle()
            self._collect_side_effects(source)

    def settle(self) -> None:
        """Wait for the work after the acks (Bolt's lazy listeners)."""
        executor: Any = self.app.listener_runner.listener_executor
        workers = int(getattr(executor, "_max_workers", 5))
        barrier = threading.Barrier(workers + 1)
        for _ in range(workers):
            executor.submit(barrier.wait, 30)
        barrier.wait(30)

    def _collect_side_effects(self, source: str) -> None:
        fake = self.fake
        with fake._lock:
            calls = fake.calls[self._calls_seen :]
            self._calls_seen = len(fake.calls)
            responses = fake.responses[self._responses_seen :]
            self._responses_seen = len(fake.responses)
        for call in calls:
            self._record_call(source, call.method, call.args)
        for _key, args in responses:
            message = {k: v for k, v in args.items() if k in ("text", "blocks", "attachments")}
            message["blocks"] = _json(message.get("blocks")) or []
            self.add(source, "response_url", "message", message)
            self.surfaces.append(Surface("message", message))
        with self._records.lock:  # type: ignore[union-attr]
            records = self._records.records[self._records_seen :]
            self._records_seen = len(self._records.records)
        for record in records:
            found = log_problem(record)
            if found:
                self.problems.append(f"{found[0]} after {source}: {found[1]}")

    def _record_call(self, source: str, method: str, args: dict[str, Any]) -> None:
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            message = {
                "text": args.get("text") or "",
                "blocks": _json(args.get("blocks")) or [],
            }
            channel = str(args.get("channel") or "")
            self.add(source, f"{method} {channel}", "message", message)
            if method == "chat.postMessage":
                posted = next(
                    (
                        m
                        for m in reversed(self.fake.messages.get(channel, []))
                        if m.get("text") == message["text"]
                    ),
                    None,
                )
                if posted is not None:
                    reader = "U" + channel[1:] if channel.startswith("D") else ADMIN
                    self.surfaces.append(
                        Surface("message", posted, channel=channel, reader=reader, ephemeral=False)
                    )
        elif method in ("views.open", "views.push", "views.update", "views.publish"):
            view = _json(args.get("view"))
            if not isinstance(view, dict):
                return
            self.add(source, method, "view", view)
            stored = next(
                (
                    v
                    for v in reversed(list(self.fake.views.values()))
                    if v.get("blocks") == view.get("blocks") and v.get("type") == view.get("type")
                ),
                None,
            )
            if stored is not None:
                reader = str(args.get("user_id") or ADMIN)
                self.surfaces.append(Surface("view", stored, reader=reader))
                if stored.get("type") == "modal":
                    self.modals.append(stored)
        elif method == "files.completeUploadExternal":
            for one in _json(args.get("files")) or []:
                upload = self.fake.uploads.get(str(one.get("id")), {})
                words: dict[str, Any] = {
                    "initial_comment": args.get("initial_comment") or "",
                    "title": one.get("title") or "",
                }
                words.update(file_words(str(upload.get("filename") or ""), upload.get("content")))
                self.add(source, "upload", "file", words)

    # --- requests -------------------------------------------------------------------------

    def post(self, body: str, *, content_type: str | None = None) -> httpx.Response:
        secret = self.settings.slack_signing_secret
        assert secret
        headers = (
            signed_headers(secret, body, content_type=content_type)
            if content_type
            else signed_headers(secret, body)
        )
        response = self.http.post(
            self.url + "/slack/events", content=body.encode(), headers=headers
        )
        if response.status_code != 200:
            self.problems.append(
                f"HTTP {response.status_code} after {self._source}: {response.text[:300]}"
            )
        return response

    def command(self, text: str, *, user: str = ADMIN, team: str = TEAM) -> dict[str, Any]:
        source = f"/dks {text}" + ("" if user == ADMIN else f" (as {user})")
        self.reached["commands"].add(text.split(" ")[0] if text else "")
        with self.step(source):
            body = slash_command_body(
                text=text,
                team_id=team,
                user_id=user,
                channel_id=CHANNEL,
                response_url=self.fake.response_url(),
            )
            response = self.post(body)
            answer = _json(response.text) if response.text.startswith("{") else None
            if isinstance(answer, dict):
                self.add(source, "ack", "message", answer)
                self.surfaces.append(Surface("message", answer, reader=user))
        return answer or {}

    def event(self, event: dict[str, Any], *, team: str = TEAM) -> None:
        self.reached["events"].add(str(event.get("type")))
        with self.step(f"event {event.get('type')} ({event.get('user', '')})"):
            self.post(event_body(team_id=team, event=event), content_type="application/json")

    def open_home(self, user: str, *, team: str = TEAM) -> None:
        self.event(
            {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"},
            team=team,
        )

    def click(
        self,
        surface: Surface,
        element: dict[str, Any],
        action: dict[str, Any],
        block_id: str,
        *,
        user: str = ADMIN,
        team: str = TEAM,
    ) -> None:
        action_id = str(element.get("action_id"))
        self.reached["actions"].add(action_id)
        value = action.get("value") or (action.get("selected_option") or {}).get("value")
        source = f"click {action_id} ({_shape(value)})" + ("" if user == ADMIN else f" as {user}")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": "bruker", "name": "bruker", "team_id": team},
            "api_app_id": "A0DKSBOT",
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "trigger_id": new_trigger_id(),
            "team": {"id": team, "domain": "dks"},
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": {}},
            "actions": [{**action, "block_id": block_id, "action_ts": f"{time.time():.6f}"}],
        }
        if surface.kind == "message":
            message = surface.data
            ts = str(message.get("ts") or "1700000000.000100")
            payload["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": surface.channel,
                "is_ephemeral": surface.ephemeral,
            }
            payload["channel"] = {"id": surface.channel, "name": "dks"}
            payload["response_url"] = self.fake.response_url()
            if not surface.ephemeral:
                payload["message"] = {
                    "type": "message",
                    "user": "U0DKSBOT",
                    "ts": ts,
                    "text": message.get("text", ""),
                    "blocks": message.get("blocks", []),
                }
        else:
            view = surface.data
            payload["container"] = {"type": "view", "view_id": view.get("id", "V0")}
            payload["view"] = {**view, "state": view.get("state", {"values": {}})}
        with self.step(source):
            self.post(interaction_body(payload))

    def suggest(
        self, action_id: str, block_id: str, value: str, view: dict[str, Any] | None
    ) -> None:
        self.reached["options"].add(action_id)
        source = f"type-ahead {action_id} «{value}»"
        with self.step(source):
            response = self.post(
                block_suggestion_body(
                    team_id=TEAM,
                    user_id=ADMIN,
                    action_id=action_id,
                    block_id=block_id,
                    value=value,
                    view=view,
                )
            )
            answer = _json(response.text)
            if isinstance(answer, dict):
                self.add(source, "ack", "options", answer)

    def submit(
        self, view: dict[str, Any], values: dict[str, Any], how: str, *, user: str = ADMIN
    ) -> dict[str, Any]:
        callback_id = str(view.get("callback_id"))
        self.reached["views"].add(callback_id)
        source = f"submit {callback_id} ({how})" + ("" if user == ADMIN else f" as {user}")
        inputs = tuple(
            str(b.get("block_id")) for b in view.get("blocks") or [] if b.get("type") == "input"
        )
        with self.step(source):
            response = self.post(
                view_submission_body(team_id=TEAM, user_id=user, view=view, values=values)
            )
            answer = _json(response.text) if response.text.startswith("{") else None
            if isinstance(answer, dict):
                if answer.get("response_action") == "errors":
                    self.add(source, "ack", "errors", answer.get("errors"), inputs=inputs)
                elif isinstance(answer.get("view"), dict):
                    shown = {"id": f"V0ACK{len(self.payloads)}", **answer["view"]}
                    self.add(
                        source, f"ack ({answer.get('response_action')})", "view", answer["view"]
                    )
                    self.surfaces.append(Surface("view", shown, reader=user))
                    if shown.get("type") == "modal":
                        self.modals.append(shown)
        return answer or {}

    def tick(self, moment: datetime) -> None:
        self.clock.now = moment
        with self.step(f"scheduler at {moment.astimezone(OSLO):%a %d.%m %H:%M}"):
            self.scheduler.tick()

    def get_feed(self, address: str) -> None:
        path = address.split("://", 1)[-1].split("/", 1)[-1]
        with self.step("the calendar feed"):
            response = self.http.get(f"{self.url}/{path}")
            if response.status_code == 200:
                self.add(
                    "the calendar feed", "GET", "file", file_words("dks.ics", response.content)
                )
            else:
                self.problems.append(f"the feed answered {response.status_code}")

    # --- languages ------------------------------------------------------------------------

    def speak(self, language: str) -> None:
        """The workspaces and their people read `language` (the coordinator by their own
        choice, the others by the workspace's)."""
        with session_scope(self.engine, write=True) as session:
            for team in (TEAM, EMPTY_TEAM):
                set_workspace_language(session=session, team_id=team, language=language)
            set_user_language(session=session, team_id=TEAM, user_id=ADMIN, language=language)

    def word(self, bokmal: str) -> str:
        """An argument as a reader of the world's language types it."""
        return ARG_WORDS.get(bokmal, {}).get(self.language, bokmal)


# --- files -------------------------------------------------------------------------------------


def file_words(filename: str, content: Any) -> dict[str, Any]:
    """The words a file shows its reader: a table's header row, a calendar's texts."""
    if not isinstance(content, (bytes, bytearray)):
        return {}
    name = filename.lower()
    if name.endswith(".csv"):
        text = bytes(content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text), delimiter=";"))
        return {"csv header": rows[0] if rows else []}
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(bytes(content)), read_only=True)
        sheets: dict[str, Any] = {}
        for sheet in book.worksheets:
            first = next(sheet.iter_rows(max_row=1, values_only=True), ())
            sheets[f"xlsx sheet «{sheet.title}» header"] = [str(c) for c in first if c is not None]
            sheets[f"xlsx sheet «{sheet.title}» name"] = sheet.title
        return sheets
    if name.endswith(".ics"):
        return {"ics": ics_texts(bytes(content).decode("utf-8"))}
    return {}


_ICS_TEXT = ("SUMMARY", "DESCRIPTION", "LOCATION", "CATEGORIES", "X-WR-CALNAME", "X-WR-CALDESC")


def ics_texts(text: str) -> list[str]:
    """The words of an iCalendar file a calendar shows: names, descriptions, places."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    found: list[str] = []
    for line in unfolded.splitlines():
        name, _, value = line.partition(":")
        if name.split(";")[0].upper() in _ICS_TEXT:
            value = value.replace("\\n", "\n").replace("\\N", "\n")
            found.append(re.sub(r"\\([,;\\])", r"\1", value))
    return found


# --- building and driving the world -----------------------------------------------------------


def _seed(engine: Engine, now: datetime) -> None:
    with session_scope(engine, write=True) as session:
        seed_bundled_calendar(session=session, team_id=TEAM)
    load_world(engine, TEAM, now)  # the tour plan; marks the workspace seeded
    today = now.astimezone(OSLO).date()
    add_deadline(
        engine, TEAM, "Årsrapport Ås kommune", today + timedelta(days=1), reminder_offsets_days="1"
    )
    add_deadline(
        engine,
        TEAM,
        "Søknad Kulturtanken",
        today + timedelta(days=14),
        due_time=clock_time(12, 0),
        description="Send søknaden om ekstra midler.",
        link="https://kulturtanken.no",
        audience="kulturkontaktene",
    )
    monday = today + timedelta(days=7 - today.weekday())
    add_deadline(
        engine,
        TEAM,
        "Planlegging vårsemester",
        monday,
        end_date=monday + timedelta(days=13),
        precision=DatePrecision.WEEK,
    )
    add_deadline(
        engine,
        TEAM,
        "Budsjettinnspill",
        date(2027, 1, 1),
        end_date=date(2027, 1, 31),
        precision=DatePrecision.MONTH,
    )
    add_deadline(engine, TEAM, "Evaluering høstsemester", None, precision=DatePrecision.UNSET)
    add_deadline(engine, TEAM, "Rapport fra høstens turné", today - timedelta(days=3))
    add_meeting(
        engine,
        TEAM,
        "Nettverksmøte Follo",
        today + timedelta(days=7),
        start_time=clock_time(9, 0),
        end_time=clock_time(15, 0),
        place="Ås kulturhus",
        form=MeetingForm.HYBRID,
        kind="nettverksmøte",
    )
    add_meeting(
        engine,
        TEAM,
        "Kulturkontaktsamling Ås",
        today + timedelta(days=20),
        end_date=today + timedelta(days=21),
        form=MeetingForm.PHYSICAL,
        kind="samling",
    )
    add_meeting(engine, TEAM, "Fagdag for kulturkontakter", None, precision=DatePrecision.UNSET)
    add_contact(
        engine,
        TEAM,
        name="Ola Nordmann",
        role="Rektor",
        email="ola.nordmann@example.no",
        phone="+47 91 23 45 67",
        school="Nordby skole",
        municipality="Moss",
    )
    add_contact(
        engine,
        TEAM,
        name=None,
        role="Kommunekontakt",
        organisation="Ås kommune",
        email="postmottak@example.no",
    )
    # Enough rows that every list pages («Vis flere», «Neste side»).
    for n in range(1, PAGED + 1):
        add_deadline(engine, TEAM, f"Delrapport {n}", today + timedelta(days=30 + n))
        add_meeting(engine, TEAM, f"Arbeidsmøte {n}", today + timedelta(days=30 + n))
        add_contact(engine, TEAM, name=f"Kontaktperson {n}", role="Rektor", school=f"Testskole {n}")
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=EMPTY_TEAM, seeded_at=utcnow()))


@contextmanager
def built(language: str, tmp_path: Path) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path / 'i18n.db'}")
    upgrade(engine)
    clock = FrozenClock(START)
    records = _Records()
    logging.getLogger().addHandler(records)
    with FakeSlack(team_id=TEAM) as fake:
        fake.now = lambda: clock.now.timestamp()
        fake.add_user(ADMIN, "Kari Koordinator", admin=True)
        fake.add_user(MEMBER, "Per Kulturkontakt")
        fake.add_user(KONTAKT, "Kari Kulturkontakt")
        fake.add_user(EMPTY_ADMIN, "Eva Empty", admin=True)
        fake.add_channel(CHANNEL, "dks", member=True)
        fake.add_channel(OUTSIDE, "ute", member=False)
        fake.add_channel(ARCHIVED, "gammel", member=True, archived=True)
        fake.add_channel(OFFERED, "ny-kanal", member=True)
        settings = Settings(
            slack_bot_token="xoxb-test-token",
            slack_signing_secret=secrets.token_hex(16),
            slack_api_url=fake.api_url,
            database_url=engine.url.render_as_string(hide_password=False),
            public_url="https://dks.example.no",
        )
        services = Services(settings=settings, engine=engine, clock=clock)
        app = create_app(settings, services=services)
        address, server = serve_wsgi(create_wsgi_app(app, engine))
        http = httpx.Client(timeout=15)
        from bot.scheduler import build_scheduler

        scheduler = build_scheduler(settings, engine=engine, clock=clock, pace_seconds=0.01)
        world = World(
            language=language,
            fake=fake,
            engine=engine,
            settings=settings,
            services=services,
            clock=clock,
            url=address,
            http=http,
            app=app,
            scheduler=scheduler,
            _records=records,
        )
        world.data.update(sample_data_strings(), SEEDED_TEXTS, IMPORT_FILE_TEXTS, NONSENSE)
        for n in range(1, PAGED + 1):
            world.data.update((f"Delrapport {n}", f"Arbeidsmøte {n}", f"Kontaktperson {n}"))
            world.data.add(f"Testskole {n}")
        try:
            _seed(engine, clock.now)
            yield world
        finally:
            scheduler.shutdown()
            http.close()
            server.shutdown()
            server.server_close()
            logging.getLogger().removeHandler(records)
            engine.dispose()


def render_world(language: str, tmp_path: Path) -> Rendered:
    looked_up: set[tuple[str | None, str, str | None]] = set()
    with built(language, tmp_path) as world, recording_lookups(looked_up):
        drive(world)
        return Rendered(
            language=language,
            payloads=world.payloads,
            problems=world.problems,
            reached=world.reached,
            data=frozenset(world.data),
            looked_up=frozenset(looked_up),
        )


@contextmanager
def recording_lookups(found: set[tuple[str | None, str, str | None]]) -> Iterator[None]:
    """While the pseudo language speaks, remember every message it was asked for (a message
    looked up that no extraction finds, `_(variable)`, is then shown untranslated in nynorsk
    and English)."""
    pseudo = i18n._Pseudo
    saved = (pseudo.gettext, pseudo.ngettext, pseudo.pgettext)

    def mark(message: str) -> str:
        return f"{i18n.PSEUDO_OPEN}{message}{i18n.PSEUDO_CLOSE}"

    def gettext(self: Any, message: str) -> str:
        found.add((None, message, None))
        return mark(message)

    def ngettext(self: Any, singular: str, plural: str, n: int) -> str:
        found.add((None, singular, plural))
        return mark(singular if n == 1 else plural)

    def pgettext(self: Any, context: str, message: str) -> str:
        found.add((context, message, None))
        return mark(message)

    names = ("gettext", "ngettext", "pgettext")
    for name, method in zip(names, (gettext, ngettext, pgettext), strict=True):
        setattr(pseudo, name, method)
    try:
        yield
    finally:
        for name, method in zip(names, saved, strict=True):
            setattr(pseudo, name, method)


def drive(world: World) -> None:
    warm_caches(world)
    world.speak(world.language)

    home_tabs(world)
    commands(world)
    type_aheads(world)
    click_everything(world)
    # Noon: rows saved now whose reminders were due at nine are caught up.
    world.clock.now = START + timedelta(hours=3)
    submit_every_modal(world)
    changes_flows(world)
    scheduler_fortnight(world)
    feedback_flows(world)
    imports(world)
    exports(world)
    deletions(world)
    empty_workspace(world)
    language_commands(world)


def warm_caches(world: World) -> None:
    """Everything that keeps rendered text (lists, the Home tab, the feedback form's
    options, help) rendered first in each real language, unrecorded: what the reader then
    sees must still be in their own. A cache that does not key on the language shows another
    language's words, which the pseudo language's test finds."""
    world.recording = False
    for language in WARM_LANGUAGES:
        world.speak(language)
        for user in (ADMIN, MEMBER, KONTAKT):
            world.open_home(user)
        for text in (
            "hjelp",
            "frist",
            "frist alle",
            "møte",
            "møte alle",
            "kontakt",
            "kontakt Kulturkontakt",
            "påminnelser",
            "påminnelser status",
            "tilbakemelding oppsummering",
            "admin",
            "tilbakemelding",
            "ny frist",
            "ny møte",
            "ny kontakt",
            "ny skole",
        ):
            world.command(text)
        for action_id, value in (
            ("feedback_performance", ""),
            ("feedback_performance", "Løve"),
            ("dks_home_pick_contact", ""),
            ("dks_pick_school", ""),
            ("dks_pick_municipality", ""),
        ):
            view, block_id = _holder(world, action_id)
            world.suggest(action_id, block_id, value, view)
    world.surfaces.clear()
    world.modals.clear()
    world.recording = True
    for kind in world.reached.values():
        kind.clear()


def home_tabs(world: World) -> None:
    for user in (ADMIN, MEMBER, KONTAKT):
        world.open_home(user)


def _subcommands() -> list[Any]:
    return [sub for feature in handlers.FEATURES for sub in feature.subcommands]


def _sub(name: str) -> Any | None:
    return next((s for s in _subcommands() if s.name == name), None)


def commands(world: World) -> None:
    """Every subcommand: bare, with the words its help names, with representative and wrong
    words; in bokmål and in the reader's language; as a coordinator and as a member."""
    w = world.word
    channel = f"<#{CHANNEL}|dks>"
    # Reminders before a channel is chosen, then choosing one, then the rest.
    for args in ("", "status", "av", "av", "på"):
        world.command(f"påminnelser {args}".strip())
    # Invited to a channel while none is chosen, the bot offers it (clicked by a member, who
    # may not, then by the coordinator).
    world.event(
        {
            "type": "member_joined_channel",
            "user": "U0DKSBOT",
            "channel": OFFERED,
            "channel_type": "C",
            "team": TEAM,
            "inviter": ADMIN,
        }
    )
    click_posted(world)
    for args in (
        "kanal",
        f"kanal <#{OUTSIDE}|ute>",
        f"kanal <#{ARCHIVED}|gammel>",
        f"kanal <#{GONE}|borte>",
        f"kanal {channel}",
        "",
        "dager 14,7,1",
        "dager 0,400",
        f"dager {NONSENSE[0]}",
        "dager standard",
        "av",
        "",
        "på",
        "på",
        NONSENSE[0],
        "status",
    ):
        world.command(f"påminnelser {args}".strip())
    representative: dict[str, list[str]] = {
        "frist": ["", "alle", "Søknad", "alle Årsrapport", NONSENSE[1]],
        "møte": ["", "alle", "Nettverksmøte", NONSENSE[1]],
        "kontakt": ["", "Kulturkontakt", "Ola", "Moss", NONSENSE[1]],
        "tilbakemelding": [
            "oppsummering",
            "oppsummering Fyrvokterens",
            f"oppsummering {NONSENSE[1]}",
            NONSENSE[0],
        ],
        "ny": ["", "frist", "møte", "kontakt", "skole", NONSENSE[0]],
        "admin": [
            "",
            f"legg til <@{MEMBER}>",
            f"legg til <@{MEMBER}>",
            f"fjern <@{MEMBER}>",
            f"fjern <@{MEMBER}>",
            f"fjern <@{ADMIN}>",
            "legg til",
            NONSENSE[0],
        ],
        "kalender": ["", "ny"],
        "hjelp": [""],
        "endringer": ["", "start", NONSENSE[0]],
    }
    vocabulary = subcommand_words()
    for sub in _subcommands():
        if sub.name in ("påminnelser", "språk"):  # driven in order above; `language_commands`
            continue
        words = representative.get(sub.name, [""])
        shown = [v for v in vocabulary.get(sub.name, []) if not v.startswith(("@", "#", "["))]
        for args in dict.fromkeys([*words, *shown]):
            world.command(f"{sub.name} {args}".strip())
    # The reader's own words for the subcommands and their arguments.
    for sub in _subcommands():
        local = sub.words.get(world.language)
        if local and local != sub.name:
            world.command(local)
    for text in (
        f"{_local('frist', world)} {w('alle')}",
        f"{_local('påminnelser', world)} {w('status')}",
        f"{_local('tilbakemelding', world)} {w('oppsummering')}",
        f"{_local('påminnelser', world)} {w('dager')} 14,7,1",
        f"{_local('påminnelser', world)} {w('dager')} standard",
    ):
        world.command(text)
    world.command(NONSENSE[0])  # a word the bot does not know: help, saying so
    world.command("")
    # A member: reading is fine, writing is refused in the reply.
    for text in (
        "påminnelser",
        f"påminnelser kanal {channel}",
        "admin",
        f"admin legg til <@{MEMBER}>",
        "ny frist",
        "kalender",
        "tilbakemelding oppsummering",
        "endringer",
        "endringer start",
    ):
        world.command(text, user=MEMBER)


def _local(name: str, world: World) -> str:
    sub = _sub(name)
    return sub.words.get(world.language, sub.name) if sub else name


def type_aheads(world: World) -> None:
    """Each type-ahead, empty and with a few letters, from the modal it sits in when one is
    open (the feedback form opens from `/dks tilbakemelding`)."""
    world.command("tilbakemelding")
    world.command("ny kontakt")
    world.command("ny skole")
    hosts = {
        "feedback_performance": ["", "Løve", "Fyr", NONSENSE[1]],
        "dks_home_pick_contact": ["", "Kari", "Ola", NONSENSE[1]],
        "dks_pick_school": ["", "Nord", NONSENSE[1]],
        "dks_pick_municipality": ["", "Å", NONSENSE[1]],
    }
    listened = listened_to().options
    for action_id in [a for a in listened if isinstance(a, str)]:
        view, block_id = _holder(world, action_id)
        for value in hosts.get(action_id, ["", "a"]):
            world.suggest(action_id, block_id, value, view)


def _holder(world: World, action_id: str) -> tuple[dict[str, Any] | None, str]:
    """The surface and block an element with `action_id` sits in."""
    for surface in reversed(world.surfaces):
        for block in surface.data.get("blocks") or []:
            for element in _elements(block):
                if element.get("action_id") == action_id:
                    view = surface.data if surface.kind == "view" else None
                    return view, str(block.get("block_id") or "")
    return None, action_id


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found = [e for e in block.get("elements") or [] if isinstance(e, dict)]
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            found.append(block[key])
    return found


def _actions(element: dict[str, Any]) -> list[dict[str, Any]]:
    """The `actions[]` entries Slack sends for a user's plain uses of this element."""
    kind = element.get("type")
    base = {"action_id": element["action_id"], "type": kind}
    if kind == "button":
        return [{**base, "value": element.get("value", ""), "text": element.get("text")}]
    if kind in ("overflow", "static_select", "radio_buttons"):
        options = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            options.extend(group.get("options") or [])
        return [{**base, "selected_option": o} for o in options]
    if kind == "external_select":
        return []  # picking from a type-ahead on the Home tab: see `pick_contact`
    return []


def _clickable(block: dict[str, Any]) -> bool:
    # Slack sends a click on an input block's element only with `dispatch_action`.
    return block.get("type") != "input" or bool(block.get("dispatch_action"))


def click_everything(world: World, *, rounds: int = 3) -> None:
    """Every element on every surface drawn so far, each kind of click once, as the
    coordinator; then each action once as a member (the refusals)."""
    clicked: set[tuple[str, str]] = set()
    as_member: set[str] = set()
    avoid = ("delete:",)  # confirming a delete opens a modal; deleting waits for `deletions`
    for _ in range(rounds):
        pending = list(world.surfaces)
        for surface in pending:
            for block in surface.data.get("blocks") or []:
                if not _clickable(block):
                    continue
                for element in _elements(block):
                    if not element.get("action_id"):
                        continue
                    for action in _actions(element):
                        value = action.get("value") or (action.get("selected_option") or {}).get(
                            "value"
                        )
                        key = (str(element["action_id"]), _shape(value))
                        if key in clicked or element["action_id"] in LANGUAGE_MENUS:
                            continue  # choosing a language waits for `language_choices`
                        clicked.add(key)
                        world.click(surface, element, action, str(block.get("block_id") or ""))
                        if str(value).startswith(avoid):
                            continue
                        if element["action_id"] not in as_member:
                            as_member.add(str(element["action_id"]))
                            world.click(
                                surface,
                                element,
                                action,
                                str(block.get("block_id") or ""),
                                user=MEMBER,
                            )
        pick_contact(world)


def pick_contact(world: World) -> None:
    """The Home tab's contact picker: choosing a contact from the type-ahead."""
    for surface in reversed(world.surfaces):
        for block in surface.data.get("blocks") or []:
            for element in _elements(block):
                if element.get("action_id") != "dks_home_pick_contact":
                    continue
                options = _options_answered(world, "dks_home_pick_contact")
                if not options:
                    return
                action = {
                    "action_id": element["action_id"],
                    "type": element.get("type"),
                    "selected_option": options[0],
                }
                world.click(surface, element, action, str(block.get("block_id") or ""))
                return


def _options_answered(world: World, action_id: str) -> list[dict[str, Any]]:
    for payload in reversed(world.payloads):
        if payload.kind == "options" and action_id in payload.source:
            options = list(payload.data.get("options") or [])
            for group in payload.data.get("option_groups") or []:
                options.extend(group.get("options") or [])
            if options:
                return options
    return []


# --- submissions -------------------------------------------------------------------------------


def as_filled(view: dict[str, Any], changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """`view.state.values` for a modal submitted as the bot filled it in (plus `changes`)."""
    changes = changes or {}
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict):
            continue
        kind = element.get("type", "")
        state_key, initial_key = STATE_KEYS.get(kind, ("value", "initial_value"))
        if block["block_id"] in changes:
            value = changes[block["block_id"]]
        else:
            value = element.get(initial_key) if initial_key else None
        if kind in ("checkboxes", "multi_static_select", "file_input") and value is None:
            value = []
        values[block["block_id"]] = {element["action_id"]: {"type": kind, state_key: value}}
    return values


def _input_blocks(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view.get("blocks") or [] if b.get("type") == "input"]


def emptied(view: dict[str, Any]) -> dict[str, Any]:
    """Every field left empty (the required ones then say so)."""
    changes: dict[str, Any] = {}
    for block in _input_blocks(view):
        kind = block["element"].get("type")
        changes[block["block_id"]] = [] if kind in ("checkboxes", "file_input") else None
    return as_filled(view, changes)


def garbled(view: dict[str, Any]) -> dict[str, Any]:
    """Every field filled with what the bot cannot take: too long, not a date, not an option
    it drew. Digits only, so nothing typed here reads as copy."""
    changes: dict[str, Any] = {}
    for block in _input_blocks(view):
        element = block["element"]
        kind = element.get("type")
        if kind in ("plain_text_input", "email_text_input", "url_text_input"):
            changes[block["block_id"]] = "1" * 5001
        elif kind == "number_input":
            changes[block["block_id"]] = "-12345678901"
        elif kind == "datepicker":
            changes[block["block_id"]] = "1899-01-01"
        elif kind == "timepicker":
            changes[block["block_id"]] = "99:99"
        elif kind in ("static_select", "external_select", "radio_buttons"):
            changes[block["block_id"]] = {
                "text": {"type": "plain_text", "text": "999999"},
                "value": "999999",
            }
        elif kind == "users_select":
            changes[block["block_id"]] = "U0NOBODY"
    return as_filled(view, changes)


# What a coordinator types in an empty form's fields, by block: a row that saves.
FILLED_IN = {
    "title": "Fylt ut av koordinatoren",
    "email": "fylt.ut@example.no",
    "phone": "+47 912 34 567",
    "link": "https://example.no",
    "reminders": "1",
}
FILLED_TEXT = "Fylt ut av koordinatoren"


def filled(view: dict[str, Any], day: date) -> dict[str, Any]:
    """Every empty field filled in as a coordinator would (dates on `day`): a new row that
    saves."""
    changes: dict[str, Any] = {}
    for block in _input_blocks(view):
        element, block_id = block["element"], block["block_id"]
        kind = element.get("type")
        _state_key, initial_key = STATE_KEYS.get(kind, ("value", "initial_value"))
        if initial_key and element.get(initial_key):
            continue
        if kind in ("plain_text_input", "email_text_input", "url_text_input"):
            changes[block_id] = FILLED_IN.get(block_id, FILLED_TEXT)
        elif kind == "number_input":
            changes[block_id] = "12"
        elif kind == "datepicker" and block_id != "end_date":
            changes[block_id] = day.isoformat()
        elif kind in ("static_select", "radio_buttons") and element.get("options"):
            changes[block_id] = element["options"][0]
    return as_filled(view, changes)


def contradicting(view: dict[str, Any]) -> dict[str, Any] | None:
    """Dates and times that contradict each other: a time without a date, an end before the
    start, a repeat without a first day (the checks across fields)."""
    blocks = {b["block_id"]: b["element"] for b in _input_blocks(view)}
    if "date" not in blocks:
        return None
    changes: dict[str, Any] = {"date": None}
    if "time" in blocks:
        changes["time"] = "10:00"
    if "recurrence" in blocks:
        options = blocks["recurrence"].get("options") or []
        repeating = next((o for o in options if o.get("value") not in ("none", "")), None)
        if repeating:
            changes["recurrence"] = repeating
    values = as_filled(view, changes)
    if "end_date" in blocks:
        second = as_filled(
            view,
            {
                "date": "2027-03-10",
                "end_date": "2027-03-01",
                **({"time": "14:00"} if "time" in blocks else {}),
                **({"end_time": "09:00"} if "end_time" in blocks else {}),
            },
        )
        return {"first": values, "second": second}
    return {"first": values}


def submit_every_modal(world: World) -> None:
    """Each modal drawn (one of each kind), submitted with bad values first, then as filled
    in. Delete confirmations wait for `deletions`; the feedback form for `feedback_flows`; the
    change-request forms for `changes_flows`."""
    done: set[str] = set()
    for view in list(world.modals):
        callback_id = str(view.get("callback_id") or "")
        if not callback_id or not view.get("submit"):
            continue
        meta = _shape(view.get("private_metadata"))
        key = f"{callback_id} {meta}"
        if key in done or callback_id in ("dks_delete_item", "feedback_modal"):
            continue
        if callback_id.startswith("changes_"):
            continue  # `changes_flows` submits these, the round open with its own date
        if callback_id.startswith("dks_import"):
            continue  # `imports` gives these real files
        done.add(key)
        if _input_blocks(view):
            world.submit(view, emptied(view), "empty")
            world.submit(view, garbled(view), "bad values")
            crossed = contradicting(view)
            for name, values in (crossed or {}).items():
                world.submit(view, values, f"contradicting dates, {name}")
        if not meta.count("#"):  # a new row: filled in, it saves (and plans its reminders)
            tomorrow = world.clock.now.astimezone(OSLO).date() + timedelta(days=1)
            world.submit(view, filled(view, tomorrow), "filled in")
        world.submit(view, as_filled(view), "as filled in")
        world.submit(view, as_filled(view), "as filled in", user=MEMBER)
    # A form whose row went away meanwhile, and a form with its metadata lost.
    for view in list(world.modals):
        if view.get("callback_id") == "dks_edit_deadline":
            world.submit({**view, "private_metadata": ""}, as_filled(view), "metadata lost")
            break


def _feedback_forms(world: World) -> list[dict[str, Any]]:
    return [v for v in world.modals if v.get("callback_id") == "feedback_modal"]


def _performance(world: World, external_key: str) -> int:
    with session_scope(world.engine) as session:
        row = session.exec(
            select(Performance).where(
                col(Performance.team_id) == TEAM, col(Performance.external_key) == external_key
            )
        ).one()
        assert row.id is not None
        return row.id


def _chosen(performance_id: int) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": "Forestilling"}, "value": str(performance_id)}


def _rated(view: dict[str, Any], performance_id: int | None, **changes: Any) -> dict[str, Any]:
    """The feedback form filled in: the performance, a rating for every question."""
    filled: dict[str, Any] = {}
    for block in _input_blocks(view):
        element = block["element"]
        if element.get("type") == "radio_buttons" and element.get("options"):
            filled[block["block_id"]] = element["options"][-1]
        elif element.get("type") == "external_select" and performance_id is not None:
            filled[block["block_id"]] = _chosen(performance_id)
        elif element.get("type") == "number_input":
            filled[block["block_id"]] = "25"
        elif element.get("type") == "plain_text_input" and "comment" in block["block_id"]:
            filled[block["block_id"]] = "Supert opplegg, elevene var engasjerte."
    filled.update(changes)
    return as_filled(view, filled)


def feedback_flows(world: World) -> None:
    """The form's own errors (a performance not yet held, cancelled, unknown), an answer, its
    thanks and its edit; the summary with answers; the edit window closing."""
    forms = _feedback_forms(world)
    if not forms:
        world.command("tilbakemelding")
        forms = _feedback_forms(world)
    if not forms:
        world.problems.append("the feedback form never opened")
        return
    form = forms[0]
    held = _performance(world, "AS-H26-003")
    later = _performance(world, "AS-V27-012")
    cancelled = _performance(world, "AS-H26-010")
    world.submit(form, emptied(form), "empty", user=KONTAKT)
    world.submit(form, garbled(form), "bad values", user=KONTAKT)
    world.submit(form, _rated(form, later), "a play not yet held", user=KONTAKT)
    world.submit(form, _rated(form, cancelled), "a cancelled play", user=KONTAKT)
    world.submit(form, _rated(form, 999999), "an unknown play", user=KONTAKT)
    world.submit(form, _rated(form, held), "good", user=KONTAKT)
    anonymous = next(
        (b for b in _input_blocks(form) if b["element"].get("type") == "checkboxes"), None
    )
    if anonymous is not None:
        held_too = _performance(world, "AS-H26-001")
        options = anonymous["element"].get("options") or []
        world.submit(
            form,
            _rated(form, held_too, **{anonymous["block_id"]: options[:1]}),
            "anonymous",
            user=ADMIN,
        )
    # The thanks view's «Endre svaret» and the form with the answer in it.
    click_everything(world, rounds=1)
    world.command("tilbakemelding")
    world.command("tilbakemelding oppsummering")
    world.command("tilbakemelding oppsummering Strykere")
    world.command("tilbakemelding oppsummering", user=MEMBER)
    # Three weeks on: the answer can no longer be changed.
    prefilled = [
        v
        for v in _feedback_forms(world)
        if any(
            (b.get("element") or {}).get("initial_option", {}).get("value") == str(held)
            for b in _input_blocks(v)
        )
    ]
    moment = world.clock.now
    world.clock.now = START + timedelta(days=21)
    world.submit(
        prefilled[-1] if prefilled else form,
        _rated(form, held),
        "after the edit window",
        user=KONTAKT,
    )
    world.clock.now = moment


# The second kulturkontakt on Slack (Togrenda skole): the one who never answers a round of
# change requests, so the scheduler sends the follow-up.
KK2 = "U0KK2"
CHANGE_COMMENT = "Åttende trinn er på leirskole den uka."
CHANGE_CONTACT = "Kari Kulturkontakt, 900 00 000"


def _latest_modal(world: World, callback_id: str) -> dict[str, Any] | None:
    return next((v for v in reversed(world.modals) if v.get("callback_id") == callback_id), None)


def _option_of(view: dict[str, Any], block_id: str, index: int = 0) -> dict[str, Any] | None:
    for block in _input_blocks(view):
        if block["block_id"] == block_id:
            options = block["element"].get("options") or []
            return options[index] if len(options) > index else None
    return None


def click_changes(
    world: World,
    *,
    user: str,
    where: Any,
    only: tuple[str, ...] = (),
    skip: tuple[str, ...] = (),
) -> None:
    """Every change-request element (`changes_…`) on the surfaces `where` picks, each value
    once (every request's status menu: the kulturkontakt's DM is told), as `user`."""
    clicked: set[tuple[str, str]] = set()
    for surface in [s for s in list(world.surfaces) if where(s)]:
        for block in surface.data.get("blocks") or []:
            if not _clickable(block):
                continue
            for element in _elements(block):
                action_id = str(element.get("action_id") or "")
                if not action_id.startswith("changes_") or action_id in skip:
                    continue
                if only and action_id not in only:
                    continue
                for action in _actions(element):
                    value = action.get("value") or (action.get("selected_option") or {}).get(
                        "value"
                    )
                    key = (action_id, str(value))
                    if key in clicked:
                        continue
                    clicked.add(key)
                    world.click(
                        surface, element, action, str(block.get("block_id") or ""), user=user
                    )


def _dm_surfaces(user: str) -> Any:
    channel = "D" + user[1:]
    return lambda s: s.kind == "message" and s.channel == channel


def changes_flows(world: World) -> None:
    """A round of change requests (issue #17): the coordinator starts it (a date that has
    passed, then a good one, then again while it is open); the kulturkontakter's DMs and their
    buttons; the request form empty, garbled, contradicting and good; editing, withdrawing,
    «Alt ser bra ut» with requests standing; a member refused; the coordinator filing for a
    school without a kulturkontakt; the Home section's status menus, the whole round and the
    file for the county. Togrenda skole's kulturkontakt stays silent: the scheduler's
    fortnight sends the follow-up."""
    from storage.models import Contact, School

    world.fake.add_user(KK2, "Tone Togrenda")
    with session_scope(world.engine, write=True) as session:
        school = session.exec(
            select(School).where(col(School.team_id) == TEAM, col(School.name) == "Togrenda skole")
        ).first()
        if school is not None:
            session.add(
                Contact(
                    team_id=TEAM,
                    name="Tone Togrenda",
                    role="Kulturkontakt",
                    slack_user_id=KK2,
                    school_id=school.id,
                    search_key="tone togrenda kulturkontakt",
                )
            )
    world.command("endringer start")
    form = _latest_modal(world, "changes_open_round")
    if form is None:
        world.problems.append("the form that starts a round of change requests never opened")
        return
    world.submit(form, as_filled(form, {"closing_date": "2026-11-01"}), "a closing date passed")
    # Closing Thursday 3 December: the follow-up five working days before is Thursday 26
    # November at 09:00, which the scheduler's fortnight reaches before anyone clicks Togrenda's
    # buttons (`click_posted`).
    world.submit(form, as_filled(form, {"closing_date": "2026-12-03"}), "good")
    world.submit(form, as_filled(form, {"closing_date": "2026-12-09"}), "while a round is open")
    world.command("endringer")
    world.command("endringer", user=KONTAKT)
    world.command("endringer", user=MEMBER)

    # The kulturkontakt's DM: the tour plan, «Alt ser bra ut», then «Meld endring».
    click_changes(world, user=KONTAKT, where=_dm_surfaces(KONTAKT), only=("changes_plan",))
    click_changes(world, user=KONTAKT, where=_dm_surfaces(KONTAKT), only=("changes_no_changes",))
    click_changes(world, user=KONTAKT, where=_dm_surfaces(KONTAKT), only=("changes_report",))
    # Someone else clicks the kulturkontakt's button: refused.
    click_changes(world, user=MEMBER, where=_dm_surfaces(KONTAKT), only=("changes_report",))
    request_form = _latest_modal(world, "changes_request")
    if request_form is None:
        world.problems.append("the change request form never opened")
        return
    performance = _option_of(request_form, "performance")
    world.submit(request_form, emptied(request_form), "empty", user=KONTAKT)
    world.submit(request_form, garbled(request_form), "bad values", user=KONTAKT)
    world.submit(
        request_form,
        as_filled(
            request_form,
            {
                "performance": performance,
                "reason": _option_of(request_form, "reason", 5),
                "wished_date": "2027-03-02",
                "wished_time": "10:00",
                "wished_week": "3",
            },
        ),
        "contradicting: date and week, «annet» without a comment",
        user=KONTAKT,
    )
    good = {
        "performance": performance,
        "reason": _option_of(request_form, "reason", 2),
        "wished_date": "2027-03-02",
        "wished_time": "10:00",
        "contact_person": CHANGE_CONTACT,
        "comment": CHANGE_COMMENT,
    }
    world.submit(request_form, as_filled(request_form, good), "as a member", user=MEMBER)
    world.submit(request_form, as_filled(request_form, good), "good", user=KONTAKT)
    world.submit(request_form, as_filled(request_form, good), "the same again", user=KONTAKT)
    # «Alt ser bra ut» with a request standing; the list: edit, withdraw, and one more.
    click_changes(world, user=KONTAKT, where=_dm_surfaces(KONTAKT), only=("changes_no_changes",))
    lists = lambda s: s.kind == "view" and s.data.get("callback_id") == "changes_list_view"  # noqa: E731
    click_changes(world, user=KONTAKT, where=lists, only=("changes_edit",))
    editing = _latest_modal(world, "changes_request")
    if editing is not None and editing is not request_form:
        world.submit(
            editing,
            as_filled(editing, {"wished_date": None, "wished_time": None, "wished_week": "10"}),
            "a week instead",
            user=KONTAKT,
        )
    click_changes(world, user=KONTAKT, where=lists, only=("changes_withdraw",))
    click_changes(world, user=KONTAKT, where=lists, only=("changes_report",))
    again = _latest_modal(world, "changes_request")
    if again is not None:
        world.submit(again, as_filled(again, good), "filed again", user=KONTAKT)
    world.command("endringer", user=KONTAKT)

    # The coordinator files for a school without a kulturkontakt: «Hvilken skole?» first.
    coordinator_replies = lambda s: (  # noqa: E731
        s.kind == "message"
        and s.reader == ADMIN
        and s.ephemeral
        and "changes_report" in json.dumps(s.data)
    )
    click_changes(world, user=ADMIN, where=coordinator_replies, only=("changes_report",))
    pick = _latest_modal(world, "changes_pick_school")
    if pick is not None:
        world.submit(pick, emptied(pick), "empty")
        world.submit(pick, garbled(pick), "bad values")
        rustad = next(
            (
                o
                for b in _input_blocks(pick)
                for o in b["element"].get("options") or []
                if o["text"]["text"].startswith("Rustad skole")
            ),
            None,
        )
        world.submit(
            pick, as_filled(pick, {"school": rustad}), "a kulturkontakt's pick", user=KONTAKT
        )
        world.submit(pick, as_filled(pick, {"school": rustad}), "Rustad skole")
        for_rustad = _latest_modal(world, "changes_request")
        if for_rustad is not None and for_rustad is not again:
            filled_in = {
                "performance": _option_of(for_rustad, "performance"),
                "reason": _option_of(for_rustad, "reason", 4),
            }
            world.submit(for_rustad, as_filled(for_rustad, filled_in), "for Rustad skole")

    # The coordinator's Home: status menus (and a member's refused), the whole round, the file.
    world.open_home(ADMIN)
    home = lambda s: s.kind == "view" and s.data.get("type") == "home" and s.reader == ADMIN  # noqa: E731
    latest_home = next((s for s in reversed(world.surfaces) if home(s)), None)
    mine = lambda s: s is latest_home  # noqa: E731
    click_changes(world, user=MEMBER, where=mine, only=("changes_status", "changes_round"))
    click_changes(world, user=ADMIN, where=mine, skip=("changes_start",))
    rounds = lambda s: s.kind == "view" and s.data.get("callback_id") == "changes_round_view"  # noqa: E731
    click_changes(world, user=ADMIN, where=rounds)
    world.open_home(ADMIN)
    world.command("endringer")


def scheduler_fortnight(world: World) -> None:
    """Two weeks of the scheduler: the prompt after today's play, follow-ups, reminders on
    time, late (the bot was down) and refused by the channel (the alert DM); the buttons on
    what it posted; a reminded deadline moved and then deleted."""
    oslo = lambda d, h, m=0: datetime(2026, 11, d, h, m, tzinfo=OSLO).astimezone(UTC)  # noqa: E731
    # Noon: today's nine o'clock reminders come late; the rows saved this morning are caught
    # up; Løvehjerte ended at 09:40, so its kulturkontakt is asked.
    world.tick(oslo(24, 12, 1))
    world.tick(oslo(26, 9, 1))
    world.tick(oslo(27, 19, 30))  # Friday: the bot was down all day; reminders come late
    click_posted(world)
    world.tick(datetime(2026, 11, 30, 9, 1, tzinfo=OSLO).astimezone(UTC))
    # The channel throws the bot out: the next reminders fail and the coordinator is told.
    world.fake.channels[CHANNEL]["is_member"] = False
    world.tick(datetime(2026, 12, 1, 9, 1, tzinfo=OSLO).astimezone(UTC))
    world.command("påminnelser status")
    world.command("påminnelser")
    world.open_home(ADMIN)
    world.fake.channels[CHANNEL]["is_member"] = True
    world.command(f"påminnelser kanal <#{CHANNEL}|dks>")
    world.tick(datetime(2026, 12, 2, 9, 1, tzinfo=OSLO).astimezone(UTC))
    world.tick(datetime(2026, 12, 3, 9, 1, tzinfo=OSLO).astimezone(UTC))
    click_posted(world)
    move_and_cancel_reminded(world)
    world.command("påminnelser status")
    world.clock.now = START + timedelta(hours=2)


def click_posted(world: World) -> None:
    """Every button on the messages posted so far (reminders, prompts, the offer), once per
    kind, by a member; then the new buttons (Angre) too."""
    for _ in range(2):
        clicked: set[tuple[str, str]] = set()
        for surface in [s for s in world.surfaces if not s.ephemeral]:
            for block in surface.data.get("blocks") or []:
                for element in _elements(block):
                    if element.get("type") != "button" or not element.get("action_id"):
                        continue
                    key = (str(element["action_id"]), surface.channel[:2])
                    if key in clicked:
                        continue
                    clicked.add(key)
                    for action in _actions(element):
                        user = surface.reader if surface.channel.startswith("D") else MEMBER
                        if element["action_id"] == "reminder_use_channel":
                            world.click(
                                surface, element, action, str(block.get("block_id")), user=MEMBER
                            )
                            user = ADMIN
                        world.click(surface, element, action, str(block.get("block_id")), user=user)


def move_and_cancel_reminded(world: World) -> None:
    """A deadline whose reminder was posted is moved (the message says so), then deleted."""
    from storage.models import Deadline

    with session_scope(world.engine) as session:
        row = session.exec(
            select(Deadline).where(
                col(Deadline.team_id) == TEAM, col(Deadline.title) == "Søknad Kulturtanken"
            )
        ).one()
        deadline_id = row.id
    form = _open_form(world, "deadline", deadline_id)
    if form is None:
        return
    world.submit(form, as_filled(form, {"date": "2026-12-18"}), "moved")
    form = _open_form(world, "deadline", deadline_id)
    if form is not None:
        _delete_from(world, form)


def _open_form(world: World, kind: str, item_id: Any) -> dict[str, Any] | None:
    """The edit form of a row, opened with «Endre» in a Home tab row menu (the row itself may
    be off the tab: done, or further down)."""
    world.open_home(ADMIN)
    before = len(world.modals)
    for surface in reversed(world.surfaces):
        if surface.kind != "view" or surface.data.get("type") != "home":
            continue
        if surface.reader != ADMIN:
            continue
        for block in surface.data.get("blocks") or []:
            for element in _elements(block):
                if element.get("action_id") != "dks_item_menu":
                    continue
                option = {
                    "text": {"type": "plain_text", "text": "Endre"},
                    "value": f"edit:{kind}:{item_id}",
                }
                action = {
                    "action_id": element["action_id"],
                    "type": element["type"],
                    "selected_option": option,
                }
                world.click(surface, element, action, str(block.get("block_id") or ""))
                return world.modals[-1] if len(world.modals) > before else None
        break
    return None


def _delete_from(world: World, form: dict[str, Any]) -> None:
    """«Slett» in an edit form, then the confirmation."""
    surface = Surface("view", form)
    for block in form.get("blocks") or []:
        for element in _elements(block):
            if element.get("action_id") == "dks_modal_delete":
                before = len(world.modals)
                for action in _actions(element):
                    world.click(surface, element, action, str(block.get("block_id") or ""))
                if len(world.modals) > before:
                    confirm = world.modals[-1]
                    world.submit(confirm, {}, "delete from the form")
                return


def imports(world: World) -> None:
    """«Importer» with no file, a file the bot cannot read, bad rows, good contacts and a good
    calendar (preview, confirm, done), the same file again (nothing to change), and a
    confirmation that expired."""
    world.open_home(ADMIN)
    opened = [v for v in world.modals if v.get("callback_id") == "dks_import_file"]
    if not opened:
        for surface in reversed(world.surfaces):
            for block in surface.data.get("blocks") or []:
                for element in _elements(block):
                    if element.get("action_id") == "dks_home_import":
                        for action in _actions(element):
                            world.click(surface, element, action, str(block.get("block_id") or ""))
                        break
        opened = [v for v in world.modals if v.get("callback_id") == "dks_import_file"]
    if not opened:
        world.problems.append("the import form never opened")
        return
    form = opened[-1]
    file_block = next(
        (b for b in _input_blocks(form) if b["element"].get("type") == "file_input"), None
    )
    if file_block is None:
        world.problems.append("the import form has no file input")
        return

    def upload(name: str, content: bytes, mimetype: str = "text/csv") -> dict[str, Any]:
        uploaded = world.fake.add_file(name, content, user=ADMIN, mimetype=mimetype)
        return as_filled(form, {file_block["block_id"]: [uploaded]})

    world.submit(form, as_filled(form, {file_block["block_id"]: []}), "no file")
    world.submit(form, upload("notater.pdf", b"%PDF-1.4 binary", "application/pdf"), "a pdf")
    world.submit(form, upload("tom.csv", b""), "an empty file")
    world.submit(form, upload("kontakter-feil.csv", CONTACTS_BAD_CSV.encode()), "bad contacts")
    world.submit(
        form, upload("kalender-feil.yaml", CALENDAR_BAD_YAML.encode(), "text/yaml"), "bad calendar"
    )
    for name, content in (
        ("kontakter.csv", CONTACTS_CSV.encode()),
        ("kalender.yaml", CALENDAR_YAML.encode()),
    ):
        answer = world.submit(form, upload(name, content), f"good {name}")
        preview = answer.get("view") if isinstance(answer.get("view"), dict) else None
        if preview and preview.get("callback_id") == "dks_import_confirm":
            shown = next(v for v in reversed(world.modals) if v.get("blocks") == preview["blocks"])
            world.submit(shown, as_filled(shown), f"confirm {name}")
            world.submit(shown, as_filled(shown), f"confirm {name} again (expired)")
        world.submit(form, upload(name, content), f"{name} again: nothing to change")


def exports(world: World) -> None:
    """The feedback export (CSV, Excel) from the summary, the calendar file from `/dks
    kalender` and the Home tab, and the feed at its address."""
    answer = world.command("tilbakemelding oppsummering")
    surface = Surface("message", answer)
    for block in answer.get("blocks") or []:
        for element in _elements(block):
            if str(element.get("action_id", "")).startswith("feedback_export"):
                for action in _actions(element):
                    world.click(surface, element, action, str(block.get("block_id") or ""))
    answer = world.command("kalender")
    surface = Surface("message", answer)
    for block in answer.get("blocks") or []:
        for element in _elements(block):
            if element.get("action_id") == "dks_calendar_send_file":
                for action in _actions(element):
                    world.click(surface, element, action, str(block.get("block_id") or ""))
    # The address shown last (`/dks kalender ny` and «Lag ny adresse» make new ones).
    shown = [
        m.group(0)
        for payload in world.payloads
        for _, text in texts(payload)
        for m in re.finditer(r"https://dks\.example\.no/\S+?\.ics", text)
    ]
    address = shown[-1] if shown else None
    if address:
        world.get_feed(address)
    else:
        world.problems.append("`/dks kalender` showed no feed address")


def deletions(world: World) -> None:
    """Each kind of row deleted from its delete confirmation, and a confirmation for a row
    that is already gone."""
    confirmed: set[str] = set()
    for view in [v for v in world.modals if v.get("callback_id") == "dks_delete_item"]:
        meta = _shape(view.get("private_metadata"))
        if meta in confirmed:
            continue
        confirmed.add(meta)
        world.submit(view, {}, "confirm", user=MEMBER)
        world.submit(view, {}, "confirm")
        world.submit(view, {}, "confirm again: already gone")
    world.submit(
        {"callback_id": "dks_delete_item", "type": "modal", "blocks": [], "private_metadata": ""},
        {},
        "nothing to delete",
    )


def empty_workspace(world: World) -> None:
    """A workspace with nothing in it: every list says so."""
    world.open_home(EMPTY_ADMIN, team=EMPTY_TEAM)
    for text in (
        "frist",
        "frist alle",
        "frist Søknad",
        "møte",
        "møte alle",
        "kontakt",
        "kontakt Ola",
        "påminnelser",
        "påminnelser status",
        "tilbakemelding oppsummering",
        "admin",
        "kalender",
    ):
        world.command(text, user=EMPTY_ADMIN, team=EMPTY_TEAM)


def language_commands(world: World) -> None:
    """`/dks språk` (when it exists): what it shows, a wrong word, and choosing the language
    the world already reads (for the workspace and for oneself), in bokmål and in the reader's
    own words. The pseudo language is no choice a user has: only what changes nothing."""
    sub = _sub("språk")
    if sub is None:
        return
    local = sub.words.get(world.language, sub.name)
    for name in dict.fromkeys((sub.name, local)):
        world.command(name)
        world.command(f"{name} {NONSENSE[0]}")
        world.command(f"{name} {LANGUAGE_WORDS['nb']}", user=MEMBER)
        if world.language in LANGUAGE_WORDS:
            chosen = LANGUAGE_WORDS[world.language]
            world.command(f"{name} {chosen}")
            world.command(f"{name} {world.word('meg')} {chosen}")
            world.command(f"{name} {world.word('meg')} {chosen}", user=MEMBER)
    world.speak(world.language)
    language_choices(world)


def language_choices(world: World) -> None:
    """The Home tab's language menus: each choice (in the pseudo language only those that
    keep it: «as the workspace»), and the workspace's menu as a member (refused); the world's
    language is put back after each."""
    world.open_home(ADMIN)
    world.open_home(MEMBER)
    done: set[tuple[str, str, str]] = set()
    for surface in [s for s in world.surfaces if s.kind == "view" and s.data.get("type") == "home"]:
        for block in surface.data.get("blocks") or []:
            for element in _elements(block):
                if element.get("action_id") not in LANGUAGE_MENUS:
                    continue
                for action in _actions(element):
                    value = str((action.get("selected_option") or {}).get("value"))
                    keeps = value == world.language or value not in LANGUAGE_WORDS
                    if world.language == PSEUDO_LANGUAGE and not keeps:
                        continue
                    key = (str(element["action_id"]), value, surface.reader)
                    if key in done:
                        continue
                    done.add(key)
                    world.click(
                        surface,
                        element,
                        action,
                        str(block.get("block_id") or ""),
                        user=surface.reader,
                    )
                    if element["action_id"] == "language_workspace" and surface.reader == ADMIN:
                        world.click(
                            surface,
                            element,
                            action,
                            str(block.get("block_id") or ""),
                            user=MEMBER,
                        )
                    world.speak(world.language)


# --- what a coordinator could see that is not the bot's copy -------------------------------------


def data_strings(world_data: frozenset[str]) -> list[str]:
    """The data strings and the forms they are shown in (escaped for mrkdwn), longest first."""
    variants: set[str] = set()
    for text in world_data:
        for form in (text, escape(text), html.escape(text, quote=False)):
            variants.add(form.strip())
    return sorted((v for v in variants if v), key=len, reverse=True)


__all__ = [
    "EMPTY_TEAM",
    "Payload",
    "Rendered",
    "data_strings",
    "render_world",
    "texts",
]
