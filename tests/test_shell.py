"""The local shell, scripted (`-c` lines and `--svar` answers): channels by name, files in
./dks-filer, the Home tab's menus, type-ahead fields, time, its own database, the tour."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.settings import Settings
from bot.shell.session import SHELL_CHANNEL, SHELL_TEAM, ShellSession
from bot.shell.shell import ScriptInput, Shell, run_shell
from bot.shell.tour import Tour
from storage.db import session_scope
from storage.models import FeedbackAnswer, Workspace
from tests.test_cli import run

OSLO = ZoneInfo("Europe/Oslo")


class Terminal:
    def __init__(self, session: ShellSession) -> None:
        self.session = session
        self.out = io.StringIO()
        self.shell = Shell(session, self.out)

    def run(self, *commands: str, answers: tuple[str, ...] = ()) -> str:
        start = self.out.tell()
        self.shell.run(ScriptInput(list(commands), list(answers)))
        return self.out.getvalue()[start:]


@pytest.fixture
def terminal(shell_session: ShellSession) -> Terminal:
    return Terminal(shell_session)


def number_of(text: str, label: str) -> str:
    found = re.findall(rf"\[(\d+): {re.escape(label)}", text)
    assert found, f"no «{label}» in:\n{text}"
    return found[-1]


def test_a_channel_by_name_is_sent_as_slack_sends_it(terminal: Terminal) -> None:
    out = terminal.run("/dks påminnelser kanal #dks")
    assert "Påminnelser kommer nå i #dks." in out
    with session_scope(terminal.session.engine) as db:
        workspace = db.get(Workspace, SHELL_TEAM)
        assert workspace is not None
        assert workspace.reminder_channel_id == SHELL_CHANNEL


def test_the_calendar_file_lands_in_the_files_folder(terminal: Terminal, tmp_path: Path) -> None:
    out = terminal.run("/dks kalender")
    out = terminal.run(number_of(out, "Send meg kalenderfilen"))
    saved = re.search(r"📎 Filen er lagret: (\S+)", out)
    assert saved, out
    path = Path(saved.group(1))
    assert path.parent == tmp_path / "dks-filer"
    assert path.read_text(encoding="utf-8").startswith("BEGIN:VCALENDAR")


def test_the_home_tab_with_numbered_menus_and_a_choice_made_by_number(terminal: Terminal):
    out = terminal.run("hjem")
    assert out.startswith("dks> hjem\nHjem-fanen:")
    # The workspace's language menu is the second «Velg språk»; its options are asked for.
    menu = re.findall(r"\[(\d+): Velg språk: Bokmål ▾\]", out)[-1]
    out = terminal.run(menu, answers=("Nynorsk",))
    assert "1) Bokmål" in out and "2) Nynorsk" in out
    # The Home tab is published again, now in nynorsk.
    assert "Heim-fana:" in out or "Neste fristar" in out
    assert "Neste fristar" in out


def test_a_type_ahead_field_asks_the_bot_as_you_type(terminal: Terminal) -> None:
    terminal.run("/dks påminnelser kanal #dks")
    # A performance is over: the form finds it by the letters typed.
    terminal.session.travel_to(datetime(2027, 1, 12, 16, 0, tzinfo=OSLO))
    terminal.session.drain()
    ratings = ("1", "") * 5  # five questions, each with an optional comment
    answers = ("Rustad", "1", *ratings, "Ja", "78", "", "")
    out = terminal.run("/dks tilbakemelding", answers=answers)
    assert "Forestilling" in out
    assert re.search(r"→ .*Rustad skole", out) or "1) " in out
    assert "Sendt." in out, out
    with session_scope(terminal.session.engine) as db:
        assert [a.pupils_attended for a in db.exec(select(FeedbackAnswer)).all()] == [78]


def test_time_moves_only_forward_and_says_how_to_write_it(terminal: Terminal) -> None:
    out = terminal.run("tid 01.01.2026 09:00", "tid i morgen", "tid")
    assert "Klokka går bare framover i skallet." in out
    assert "Skriv for eksempel «tid +3d»" in out
    assert "Klokka i skallet: mandag 7. desember 2026 kl. 08:00" in out


def test_a_form_with_no_answers_left_is_printed_whole_and_not_sent(terminal: Terminal):
    out = terminal.run("/dks ny frist Søknad til fylket")
    assert "Nå: Søknad til fylket (Enter beholder det)" in out
    assert "8. Påminnelser (dager før)" in out
    assert "Ingen flere svar (--svar), så skjemaet ble ikke sendt." in out


def test_the_shell_keeps_its_own_database(settings: Settings, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bots = tmp_path / "dks-bot.db"
    run_shell(replace(settings, database_url=f"sqlite:///{bots}"), ["/dks frist"], tour=False)
    assert (tmp_path / "dks-shell.db").exists()
    assert not bots.exists()


def test_the_tour_can_be_followed_to_its_end(terminal: Terminal) -> None:
    tour = terminal.shell.tour = Tour(terminal.session)
    tour.start(terminal.shell)
    for _ in range(6):
        if "Det var omvisningen." in terminal.out.getvalue():
            break
        hints = re.findall(r"💡 prøv: (.+?)(?: — |$)", terminal.out.getvalue(), re.M)
        terminal.run(hints[-1])
    else:
        pytest.fail("the tour never ended:\n" + terminal.out.getvalue())
    text = terminal.out.getvalue()
    # The sample tour plan's first performance after the start, then its feedback question.
    assert "💡 prøv: tid 12.01.2027 09:50" in text
    assert (
        "— tirsdag 12. januar kl. 09:50 —\n#dks:\nHvordan gikk «Samisk joik og fortelling» på "
        "Rustad skole i dag?" in text
    )
    # The next reminder, with its «Ferdig» button.
    assert re.search(
        r"#dks:\n🔔 Årsrapportering av DKS til fylket\n(.+\n)+?  \[\d+: Ferdig\]", text
    )
    assert "Hjem-fanen:" in text


def test_dks_bot_shell_with_answers_from_the_command_line(tmp_path: Path) -> None:
    answers: list[Any] = []
    for i in range(8):
        answers += ["--svar", "15.12.2026" if i == 1 else ""]
    result = run(tmp_path, "shell", "-c", "/dks ny frist Søknad til fylket", *answers, "-c",
                 "/dks frist")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Sendt." in result.stdout
    assert result.stdout.count("Søknad til fylket") >= 2
