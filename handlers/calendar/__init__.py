"""The calendar: deadlines and meetings as lists in Slack, and as a calendar for Outlook and
Google.

- `/dks frist` and `/dks møte` (lists.py): the next items, a search, or «alle» paged with
  «Vis flere»;
- `/dks kalender` (feed.py, coordinators only): the workspace's secret feed address, with
  «Send meg kalenderfilen» and «Lag ny adresse»; the Home tab's «Eksporter kalender» sends
  the .ics file in a DM;
- the feed itself, `GET /kalender/<token>.ics`, is a WSGI app (feed.make_feed_app) that
  bot/server.py serves beside Bolt.

Two declarations: `FEATURE` (the lists, for everyone) and `FEED` (for coordinators), which
`/dks hjelp` lists after `/dks admin`, with the other coordinators' commands.
"""

from __future__ import annotations

from slack_bolt import App

from handlers.calendar.feed import CALENDAR, CALENDAR_WORDS, run_calendar
from handlers.calendar.listeners import (
    rotate,
    send_from_home,
    send_from_message,
    show_more,
)
from handlers.calendar.lists import (
    DEADLINE_WORDS,
    DEADLINES,
    MEETING_WORDS,
    MEETINGS,
    run_deadlines,
    run_meetings,
)
from handlers.calendar.views import (
    DEADLINES_MORE_ACTION,
    MEETINGS_MORE_ACTION,
    ROTATE_ACTION,
    SEND_FILE_ACTION,
)
from handlers.core.access import coordinator_only
from handlers.core.commands import Subcommand
from handlers.core.feature import Feature
from handlers.core.i18n import N_
from handlers.core.lazy import acknowledge
from handlers.home.views import HOME_EXPORT

# The summaries name DEFAULT_COUNT and DEFAULT_DAYS (5 and 90) in words, whole sentences for
# the catalogs; tests/test_i18n_imports.py checks that they agree with lists.py.
SUBCOMMANDS = [
    Subcommand(
        name=DEADLINES.subcommand,
        words=DEADLINE_WORDS,
        aliases=("frister", "fristar", "deadlines"),
        summary=N_(
            "de neste 5 fristene (90 dager fram). "
            "Legg til et søkeord for å filtrere, eller «alle» for alle kommende."
        ),
        example=N_("/dks frist rapportering"),
        run=run_deadlines,
    ),
    Subcommand(
        name=MEETINGS.subcommand,
        words=MEETING_WORDS,
        aliases=("møter", "møta", "mote", "moter", "moete", "meetings"),
        summary=N_(
            "de neste 5 møtene og samlingene (90 dager fram), med tid, sted og om de er "
            "digitale. Søkeord og «alle» virker som for frister."
        ),
        example=N_("/dks møte nettverk"),
        run=run_meetings,
    ),
]

FEED_SUBCOMMANDS = [
    Subcommand(
        name=CALENDAR,
        words=CALENDAR_WORDS,
        aliases=("ics", "abonner", "subscribe"),
        summary=N_(
            "gir adressen til å abonnere på fristene og møtene i Outlook eller Google "
            "Kalender (bare koordinatorer; `ny` lager en ny hemmelig adresse)."
        ),
        example=N_("/dks kalender"),
        run=run_calendar,
        # The address alone gives the whole calendar to whoever has it.
        coordinator=True,
    ),
]


def register(app: App) -> None:
    app.action(DEADLINES_MORE_ACTION)(ack=acknowledge, lazy=[show_more])
    app.action(MEETINGS_MORE_ACTION)(ack=acknowledge, lazy=[show_more])


def register_feed(app: App) -> None:
    app.action(HOME_EXPORT, middleware=[coordinator_only])(ack=acknowledge, lazy=[send_from_home])
    app.action(SEND_FILE_ACTION, middleware=[coordinator_only])(
        ack=acknowledge, lazy=[send_from_message]
    )
    app.action(ROTATE_ACTION, middleware=[coordinator_only])(ack=acknowledge, lazy=[rotate])


FEATURE = Feature(name="calendar", register=register, subcommands=SUBCOMMANDS)
FEED = Feature(name="calendar feed", register=register_feed, subcommands=FEED_SUBCOMMANDS)
