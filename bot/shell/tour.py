"""The guided tour on the shell's first start: «prøv: …» one step at a time, through a
reminder and a feedback answer on the sample tour plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.shell.session import SHELL_TEAM, ShellSession
from handlers.core.i18n import N_, _
from storage.db import session_scope
from storage.feedback import PROMPT_KIND
from storage.outbox import next_due
from storage.reminders import REMINDER_KIND

if TYPE_CHECKING:
    from bot.shell.shell import Shell


@dataclass
class _Step:
    # The hint, or None when the step has nothing to show (nothing planned): it is skipped.
    hint: Callable[[Tour], str | None]
    # Whether a line the person typed did what the step asked.
    done: Callable[[str, Tour], bool]


def _starts(*words: str) -> Callable[[str, Tour], bool]:
    def done(line: str, _tour: Tour) -> bool:
        typed = line.casefold().removeprefix("/dks ").strip()
        return any(typed.startswith(w) for w in words)

    return done


def _moment_text(session: ShellSession, moment: datetime) -> str:
    local = moment.astimezone(session.settings.timezone)
    return local.strftime("%d.%m.%Y %H:%M")


# How far ahead the tour looks for the next reminder or feedback question.
_HORIZON = timedelta(days=366)


def _due(session: ShellSession, kind: str) -> datetime | None:
    now = session.clock()
    with session_scope(session.engine) as db:
        due = next_due(
            session=db, team_ids=(SHELL_TEAM,), kinds=(kind,), after=now, until=now + _HORIZON
        )
    return due.available_at if due is not None else None


def _next(session: ShellSession, kind: str) -> datetime | None:
    session.scheduler.refresh(session.clock())
    return _due(session, kind)


def _reached(kind: str) -> Callable[[str, Tour], bool]:
    def done(line: str, tour: Tour) -> bool:
        if not line.casefold().startswith(("tid", "time")):
            return False
        # Done once the clock has passed the moment the hint pointed at.
        moment = tour.pointed.get(kind)
        return moment is not None and tour.session.clock() >= moment

    return done


def _time_hint(kind: str, text: str) -> Callable[[Tour], str | None]:
    """A «prøv: tid …» hint pointing at the next row of `kind`; none when nothing is planned."""

    def hint(tour: Tour) -> str | None:
        moment = tour.pointed[kind] = _next(tour.session, kind)
        if moment is None:
            return None
        return _(text) % {"moment": _moment_text(tour.session, moment)}

    return hint


_FEEDBACK_HINT = N_(
    "prøv: tid %(moment)s — etter neste forestilling i eksempel-turnéplanen spør boten "
    "om tilbakemelding. Trykk tallet ved «Gi tilbakemelding» og fyll ut skjemaet."
)
_REMINDER_HINT = N_(
    "prøv: tid %(moment)s — da kommer neste påminnelse i #dks. Trykk så tallet ved «Ferdig»."
)


STEPS = (
    _Step(
        lambda _t: _("prøv: /dks påminnelser kanal #dks — da kommer påminnelsene i #dks."),
        _starts("påminnelser kanal", "påminningar kanal", "reminders channel"),
    ),
    _Step(lambda _t: _("prøv: /dks frist — fristene som kommer."), _starts("frist", "deadline")),
    _Step(_time_hint(PROMPT_KIND, _FEEDBACK_HINT), _reached(PROMPT_KIND)),
    _Step(_time_hint(REMINDER_KIND, _REMINDER_HINT), _reached(REMINDER_KIND)),
    _Step(
        lambda _t: _("prøv: hjem — Hjem-fanen med kalenderen din; tallene trykker på knappene."),
        _starts("hjem", "heim", "home"),
    ),
)


class Tour:
    def __init__(self, session: ShellSession) -> None:
        self.session = session
        self.index = 0
        # The moment each hint pointed the clock at, by outbox kind.
        self.pointed: dict[str, datetime | None] = {}

    def start(self, shell: Shell) -> None:
        shell.print(_("Første gang her? En kort omvisning (skriv «avslutt» når du vil):"))
        self._hint(shell)

    def _hint(self, shell: Shell) -> None:
        while self.index < len(STEPS):
            text = STEPS[self.index].hint(self)
            if text:
                shell.print("")
                shell.print("💡 " + text)
                return
            self.index += 1
        shell.print("")
        shell.print(_("Det var omvisningen. «?» viser alt skallet kan."))
        shell.tour = None

    def after(self, line: str, shell: Shell) -> None:
        if STEPS[self.index].done(line, self):
            self.index += 1
            self._hint(shell)
