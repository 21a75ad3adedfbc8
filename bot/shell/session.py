"""The shell's world: a fake Slack with a few people and channels, the real Bolt app, the
scheduler on the shell's own clock, and what the bot did, in the order it did it.

Nothing here prints; bot/shell/shell.py shows what `drain()` returns.
"""

from __future__ import annotations

import json
import queue
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_bolt import App
from slack_bolt.request import BoltRequest
from sqlalchemy import Engine

from bot.app import ContextExecutor, create_app
from bot.scheduler import build_scheduler
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack
from bot.shell.signing import (
    block_actions_body,
    block_suggestion_body,
    event_body,
    interaction_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from bot.shell.timetravel import ShellClock, travel
from handlers.core.i18n import pick
from handlers.core.seeding import WorkspaceSeeder
from storage.db import make_engine, session_scope, upgrade
from storage.importers.calendar import bundled_calendar_path
from storage.importers.tourplan import import_tourplan, parse_tourplan
from storage.workspaces import get_workspace, language_choices

SHELL_TEAM = "T0LOCAL"
SHELL_USER = "U0LOCAL"
SHELL_CHANNEL = "C0LOCAL"
BOT_TOKEN = "xoxb-local-shell"
# The shell's own database: trying the bot never touches the one DATABASE_URL names.
DEFAULT_DATABASE = "sqlite:///dks-shell.db"
SAMPLE_TOURPLAN = bundled_calendar_path().with_name("turneplan-eksempel.csv")
# A listener that has not finished in this long is shown as it is.
SETTLE_SECONDS = 15.0


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    handle: str
    admin: bool = False


PEOPLE = (
    Person(SHELL_USER, "du", "du", admin=True),
    Person("U0KARI", "Kari Kulturkontakt", "kari"),
    Person("U0KIM", "Kim Koordinator", "kim", admin=True),
)
CHANNELS = ((SHELL_CHANNEL, "dks"), ("C0GENERELT", "generelt"))


@dataclass
class Event:
    """One thing the bot did in Slack, seen at the shell's time `at`."""

    method: str
    args: dict[str, Any]
    answer: dict[str, Any]
    at: datetime


class ShellSession:
    def __init__(
        self,
        settings: Settings,
        *,
        database_url: str | None = None,
        files_dir: Path = Path("dks-filer"),
        clock: ShellClock | None = None,
    ) -> None:
        self.fake = FakeSlack(team_id=SHELL_TEAM).start()
        for person in PEOPLE:
            self.fake.add_user(person.user_id, person.name, admin=person.admin)
        for channel_id, name in CHANNELS:
            self.fake.add_channel(channel_id, name, member=True)
        self.settings = replace(
            settings,
            slack_bot_token=BOT_TOKEN,
            slack_app_token=None,
            slack_client_id=None,
            slack_client_secret=None,
            slack_signing_secret=secrets.token_hex(16),
            slack_api_url=self.fake.api_url,
            database_url=database_url or DEFAULT_DATABASE,
        )
        self.engine: Engine = make_engine(self.settings.database_url)
        upgrade(self.engine)
        self.clock = clock or ShellClock()
        # Message timestamps follow the shell's clock, as Slack's follow real time.
        self.fake.now = lambda: self.clock().timestamp()
        self.executor = ContextExecutor()
        self.app: App = create_app(
            self.settings, engine=self.engine, clock=self.clock, listener_executor=self.executor
        )
        # Only the shell's workspace: pointed at a shared database, it never posts another's.
        self.scheduler = build_scheduler(
            self.settings,
            engine=self.engine,
            clock=self.clock,
            tokens=lambda _team: BOT_TOKEN,
            teams=(SHELL_TEAM,),
            # Nothing claimed ahead of its time: the shell's clock jumps, real time does not.
            lookahead=timedelta(0),
        )
        self.files_dir = files_dir
        self.user_id = SHELL_USER
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.fake.observers.append(self._seen)

    def close(self) -> None:
        self.executor.wait_idle(SETTLE_SECONDS)
        self.scheduler.shutdown(wait=False)
        self.executor.shutdown(wait=True)
        self.fake.stop()
        self.engine.dispose()

    def prepare(self) -> bool:
        """The shell's workspace with the bundled calendar, and on its first start the sample
        tour plan, so there are performances to give feedback on. True on the first start."""
        with session_scope(self.engine) as session:
            first = get_workspace(session=session, team_id=SHELL_TEAM) is None
        WorkspaceSeeder(self.engine).ensure(SHELL_TEAM)
        if first:
            with session_scope(self.engine, write=True) as session:
                import_tourplan(
                    session=session,
                    team_id=SHELL_TEAM,
                    data=parse_tourplan(SAMPLE_TOURPLAN.read_bytes()),
                    tz=self.settings.timezone,
                    now=self.clock(),
                    source=SAMPLE_TOURPLAN.name,
                    user_id=self.user_id,
                )
        return first

    def language(self) -> str:
        """The language the shell speaks: the person's own, else the workspace's."""
        with session_scope(self.engine) as session:
            workspace, own = language_choices(
                session=session, team_id=SHELL_TEAM, user_id=self.user_id
            )
        return pick(own, workspace)

    # --- who and where -------------------------------------------------------------------

    @property
    def person(self) -> Person:
        return next(p for p in PEOPLE if p.user_id == self.user_id)

    def person_named(self, text: str) -> Person | None:
        wanted = text.strip().lstrip("@").casefold()
        for person in PEOPLE:
            if wanted in (person.handle, person.name.casefold(), person.user_id.casefold()):
                return person
        return None

    def channel_name(self, channel_id: str) -> str | None:
        info = self.fake.channels.get(channel_id)
        return str(info["name"]) if info else None

    def name_of(self, some_id: str) -> str | None:
        """A channel's or a person's name, as Slack shows `<#C…>` and `<@U…>`."""
        person = next((p for p in PEOPLE if p.user_id == some_id), None)
        return person.handle if person else self.channel_name(some_id)

    def dm_person(self, channel_id: str) -> Person | None:
        """The person a DM channel (D + their id without U, as the fake opens them) is with."""
        if not channel_id.startswith("D"):
            return None
        return next((p for p in PEOPLE if p.user_id[1:] == channel_id[1:]), None)

    def as_slack_text(self, text: str) -> str:
        """#dks and @kari as Slack sends them in a slash command (the app escapes them)."""

        def channel(m: re.Match[str]) -> str:
            for channel_id, name in CHANNELS:
                if name == m.group(1).casefold():
                    return f"<#{channel_id}|{name}>"
            return m.group(0)

        def user(m: re.Match[str]) -> str:
            person = self.person_named(m.group(1))
            return f"<@{person.user_id}|{person.handle}>" if person else m.group(0)

        text = re.sub(r"(?<![\w<])#([\w-]+)", channel, text)
        return re.sub(r"(?<![\w<])@([\w-]+)", user, text)

    # --- requests into the app ---------------------------------------------------------

    def dispatch(
        self, body: str, *, content_type: str = "", settle: bool = True
    ) -> tuple[int, dict[str, Any] | None]:
        assert self.settings.slack_signing_secret
        headers: dict[str, str | Sequence[str]] = dict(
            signed_headers(self.settings.slack_signing_secret, body, content_type=content_type)
        )
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        answer: dict[str, Any] | None = None
        if response.body:
            try:
                parsed = json.loads(response.body)
                answer = parsed if isinstance(parsed, dict) else {"text": response.body}
            except ValueError:
                answer = {"text": response.body}
        if settle:
            self.settle()
        return response.status, answer

    def settle(self) -> None:
        """Let the lazy listeners finish, then post what became due now (the outbox)."""
        self.executor.wait_idle(SETTLE_SECONDS)
        self.scheduler.tick()
        self.executor.wait_idle(SETTLE_SECONDS)

    def command(self, text: str) -> tuple[int, dict[str, Any] | None]:
        return self.dispatch(
            slash_command_body(
                text=self.as_slack_text(text),
                team_id=SHELL_TEAM,
                user_id=self.user_id,
                user_name=self.person.handle,
                channel_id=SHELL_CHANNEL,
                channel_name="dks",
                response_url=self.fake.response_url(),
            )
        )

    def open_home(self) -> dict[str, Any] | None:
        user = self.user_id
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": "D" + user[1:],
            "tab": "home",
        }
        if user in self.fake.home_views:
            event["view"] = self.fake.home_views[user]
        self.dispatch(event_body(team_id=SHELL_TEAM, event=event), content_type="application/json")
        return self.fake.home_views.get(user)

    def act(
        self, action: dict[str, Any], block_id: str, source: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        """A click or a choice on a message, the Home tab or a modal (`source` says which)."""
        view = source.get("view")
        body = block_actions_body(
            team_id=SHELL_TEAM,
            user_id=self.user_id,
            user_name=self.person.handle,
            channel_id=source.get("channel", SHELL_CHANNEL),
            response_url=self.fake.response_url(),
            action=action,
            block_id=block_id,
            message_ts=source.get("ts", "1700000000.000100"),
            is_ephemeral=bool(source.get("ephemeral", True)),
            view=view,
            message=source.get("message"),
        )
        return self.dispatch(body)

    def suggest(
        self, view: dict[str, Any] | None, block_id: str, action_id: str, value: str
    ) -> dict[str, Any] | None:
        _status, answer = self.dispatch(
            block_suggestion_body(
                team_id=SHELL_TEAM,
                user_id=self.user_id,
                user_name=self.person.handle,
                action_id=action_id,
                block_id=block_id,
                value=value,
                view=view,
            ),
            # Asked as the person types (from the completion thread): nothing else runs.
            settle=False,
        )
        return answer

    def submit(
        self, view: dict[str, Any], values: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        return self.dispatch(
            view_submission_body(
                team_id=SHELL_TEAM,
                user_id=self.user_id,
                user_name=self.person.handle,
                view=view,
                values=values,
            )
        )

    def close_view(self, view: dict[str, Any]) -> None:
        """Slack sends `view_closed` only to a view that asked for it."""
        if not view.get("notify_on_close"):
            return
        payload = {
            "type": "view_closed",
            "team": {"id": SHELL_TEAM, "domain": "dks"},
            "user": {"id": self.user_id, "name": self.person.handle, "team_id": SHELL_TEAM},
            "api_app_id": "A0DKSBOT",
            "view": view,
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        self.dispatch(interaction_body(payload))

    def upload(self, path: str) -> dict[str, Any]:
        """A local file as if the person had picked it in a modal's file field."""
        file = Path(path).expanduser()
        content = file.read_bytes()
        mimetype = "text/csv" if file.suffix.lower() == ".csv" else "text/plain"
        return self.fake.add_file(file.name, content, user=self.user_id, mimetype=mimetype)

    # --- time ------------------------------------------------------------------------------

    def travel_to(self, target: datetime) -> None:
        travel(self.scheduler, self.clock, target)
        self.executor.wait_idle(SETTLE_SECONDS)

    # --- what the bot did ----------------------------------------------------------------

    def _seen(self, method: str, args: dict[str, Any], answer: dict[str, Any]) -> None:
        # On the fake's HTTP threads: only queue it.
        self._events.put(Event(method, dict(args), dict(answer), self.clock()))

    def drain(self) -> list[Event]:
        found = []
        while True:
            try:
                found.append(self._events.get_nowait())
            except queue.Empty:
                return found

    def save_files(self, args: dict[str, Any]) -> list[Path]:
        """The files a `files.completeUploadExternal` shared, written to the files folder."""
        files = args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        saved = []
        for entry in files or []:
            upload = self.fake.uploads.get(str(entry.get("id", "")))
            if not upload or upload.get("content") is None:
                continue
            self.files_dir.mkdir(parents=True, exist_ok=True)
            name = Path(str(upload.get("filename") or entry["id"])).name
            path = self.files_dir / name
            stem, suffix, n = path.stem, path.suffix, 2
            while path.exists():
                path = self.files_dir / f"{stem}-{n}{suffix}"
                n += 1
            path.write_bytes(upload["content"])
            saved.append(path)
        return saved
