"""Slack features, one package each; `register_all` wires their declarations onto an App.

Each feature declares what it adds in a `Feature` (handlers/core/feature.py): `/dks`
subcommands, Bolt listeners, outbox kinds, Home sections, event subscribers. The order of
`FEATURES` is the order of `/dks hjelp` and of event delivery.

Importing this package imports no feature: the features are imported on first use of
`FEATURES`, `register_all` or `outbox_kinds`. So a storage module may use the catalogs
(`handlers.core.i18n`, which imports only Babel) without pulling every feature in, and back
into storage, halfway through its own import.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from slack_bolt import App
    from sqlalchemy import Engine

    from handlers.core.feature import Feature
    from handlers.core.outbox_kinds import KindRegistry
    from handlers.core.services import Services


@cache
def features() -> list[Feature]:
    """Every feature, in the order of `/dks hjelp` and of event delivery."""
    from handlers import (
        admin,
        calendar,
        changes,
        directory,
        editing,
        feedback,
        help,
        home,
        imports,
        language,
        reminders,
        report,
        workspace,
    )

    return [
        calendar.FEATURE,
        directory.FEATURE,
        reminders.FEATURE,
        feedback.FEATURE,
        report.FEATURE,
        changes.FEATURE,
        home.FEATURE,
        editing.FEATURE,
        imports.FEATURE,
        admin.FEATURE,
        calendar.FEED,
        language.FEATURE,
        workspace.FEATURE,
        help.FEATURE,
    ]


def __getattr__(name: str) -> list[Feature]:
    # `handlers.FEATURES`, built on first use (see the module's docstring).
    if name == "FEATURES":
        return features()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_all(app: App, services: Services) -> None:
    from handlers.core import commands

    found = features()
    for feature in found:
        services.subcommands.extend(feature.subcommands)
        services.home_sections.extend(feature.home_sections)
        for subscriber in feature.subscribers:
            services.events.subscribe(subscriber)
    commands.register(app)
    # Bolt tries listeners in the order they were added, building each one's arguments: the
    # busiest (feedback's type-ahead, the Home tab) go first.
    for feature in sorted(found, key=lambda f: not f.busy):
        feature.register(app)


def outbox_kinds() -> KindRegistry:
    """Every kind of scheduled message the features declared, for the scheduler."""
    from handlers.core.outbox_kinds import KindRegistry

    return KindRegistry([kind for feature in features() for kind in feature.outbox_kinds])


def plan_outbox(engine: Engine, team_ids: Iterable[str], *, now: datetime, tz: ZoneInfo) -> int:
    """Plan the scheduled messages features keep without a user's action (the January report
    post); the scheduler's refresh calls it. Returns the rows scheduled or moved."""
    teams = list(team_ids)
    return sum(
        plan(engine, teams, now=now, tz=tz) for feature in features() for plan in feature.planners
    )
