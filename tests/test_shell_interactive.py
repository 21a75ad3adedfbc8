"""The local shell driven as a person drives it: keys typed at prompt_toolkit's prompts (its
own test input), the shell's output read back, the next key chosen from what was shown.

The person waits to see something (a field's label, a button's number), then types; the
shell runs in the test's thread as it runs at a terminal.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from sqlmodel import select

from bot.shell.session import ShellSession
from bot.shell.shell import Shell
from bot.shell.terminal import TerminalInput
from storage.db import session_scope
from storage.models import Deadline, FeedbackAnswer

OSLO = ZoneInfo("Europe/Oslo")
WAIT = 30.0


class Screen:
    """What the shell printed, for a person to read as it comes."""

    def __init__(self) -> None:
        self.text = ""
        self.read_to = 0
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            self.text += text
            self._changed.notify_all()
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def expect(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """Wait for `pattern` in what came since the last match; move past it."""
        compiled = re.compile(pattern)
        with self._changed:
            found: list[re.Match[str]] = []

            def seen() -> bool:
                match = compiled.search(self.text, self.read_to)
                if match:
                    found.append(match)
                return match is not None

            if not self._changed.wait_for(seen, timeout=timeout):
                raise AssertionError(
                    f"never saw {pattern!r}; the screen since then:\n{self.text[self.read_to :]}"
                )
            self.read_to = found[0].end()
            return found[0]

    def since(self, start: int) -> str:
        return self.text[start:]


class Person:
    """Types at the shell's prompts (Enter is \\r, Esc is \\x1b) from another thread."""

    def __init__(self, keys: Any, screen: Screen) -> None:
        self.keys = keys
        self.screen = screen

    def type(self, line: str) -> None:
        self.keys.send_text(line + "\r")

    def button(self, label: str, after: str = "") -> str:
        """The number shown for the last button with this label (the first after the last
        `after`, if given)."""
        text = self.screen.text
        if after:
            text = text[text.rindex(after) :]
            numbers = re.findall(rf"\[(\d+): {re.escape(label)}\]", text)[:1]
        else:
            numbers = re.findall(rf"\[(\d+): {re.escape(label)}\]", text)
        assert numbers, f"no button «{label}» on the screen:\n{self.screen.text[-3000:]}"
        return numbers[-1]

    def fill_form(self, answer: Callable[[str, int, str], str | None], until: str) -> str:
        """Answer each field as it shows (`answer(label, times asked, the field as shown)`;
        None = Esc) until `until` appears; returns what the shell printed meanwhile."""
        start = len(self.screen.text)
        asked: dict[str, int] = {}
        field = r"^\d+\. (.+?)(?: \(valgfritt\))?$"
        while True:
            match = self.screen.expect(rf"(?m){field}|{until}")
            if re.fullmatch(until, match.group(0)):
                return self.screen.since(start)
            label = match.group(1)
            asked[label] = asked.get(label, 0) + 1
            typed = answer(label, asked[label], self.screen.text[match.start() :])
            if typed is None:
                self.keys.send_text("\x1b")
            else:
                self.type(typed)


@pytest.fixture
def shell_world(shell_session: ShellSession) -> tuple[ShellSession, Screen]:
    return shell_session, Screen()


def drive(session: ShellSession, screen: Screen, script: Callable[[Person], None]) -> None:
    """Run the shell at its prompts while `script` types as the person; re-raise what the
    person saw go wrong."""
    failures: list[BaseException] = []
    with create_pipe_input() as keys:
        person = Person(keys, screen)

        def act() -> None:
            try:
                script(person)
            except BaseException as err:
                failures.append(err)
            finally:
                keys.close()  # the end of input, as Ctrl-D at an empty prompt: the shell ends

        thread = threading.Thread(target=act, daemon=True)
        thread.start()
        shell = Shell(session, screen)  # type: ignore[arg-type]
        shell.run(TerminalInput(input=keys, output=DummyOutput()))
        thread.join(timeout=WAIT)
    if failures:
        raise failures[0]


