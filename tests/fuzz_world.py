"""The fuzz suite's world (tests/test_fuzz.py): two workspaces, what the App listens to, the
bot's own UI as a corpus, and the checks every request must pass.

- `TEAM` (conftest) is where the fuzzer works, as a coordinator, a plain member, a stranger;
  `VICTIM` is another workspace whose rows must never change, and whose ids the fuzzer uses.
- `listened_to()` reads what the features register on an App (every action_id, callback_id,
  type-ahead and event), so a new button is fuzzed without touching this file.
- `harvest()` clicks through the bot's own surfaces (the Home tab, every /dks subcommand, the
  modals they open, posted reminders): the fuzzer starts from real values and mutates them.
- `World.send()` posts through the real HTTP endpoint and checks: no 5xx, no 404 (Bolt's
  answer when a listener did not ack), no traceback or "didn't call ack" in the log, every
  view, message and option list valid for slack_sdk.models, the victim's rows unchanged.

`DKS_FUZZ_SURVEY=1` counts instead of failing at the first problem, and prints the figures.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, Option
from slack_sdk.models.views import View
from sqlalchemy import Engine, select
from sqlmodel import SQLModel
from sqlmodel import select as sqlmodel_select

import handlers
from bot.shell.signing import (
    event_body,
    interaction_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from handlers.core import commands
from handlers.core.commands import COMMAND
from handlers.feedback.forms import FEEDBACK_CALLBACK_ID
from storage.db import session_scope
from storage.models import Performance
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM, SlackDriver
from tests.feedback_helpers import KONTAKT, form_state, load_world
from tests.helpers import add_contact, add_deadline, add_meeting

VICTIM = "T0VICTIM"
VICTIM_USER = "U0VICTIM"
VICTIM_CHANNEL = "C0VICTIM"
STRANGER = "U0STRANGER"  # a user id Slack does not know
SURVEY = os.environ.get("DKS_FUZZ_SURVEY", "") not in ("", "0")
USERS = (ADMIN, MEMBER, KONTAKT, STRANGER, VICTIM_USER)

# --- what the App listens to ------------------------------------------------------------------


@dataclass
class Listened:
    actions: list[str | re.Pattern[str]] = field(default_factory=list)
    views: list[str | re.Pattern[str]] = field(default_factory=list)
    options: list[str | re.Pattern[str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


class _Recorder:
    """Stands in for the App while features register: records what each listens to."""

    def __init__(self) -> None:
        self.listened = Listened()

    def _record(self, into: list[Any]) -> Callable[..., Callable[..., None]]:
        def register(constraint: Any, *args: Any, **kwargs: Any) -> Callable[..., None]:
            for one in constraint if isinstance(constraint, (list, tuple)) else [constraint]:
                if isinstance(one, dict):
                    one = one.get("action_id") or one.get("callback_id") or one.get("type")
                if one not in into:
                    into.append(one)
            return lambda *a, **k: None

        return register

    def __getattr__(self, name: str) -> Any:
        buckets: dict[str, list[Any]] = {
            "action": self.listened.actions,
            "block_action": self.listened.actions,
            "view": self.listened.views,
            "view_submission": self.listened.views,
            "options": self.listened.options,
            "block_suggestion": self.listened.options,
            "event": self.listened.events,
            "command": self.listened.commands,
        }
        if name in ("use", "middleware", "error"):
            return lambda *a, **k: None  # not a way in
        if name not in buckets:
            raise AttributeError(f"the fuzz suite does not know App.{name}: teach it")
        return self._record(buckets[name])


def listened_to() -> Listened:
    recorder = _Recorder()
    commands.register(recorder)  # type: ignore[arg-type]
    for feature in handlers.FEATURES:
        feature.register(recorder)  # type: ignore[arg-type]
    return recorder.listened


def subcommand_words() -> dict[str, list[str]]:
    """Every subcommand's names, with the words its help shows (`kanal #kanal`, `av`, …)."""
    words: dict[str, list[str]] = {}
    for feature in handlers.FEATURES:
        for sub in feature.subcommands:
            shown = [*re.findall(r"`([^`]*)`|«([^»]*)»", sub.summary), sub.example]
            shown = [w if isinstance(w, str) else " ".join(w) for w in shown]
            vocabulary = {
                w
                for text in shown
                for w in text.replace(COMMAND, " ").split()
                if w not in sub.names()
            }
            for name in sub.names():
                words[name] = sorted(vocabulary)
    return words


