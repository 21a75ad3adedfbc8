"""The Home tab's «Endringsønsker til turnéplanen», for coordinators: the newest round per
school (answered, changes, no answer), the requests with their status menus, «Se hele runden»,
the file for the county, and «Start endringsrunde» once there is a tour plan."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

from handlers.changes.views import HOME_REQUESTS, SILENT_NAMES, HomeRound, home_blocks
from handlers.core.feature import SectionRequest
from storage.changes import current_round, round_overview
from storage.tourplan import tourplan_version

DEFAULT_ZONE = ZoneInfo("Europe/Oslo")


def changes_section(request: SectionRequest) -> list[Block]:
    """The Home section (`Feature(home_sections=[…])`); nothing for anyone but coordinators."""
    if not request.coordinator:
        return []
    session, team_id = request.session, request.team_id
    # `now` is in the bot's time zone.
    zone = request.now.tzinfo if isinstance(request.now.tzinfo, ZoneInfo) else DEFAULT_ZONE
    today = request.now.astimezone(zone).date()
    if not tourplan_version(session=session, team_id=team_id):
        return []  # no tour plan yet: nothing to ask the schools about (and no round)
    round_ = current_round(session=session, team_id=team_id)
    if round_ is None or round_.id is None:
        return home_blocks(shown=None, today=today)
    # Counts and the first rows only: this runs on every coordinator's every Home tab.
    overview = round_overview(
        session=session,
        team_id=team_id,
        round_id=round_.id,
        tz=zone,
        limit=HOME_REQUESTS,
        names=SILENT_NAMES,
    )
    return home_blocks(shown=HomeRound.of(round_, overview), today=today)
