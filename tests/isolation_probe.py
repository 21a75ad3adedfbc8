"""The machinery of the tenant-isolation suite (tests/test_tenant_isolation.py): one bot
serving two workspaces through «Add to Slack», what each workspace's Slack surfaces offer to
press, submit or type into, and the payloads Slack sends for them.

Nothing here knows a feature's ids: the listeners are read from the features' own
`register(app)`, and the buttons, menus, forms and type-aheads from what the bot drew.
"""

from __future__ import annotations

import copy
import io
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet
from openpyxl import load_workbook
from slack_bolt import App
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine

import handlers
from bot.app import create_app
from bot.oauth.flow import make_store
from bot.server import create_wsgi_app
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import (
    block_actions_body,
    block_suggestion_body,
    button_action,
    event_body,
    interaction_body,
    overflow_action,
    select_action,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from handlers.core.services import Services
from storage.db import session_scope
from storage.workspaces import mark_installed
from tests.conftest import FrozenClock, serve_wsgi

CLIENT_ID = "1111.2222"


# --- the listeners the features register ---------------------------------------------------


@dataclass(frozen=True)
class Listener:
    kind: str  # action | view | options
    constraint: str | re.Pattern[str]

    def matches(self, kind: str, name: str) -> bool:
        if kind != self.kind:
            return False
        if isinstance(self.constraint, str):
            return self.constraint == name
        return self.constraint.search(name) is not None  # as Bolt matches a pattern

    def __str__(self) -> str:
        shown = self.constraint if isinstance(self.constraint, str) else self.constraint.pattern
        return f"{self.kind} {shown}"


class _Recorder:
    """Stands in for the App while the features register: writes down what they listen to."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []

    def __getattr__(self, method: str) -> Callable[..., Callable[..., None]]:
        def register(constraint: Any = None, *args: Any, **kwargs: Any) -> Callable[..., None]:
            if method in ("action", "view", "options"):
                if isinstance(constraint, dict):
                    constraint = constraint.get("action_id") or constraint.get("callback_id")
                self.listeners.append(Listener(method, constraint))
            return lambda *a, **k: None

        return register


def registered_listeners() -> list[Listener]:
    """Every button/menu (`action`), form (`view`) and type-ahead (`options`) listener."""
    recorder = _Recorder()
    for feature in handlers.FEATURES:
        feature.register(recorder)  # type: ignore[arg-type]
    return recorder.listeners


# --- one bot, two workspaces ----------------------------------------------------------------


class SettledExecutor(ThreadPoolExecutor):
    """Bolt's executor for the work after an ack, which can tell when all of it is done."""

    def __init__(self) -> None:
        super().__init__(max_workers=5)
        self._running: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._running.discard(future)

    def settle(self, timeout: float = 10.0) -> None:
        while True:
            with self._lock:
                running = list(self._running)
            if not running:
                return
            _, pending = wait(running, timeout=timeout)
            assert not pending, "work after an ack did not finish"


@dataclass
class County:
    """One installation of the bot, serving every workspace installed in it."""

    fake: FakeSlack
    engine: Engine
    settings: Settings
    app: App
    executor: SettledExecutor
    url: str
    http: httpx.Client
    clock: FrozenClock
    server: Any

    def post(self, body: str, *, content_type: str = "") -> httpx.Response:
        assert self.settings.slack_signing_secret
        headers = signed_headers(
            self.settings.slack_signing_secret, body, content_type=content_type
        )
        response = self.http.post(
            self.url + "/slack/events", content=body.encode(), headers=headers
        )
        self.executor.settle()
        return response

    def install(self, team_id: str, name: str) -> None:
        """`team_id` as «Add to Slack» leaves it: an installation with its own bot token."""
        token = self.fake.issue_bot_token(team_id)
        make_store(self.settings, self.engine).save(
            Installation(
                app_id="A0DKSBOT",
                team_id=team_id,
                team_name=name,
                user_id=f"U{team_id[1:]}INST",
                bot_token=token,
                bot_id=f"B{team_id[1:]}",
                bot_user_id=f"U{team_id[1:]}BOT",
                bot_scopes=",".join(self.settings.slack_scopes),
            )
        )
        with session_scope(self.engine, write=True) as session:
            mark_installed(session=session, team_id=team_id)

    def close(self) -> None:
        self.http.close()
        self.server.shutdown()
        self.server.server_close()
        self.executor.shutdown()


def build_county(fake: FakeSlack, engine: Engine, clock: FrozenClock) -> County:
    settings = Settings(
        slack_client_id=CLIENT_ID,
        slack_client_secret="s3cr3t-client",
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=fake.api_url,
        database_url=engine.url.render_as_string(hide_password=False),
        public_url="https://dks.example.no",
        token_keys=(Fernet.generate_key().decode(),),
    )
    services = Services(settings=settings, engine=engine, clock=clock)
    app = create_app(settings, services=services)
    executor = SettledExecutor()
    runner = app.listener_runner
    runner.listener_executor = executor
    runner.lazy_listener_runner.executor = executor  # type: ignore[attr-defined]
    url, server = serve_wsgi(create_wsgi_app(app, engine))
    return County(
        fake, engine, settings, app, executor, url, httpx.Client(timeout=20), clock, server
    )


# --- what a workspace's Slack shows ---------------------------------------------------------


@dataclass
class Surface:
    """A view (modal or Home tab) or a message the bot drew, and where it is."""

    blocks: list[dict[str, Any]]
    view: dict[str, Any] | None = None
    channel: str = ""
    ts: str = "1700000000.000100"
    ephemeral: bool = True


@dataclass
class Marks:
    """Where the fake Slack stood before a request: what came after is the request's."""

    calls: int
    responses: int
    views: dict[str, str]
    messages: dict[str, list[str]]
    uploads: set[str]


def marks(fake: FakeSlack) -> Marks:
    # Read between requests, once the work after each ack is done: nothing writes meanwhile.
    return Marks(
        calls=len(fake.calls),
        responses=len(fake.responses),
        views={k: str(v.get("hash")) for k, v in fake.views.items()},
        messages={ch: [json.dumps(m) for m in ms] for ch, ms in fake.messages.items()},
        uploads=set(fake.uploads),
    )


def new_surfaces(fake: FakeSlack, before: Marks, ack: str, channel: str) -> list[Surface]:
    """The views and messages a request made (its ack included)."""
    found: list[Surface] = []
    for view_id, view in fake.views.items():
        if before.views.get(view_id) != str(view.get("hash")):
            found.append(Surface(list(view.get("blocks") or []), view=copy.deepcopy(view)))
    for _, body in fake.responses[before.responses :]:
        found.append(Surface(_blocks(body.get("blocks")), channel=channel))
    for ch, messages in fake.messages.items():
        seen = before.messages.get(ch, [])
        for message in messages:
            if json.dumps(message) not in seen:
                blocks = _blocks(message.get("blocks"))
                found.append(Surface(blocks, channel=ch, ts=message["ts"], ephemeral=False))
    if ack.startswith("{"):
        body = json.loads(ack)
        if isinstance(body.get("view"), dict):
            view = {**body["view"], "id": f"V0ACK{secrets.token_hex(3).upper()}"}
            found.append(Surface(list(view.get("blocks") or []), view=view))
        elif body.get("blocks"):
            found.append(Surface(_blocks(body["blocks"]), channel=channel))
    return found


def _blocks(blocks: Any) -> list[dict[str, Any]]:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return list(blocks or [])


def elements(surface: Surface) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(block_id, element, in an input block) for every interactive element drawn."""
    for block in surface.blocks:
        block_id = str(block.get("block_id") or "")
        if block.get("type") == "actions":
            for element in block.get("elements") or []:
                yield block_id, element, False
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block_id, block["accessory"], False
        elif block.get("type") == "input":
            yield block_id, block["element"], True


def actions_for(
    element: dict[str, Any], suggested: Callable[[dict[str, Any]], list[dict[str, Any]]]
) -> list[dict[str, Any]] | None:
    """The `actions[]` entries Slack sends for using `element` (each option of a menu);
    None for an element type this suite cannot press yet."""
    kind = element.get("type")
    if kind == "button":
        return [button_action(element)]
    if kind == "overflow":
        return [overflow_action(element, o["value"]) for o in element.get("options") or []]
    if kind == "static_select":
        options = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            options += group.get("options") or []
        return [select_action(element, o) for o in options]
    if kind == "external_select":
        return [select_action(element, o) for o in suggested(element)]
    return None


# --- payloads, as Slack sends them ----------------------------------------------------------


def payload_of(body: str) -> dict[str, Any]:
    return dict(json.loads(parse_qs(body)["payload"][0]))


def press(
    surface: Surface, action: dict[str, Any], block_id: str, *, team: str, user: str, url: str
) -> dict[str, Any]:
    return payload_of(
        block_actions_body(
            team_id=team,
            user_id=user,
            channel_id=surface.channel,
            response_url=url,
            action=action,
            block_id=block_id,
            message_ts=surface.ts,
            is_ephemeral=surface.ephemeral,
            view=surface.view,
        )
    )


def submission(
    view: dict[str, Any], values: dict[str, Any], *, team: str, user: str
) -> dict[str, Any]:
    return payload_of(view_submission_body(team_id=team, user_id=user, view=view, values=values))


def suggestion(
    view: dict[str, Any] | None, block_id: str, action_id: str, value: str, *, team: str, user: str
) -> dict[str, Any]:
    return payload_of(
        block_suggestion_body(
            team_id=team,
            user_id=user,
            action_id=action_id,
            block_id=block_id,
            value=value,
            view=view,
        )
    )


_STATE = {
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
    "checkboxes": ("selected_options", "initial_options"),
    "file_input": ("files", ""),
}


def shown_state(view: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]] | None:
    """`view.state.values` when a form is submitted as it was shown; None if the form has
    an input this suite does not know."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block["element"]
        if element["type"] not in _STATE:
            return None
        state_key, initial_key = _STATE[element["type"]]
        value = element.get(initial_key) if initial_key else None
        if element["type"] in ("checkboxes", "file_input") and value is None:
            value = []
        values[block["block_id"]] = {
            element["action_id"]: {"type": element["type"], state_key: value}
        }
    return values


def slash(text: str, *, team: str, user: str, channel: str, url: str) -> str:
    return slash_command_body(
        text=text, team_id=team, user_id=user, channel_id=channel, response_url=url
    )


def event(team: str, payload: dict[str, Any]) -> str:
    return event_body(team_id=team, event=payload, event_id=f"Ev{secrets.token_hex(5)}")


def as_workspace(payload: dict[str, Any], *, team: str, user: str, url: str) -> dict[str, Any]:
    """The same interaction, as a person in another workspace would send it (crafted)."""
    moved = copy.deepcopy(payload)
    moved["team"] = {"id": team, "domain": "annen"}
    moved["user"] = {"id": user, "username": "bruker", "name": "bruker", "team_id": team}
    if isinstance(moved.get("view"), dict):
        moved["view"]["team_id"] = team
        moved["view"]["app_installed_team_id"] = team
    if "response_url" in moved:
        moved["response_url"] = url
    return moved


def scrub(node: Any, markers: list[str]) -> Any:
    """Every text that holds one of `markers` replaced: a probe carries the other workspace's
    ids, never its texts, so any of them in an answer came from its rows."""
    if isinstance(node, dict):
        return {k: scrub(v, markers) for k, v in node.items()}
    if isinstance(node, list):
        return [scrub(v, markers) for v in node]
    if isinstance(node, str) and any(m in node for m in markers):
        return "Prøve"
    return node


def body_of(payload: dict[str, Any]) -> str:
    return interaction_body(payload)


# --- what a request showed, and what the database holds ------------------------------------


def shown_since(fake: FakeSlack, before: Marks, ack: str) -> str:
    """Everything a request showed anyone: its ack, its response_url posts, every Web API
    call it made, and the files it uploaded."""
    parts = [ack]
    parts += [json.dumps(c.args, ensure_ascii=False) for c in fake.calls[before.calls :]]
    parts += [json.dumps(b, ensure_ascii=False) for _, b in fake.responses[before.responses :]]
    uploads = [v for k, v in fake.uploads.items() if k not in before.uploads]
    for upload in uploads:
        parts.append(_file_text(str(upload.get("filename") or ""), upload.get("content") or b""))
    return "\n".join(parts)


def _file_text(name: str, content: bytes) -> str:
    if name.endswith(".xlsx"):
        book = load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row
        )
    return content.decode("utf-8", "replace")


