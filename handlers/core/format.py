"""Dates, distances and Slack mrkdwn, in the language in force (handlers.core.i18n)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import lru_cache
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from handlers.core.i18n import (
    PSEUDO,
    PSEUDO_CLOSE,
    PSEUDO_OPEN,
    _,
    babel_locale,
    current_language,
    ngettext,
)
from storage.models import DatePrecision
from storage.personal_data import ERASED

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
    return _("en slettet bruker") if user_id == ERASED else f"<@{user_id}>"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Babel takes tens of microseconds a date and a list shows dozens; the same few hundred dates
# come up all day, so their texts are remembered, per language.
@lru_cache(maxsize=8192)
def _babel_date(day: date, pattern: str, locale: str) -> str:
    return format_date(day, pattern, locale=locale)


def _date(day: date, key: str) -> str:
    language = current_language()
    text = _babel_date(
        day, _PATTERNS.get((language, key)) or _PATTERNS[("nb", key)], babel_locale()
    )
    # Babel writes these in the reader's language; the pseudo language marks them as such.
    return f"{PSEUDO_OPEN}{text}{PSEUDO_CLOSE}" if language == PSEUDO else text


# Babel's own «long» formats are close but not what a coordinator writes in every language
# (English «November 3, 2026»), so the patterns are ours, per language.
_PATTERNS: dict[tuple[str, str], str] = {
    ("nb", "day"): "d. MMMM y",
    ("nb", "weekday"): "EEEE d. MMMM y",
    ("nb", "day_month"): "d. MMMM",
    ("nb", "weekday_month"): "EEEE d. MMMM",
    ("nb", "month"): "LLLL y",
    ("nb", "month_only"): "LLLL",
    ("nb", "short"): "dd.MM.y",
    ("nn", "day"): "d. MMMM y",
    ("nn", "weekday"): "EEEE d. MMMM y",
    ("nn", "day_month"): "d. MMMM",
    ("nn", "weekday_month"): "EEEE d. MMMM",
    ("nn", "month"): "LLLL y",
    ("nn", "month_only"): "LLLL",
    ("nn", "short"): "dd.MM.y",
    ("en", "day"): "d MMMM y",
    ("en", "weekday"): "EEEE d MMMM y",
    ("en", "day_month"): "d MMMM",
    ("en", "weekday_month"): "EEEE d MMMM",
    ("en", "month"): "LLLL y",
    ("en", "month_only"): "LLLL",
    ("en", "short"): "dd/MM/y",
}


def day_text(day: date, *, weekday: bool = False) -> str:
    """«12. februar 2027» (or «fredag 12. februar 2027»; nynorsk «tysdag 3. november 2026»;
    English «Friday 12 February 2027»)."""
    return _date(day, "weekday" if weekday else "day")


def day_month_text(day: date, *, weekday: bool = False) -> str:
    """«12. februar» (or «fredag 12. februar»): the year is clear from the context."""
    return _date(day, "weekday_month" if weekday else "day_month")


def month_text(day: date) -> str:
    """«februar 2027»."""
    return _date(day, "month")


def month_name(day: date) -> str:
    """«februar» (a month on its own, as in a chart's axis)."""
    return _date(day, "month_only")


def short_date(day: date) -> str:
    """«12.02.2027»: for tables and form hints."""
    return _date(day, "short")


def klokkeslett(moment: time | datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def at_clock(moment: time | datetime) -> str:
    """«kl. 09:00» / «at 09:00»."""
    return _("kl. %(time)s") % {"time": klokkeslett(moment)}


def date_span(
    start: date,
    end: date | None = None,
    *,
    precision: DatePrecision | str = DatePrecision.DAY,
    note: str | None = None,
    weekday: bool = False,
) -> str:
    """How a schedule says it: «12. februar 2027», «24.–25. september 2024», «uke 40–44 2024»,
    «oktober 2024». A free-text note wins where no precision captures the source; it is
    what someone wrote, so it comes escaped for mrkdwn. With `weekday`, a date known to the
    day says its weekday: «tirsdag 1. desember 2026», «torsdag 24. september – fredag 25.
    september 2026» (weeks, months and notes are as without)."""
    if note:
        return escape(note)
    if weekday and precision not in (DatePrecision.MONTH, DatePrecision.WEEK):
        return _weekday_span(start, end)
    if precision == DatePrecision.MONTH:
        if end and (end.year, end.month) != (start.year, start.month):
            if end.year == start.year:
                return f"{_date(start, 'month_only')}–{month_text(end)}"
            return f"{month_text(start)} – {month_text(end)}"
        return month_text(start)
    if precision == DatePrecision.WEEK:
        first = start.isocalendar().week
        last = end.isocalendar().week if end else first
        year = start.isocalendar().year
        if first == last:
            return _("uke %(week)d %(year)d") % {"week": first, "year": year}
        return _("uke %(first)d–%(last)d %(year)d") % {"first": first, "last": last, "year": year}
    if end is None or end == start:
        return day_text(start)
    if (end.year, end.month) == (start.year, start.month) and current_language() != "en":
        return f"{start.day}.–{day_text(end)}"
    if (end.year, end.month) == (start.year, start.month):
        return f"{start.day}–{day_text(end)}"
    if end.year == start.year:
        return f"{day_month_text(start)} – {day_text(end)}"
    return f"{day_text(start)} – {day_text(end)}"


def _weekday_span(start: date, end: date | None) -> str:
    # Each day keeps its weekday, so a span is never shortened to «24.–25. september».
    if end is None or end == start:
        return day_text(start, weekday=True)
    if end.year == start.year:
        return f"{day_month_text(start, weekday=True)} – {day_text(end, weekday=True)}"
    return f"{day_text(start, weekday=True)} – {day_text(end, weekday=True)}"


def date_and_clock(
    start: date,
    end: date | None,
    *,
    precision: DatePrecision | str,
    note: str | None,
    start_time: time | None,
    end_time: time | None = None,
    meeting: bool,
    weekday: bool = False,
) -> str:
    """When a deadline or meeting occurs, as the lists say it: «12. februar 2027 kl. 12:00»
    for a deadline (its due time), «24. september 2024, kl. 09:00–15:00» for a meeting;
    `weekday` as in `date_span` («fredag 12. februar 2027 kl. 12:00»)."""
    when = date_span(start, end, precision=precision, note=note, weekday=weekday)
    if start_time is None:
        return when
    if not meeting:
        return _("%(when)s kl. %(time)s") % {"when": when, "time": klokkeslett(start_time)}
    clock = klokkeslett(start_time)
    if end_time:
        clock += f"–{klokkeslett(end_time)}"
    return _("%(when)s, kl. %(time)s") % {"when": when, "time": clock}


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
    """«i dag», «i morgen», «om 14 dager», «i går», «for 2 dager siden»; «pågår» within a span.
    Written in each language, not Babel's relative times (not what a coordinator writes)."""
    if end is not None and day < today <= end:
        return _("pågår nå")
    delta = (day - today).days
    if delta == 0:
        return _("i dag")
    if delta == 1:
        return _("i morgen")
    if delta == -1:
        return _("i går")
    if delta > 1:
        return ngettext("om %(n)d dag", "om %(n)d dager", delta) % {"n": delta}
    return ngettext("for %(n)d dag siden", "for %(n)d dager siden", -delta) % {"n": -delta}


def overdue_distance(day: date, today: date) -> str:
    delta = (today - day).days
    if delta == 1:
        return _("forfalt i går")
    return ngettext("forfalt for %(n)d dag siden", "forfalt for %(n)d dager siden", delta) % {
        "n": delta
    }


def decimal_text(value: float, pattern: str = "#,##0.0") -> str:
    """«4,5» in Norwegian, «4.5» in English."""
    return format_decimal(value, format=pattern, locale=babel_locale())


def percent_text(value: float) -> str:
    """«75 %» in Norwegian, «75%» in English."""
    return format_percent(value, locale=babel_locale())


def slack_time(moment: datetime, tz: ZoneInfo) -> str:
    """Slack's date token for the clock time (every reader sees their own time zone); the
    fallback is the bot's local time. Dates are written by Babel: the token's are English."""
    fallback = klokkeslett(moment.astimezone(tz))
    return f"<!date^{int(moment.timestamp())}^{{time}}|{fallback}>"