# --- checks ---------------------------------------------------------------------------------


def block_kit_problem(where: str, data: Any) -> str | None:
    """What slack_sdk.models refuses in an answer or a Web API call, or None."""
    if not isinstance(data, dict):
        return None
    try:
        view = data.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if isinstance(view, dict):
            View(**view).to_dict()
        blocks = data.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if isinstance(blocks, list):
            if len(blocks) > 50:
                return f"{where}: {len(blocks)} blocks"
            for raw in blocks:
                parsed = Block.parse(raw)
                if parsed is None:
                    return f"{where}: unknown block {str(raw)[:80]}"
                parsed.to_dict()
        options = data.get("options")
        if isinstance(options, list):
            if len(options) > 100:
                return f"{where}: {len(options)} options"
            for raw in options:
                Option(**{k: v for k, v in raw.items() if k != "url"}).to_dict()
        text = data.get("text")
        if isinstance(text, str) and len(text) > 40_000:
            return f"{where}: text of {len(text)} characters"
    except (SlackObjectFormationError, TypeError, KeyError, ValueError, AttributeError) as err:
        return f"{where}: {type(err).__name__}: {str(err)[:160]}"
    return None


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, detail: str) -> None:
        self.problems[kind] += 1
        self.examples.setdefault(f"{kind}: {detail[:120]}", detail)

    def line(self, name: str) -> str:
        server_errors = sum(n for s, n in self.statuses.items() if s >= 500)
        statuses = " ".join(f"{s}×{n}" for s, n in sorted(self.statuses.items()))
        problems = ", ".join(f"{k} {n}" for k, n in sorted(self.problems.items())) or "none"
        return (
            f"fuzz {name}: {self.requests} requests, {server_errors} 5xx, "
            f"{self.problems.get('traceback', 0)} tracebacks; statuses {statuses}; "
            f"problems: {problems}"
        )


