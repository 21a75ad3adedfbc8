"""`dks-bot shell`: try the bot without Slack.

What you type goes through the same path as Slack's traffic: a signed slash-command
request (or click, form submission, Home tab opening) into the real Bolt app, Web API calls
out to the in-process fake Slack, and what the bot did there shown in the terminal in the
order it did it. Forms are asked field by field; `tid` moves the shell's clock forward and
runs the scheduler at every due moment on the way.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO

from bot.settings import Settings
from bot.shell.forms import (
    AnswerError,
    Field,
    choose,
    field_text,
    fields_of,
    form_text,
    option_text,
    parse_date,
    parse_time,
    state_of,
    state_values,
    suggestion_options,
)
from bot.shell.render import control_label, render_message
from bot.shell.session import (
    CHANNELS,
    PEOPLE,
    SHELL_CHANNEL,
    SHELL_TEAM,
    Event,
    ShellSession,
)
from bot.shell.signing import button_action, overflow_action, select_action
from bot.shell.timetravel import step_header
from bot.shell.tour import Tour
from handlers.core.format import at_clock, day_text
from handlers.core.i18n import _, use_language

PROMPT = "dks> "
CANCEL_WORDS = frozenset({"avbryt", "esc", "cancel"})
QUIT_WORDS = frozenset({"avslutt", "exit", "quit", "q"})
HOME_WORDS = frozenset({"hjem", "heim", "home", "/dks hjem", "/dks heim", "/dks home"})
TIME_WORDS = frozenset({"tid", "time"})
AS_WORDS = frozenset({"som", "as"})
_STEP = re.compile(r"^\+(\d+)\s*(d|dag|dagar|dager|t|h|timer|m|min|u|uke|veke|w)?$")
_STEP_UNITS = {
    "d": "days", "dag": "days", "dager": "days", "dagar": "days",
    "t": "hours", "h": "hours", "timer": "hours",
    "m": "minutes", "min": "minutes",
    "u": "weeks", "uke": "weeks", "veke": "weeks", "w": "weeks",
}  # fmt: skip
# `tid 12.01.2027` with no time of day: the end of the working day, so that day's
# reminders and feedback questions have all come.
DAY_ONLY_HOUR = 17


class Input(Protocol):
    """Where the shell's lines come from: a person at a terminal, a pipe, or `-c`/`--svar`."""

    echo: bool

    def command(self, prompt: str) -> str | None: ...

    def answer(
        self, prompt: str, *, default: str = "", complete: Callable[[str], list[str]] | None = None
    ) -> str | None: ...


class ScriptInput:
    """`-c` lines as commands and `--svar` lines as the forms' answers, each in order."""

    echo = True

    def __init__(self, commands: list[str], answers: list[str]) -> None:
        self._commands: Iterator[str] = iter(commands)
        self._answers: Iterator[str] = iter(answers)

    def command(self, prompt: str) -> str | None:
        return next(self._commands, None)

    def answer(
        self, prompt: str, *, default: str = "", complete: Callable[[str], list[str]] | None = None
    ) -> str | None:
        return next(self._answers, None)


class StreamInput:
    """Lines from a pipe: commands and answers alike, one per line."""

    echo = True

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _line(self) -> str | None:
        line = self.stream.readline()
        return line.rstrip("\n") if line else None

    def command(self, prompt: str) -> str | None:
        return self._line()

    def answer(
        self, prompt: str, *, default: str = "", complete: Callable[[str], list[str]] | None = None
    ) -> str | None:
        return self._line()