@dataclass
class Database:
    """The live schema, reflected: every table is covered, a new one too."""

    engine: Engine
    metadata: sa.MetaData = field(default_factory=sa.MetaData)

    def __post_init__(self) -> None:
        self.metadata.reflect(self.engine)

    def tables(self) -> list[sa.Table]:
        return [t for t in self.metadata.sorted_tables if "team_id" in t.c]

    def rows_of(self, team_id: str) -> dict[str, list[str]]:
        """Every row of the workspace, table by table, as comparable text."""
        found: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            for table in self.tables():
                rows = conn.execute(sa.select(table).where(table.c.team_id == team_id))
                found[table.name] = sorted(repr(tuple(row)) for row in rows)
        return found

    def texts(self, team_id: str, columns: dict[str, tuple[str, ...]]) -> set[str]:
        found: set[str] = set()
        with self.engine.connect() as conn:
            for name, wanted in columns.items():
                table = self.metadata.tables[name]
                query = sa.select(*(table.c[c] for c in wanted)).where(table.c.team_id == team_id)
                for row in conn.execute(query):
                    found.update(str(v) for v in row if v)
        return found

    def all_text(self, team_id: str) -> str:
        return "\n".join(v for rows in self.rows_of(team_id).values() for v in rows)

    def ids(self, table: str, team_id: str) -> set[Any]:
        t = self.metadata.tables[table]
        with self.engine.connect() as conn:
            return set(conn.scalars(sa.select(t.c.id).where(t.c.team_id == team_id)))

    def references(self) -> list[tuple[str, str, str]]:
        """(table, column, referred table) for every id one row holds of another."""
        found = [
            (t.name, fk.parent.name, fk.column.table.name)
            for t in self.tables()
            for fk in t.foreign_keys
        ]
        # Held without a foreign key: a done mark's deadline.
        found.append(("deadline_done", "deadline_id", "deadline"))
        return found

    def crossing(self, team_id: str, other: str) -> list[str]:
        """Rows of `team_id` that point at a row of `other`."""
        problems: list[str] = []
        with self.engine.connect() as conn:
            for table_name, column, referred in self.references():
                theirs = self.ids(referred, other)
                table = self.metadata.tables[table_name]
                query = sa.select(table.c[column]).where(table.c.team_id == team_id)
                for value in conn.scalars(query):
                    if value in theirs:
                        problems.append(f"{table_name}.{column}={value} is a row of {other}")
        return problems
