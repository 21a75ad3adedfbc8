"""«Rapporten for 2026 er klar»: the January post of the year's figures, the outbox kind
"report_ready".

When: 09:00 on the first working day on or after 15 January after the year (Friday
15 January 2027 for 2026). DKS-portalen opens the year's reporting in mid-January and the
reporting deadline in the bundled calendar is 12 February, whose first reminder comes 14 days
before it (29 January, the default offsets 14, 7, 1): the figures arrive two weeks before
that first reminder, when the coordinator can start on the report. (A workspace that set
its own offsets of more than four weeks gets that reminder first; the post still comes.)

To whom: each coordinator the workspace lists (`/dks admin legg til`, storage.workspaces),
in a DM, in their own language (else the workspace's). Workspace admins who are not listed
are not known without asking Slack, which the planner does not do; a workspace that lists
nobody gets the post in its reminder channel instead (in the workspace's language), with
the figures but never the comments. Both say how to get the charts (`/dks rapport 2026`)
and carry «Last ned rapport» (the button checks that whoever presses it is a coordinator).

Once per workspace and year: each row's unique key is the year and the recipient, planned
from `Scheduler.refresh` (handlers.plan_outbox) only within PLAN_AHEAD of the due time and
never after it, so a restart or a second scheduler plans the same rows, never new ones, and
a sent row stays sent. Who still qualifies is checked when the row is rendered: a coordinator
removed meanwhile, a channel no longer the reminder channel, an uninstalled workspace or a
year with no performances post nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from handlers.core.i18n import pick, use_language
from handlers.core.outbox_kinds import RenderedMessage
from handlers.report.summary import summary_lines
from handlers.report.views import command_word, ready_blocks, ready_text
from storage.calendar import is_working_day
from storage.db import session_scope
from storage.models import OutboxMessage, Workspace
from storage.outbox import schedule_message
from storage.posting_times import at_local
from storage.report import AnnualReport, annual_report
from storage.workspaces import get_workspace, listed_coordinators, user_languages

log = logging.getLogger(__name__)

READY_KIND = "report_ready"
READY_DAY = 15  # of January
READY_TIME = time(9, 0)
# Rows are planned (and re-planned, as coordinators come and go) this long before they are
# due: the scheduler's refresh runs every 15 minutes, so a few days is plenty, and the rest of
# the year the planner reads nothing.
PLAN_AHEAD = timedelta(days=3)


def ready_due(year: int, tz: ZoneInfo) -> datetime:
    """When the post for `year` is due: 09:00 on the first working day from 15 January of the
    next year."""
    day = date(year + 1, 1, READY_DAY)
    while not is_working_day(day):
        day += timedelta(days=1)
    return at_local(day, READY_TIME, tz)


def next_ready(now: datetime, tz: ZoneInfo) -> tuple[int, datetime] | None:
    """The year whose post is to be planned now and its due time; None outside the window."""
    local_year = now.astimezone(tz).year
    for year in (local_year - 1, local_year):
        due = ready_due(year, tz)
        if now <= due:
            return (year, due) if due - now <= PLAN_AHEAD else None
    return None


def ready_ref(year: int) -> str:
    return f"report:{year}:"


def plan_ready_posts(
    engine: Engine, team_ids: Iterable[str], *, now: datetime, tz: ZoneInfo
) -> int:
    """Plan each workspace's January post; returns the rows scheduled or moved. Outside the
    weeks before the post is due nothing is read."""
    upcoming = next_ready(now, tz)
    if upcoming is None:
        return 0
    year, due = upcoming
    planned = 0
    for team_id in team_ids:
        try:
            with session_scope(engine, write=True) as session:
                planned += plan_team(
                    session=session, team_id=team_id, year=year, due=due, now=now, tz=tz
                )
        except Exception:
            log.exception("could not plan the report post for %s", team_id)
    return planned


def plan_team(
    *, session: Session, team_id: str, year: int, due: datetime, now: datetime, tz: ZoneInfo
) -> int:
    workspace = get_workspace(session=session, team_id=team_id)
    if workspace is None or workspace.uninstalled_at is not None:
        return 0
    targets = recipients(session=session, workspace=workspace)
    for target in targets:
        schedule_message(
            session=session,
            team_id=team_id,
            kind=READY_KIND,
            unique_key=f"{year}:{target}",
            ref=ready_ref(year),
            due_at=due,
            target=target,
            payload={"year": year, "tz": tz.key},
            now=now,
        )
    return len(targets)


def recipients(*, session: Session, workspace: Workspace) -> list[str]:
    """The listed coordinators; the reminder channel when nobody is listed."""
    people = sorted(listed_coordinators(session=session, team_id=workspace.team_id))
    if people:
        return people
    return [workspace.reminder_channel_id] if workspace.reminder_channel_id else []


# --- rendering -----------------------------------------------------------------------------------


def render_ready(session: Session, row: OutboxMessage, now: datetime) -> RenderedMessage | None:
    return render_ready_many(session, [row], now).get(row.id or 0)


def render_ready_many(
    session: Session, rows: Sequence[OutboxMessage], now: datetime
) -> dict[int, RenderedMessage | None]:
    """The posts of one January morning: each workspace's report is computed once, its
    summary once per language."""
    out: dict[int, RenderedMessage | None] = {}
    groups: dict[tuple[str, int, str], list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        payload = row.payload or {}
        year = payload.get("year")
        if not isinstance(year, int):
            out[row.id or 0] = None
            continue
        groups[(row.team_id, year, str(payload.get("tz") or "Europe/Oslo"))].append(row)
    for (team_id, year, tz_name), group in groups.items():
        out.update(_render_team(session, team_id, year, ZoneInfo(tz_name), group, now))
    return out


def _render_team(
    session: Session,
    team_id: str,
    year: int,
    tz: ZoneInfo,
    rows: Sequence[OutboxMessage],
    now: datetime,
) -> dict[int, RenderedMessage | None]:
    nothing: dict[int, RenderedMessage | None] = {row.id or 0: None for row in rows}
    workspace = get_workspace(session=session, team_id=team_id)
    if workspace is None or workspace.uninstalled_at is not None:
        return nothing
    current = set(recipients(session=session, workspace=workspace))
    if not current & {row.target for row in rows}:
        return nothing
    report = annual_report(session=session, team_id=team_id, year=year, tz=tz, now=now)
    if report.is_empty:
        return nothing
    languages = user_languages(session=session, team_id=team_id)
    rendered: dict[tuple[str, bool], RenderedMessage] = {}
    out = dict(nothing)
    for row in rows:
        if row.target not in current:
            continue  # no longer a coordinator, or no longer the reminder channel
        in_channel = not row.target.startswith(("U", "W"))
        language = (
            pick(None, workspace.language)
            if in_channel
            else pick(languages.get(row.target), workspace.language)
        )
        key = (language, in_channel)
        if key not in rendered:
            rendered[key] = _message(report, language, in_channel=in_channel)
        out[row.id or 0] = rendered[key]
    return out


def _message(report: AnnualReport, language: str, *, in_channel: bool) -> RenderedMessage:
    with use_language(language):
        lines = summary_lines(report, for_coordinator=False)
        blocks = ready_blocks(report.year, lines, word=command_word(), in_channel=in_channel)
        return RenderedMessage(text=ready_text(report.year), blocks=blocks)
