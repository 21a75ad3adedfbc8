"""Building and publishing one user's Home tab from the workspace snapshot.

Other features add their own sections by declaring them (`Feature(home_sections=[…])`, e.g.
the feedback feature's «Tilbakemeldinger som mangler»): a function that gets a `SectionRequest`
and returns blocks, or [] to show nothing. At most MAX_SECTION_BLOCKS blocks are used; a
section that raises is logged and left out, so it can never blank the tab.

The tab is written in its reader's language (their own choice, else the workspace's), read
from the snapshot it is built from: it is published on their request, but also after a change
they made elsewhere, and right after they chose another language, when the request began in
the old one. Sections are built inside that language too.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy.exc import SQLAlchemyError

from handlers.core.feature import SectionRequest
from handlers.core.i18n import _, pick, use_language
from handlers.core.services import Services
from handlers.home.views import (
    SCHOOLS_SHOWN,
    UNDATED_SHOWN,
    HomeData,
    HomeLimits,
    ReminderStatus,
    fallback_blocks,
    home_view,
)
from storage.snapshot import WorkspaceSnapshot

log = logging.getLogger(__name__)

# Deadlines passed less than this many days ago are still shown, as overdue (as /dks frist).
OVERDUE_DAYS = 7
MAX_SECTION_BLOCKS = 12


def extra_sections(services: Services, request: SectionRequest) -> list[list[Block]]:
    found = []
    for section in services.home_sections:
        try:
            blocks = list(section(request))
        except Exception:
            log.exception("a Home section failed: %s", getattr(section, "__name__", section))
            continue
        if blocks:
            found.append(blocks[:MAX_SECTION_BLOCKS])
    return found


def build_home(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    coordinator: bool,
    limits: HomeLimits | None = None,
    snapshot: WorkspaceSnapshot | None = None,
) -> dict[str, Any]:
    """`user_id`'s Home tab, as the JSON views.publish takes (from `snapshot`, when the
    caller has just read it)."""
    limits = limits or HomeLimits()
    now = services.now()
    today = now.date()
    snapshot = snapshot or services.snapshot(team_id)
    calendar, directory = snapshot.calendar, snapshot.directory
    deadlines, more_deadlines = calendar.deadlines.next_home_occurrences(
        start=today - timedelta(days=OVERDUE_DAYS), limit=limits.deadlines, done=calendar.done
    )
    meetings, more_meetings = calendar.meetings.next_home_occurrences(
        start=today, limit=limits.meetings, done=calendar.done
    )
    undated = calendar.undated_home_items(UNDATED_SHOWN)
    missing = directory.schools_missing[:SCHOOLS_SHOWN]
    n_missing = len(directory.schools_missing)
    counts = snapshot.home_counts()
    with services.session() as session:
        extra = extra_sections(
            services,
            SectionRequest(
                session=session,
                team_id=team_id,
                user_id=user_id,
                coordinator=coordinator,
                now=now,
            ),
        )
    data = HomeData(
        today=today,
        coordinator=coordinator,
        limits=limits,
        deadlines=deadlines,
        deadlines_more=more_deadlines,
        meetings=meetings,
        meetings_more=more_meetings,
        undated=undated,
        undated_total=counts.undated,
        schools_missing=missing,
        schools_missing_total=n_missing,
        schools_total=counts.schools,
        reminders=ReminderStatus(
            channel_id=counts.reminder_channel_id, paused=counts.reminders_paused
        ),
        extra_sections=extra,
    )
    return home_view(data)


def publish_home(
    client: WebClient,
    services: Services,
    *,
    team_id: str,
    user_id: str,
    logger: logging.Logger,
    limits: HomeLimits | None = None,
) -> bool:
    """Build and publish `user_id`'s Home tab; False (logged) when Slack or the DB failed."""
    view: dict[str, Any] | View
    try:
        # One version read serves the role check, the reader's language and the tab.
        snapshot = services.snapshot(team_id)
        settings = snapshot.settings
        reader = pick(settings.user_languages.get(user_id), settings.language)
        with use_language(reader):
            coordinator = services.roles.is_coordinator(
                client=client, team_id=team_id, user_id=user_id, snapshot=snapshot
            )
            view = build_home(
                services,
                team_id=team_id,
                user_id=user_id,
                coordinator=coordinator,
                limits=limits,
                snapshot=snapshot,
            )
    except SQLAlchemyError:
        logger.exception("building the Home tab failed")
        view = fallback_blocks(
            _(":warning: Jeg fikk ikke hentet oversikten akkurat nå. Prøv igjen om litt.")
        )
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as err:
        logger.warning("views.publish failed: %s", err.response.get("error"))
        return False
    return True