def test_feedback_on_a_sample_performance_through_the_form_with_one_field_fixed(shell_world):
    session, screen = shell_world

    def script(person: Person) -> None:
        person.type("/dks påminnelser kanal #dks")
        screen.expect("#dks")
        person.type("tid 12.01.2027 16:00")
        screen.expect("Klokka er nå")
        person.type(person.button("Gi tilbakemelding"))

        def answer(label: str, times: int, shown: str) -> str | None:
            if label.startswith("Hvor mange elever"):
                return "5000" if times == 1 else "78"
            if "1) svært bra" in shown:
                return "1"
            if label.startswith("Var elevarrangører"):
                return "Ja"
            return ""

        shown = person.fill_form(answer, until="Sendt\\.")
        # The bot's error stands beside the field, and only that field is asked again.
        assert "⚠ Skriv antall elever som et helt tall fra 0 til 2000" in shown
        assert shown.count("1) svært bra") == 5

    drive(session, screen, script)
    with session_scope(session.engine) as db:
        answers = db.exec(select(FeedbackAnswer)).all()
    assert [a.pupils_attended for a in answers] == [78]
    assert answers[0].rating_overall is not None


def test_a_new_deadline_from_the_home_tab_and_its_reminder_marked_done(shell_world):
    session, screen = shell_world

    def script(person: Person) -> None:
        person.type("/dks påminnelser kanal #dks")
        screen.expect("#dks")
        person.type("hjem")
        screen.expect("Hjem-fanen:")
        person.type(person.button("Ny frist"))

        def answer(label: str, times: int, shown: str) -> str | None:
            if label.startswith("Tittel"):
                return "Søknad til fylket"
            if label.startswith("Frist"):
                return "15.12.2026"
            return ""

        person.fill_form(answer, until="Sendt\\.")
        # The Home tab the person is on is published again, with the new deadline.
        screen.expect("Hjem-fanen:")
        screen.expect("Søknad til fylket")
        person.type("tid 14.12.2026 10:00")
        # The day before, at 09:00, in the reminder channel.
        screen.expect("— mandag 14. desember kl. 09:00 —\n#dks:\n.*Søknad til fylket")
        screen.expect("Klokka er nå")
        person.type(person.button("Ferdig", after="Søknad til fylket"))
        screen.expect(r"#dks \(endret melding\):\n.*Søknad til fylket")
        screen.expect("Markert som ferdig av @du")

    drive(session, screen, script)
    with session_scope(session.engine) as db:
        titles = [d.title for d in db.exec(select(Deadline)).all()]
    assert "Søknad til fylket" in titles


def test_esc_closes_a_form_and_nothing_is_saved(shell_world):
    session, screen = shell_world

    def script(person: Person) -> None:
        person.type("/dks ny frist")
        person.fill_form(
            lambda label, times, shown: None, until="Skjemaet ble lukket uten å sendes\\."
        )

    with session_scope(session.engine) as db:
        before = len(db.exec(select(Deadline)).all())
    drive(session, screen, script)
    with session_scope(session.engine) as db:
        assert len(db.exec(select(Deadline)).all()) == before


def test_a_type_ahead_field_completes_from_the_bot_as_you_type(shell_world):
    session, screen = shell_world
    session.travel_to(datetime(2027, 1, 12, 16, 0, tzinfo=OSLO))
    session.drain()
    asked: list[str] = []
    original = session.suggest

    def suggest(view: Any, block_id: str, action_id: str, value: str) -> Any:
        asked.append(value)
        return original(view, block_id, action_id, value)

    session.suggest = suggest  # type: ignore[method-assign]

    def script(person: Person) -> None:
        person.type("/dks tilbakemelding")
        screen.expect(r"1\. Forestilling")
        # The bot is asked as the letters come; Tab takes the one suggestion it gave.
        person.keys.send_text("Kroer 12")
        deadline = time.monotonic() + WAIT
        while "Kroer 12" not in asked and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        person.keys.send_text("\t\r")
        screen.expect(r"2\. Helhetsinntrykk")
        person.keys.send_text("\x1b")
        screen.expect("Skjemaet ble lukket uten å sendes")

    drive(session, screen, script)
    assert "Kroer 12" in asked
    assert "Forestilling> " not in screen.text  # the prompt is the terminal's, not printed
    assert "Ingen forslag" not in screen.text
    # Taken from the completion itself, not looked up again after Enter.
    assert "   → " not in screen.text
