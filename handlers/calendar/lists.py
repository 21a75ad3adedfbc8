"""`/dks frist` and `/dks møte`: one list over the workspace's calendar, parameterised by
`ListSpec` (which items, how the list speaks of them, which «Vis flere» button pages them).

Without «alle» a list shows the next DEFAULT_COUNT items in DEFAULT_DAYS days; with it, every
coming item, PAGE_SIZE at a time. A search word filters either way.

Each sentence is whole in the catalogs, once for deadlines and once for meetings: the noun
changes its neighbours' forms («1 ny frist», «1 nytt møte»; nynorsk «fristar», «møte»).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from handlers.calendar.views import (
    DEADLINES_MORE_ACTION,
    MEETINGS_MORE_ACTION,
    Page,
    fallback_text,
    occurrence_list,
)
from handlers.core.commands import COMMAND, CommandRequest, Reply
from handlers.core.format import escape, truncate
from handlers.core.i18n import _, current_language, ngettext, pgettext
from handlers.core.services import Services
from storage.models import Deadline, Meeting

DEFAULT_DAYS = 90
DEFAULT_COUNT = 5
PAGE_SIZE = 15  # 15 items + dividers + header/footer stays inside Slack's 50 blocks

# The subcommands' words in nynorsk and English (routed like aliases: __init__.py).
DEADLINE_WORDS = {"nn": "frist", "en": "deadline"}
MEETING_WORDS = {"nn": "møte", "en": "meeting"}
# «alle» after the subcommand, as each language writes it (nynorsk is the same word).
ALL_WORDS = frozenset({"alle", "all"})


@dataclass(frozen=True)
class ListSpec:
    model: type[Deadline] | type[Meeting]
    kind: Literal["deadline", "meeting"]
    subcommand: str  # the bokmål word
    more_action: str
    words: Mapping[str, str] = field(default_factory=dict)
    # Deadlines passed less than this many days ago are still worth showing, as overdue.
    overdue_days: int = 0

    def command(self, *rest: str) -> str:
        """`/dks frist alle …` as the reader types it."""
        word = self.words.get(current_language(), self.subcommand)
        return " ".join([COMMAND, word, *(r for r in rest if r)])


DEADLINES = ListSpec(
    model=Deadline,
    kind="deadline",
    subcommand="frist",
    words=DEADLINE_WORDS,
    more_action=DEADLINES_MORE_ACTION,
    overdue_days=7,
)
MEETINGS = ListSpec(
    model=Meeting,
    kind="meeting",
    subcommand="møte",
    words=MEETING_WORDS,
    more_action=MEETINGS_MORE_ACTION,
)
# Which list a «Vis flere» click pages.
BY_MORE_ACTION = {spec.more_action: spec for spec in (DEADLINES, MEETINGS)}


def parse_args(args: str) -> tuple[bool, str]:
    word, _space, rest = args.partition(" ")
    if word.casefold() in ALL_WORDS:
        return True, rest.strip()
    return False, args.strip()


def all_word() -> str:
    """«alle» as the reader writes it after the subcommand."""
    return pgettext("the word after /dks frist or /dks møte", "alle")


# --- What a list says, per kind -----------------------------------------------------------------


def heading(spec: ListSpec, *, show_all: bool, query: str) -> str:
    """Plain text (a header): the search word is shown as typed."""
    values = {"query": truncate(query, 60), "days": DEFAULT_DAYS}
    if spec.kind == "deadline":
        if show_all and query:
            return _("Alle kommende frister som passer «%(query)s»") % values
        if show_all:
            return _("Alle kommende frister")
        if query:
            return _("Frister som passer «%(query)s»") % values
        return _("Frister de neste %(days)d dagene") % values
    if show_all and query:
        return _("Alle kommende møter som passer «%(query)s»") % values
    if show_all:
        return _("Alle kommende møter")
    if query:
        return _("Møter som passer «%(query)s»") % values
    return _("Møter de neste %(days)d dagene") % values


def empty_text(spec: ListSpec, *, stored: int, show_all: bool, query: str) -> str:
    """mrkdwn: what the list says when nothing is shown."""
    values = {
        "query": escape(truncate(query, 80)),
        "days": DEFAULT_DAYS,
        "command": spec.command(all_word()),
    }
    if spec.kind == "deadline":
        if stored == 0:
            return _("Det er ingen frister lagt inn ennå. En koordinator kan legge dem inn.")
        if query:
            return (
                _(
                    "Fant ingen kommende frister som passer «%(query)s». "
                    "Prøv et annet søkeord, eller `%(command)s`."
                )
                % values
            )
        if show_all:
            return _("Ingen kommende frister med dato.")
        return (
            _("Ingen frister de neste %(days)d dagene. Skriv `%(command)s` for å se alle kommende.")
            % values
        )
    if stored == 0:
        return _("Det er ingen møter lagt inn ennå. En koordinator kan legge dem inn.")
    if query:
        return (
            _(
                "Fant ingen kommende møter som passer «%(query)s». "
                "Prøv et annet søkeord, eller `%(command)s`."
            )
            % values
        )
    if show_all:
        return _("Ingen kommende møter med dato.")
    return (
        _("Ingen møter de neste %(days)d dagene. Skriv `%(command)s` for å se alle kommende.")
        % values
    )


def undated_text(spec: ListSpec) -> str:
    """mrkdwn with `%(titles)s` for the titles of the items without a date yet."""
    if spec.kind == "deadline":
        return _(
            ":spiral_calendar_pad: Uten dato ennå (frister): %(titles)s. "
            "Legg inn datoen når den er kjent."
        )
    return _(
        ":spiral_calendar_pad: Uten dato ennå (møter): %(titles)s. "
        "Legg inn datoen når den er kjent."
    )


def all_shown_text(spec: ListSpec, total: int) -> str:
    """Under «alle» when one page holds every item: how many there are («1 kommende frist»,
    not «Viser 1–1 av 1»)."""
    if spec.kind == "deadline":
        text = ngettext("%(n)d kommende frist i alt.", "%(n)d kommende frister i alt.", total)
    else:
        text = ngettext("%(n)d kommende møte i alt.", "%(n)d kommende møter i alt.", total)
    return text % {"n": total}


def page_text(*, offset: int, shown: int, total: int) -> str:
    """Under «alle» on one of several pages: which of them are shown."""
    if shown == 1:
        return _("Viser nummer %(n)d av %(total)d.") % {"n": offset + 1, "total": total}
    return _("Viser %(first)d–%(last)d av %(total)d.") % {
        "first": offset + 1,
        "last": offset + shown,
        "total": total,
    }


# --- The list -----------------------------------------------------------------------------------


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
    title = heading(spec, show_all=show_all, query=query)
    empty = empty_text(spec, stored=items.count, show_all=show_all, query=query)
    page: Page | None = None
    footer = None
    shown = found.occurrences
    if show_all:
        page = Page(offset=offset, total=found.total, query=args, size=PAGE_SIZE)
        if found.total and offset == 0 and len(shown) == found.total:
            footer = all_shown_text(spec, found.total)
        elif found.total and shown:
            footer = page_text(offset=offset, shown=len(shown), total=found.total)
    elif found.total > len(shown):
        also = escape(truncate(query, 80)) if query else ""
        footer = _("Viser %(shown)d av %(total)d. Skriv `%(command)s` for å se alle.") % {
            "shown": len(shown),
            "total": found.total,
            "command": spec.command(all_word(), also),
        }
    blocks = occurrence_list(
        heading=title,
        occurrences=shown,
        memo=calendar.memo,
        today=today,
        empty_text=empty,
        footer=footer,
        undated_titles=no_date if offset == 0 else (),
        undated_text=undated_text(spec),
        page=page,
        more_action=spec.more_action,
    )
    return Reply(fallback_text(title, shown), blocks)


def run_deadlines(request: CommandRequest) -> Reply:
    return build_reply(DEADLINES, request.services, request.team_id, request.args)


def run_meetings(request: CommandRequest) -> Reply:
    return build_reply(MEETINGS, request.services, request.team_id, request.args)