class _Records(logging.Handler):
    """Every log record while the world lives (caplog keeps them per test phase only)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)  # emit runs under the handler's own lock


def log_problem(record: logging.LogRecord) -> tuple[str, str] | None:
    message = record.getMessage()
    head = f"{record.name} {record.levelname}: {message[:300]}"
    if record.exc_info or "Traceback (most recent call last)" in message:
        exc = record.exc_info[1] if record.exc_info else None
        where = ""
        if exc is not None:
            frames = traceback.extract_tb(exc.__traceback__)
            ours = [f for f in frames if "/site-packages/" not in f.filename] or frames
            if ours:
                last = ours[-1]
                where = f" at {os.path.relpath(last.filename)}:{last.lineno} {last.line}"
        return "traceback", f"{head} [{type(exc).__name__}: {str(exc)[:200]}{where}]"
    if "didn't call ack" in message or message.startswith("Unhandled request"):
        return "unacked", head
    return None


# --- the world ------------------------------------------------------------------------------


@dataclass
class Sent:
    response: httpx.Response
    body: str
    signed: bool


@dataclass(repr=False)
class World:
    slack: SlackDriver
    engine: Engine
    victim_ids: list[int]
    own_ids: list[int]
    tally: Tally = field(default_factory=Tally)
    # The bot's own UI: elements by action_id (with the surface they sit on), modals by
    # callback_id, and the surfaces themselves.
    elements: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    modals: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    crafted: bool | None = None  # what the request being checked was
    _records: _Records = field(default_factory=_Records)
    _seen_records: int = 0
    _seen_calls: int = 0
    _seen_responses: int = 0
    _victim_rows: str = ""

    def __repr__(self) -> str:
        return f"World({self.engine.url.get_backend_name()})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints a failing example's arguments: one word for the world.
        printer.text(repr(self))

    # --- sending --------------------------------------------------------------------------

    def post(self, body: str | bytes, *, headers: dict[str, str] | None = None) -> httpx.Response:
        raw = body.encode() if isinstance(body, str) else body
        # As bytes: a forged header may hold what httpx would refuse to encode.
        sent = [(k.encode(), v.encode("utf-8")) for k, v in (headers or {}).items()]
        return self.slack.http.post(self.slack.url + "/slack/events", content=raw, headers=sent)

    def signed(self, body: str, **options: Any) -> dict[str, str]:
        secret = self.slack.settings.slack_signing_secret
        assert secret
        return signed_headers(secret, body, **options)

    def send(
        self,
        body: str,
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        malformed: bool = False,
        as_victim: bool = False,
    ) -> httpx.Response:
        """Post and check; `signed` False sends `headers` as given (forged or missing)."""
        self.crafted = malformed if signed else True
        sent_headers = self.signed(body) if signed and headers is None else headers or {}
        started = time.monotonic()
        try:
            response = self.post(body, headers=sent_headers)
        except httpx.TimeoutException:
            self.problem("hang", f"no answer in 10 s to {body[:200]!r}")
            return httpx.Response(599)
        self.tally.requests += 1
        self.tally.statuses[response.status_code] += 1
        took = time.monotonic() - started
        what = (
            f"{response.status_code} in {took:.2f} s to {body[:300]!r} -> {response.text[:300]!r}"
        )
        if response.status_code >= 500:
            self.problem("5xx", what)
        elif response.status_code == 404:
            self.problem("404", what)
        elif signed and not malformed and response.status_code != 200:
            self.problem("refused", what)
        elif not signed and response.status_code < 400:
            self.problem("unsigned accepted", what)
        if took >= 3.0:
            self.problem("slow", what)
        # The work after the ack (lazy listeners) is waited for, so what it logs or changes is
        # laid at this request's door.
        self.settle(check=False)
        if response.status_code == 200 and response.text.startswith("{"):
            found = block_kit_problem("ack", json.loads(response.text))
            if found:
                self.problem("block kit", f"{found} after {body[:200]!r}")
        self.check_side_effects(body[:200], as_victim=as_victim)
        return response

    def problem(self, kind: str, detail: str) -> None:
        if self.crafted is not None:
            detail = f"[{'crafted' if self.crafted else 'as Slack sends'}] {detail}"
        self.tally.add(kind, detail)
        if not SURVEY:
            raise AssertionError(f"{kind}: {detail}")

    # --- checks ---------------------------------------------------------------------------

    def check_side_effects(self, after: str, *, as_victim: bool = False) -> None:
        """The log, the bot's calls to Slack and the victim's rows since the last check."""
        with self._records.lock:  # type: ignore[union-attr]
            records = self._records.records[self._seen_records :]
            self._seen_records = len(self._records.records)
        for record in records:
            found = log_problem(record)
            if found:
                self.problem(found[0], f"{found[1]} (after {after!r})")
        fake = self.slack.fake
        with fake._lock:
            calls = fake.calls[self._seen_calls :]
            self._seen_calls = len(fake.calls)
            responses = fake.responses[self._seen_responses :]
            self._seen_responses = len(fake.responses)
        for call in calls:
            refused = block_kit_problem(call.method, call.args)
            if refused:
                self.problem("block kit", f"{refused} (after {after!r})")
        for _key, args in responses:
            refused = block_kit_problem("response_url", args)
            if refused:
                self.problem("block kit", f"{refused} (after {after!r})")
        rows = victim_rows(self.engine)
        if rows != self._victim_rows:
            self._victim_rows = rows
            if not as_victim:
                self.problem("victim changed", f"another workspace's rows changed after {after!r}")

    def settle(self, *, check: bool = True) -> None:
        """Wait for the work after the acks (Bolt's lazy listeners), then check once more."""
        executor: Any = self.slack.app.listener_runner.listener_executor
        workers = int(getattr(executor, "_max_workers", 5))
        barrier = threading.Barrier(workers + 1)
        for _ in range(workers):
            executor.submit(barrier.wait, 30)
        barrier.wait(30)  # every worker is here: everything submitted before has finished
        if check:
            self.check_side_effects("the work after the acks")

    # --- the bot's own UI -----------------------------------------------------------------

    def collect(self, surface: dict[str, Any]) -> None:
        """Remember every interactive element on a view or message, and a modal by its id."""
        if surface.get("type") == "modal" and surface.get("callback_id"):
            self.modals[str(surface["callback_id"])].append(surface)
        for block in surface.get("blocks") or []:
            elements = list(block.get("elements") or [])
            for key in ("accessory", "element"):
                if isinstance(block.get(key), dict):
                    elements.append(block[key])
            # Slack sends a click on an input block's element only with `dispatch_action`.
            clicks = block.get("type") != "input" or bool(block.get("dispatch_action"))
            for element in elements:
                if isinstance(element, dict) and element.get("action_id"):
                    self.elements[str(element["action_id"])].append(
                        (
                            {**element, "_block_id": block.get("block_id", ""), "_clicks": clicks},
                            surface,
                        )
                    )


def victim_rows(engine: Engine) -> str:
    """A digest of every row of the victim workspace, in every table."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if "team_id" not in table.c:
                continue
            order = list(table.primary_key.columns) or list(table.c)
            for row in conn.execute(
                select(table).where(table.c.team_id == VICTIM).order_by(*order)
            ):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


# --- setting the world up ---------------------------------------------------------------------


def row_ids(engine: Engine, team_id: str) -> list[int]:
    """Every integer id of a workspace's rows (deadlines, schools, performances, answers, …)."""
    found: set[int] = set()
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if "team_id" in table.c and "id" in table.c:
                found.update(
                    int(i)
                    for i in conn.execute(
                        select(table.c.id).where(table.c.team_id == team_id)
                    ).scalars()
                    if i is not None
                )
    return sorted(found)


def seed_workspace(engine: Engine, team_id: str, now: Any) -> None:
    """The sample tour plan (schools, a kulturkontakt, performances) and a few items."""
    load_world(engine, team_id, now)
    today = now.date()
    add_deadline(
        engine, team_id, f"Rapport {team_id}", today + timedelta(days=1), reminder_offsets_days="1"
    )
    add_deadline(engine, team_id, "Søknadsfrist", today + timedelta(days=30))
    add_deadline(engine, team_id, "Uten dato", None)
    add_meeting(engine, team_id, f"Nettverksmøte {team_id}", today + timedelta(days=7))
    add_contact(
        engine,
        team_id,
        name="Ola Kontakt",
        role="Rektor",
        email="ola@example.no",
        school="Nordby skole",
        municipality="Moss",
    )


def build_world(slack: SlackDriver, engine: Engine) -> World:
    fake = slack.fake
    fake.add_user(KONTAKT, "Kari Kulturkontakt")
    fake.add_user(VICTIM_USER, "Vera Victim", admin=True)
    fake.add_channel(VICTIM_CHANNEL, "victim", member=True, team_id=VICTIM)
    now = slack.services.clock()
    seed_workspace(engine, TEAM, now)
    seed_workspace(engine, VICTIM, now)
    world = World(
        slack=slack,
        engine=engine,
        victim_ids=row_ids(engine, VICTIM),
        own_ids=row_ids(engine, TEAM),
    )
    logging.getLogger().addHandler(world._records)
    # The victim's own coordinator sets its workspace up, as a real one would.
    for text in (
        f"påminnelser kanal <#{VICTIM_CHANNEL}|victim>",
        "kalender",
        f"admin legg til <@{ADMIN}>",
    ):
        world.send(
            slash_command_body(
                text=text,
                team_id=VICTIM,
                user_id=VICTIM_USER,
                channel_id=VICTIM_CHANNEL,
                response_url=fake.response_url(),
            ),
            as_victim=True,
        )
    world.settle()
    world._victim_rows = victim_rows(engine)
    return world


def close_world(world: World) -> None:
    logging.getLogger().removeHandler(world._records)


# --- the bot's own UI, as the fuzzer's starting point ------------------------------------------


def _as_view(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def harvest(world: World, words: dict[str, list[str]]) -> None:
    """Open the Home tab, run every subcommand with the words its help shows, let the
    scheduler post the due reminders, click each element found (as a coordinator), submit
    each modal as filled in: every view, message and modal the bot drew is remembered."""
    fake = world.slack.fake
    seen = {"views": 0, "responses": 0}

    def collect_new() -> None:
        world.settle()
        views = list(fake.views.values())
        for view in views[seen["views"] :]:
            world.collect(view)
        seen["views"] = len(views)
        for _key, args in fake.responses[seen["responses"] :]:
            blocks = args.get("blocks")
            blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
            world.collect({"_surface": "message", "text": args.get("text"), "blocks": blocks})
        seen["responses"] = len(fake.responses)

    def command(text: str) -> None:
        body = slash_command_body(
            text=text,
            team_id=TEAM,
            user_id=ADMIN,
            channel_id=CHANNEL,
            response_url=fake.response_url(),
        )
        response = world.send(body)
        if response.text.startswith("{"):
            world.collect({"_surface": "message", **json.loads(response.text)})

    for user in (ADMIN, KONTAKT):
        event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
        world.send(event_body(team_id=TEAM, event=event))
    command(f"påminnelser kanal <#{CHANNEL}|dks>")
    for name, vocabulary in words.items():
        if name in _primary_names():
            for text in [name, *(f"{name} {word}" for word in vocabulary)]:
                command(text)
    collect_new()
    _post_due_reminders(world)  # the victim's too: its outbox rows change here, legitimately
    world._victim_rows = victim_rows(world.engine)
    for messages in list(fake.messages.values()):
        for message in messages:
            world.collect({"_surface": "message", **message})
    clicked: set[tuple[str, str]] = set()
    submitted: set[str] = set()
    for _round in range(3):
        for action_id, found in list(world.elements.items()):
            element, surface = found[0]
            for action in real_actions(element):
                key = (action_id, _shape(action))
                if key in clicked or not element["_clicks"]:
                    continue
                clicked.add(key)
                body = block_actions(
                    surface,
                    action,
                    element["_block_id"],
                    user=ADMIN,
                    team=TEAM,
                    fake_response_url=fake.response_url(),
                )
                world.send(body)
        collect_new()
        for callback_id, modals in list(world.modals.items()):
            modal = modals[0]
            if callback_id in submitted or not modal.get("submit"):
                continue  # a modal without a submit button is never submitted
            submitted.add(callback_id)
            feedback = callback_id == FEEDBACK_CALLBACK_ID
            body = view_submission_body(
                team_id=TEAM,
                user_id=KONTAKT if feedback else ADMIN,
                view=modal,
                values=_filled_in(world, modal),
            )
            response = world.send(body)
            answer = json.loads(response.text) if response.text.startswith("{") else {}
            if isinstance(answer.get("view"), dict):
                world.collect({"id": f"V0ACK{callback_id}", **answer["view"]})
        collect_new()
        # With an answer stored, the summary shows its export buttons.
        command("tilbakemelding oppsummering")


def _filled_in(world: World, modal: dict[str, Any]) -> dict[str, Any]:
    """The modal's state as a user who filled it in sensibly submits it."""
    if modal.get("callback_id") == FEEDBACK_CALLBACK_ID:
        with session_scope(world.engine) as session:
            ended = session.exec(
                sqlmodel_select(Performance).where(
                    Performance.team_id == TEAM, Performance.ends_at < world.slack.services.clock()
                )
            ).first()
        if ended is not None:
            return form_state(modal, performance=(ended.id, "Forestillingen"))
    return initial_state(modal, _files_for(world, modal))


STATE_KEYS = {
    "plain_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "static_select": ("selected_option", "initial_option"),
    "external_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "checkboxes": ("selected_options", "initial_options"),
    "multi_static_select": ("selected_options", "initial_options"),
    "file_input": ("files", ""),
}


def initial_state(view: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` for a modal submitted as the bot filled it in (plus `changes`)."""
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict):
            continue
        kind = element.get("type", "")
        state_key, initial_key = STATE_KEYS.get(kind, ("value", "initial_value"))
        value = changes.get(block["block_id"], element.get(initial_key) if initial_key else None)
        values[block["block_id"]] = {element["action_id"]: {"type": kind, state_key: value}}
    return values


def _shape(action: dict[str, Any]) -> str:
    """What kind of click this is: the chosen option's or button's value without its numbers."""
    value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    return re.sub(r"\d+", "#", str(value))


def _files_for(world: World, modal: dict[str, Any]) -> dict[str, Any]:
    """A real file for each file input: a contacts list with a new contact (so the preview
    has something to confirm)."""
    content = (
        "skole;kommune;navn;rolle;e-post;telefon\n"
        "Nordby skole;Moss;Nina Ny;Rektor;nina@example.no;12345678\n"
    )
    changes: dict[str, Any] = {}
    for block in modal.get("blocks") or []:
        if (block.get("element") or {}).get("type") == "file_input":
            upload = world.slack.fake.add_file("kontakter.csv", content.encode(), user=ADMIN)
            changes[block["block_id"]] = [upload]
    return changes


def _primary_names() -> set[str]:
    return {sub.name for feature in handlers.FEATURES for sub in feature.subcommands}


def _post_due_reminders(world: World) -> None:
    from bot.scheduler import build_scheduler

    scheduler = build_scheduler(
        world.slack.settings, engine=world.engine, clock=world.slack.services.clock
    )
    try:
        scheduler.tick()
    finally:
        scheduler.shutdown()


def real_actions(element: dict[str, Any]) -> list[dict[str, Any]]:
    """The `actions[]` entries Slack sends for a user's plain uses of this element."""
    kind = element.get("type")
    base = {"action_id": element["action_id"], "type": kind, "action_ts": f"{time.time():.6f}"}
    if kind == "button":
        return [{**base, "value": element.get("value", ""), "text": element.get("text")}]
    if kind in ("overflow", "static_select", "radio_buttons"):
        return [{**base, "selected_option": o} for o in element.get("options") or []]
    return []


def block_actions(
    surface: dict[str, Any],
    action: Any,
    block_id: Any,
    *,
    user: str,
    team: str,
    fake_response_url: str,
    actions: Any = None,
) -> str:
    """A `block_actions` payload as Slack sends it for a click on `surface` (a view: Home tab
    or modal; or a message, with the message and its channel)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "bruker", "name": "bruker", "team_id": team},
        "api_app_id": "A0DKSBOT",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": team, "domain": "dks"},
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": actions if actions is not None else [{**action, "block_id": block_id}],
    }
    if surface.get("_surface") == "message":
        message = {k: v for k, v in surface.items() if k != "_surface"}
        ts = str(message.get("ts") or "1700000000.000100")
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": CHANNEL,
            "is_ephemeral": "ts" not in message,
        }
        payload["channel"] = {"id": CHANNEL, "name": "dks"}
        payload["response_url"] = fake_response_url
        if "ts" in message:
            payload["message"] = {
                "type": "message",
                "user": "U0DKSBOT",
                "ts": ts,
                "text": message.get("text", ""),
                "blocks": message.get("blocks", []),
            }
    else:
        payload["container"] = {"type": "view", "view_id": surface.get("id", "V0")}
        payload["view"] = {**surface, "state": surface.get("state", {"values": {}})}
    return interaction_body(payload)
