"""`/dks møte`: upcoming meetings, gatherings and guidance periods."""

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
from handlers.views.calendar import MEETINGS_MORE_ACTION
from storage.models import Meeting

SPEC = ListSpec(model=Meeting, subcommand="møte", noun="møter", more_action=MEETINGS_MORE_ACTION)

SUBCOMMANDS = [
    Subcommand(
        name="møte",
        aliases=("møter", "mote", "moter", "moete"),
        summary=(
            f"de neste {DEFAULT_COUNT} møtene og samlingene ({DEFAULT_DAYS} dager fram), "
            "med tid, sted og om de er digitale. Søkeord og «alle» virker som for frister."
        ),
        example=f"{COMMAND} møte nettverk",
        run=command_runner(SPEC),
    )
]


def register(app: App) -> None:
    register_paging(app, SPEC)
