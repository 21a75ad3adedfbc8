"""Slack features, one package each; `register_all` wires their declarations onto an App.

Each feature declares what it adds in a `Feature` (handlers/core/feature.py): `/dks`
subcommands, Bolt listeners, outbox kinds, Home sections, event subscribers. The order of
`FEATURES` is the order of `/dks hjelp` and of event delivery.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_bolt import App
from sqlalchemy import Engine

from handlers import (
    admin,
    calendar,
    directory,
    editing,
    feedback,
    help,
    home,
    imports,
    reminders,
    report,
    workspace,
)
from handlers.core import commands
from handlers.core.feature import Feature
from handlers.core.outbox_kinds import KindRegistry
from handlers.core.services import Services

FEATURES: list[Feature] = [
    calendar.FEATURE,
    directory.FEATURE,
    reminders.FEATURE,
    feedback.FEATURE,
    report.FEATURE,
    home.FEATURE,
    editing.FEATURE,
    imports.FEATURE,
    admin.FEATURE,
    calendar.FEED,
    workspace.FEATURE,
    help.FEATURE,
]


def register_all(app: App, services: Services) -> None:
    for feature in FEATURES:
        services.subcommands.extend(feature.subcommands)
        services.home_sections.extend(feature.home_sections)
        for subscriber in feature.subscribers:
            services.events.subscribe(subscriber)
    commands.register(app)
    # Bolt tries listeners in the order they were added, building each one's arguments: the
    # busiest (feedback's type-ahead, the Home tab) go first.
    for feature in sorted(FEATURES, key=lambda f: not f.busy):
        feature.register(app)


def outbox_kinds() -> KindRegistry:
    """Every kind of scheduled message the features declared, for the scheduler."""
    return KindRegistry([kind for feature in FEATURES for kind in feature.outbox_kinds])


def plan_outbox(engine: Engine, team_ids: Iterable[str], *, now: datetime, tz: ZoneInfo) -> int:
    """Plan the scheduled messages features keep without a user's action (the January report
    post); the scheduler's refresh calls it. Returns the rows scheduled or moved."""
    teams = list(team_ids)
    return sum(plan(engine, teams, now=now, tz=tz) for plan in report.PLANNERS)