class Shell:
    def __init__(self, session: ShellSession, out: TextIO = sys.stdout, *, ansi: bool = False):
        self.session = session
        self.out = out
        self.ansi = ansi
        self.input: Input = ScriptInput([], [])
        # What a number at the prompt presses: (block_id, element, source) as last shown.
        self.controls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.at_home = False
        self.tour: Tour | None = None
        self._shown_at = session.clock()

    # --- output ----------------------------------------------------------------------------

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _show(self, message: dict[str, Any], source: dict[str, Any], heading: str = "") -> None:
        # Numbers go on from the controls already shown (render_message counts its list).
        found: list[dict[str, Any]] = [{"block_id": b, "element": e} for b, e, _s in self.controls]
        first = len(found)
        text = render_message(message, found, ansi=self.ansi, names=self.session.name_of)
        self.controls.extend((c["block_id"], c["element"], source) for c in found[first:])
        if heading:
            self.print(heading)
        self.print(text)

    def _heading_for(self, event: Event) -> None:
        # During `tid` each due moment gets a line of its own before what it brought.
        if event.at - self._shown_at >= timedelta(minutes=1):
            self.print("")
            self.print(step_header(event.at, self.session.settings.timezone))
            self._shown_at = event.at

    def show_events(self) -> None:
        """Everything the bot did since the last look, in order; then the forms it opened."""
        forms: dict[str, dict[str, Any]] = {}
        home_changed = False
        for event in self.session.drain():
            method, args, answer = event.method, event.args, event.answer
            if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
                self._heading_for(event)
                self._show_message(method, args, answer)
            elif method == "response_url":
                self._show_response(args)
            elif method in ("views.open", "views.push", "views.update"):
                view = answer.get("view") or {}
                forms[str(view.get("id"))] = view
            elif method == "views.publish":
                home_changed = True
            elif method == "files.completeUploadExternal":
                self._heading_for(event)
                for path in self.session.save_files(args):
                    self.print(_("📎 Filen er lagret: %(path)s") % {"path": path})
        if home_changed and self.at_home:
            self.show_home(open_it=False)
        for view in forms.values():
            self.run_form(view)

    def _where(self, channel: str) -> str:
        name = self.session.channel_name(channel)
        if name:
            return "#" + name
        person = self.session.dm_person(channel)
        if person is None:
            return channel
        if person.user_id == self.session.user_id:
            return _("DM til deg")
        return _("DM til %(name)s") % {"name": person.name}

    def _show_message(self, method: str, args: dict[str, Any], answer: dict[str, Any]) -> None:
        channel = str(args.get("channel", ""))
        message = {"text": args.get("text", ""), "blocks": _blocks(args.get("blocks"))}
        where = self._where(channel)
        if method == "chat.postEphemeral":
            heading = _("%(where)s, bare synlig for deg:") % {"where": where}
            source = {"channel": channel, "ephemeral": True}
        else:
            ts = str(answer.get("ts") or args.get("ts") or "")
            stored = answer.get("message") or {**message, "ts": ts}
            heading = (
                _("%(where)s (endret melding):") % {"where": where}
                if method == "chat.update"
                else f"{where}:"
            )
            source = {"channel": channel, "ts": ts, "ephemeral": False, "message": stored}
        self.at_home = False
        self._show(message, source, heading)

    def _show_response(self, body: dict[str, Any]) -> None:
        if body.get("delete_original"):
            self.print(_("(Meldingen ble fjernet.)"))
            return
        message = {"text": body.get("text", ""), "blocks": _blocks(body.get("blocks"))}
        if not message["text"] and not message["blocks"]:
            return
        self.at_home = False
        self._show(message, {"channel": SHELL_CHANNEL, "ephemeral": True})

    # --- commands ------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Handle one line; False when the person wants to leave."""
        line = line.strip()
        if not line:
            return True
        word, _sep, rest = line.partition(" ")
        lowered = line.casefold()
        self._shown_at = self.session.clock()
        if lowered in QUIT_WORDS:
            return False
        if lowered in HOME_WORDS:
            self.show_home()
        elif re.fullmatch(r"\d+(\s+\d+)?", line):
            numbers = [int(n) for n in line.split()]
            self.press(numbers[0], numbers[1] if len(numbers) > 1 else None)
        elif word.casefold() in TIME_WORDS:
            self.time(rest)
        elif word.casefold() in AS_WORDS and rest:
            self.switch_user(rest)
        elif lowered in ("?", "skall", "shell"):
            self.print(shell_help())
        else:
            name, _sep, text = (line if line.startswith("/") else "/dks " + line).partition(" ")
            if name != "/dks":
                self.print(_("Her finnes bare /dks. Prøv /dks hjelp."))
            else:
                self.slash(text)
        if self.tour is not None:
            self.tour.after(line, self)
        return True

    def slash(self, text: str) -> None:
        status, answer = self.session.command(text)
        if status != 200:
            self.print(_("(Slack ville fått HTTP %(status)d.)") % {"status": status})
        elif answer and (answer.get("text") or answer.get("blocks")):
            self.controls = []
            self._show(answer, {"channel": SHELL_CHANNEL, "ephemeral": True})
        else:
            self.controls = []
        self.show_events()

    def show_home(self, *, open_it: bool = True) -> None:
        if open_it:
            view = self.session.open_home()
            self.session.drain()  # its views.publish: shown here
        else:
            view = self.session.fake.home_views.get(self.session.user_id)
        if not view:
            self.print(_("Hjem-fanen er tom."))
            return
        self.controls = []
        self.at_home = True
        self._show({"blocks": view.get("blocks") or []}, {"view": view}, _("Hjem-fanen:"))

    def switch_user(self, name: str) -> None:
        person = self.session.person_named(name)
        if person is None:
            names = ", ".join(p.handle for p in PEOPLE)
            self.print(
                _("Kjenner ingen «%(name)s». Velg en av: %(names)s.")
                % {"name": name, "names": names}
            )
            return
        self.session.user_id = person.user_id
        self.controls = []
        self.print(_("Du er nå %(name)s.") % {"name": person.name})

    def press(self, number: int, option: int | None = None) -> None:
        if not 1 <= number <= len(self.controls):
            self.print(_("Det er ingen knapp med det nummeret."))
            return
        block_id, element, source = self.controls[number - 1]
        kind = element.get("type")
        if kind == "button":
            action = button_action(element)
        else:
            picked = self._pick(block_id, element, source, option)
            if picked is None:
                return
            action = picked
        view = source.get("view")
        if view is not None and view.get("type") == "home":
            # Slack sends the Home tab as the person sees it now.
            source = {
                **source,
                "view": self.session.fake.home_views.get(self.session.user_id, view),
            }
        self.session.act(action, block_id, source)
        self.show_events()

    def _pick(
        self, block_id: str, element: dict[str, Any], source: dict[str, Any], option: int | None
    ) -> dict[str, Any] | None:
        kind = element.get("type")
        if kind == "users_select":
            people = [{"text": {"type": "plain_text", "text": p.name}, "value": p.user_id}
                      for p in PEOPLE]  # fmt: skip
            chosen = self._choose_option(people, option)
            if chosen is None:
                return None
            return {"type": kind, "action_id": element["action_id"],
                    "selected_user": chosen["value"]}  # fmt: skip
        if kind == "external_select":
            typed = self.input.answer(_("Søk") + "> ")
            if typed is None:
                return None
            found = suggestion_options(
                self.session.suggest(source.get("view"), block_id, element["action_id"], typed)
            )
            chosen = self._choose_option(found, None)
        else:
            options = element.get("options") or [
                o for g in element.get("option_groups") or [] for o in g.get("options", [])
            ]
            chosen = self._choose_option(options, option)
        if chosen is None:
            return None
        if kind == "overflow":
            return overflow_action(element, chosen["value"])
        return select_action(element, chosen)

    def _choose_option(
        self, options: list[dict[str, Any]], number: int | None
    ) -> dict[str, Any] | None:
        if not options:
            self.print(_("Ingenting å velge."))
            return None
        if number is None:
            for i, o in enumerate(options, 1):
                self.print(f"  {i}) {option_text(o)}")
        while True:
            typed = str(number) if number is not None else self._answer(_("Velg") + "> ")
            number = None
            if typed is None or typed.strip().casefold() in CANCEL_WORDS:
                return None
            try:
                return choose(options, typed)
            except AnswerError as err:
                self.print("  ⚠ " + str(err))

    def time(self, text: str) -> None:
        now = self.session.clock()
        tz = self.session.settings.timezone
        if not text.strip():
            local = now.astimezone(tz)
            self.print(
                _("Klokka i skallet: %(day)s %(time)s.")
                % {"day": day_text(local.date(), weekday=True), "time": at_clock(local)}
            )
            return
        try:
            target = parse_moment(text, now.astimezone(tz))
        except ValueError:
            self.print(_("Skriv for eksempel «tid +3d», «tid +2t» eller «tid 11.02.2027 09:00»."))
            return
        if target <= now:
            self.print(_("Klokka går bare framover i skallet. Velg et senere tidspunkt."))
            return
        self.controls = []
        self.session.travel_to(target)
        self.show_events()
        local = target.astimezone(tz)
        self.print(
            _("Klokka er nå %(day)s %(time)s.")
            % {"day": day_text(local.date(), weekday=True), "time": at_clock(local)}
        )

    # --- forms ---------------------------------------------------------------------------

    def _answer(self, prompt: str, **options: Any) -> str | None:
        typed = self.input.answer(prompt, **options)
        if typed is not None and self.input.echo:
            self.print(prompt + typed)
        return typed

    def run_form(self, view: dict[str, Any]) -> None:
        """Show a modal; ask its fields; submit as Slack would; follow the bot's answer."""
        fields = fields_of(view)
        behind = self.controls  # what is pressable behind the modal (the Home tab, a message)
        self.print("")
        self.print(form_text(view))
        self._show_view_controls(view)
        if not fields:
            return
        own = self.controls
        answers: dict[str, Any] = {}
        errors: dict[str, str] = {}
        asking = list(fields)
        while True:
            for item in asking:
                number = fields.index(item) + 1
                value = self._ask_field(number, item, view, errors.get(item.block_id))
                if value is _NO_MORE:
                    # -c without (enough) --svar: the rest of the form, to script it.
                    for later in fields[number:]:
                        self.print(field_text(fields.index(later) + 1, later))
                    self.print(_("Ingen flere svar (--svar), så skjemaet ble ikke sendt."))
                if value is _CANCELLED or value is _NO_MORE:
                    self.session.close_view(view)
                    self.print(_("Skjemaet ble lukket uten å sendes."))
                    self.controls = behind
                    return
                answers[item.block_id] = value
            status, answer = self.session.submit(view, state_values(fields, answers))
            action = (answer or {}).get("response_action")
            if status != 200:
                self.print(_("(Slack ville fått HTTP %(status)d.)") % {"status": status})
                return
            if action == "errors":
                errors = dict((answer or {}).get("errors") or {})
                asking = [f for f in fields if f.block_id in errors]
                if not asking:
                    self.print("⚠ " + "; ".join(errors.values()))
                    return
                self.print(_("Rett feltet som er merket, så sendes skjemaet på nytt."))
                continue
            new = dict((answer or {}).get("view") or {})
            if action not in ("update", "push") or not fields_of(new):
                self.print(_("Sendt."))
            self.show_events()
            if self.controls is own:
                self.controls = behind
            if action in ("update", "push") and new:
                # An update keeps the modal's id; a pushed one is a new view on top.
                new.setdefault("id", view.get("id") if action == "update" else "V0PUSHED")
                self.run_form(new)
            return

    def _show_view_controls(self, view: dict[str, Any]) -> None:
        found: list[dict[str, Any]] = []
        render_message({"blocks": view.get("blocks") or []}, found)
        self.controls = [(c["block_id"], c["element"], {"view": view}) for c in found]
        if self.controls:
            shown = (control_label(e, i) for i, (_b, e, _s) in enumerate(self.controls, 1))
            self.print("  ".join(shown))

    def _ask_field(self, number: int, item: Field, view: dict[str, Any], error: str | None) -> Any:
        self.print(field_text(number, item, error=error))
        suggestions: list[dict[str, Any]] = []
        offered: dict[str, dict[str, Any]] = {}  # what the type-ahead showed, by its text
        while True:
            complete = self._completer(item, view, offered) if item.suggests else None
            typed = self._answer(f"{item.label}> ", default=item.shown_initial(), complete=complete)
            if typed is None and self.input.echo:
                return _NO_MORE
            if typed is None or typed.strip().casefold() in CANCEL_WORDS:
                return _CANCELLED
            try:
                if typed == item.shown_initial() and item.initial:
                    return item.initial
                if item.suggests and typed.strip() in offered:
                    return dict(offered[typed.strip()])
                if item.suggests and typed.strip():
                    return self._suggested(item, view, typed.strip(), suggestions)
                return state_of(item, typed, upload=self._upload, user=self._user_id)
            except AnswerError as err:
                self.print("   ⚠ " + str(err))

    def _suggested(
        self, item: Field, view: dict[str, Any], typed: str, shown: list[dict[str, Any]]
    ) -> dict[str, Any]:
        if typed.isdigit() and shown:
            return choose(shown, typed)
        found = suggestion_options(self.session.suggest(view, item.block_id, item.action_id, typed))
        exact = [o for o in found if option_text(o).casefold() == typed.casefold()]
        if len(found) == 1 or len(exact) == 1:
            chosen = (exact or found)[0]
            self.print("   → " + option_text(chosen))
            return dict(chosen)
        if not found:
            raise AnswerError(
                _("Ingen forslag for «%(text)s». Prøv andre bokstaver.") % {"text": typed}
            )
        shown[:] = found
        for i, option in enumerate(found, 1):
            self.print(f"   {i}) {option_text(option)}")
        raise AnswerError(_("Skriv nummeret på det du mener, eller flere bokstaver."))

    def _completer(
        self, item: Field, view: dict[str, Any], offered: dict[str, dict[str, Any]]
    ) -> Callable[[str], list[str]]:
        """Completions as the person types, from the bot's `block_suggestion` listener (Slack
        asks it once `min_query_length` characters are typed)."""

        def complete(typed: str) -> list[str]:
            minimum = int(item.element.get("min_query_length", 3))
            if len(typed) < minimum:
                return []
            answer = self.session.suggest(view, item.block_id, item.action_id, typed)
            options = suggestion_options(answer)
            offered.update((option_text(o), o) for o in options)
            return [option_text(o) for o in options]

        return complete

    def _upload(self, path: str) -> dict[str, Any]:
        try:
            return self.session.upload(path)
        except OSError as err:
            raise AnswerError(
                _("Fant ikke filen «%(path)s».") % {"path": path}
                if isinstance(err, FileNotFoundError)
                else _("Kunne ikke lese «%(path)s».") % {"path": path}
            ) from None

    def _user_id(self, text: str) -> str | None:
        person = self.session.person_named(text)
        return person.user_id if person else None

    # --- the loop --------------------------------------------------------------------------

    def run(self, source: Input) -> None:
        self.input = source
        while True:
            with use_language(self.session.language()):
                line = source.command(PROMPT)
                if line is None:
                    return
                if source.echo:
                    self.print(PROMPT + line)
                if not self.handle(line):
                    return


