"""`/dks frist` and `/dks møte`: one list over the workspace's calendar, parameterised by
`ListSpec` (which items, what they are called, which «Vis flere» button pages them).

Without «alle» a list shows the next DEFAULT_COUNT items in DEFAULT_DAYS days; with it, every
coming item, PAGE_SIZE at a time. A search word filters either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from handlers.calendar.views import (
    DEADLINES_MORE_ACTION,
    MEETINGS_MORE_ACTION,
    Page,
    fallback_text,
    occurrence_list,
)
from handlers.core.commands import COMMAND, CommandRequest, Reply
from handlers.core.format import escape, truncate
from handlers.core.services import Services
from storage.models import Deadline, Meeting

DEFAULT_DAYS = 90
DEFAULT_COUNT = 5
PAGE_SIZE = 15  # 15 items + dividers + header/footer stays inside Slack's 50 blocks


@dataclass(frozen=True)
class ListSpec:
    model: type[Deadline] | type[Meeting]
    subcommand: str
    noun: str  # «frister», «møter»
    more_action: str
    # Deadlines passed less than this many days ago are still worth showing, as overdue.
    overdue_days: int = 0


DEADLINES = ListSpec(
    model=Deadline,
    subcommand="frist",
    noun="frister",
    more_action=DEADLINES_MORE_ACTION,
    overdue_days=7,
)
MEETINGS = ListSpec(
    model=Meeting, subcommand="møte", noun="møter", more_action=MEETINGS_MORE_ACTION
)
# Which list a «Vis flere» click pages.
BY_MORE_ACTION = {spec.more_action: spec for spec in (DEADLINES, MEETINGS)}


def parse_args(args: str) -> tuple[bool, str]:
    word, _, rest = args.partition(" ")
    if word.casefold() in ("alle", "all"):
        return True, rest.strip()
    return False, args.strip()


def build_reply(
    spec: ListSpec, services: Services, team_id: str, args: str, offset: int = 0
) -> Reply:
    show_all, query = parse_args(args)
    today = services.today()
    start = today - timedelta(days=spec.overdue_days)
    end = None if show_all else today + timedelta(days=DEFAULT_DAYS)
    offset = offset if show_all else 0
    # From the workspace's in-memory calendar: only the shown page is built.
    calendar = services.snapshot(team_id).calendar
    items = calendar.items(spec.model)
    found = items.upcoming_page(
        start=start,
        end=end,
        query=query,
        offset=offset,
        limit=PAGE_SIZE if show_all else DEFAULT_COUNT,
    )
    no_date = items.unset_titles(query)
    stored = items.count
    shown_query = escape(truncate(query, 80))
    command = f"{COMMAND} {spec.subcommand}"
    if show_all:
        heading = f"Alle kommende {spec.noun}" + (
            f" som passer «{truncate(query, 60)}»" if query else ""
        )
    elif query:
        heading = f"{spec.noun.capitalize()} som passer «{truncate(query, 60)}»"
    else:
        heading = f"{spec.noun.capitalize()} de neste {DEFAULT_DAYS} dagene"
    if stored == 0:
        empty = f"Det er ingen {spec.noun} lagt inn ennå. En koordinator kan legge dem inn."
    elif query:
        empty = (
            f"Fant ingen kommende {spec.noun} som passer «{shown_query}». "
            f"Prøv et annet søkeord, eller `{command} alle`."
        )
    elif show_all:
        empty = f"Ingen kommende {spec.noun} med dato."
    else:
        empty = (
            f"Ingen {spec.noun} de neste {DEFAULT_DAYS} dagene. "
            f"Skriv `{command} alle` for å se alle kommende."
        )
    page: Page | None = None
    footer = None
    shown = found.occurrences
    if show_all:
        page = Page(offset=offset, total=found.total, query=args, size=PAGE_SIZE)
        if found.total:
            footer = f"Viser {offset + 1}–{offset + len(shown)} av {found.total}."
    elif found.total > len(shown):
        also = f" {shown_query}" if query else ""
        footer = f"Viser {len(shown)} av {found.total}. Skriv `{command} alle{also}` for å se alle."
    blocks = occurrence_list(
        heading=heading,
        occurrences=shown,
        memo=calendar.memo,
        today=today,
        empty_text=empty,
        footer=footer,
        undated_titles=no_date if offset == 0 else (),
        undated_noun=spec.noun,
        page=page,
        more_action=spec.more_action,
    )
    return Reply(fallback_text(heading, shown), blocks)


def run_deadlines(request: CommandRequest) -> Reply:
    return build_reply(DEADLINES, request.services, request.team_id, request.args)


def run_meetings(request: CommandRequest) -> Reply:
    return build_reply(MEETINGS, request.services, request.team_id, request.args)
