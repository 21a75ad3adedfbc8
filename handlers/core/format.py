"""Norwegian (bokmål) formatting of dates, distances and Slack mrkdwn."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_date

from storage.models import DatePrecision
from storage.personal_data import ERASED

LOCALE = "nb_NO"


# What users and imports wrote, made inert for Slack (see `escape`). The lookalikes are the
# ones jsx-slack (a Block Kit library) uses for the same purpose: they read the same and are
# never formatting.
_INERT = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "*": "\u2217",  # ∗ asterisk operator
    "_": "\u02cd",  # ˍ modifier letter low macron
    "~": "\u223c",  # ∼ tilde operator
    "`": "\u02cb",  # ˋ modifier letter grave accent
    "@": "@\u2060",  # @ and a word joiner: «@here» written out is no longer the word
}
_ENDS_ADDRESS = re.compile(r"[|<>\s]")
_BAR = "\u2223"  # ∣ divides: a `|` in a link label, where Slack would split on it
_SPECIAL = re.compile(
    r"[&<>]"
    # Slack formats only at word boundaries: `ola_nordmann@x.no` and `2*3` stay as written.
    r"|(?<![^\W_])[*_~`]|[*_~`](?![^\W_])"
    r"|(?<![^\W_])@(?=(?:here|channel|everyone)\b)",
    re.IGNORECASE,
)


def escape(text: str) -> str:
    """User or import text made inert in anything Slack parses: the notification `text`, a
    mrkdwn field, a link label. The one function every view puts such text through.

    - `&`, `<` and `>` become entities, as Slack documents: `<!channel>`, `<!here>`,
      `<@U…>`, `<#C…>`, `<!subteam^S…>` and `<url|label>` are shown, never parsed.
    - Slack has no escape for its formatting characters, and an invisible character next to
      one makes formatting *more* likely (Slack takes it as a word boundary). So `*`, `_`,
      `~` and a backtick at a word boundary become lookalikes (∗ ˍ ∼ ˋ); inside a word Slack
      never formats them and they stay as written.
    - `@here`, `@channel`, `@everyone` written out get a word joiner after the `@`.

    plain_text fields (headers, buttons, options, inputs) are never parsed: pass text there
    unescaped, and prefer them where the layout allows.
    """
    return _SPECIAL.sub(lambda m: _INERT[m.group()[0]], text)


def link(url: str, label: str) -> str:
    """A mrkdwn link `<url|label>` that ends where the bot means it to: characters that would
    end the address early (`|`, `<`, `>`, spaces) are percent-encoded, and the label is
    escaped like any user text, its `|` shown as ∣."""
    address = _ENDS_ADDRESS.sub(lambda m: quote(m.group()), url)
    return f"<{address.replace('&', '&amp;')}|{escape(label).replace('|', _BAR)}>"


def mention(user_id: str) -> str:
    """A stored user id as Slack shows it; someone erased on request is no longer named."""
    return "en slettet bruker" if user_id == ERASED else f"<@{user_id}>"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Babel takes tens of microseconds a date and a list shows dozens; the same few hundred dates
# come up all day, so their texts are remembered.
@lru_cache(maxsize=4096)
def norsk_dato(day: date, *, weekday: bool = False) -> str:
    """«12. februar 2027» (or «fredag 12. februar 2027»)."""
    return format_date(day, "EEEE d. MMMM y" if weekday else "d. MMMM y", locale=LOCALE)


@lru_cache(maxsize=1024)
def norsk_maaned(day: date) -> str:
    return format_date(day, "LLLL y", locale=LOCALE)


def klokkeslett(moment: time | datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def date_span(
    start: date,
    end: date | None = None,
    *,
    precision: DatePrecision | str = DatePrecision.DAY,
    note: str | None = None,
) -> str:
    """How a schedule says it: «12. februar 2027», «24.–25. september 2024», «uke 40–44 2024»,
    «oktober 2024». A free-text note wins where no precision captures the source; it is
    what someone wrote, so it comes escaped for mrkdwn."""
    if note:
        return escape(note)
    if precision == DatePrecision.MONTH:
        if end and (end.year, end.month) != (start.year, start.month):
            if end.year == start.year:
                return f"{format_date(start, 'LLLL', locale=LOCALE)}–{norsk_maaned(end)}"
            return f"{norsk_maaned(start)} – {norsk_maaned(end)}"
        return norsk_maaned(start)
    if precision == DatePrecision.WEEK:
        first = start.isocalendar().week
        last = end.isocalendar().week if end else first
        weeks = f"uke {first}" if first == last else f"uke {first}–{last}"
        return f"{weeks} {start.isocalendar().year}"
    if end is None or end == start:
        return norsk_dato(start)
    if (end.year, end.month) == (start.year, start.month):
        return f"{start.day}.–{norsk_dato(end)}"
    if end.year == start.year:
        return f"{format_date(start, 'd. MMMM', locale=LOCALE)} – {norsk_dato(end)}"
    return f"{norsk_dato(start)} – {norsk_dato(end)}"


def date_and_clock(
    start: date,
    end: date | None,
    *,
    precision: DatePrecision | str,
    note: str | None,
    start_time: time | None,
    end_time: time | None = None,
    meeting: bool,
) -> str:
    """When a deadline or meeting occurs, as the lists say it: «12. februar 2027 kl. 12:00»
    for a deadline (its due time), «24. september 2024, kl. 09:00–15:00» for a meeting."""
    when = date_span(start, end, precision=precision, note=note)
    if start_time is None:
        return when
    if not meeting:
        return f"{when} kl. {klokkeslett(start_time)}"
    clock = klokkeslett(start_time)
    if end_time:
        clock += f"–{klokkeslett(end_time)}"
    return f"{when}, kl. {clock}"


def how_far(
    start: date, end: date | None, today: date, *, deadline: bool, overdue_mark: str = ""
) -> str:
    """How far away an occurrence is («om 14 dager», «pågår nå»); a deadline whose last day
    has passed is overdue instead: «forfalt for 2 dager siden», after `overdue_mark`."""
    last = end or start
    if deadline and last < today:
        return overdue_mark + overdue_distance(last, today)
    return distance(start, today, end=end)


def distance(day: date, today: date, *, end: date | None = None) -> str:
    """«i dag», «i morgen», «om 14 dager», «i går», «for 2 dager siden»; «pågår» within a span."""
    if end is not None and day < today <= end:
        return "pågår nå"
    delta = (day - today).days
    if delta == 0:
        return "i dag"
    if delta == 1:
        return "i morgen"
    if delta == -1:
        return "i går"
    if delta > 1:
        return f"om {delta} dager"
    return f"for {-delta} dager siden"


def overdue_distance(day: date, today: date) -> str:
    delta = (today - day).days
    return "forfalt i går" if delta == 1 else f"forfalt for {delta} dager siden"


def slack_time(moment: datetime, tz: ZoneInfo) -> str:
    """Slack's date token for the clock time (every reader sees their own time zone); the
    fallback is the bot's local time. Dates are written by Babel: the token's are English."""
    fallback = klokkeslett(moment.astimezone(tz))
    return f"<!date^{int(moment.timestamp())}^{{time}}|{fallback}>"