_CANCELLED = object()
_NO_MORE = object()


def _blocks(blocks: Any) -> list[dict[str, Any]]:
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return []
    return list(blocks) if isinstance(blocks, list) else []


def parse_moment(text: str, now: datetime) -> datetime:
    """«+3d», «+2t», «+1u», «2027-02-11 09:00», «11.02.2027 9:00» or «11.02.2027»."""
    cleaned = text.strip().casefold()
    step = _STEP.match(cleaned)
    if step:
        unit = _STEP_UNITS[step.group(2) or "d"]
        return now + timedelta(**{unit: int(step.group(1))})
    parts = cleaned.split()
    if not parts or len(parts) > 2:
        raise ValueError(text)
    try:
        day = datetime.fromisoformat(parse_date(parts[0]))
        clock = parse_time(parts[1]) if len(parts) == 2 else f"{DAY_ONLY_HOUR:02d}:00"
    except AnswerError as err:
        raise ValueError(text) from err
    hour, minute = (int(x) for x in clock.split(":"))
    return day.replace(hour=hour, minute=minute, tzinfo=now.tzinfo)


def shell_help() -> str:
    channels = ", ".join("#" + name for _id, name in CHANNELS)
    people = ", ".join(p.handle for p in PEOPLE)
    return _(
        "Skriv /dks-kommandoer som i Slack (/dks frist, /dks ny frist, /dks hjelp).\n"
        "  hjem            viser Hjem-fanen\n"
        "  et tall         trykker på knappen eller menyen med det nummeret\n"
        "  tid +3d         flytter klokka fram (også +2t, +1u, 11.02.2027 09:00)\n"
        "  som kari        du blir en annen bruker (%(people)s)\n"
        "  avbryt / Esc    lukker et skjema uten å sende det\n"
        "  avslutt         avslutter (eller Ctrl-D)\n"
        "Kanaler: %(channels)s. Filer boten lager, havner i mappen dks-filer."
    ) % {"people": people, "channels": channels}


def welcome() -> str:
    return _("DKS-boten, lokalt skall. Skriv for eksempel /dks frist eller /dks hjelp.") + (
        "\n" + _("«?» viser hva skallet kan; «avslutt» (eller Ctrl-D) avslutter.")
    )


def run_shell(
    settings: Settings,
    commands: list[str] | None = None,
    answers: list[str] | None = None,
    *,
    database_url: str | None = None,
    files_dir: Path = Path("dks-filer"),
    tour: bool = True,
) -> None:
    session = ShellSession(settings, database_url=database_url, files_dir=files_dir)
    try:
        interactive = not commands and sys.stdin.isatty()
        shell = Shell(session, sys.stdout, ansi=sys.stdout.isatty())
        first = session.prepare()
        with use_language(session.language()):
            if interactive:
                shell.print(welcome())
            if first and tour and interactive:
                shell.tour = Tour(session)
                shell.tour.start(shell)
        if commands:
            shell.run(ScriptInput(commands, answers or []))
        elif interactive:
            from bot.shell.terminal import TerminalInput

            shell.run(TerminalInput())
        else:
            shell.run(StreamInput(sys.stdin))
    finally:
        session.close()


__all__ = ["SHELL_TEAM", "Shell", "parse_moment", "run_shell"]
