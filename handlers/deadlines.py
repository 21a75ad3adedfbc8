"""`/dks frist`: the next deadlines."""

from __future__ import annotations

from slack_bolt import App

from handlers.calendar_lists import (
    DEFAULT_COUNT,
    DEFAULT_DAYS,
    ListSpec,
    command_runner,
    register_paging,
)
from handlers.core.commands import COMMAND, Subcommand
from handlers.views.calendar import DEADLINES_MORE_ACTION
from storage.models import Deadline

SPEC = ListSpec(
    model=Deadline,
    subcommand="frist",
    noun="frister",
    more_action=DEADLINES_MORE_ACTION,
    overdue_days=7,
)

SUBCOMMANDS = [
    Subcommand(
        name="frist",
        aliases=("frister", "deadline"),
        summary=(
            f"de neste {DEFAULT_COUNT} fristene ({DEFAULT_DAYS} dager fram). "
            "Legg til et søkeord for å filtrere, eller «alle» for alle kommende."
        ),
        example=f"{COMMAND} frist rapportering",
        run=command_runner(SPEC),
    )
]


def register(app: App) -> None:
    register_paging(app, SPEC)
