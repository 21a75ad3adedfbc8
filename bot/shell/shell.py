"""`dks-bot shell`: try the bot without Slack.

What you type goes through the same path as Slack's traffic: a signed slash-command
request into the real Bolt app, Web API calls out to the in-process fake Slack. Only the
rendering is the shell's own.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TextIO

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.app import create_app
from bot.settings import Settings
from bot.shell.fakeslack import FakeSlack
from bot.shell.render import render_message
from bot.shell.signing import block_actions_body, button_action, signed_headers, slash_command_body
from storage.db import make_engine, upgrade

SHELL_TEAM = "T0LOCAL"
SHELL_USER = "U0LOCAL"
SHELL_CHANNEL = "C0LOCAL"
PROMPT = "dks> "
WELCOME = (
    "DKS-boten, lokalt skall. Skriv for eksempel /dks frist, /dks møte, /dks kontakt support "
    "eller /dks hjelp.\nEt tall trykker på knappen med det nummeret. «avslutt» (eller Ctrl-D) "
    "avslutter."
)


class Shell:
    def __init__(self, settings: Settings, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.fake = FakeSlack(team_id=SHELL_TEAM).start()
        self.fake.add_user(SHELL_USER, "du", admin=True)
        self.fake.add_channel(SHELL_CHANNEL, "dks", member=True)
        self.settings = replace(
            settings,
            slack_bot_token="xoxb-local-shell",
            slack_app_token=None,
            slack_signing_secret=secrets.token_hex(16),
            slack_api_url=self.fake.api_url,
        )
        engine = make_engine(self.settings.database_url)
        upgrade(engine)
        self.app: App = create_app(self.settings, engine=engine)
        self.buttons: list[dict[str, Any]] = []
        self.ansi = out.isatty()

    def close(self) -> None:
        self.fake.stop()

    def _dispatch(self, body: str) -> dict[str, Any] | None:
        assert self.settings.slack_signing_secret
        headers: dict[str, str | Sequence[str]] = dict(
            signed_headers(self.settings.slack_signing_secret, body)
        )
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        if response.status != 200:
            self._print(f"(Slack ville fått HTTP {response.status})")
            return None
        if not response.body:
            return None
        return (
            json.loads(response.body) if response.body.startswith("{") else {"text": response.body}
        )

    def _show(self, message: dict[str, Any]) -> None:
        self.buttons = []
        self._print(render_message(message, self.buttons, ansi=self.ansi))

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _await_responses(self, before: int, timeout: float = 3.0) -> None:
        """Replies that come later (response_url, chat.postMessage) are shown as they arrive."""
        self.fake.wait_for(lambda: len(self.fake.responses) > before, timeout=timeout)
        for _, body in self.fake.responses[before:]:
            self._show(body)

    def command(self, line: str) -> None:
        name, _, text = line.strip().partition(" ")
        if name != "/dks":
            self._print("Her finnes bare /dks. Prøv /dks hjelp.")
            return
        before = len(self.fake.responses)
        body = slash_command_body(
            text=text,
            team_id=SHELL_TEAM,
            user_id=SHELL_USER,
            channel_id=SHELL_CHANNEL,
            response_url=self.fake.response_url(),
        )
        reply = self._dispatch(body)
        if reply:
            self._show(reply)
            return
        self._await_responses(before)

    def click(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self._print("Det er ingen knapp med det nummeret.")
            return
        button = self.buttons[number - 1]
        before = len(self.fake.responses)
        body = block_actions_body(
            team_id=SHELL_TEAM,
            user_id=SHELL_USER,
            channel_id=SHELL_CHANNEL,
            response_url=self.fake.response_url(),
            action=button_action(button["element"]),
            block_id=button["block_id"],
        )
        self._dispatch(body)
        self._await_responses(before)

    def handle(self, line: str) -> bool:
        """Handle one line; False when the user wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line.casefold() in ("avslutt", "exit", "quit", "q"):
            return False
        if line.isdigit():
            self.click(int(line))
        else:
            self.command(line if line.startswith("/") else "/dks " + line)
        return True


def run_shell(settings: Settings, commands: list[str] | None = None) -> None:
    shell = Shell(settings)
    try:
        if commands:
            for line in commands:
                shell._print(PROMPT + line)
                shell.handle(line)
            return
        interactive = sys.stdin.isatty()
        if interactive:
            shell._print(WELCOME)
        while True:
            if interactive:
                sys.stdout.write(PROMPT)
                sys.stdout.flush()
            line = sys.stdin.readline()
            if not line or not shell.handle(line):
                break
    finally:
        shell.close()
