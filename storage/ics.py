"""A workspace's calendar as RFC 5545 iCalendar (Outlook, Google Calendar, Apple Calendar),
and the secret token of its subscribable feed.

The token is stored only as its SHA-256: the feed is found by hashing the token in the
address, so a copy of the database (a backup, a leak) opens no one's calendar. The price is
that the address can be shown only when it is made; «Lag ny adresse» makes another. A hash,
not encryption with a key from the environment: the token's one use is to be looked up, a
hash needs no key to keep, rotate or lose (a lost key would end every subscription), and 256
random bits need no salt or slow hash.

Items keep local dates and wall-clock times, so events carry TZID=<BOT_TIMEZONE> with a
VTIMEZONE in the file; a yearly meeting «kl. 09:00» stays at 09:00 across daylight saving.
Days without a time, and week or month spans («uke 40–44», «oktober 2024»), are all-day
events; a month-precision date covers its whole month(s), 1st to 1st, since the bot itself
says only «oktober 2024». A meeting with a start but no end gets DEFAULT_MEETING_LENGTH.
Recurring items carry their RRULE; undated items are left out until they get a date.
Deadlines carry one VALARM per reminder day (the item's own, else the workspace's, else the
defaults: storage.reminders.offsets_for), at 09:00 that many days before.

The bot's words in the file (the calendar's name, «Frist:», the lines around a description)
are marked `_()` here and translated by the `Wording` the caller passes: storage has no
language of its own, so the feed and the exports pass the workspace's
(handlers.calendar.feed.wording). The items' own titles and descriptions are data.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from icalendar import (
    Alarm,
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vRecur,
)
from sqlmodel import Session, col, select

from storage import audit
from storage.calendar import rule_days
from storage.models import (
    CalendarFeed,
    DatePrecision,
    Deadline,
    DeadlineDone,
    Meeting,
    MeetingForm,
    Workspace,
)
from storage.models.calendar import PLAIN_MEETING_KIND
from storage.posting_times import REMINDER_TIME
from storage.reminders import offsets_for

PRODID = "-//DKS-boten//dks-bot//NO"
# A meeting with a start time and no end. Two hours, not the one hour calendar apps assume:
# what the bot's meetings are (network meetings, gatherings, kulturkontakt meetings) takes
# an afternoon slot, and an invented end should block the time people set aside for it
# rather than show them free halfway through.
DEFAULT_MEETING_LENGTH = timedelta(hours=2)
# Recurring month-precision items: how many years ahead each occurrence gets its own month's
# length (see _month_overrides). The feed is fetched hourly, so the window moves along.
MONTH_OVERRIDE_YEARS = 5
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _source_day(day: date) -> str:
    return format_date(day, "d. MMMM y", locale="nb_NO")


def _source(message: str) -> str:
    return message


@dataclass(frozen=True)
class Wording:
    """How the file speaks: `gettext` translates the bot's words (bokmål, marked `_()` in this
    module) and `day` writes a date. The default is the source language, bokmål."""

    gettext: Callable[[str], str] = field(default=_source)
    day: Callable[[date], str] = field(default=_source_day)


SOURCE_WORDING = Wording()


def form_word(form: str | None, wording: Wording = SOURCE_WORDING) -> str | None:
    """«digitalt», «fysisk oppmøte», «fysisk og digitalt»; None when unknown."""
    _ = wording.gettext
    if form == MeetingForm.DIGITAL:
        return _("digitalt")
    if form == MeetingForm.PHYSICAL:
        return _("fysisk oppmøte")
    if form == MeetingForm.HYBRID:
        return _("fysisk og digitalt")
    return None


# --- Time zone -----------------------------------------------------------------------------------


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _follows_eu_rule(tz: ZoneInfo, years: Iterable[int]) -> tuple[timedelta, timedelta] | None:
    """(standard, summer) offsets if `tz` changes at 01:00 UTC on the last Sundays of March
    and October in every one of `years` (EU rules since 1996), else None."""
    offsets: tuple[timedelta, timedelta] | None = None
    for year in years:
        moments = []
        for month in (3, 10):
            change = datetime.combine(_last_sunday(year, month), time(1), tzinfo=UTC)
            before = (change - timedelta(minutes=1)).astimezone(tz).utcoffset()
            after = change.astimezone(tz).utcoffset()
            moments.append((before, after))
        (std_a, dst_a), (dst_b, std_b) = moments
        if std_a is None or dst_a is None or std_a != std_b or dst_a != dst_b or std_a == dst_a:
            return None
        if offsets is None:
            offsets = (std_a, dst_a)
        elif offsets != (std_a, dst_a):
            return None
    return offsets


def vtimezone(tz: ZoneInfo, first_year: int, last_year: int) -> Timezone:
    """A compact VTIMEZONE with yearly rules, as Outlook and Google write them, when the zone
    follows EU rules over the years the calendar covers; otherwise the zone's transitions."""
    component = Timezone()
    component.add("tzid", tz.key)
    component.add("x-lic-location", tz.key)
    eu = _follows_eu_rule(tz, range(max(first_year, 1997), max(last_year, 1997) + 1))
    if eu is None:
        return Timezone.from_tzinfo(
            tz, tzid=tz.key, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
        )
    standard, summer = eu
    one_am = datetime(1970, 1, 1, 1)
    for kind, month, frm, to, day in (
        (TimezoneDaylight, 3, standard, summer, date(1970, 3, 29)),
        (TimezoneStandard, 10, summer, standard, date(1970, 10, 25)),
    ):
        sub = kind()
        sample = datetime(2026, 7 if kind is TimezoneDaylight else 1, 15, 12, tzinfo=tz)
        sub.add("tzname", sample.tzname() or tz.key)
        sub.add("tzoffsetfrom", frm)
        sub.add("tzoffsetto", to)
        # The change happens at 01:00 UTC, i.e. at that wall-clock time before the change.
        sub.add("dtstart", datetime.combine(day, (one_am + frm).time()))
        sub.add("rrule", {"freq": "yearly", "bymonth": month, "byday": "-1SU"})
        component.add_component(sub)
    return component


# --- Events --------------------------------------------------------------------------------------


def _rule(rule: str, *, timed: bool, start_time: time | None, tz: ZoneInfo) -> vRecur:
    recur = vRecur.from_ical(rule)
    until = recur.get("UNTIL")
    if until and timed:
        # RFC 5545: with a DTSTART in local time, UNTIL is a UTC date-time (inclusive).
        last = until[0] if not isinstance(until[0], datetime) else until[0].date()
        recur["UNTIL"] = [datetime.combine(last, time(23, 59, 59), tzinfo=tz).astimezone(UTC)]
    return recur


def _description(item: Deadline | Meeting, wording: Wording) -> str:
    _ = wording.gettext
    lines = []
    if item.date_note:
        lines.append(_("Dato: %(note)s") % {"note": item.date_note})
    if item.precision == DatePrecision.WEEK:
        lines.append(_("Datoen gjelder uka (eller ukene), ikke en bestemt dag."))
    elif item.precision == DatePrecision.MONTH:
        lines.append(_("Datoen gjelder måneden, ikke en bestemt dag."))
    if item.rrule and item.confirmed_until:
        lines.append(
            _("Datoer etter %(day)s er forventet og ikke bekreftet ennå.")
            % {"day": wording.day(item.confirmed_until)}
        )
    if item.description:
        lines.append(item.description)
    if item.audience:
        lines.append(_("Gjelder: %(audience)s") % {"audience": item.audience})
    if item.link:
        lines.append(_("Lenke: %(link)s") % {"link": item.link})
    return "\n\n".join(lines)


def uid_of(kind: str, item_id: int, team_id: str) -> str:
    return f"dks-{kind}-{item_id}-{team_id.lower()}@dks-bot"


def months_of(item: Deadline | Meeting) -> int | None:
    """How many calendar months a month-precision item covers («oktober 2024»: 1, «juni–august
    2025»: 3); None for any other precision."""
    first = item.due_date if isinstance(item, Deadline) else item.start_date
    if item.precision != DatePrecision.MONTH or first is None:
        return None
    last = item.end_date if item.end_date is not None and item.end_date >= first else first
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _month_start(day: date, months: int = 0) -> date:
    """The 1st of `day`'s month, `months` months on (held at the last date there is)."""
    index = day.year * 12 + day.month - 1 + months
    if index // 12 > date.max.year:
        return date.max
    return date(index // 12, index % 12 + 1, 1)


def _event(
    *,
    uid: str,
    summary: str,
    start: date,
    start_time: time | None,
    end: date | None,
    end_time: time | None,
    rule: str | None,
    tz: ZoneInfo,
    stamp: datetime,
    months: int | None = None,
    length: timedelta | None = None,
    recurrence_id: date | None = None,
) -> Event:
    """One VEVENT. `months`: a month-precision item, all day from the 1st of its first month
    to the 1st after its last (DTEND is exclusive, as RFC 5545 says). `length`: how long a
    timed item with no end lasts (None: it is a moment, as a deadline is). `recurrence_id`:
    this event replaces that occurrence of the item's RRULE."""
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("summary", summary)
    timed = start_time is not None and not months
    if months:
        first = _month_start(start)
        event.add("dtstart", first)
        event.add("dtend", _month_start(first, months))
    elif start_time is None:
        event.add("dtstart", start)
        event.add("dtend", (end or start) + timedelta(days=1))  # exclusive, as RFC 5545 says
    else:
        begins = datetime.combine(start, start_time, tzinfo=tz)
        event.add("dtstart", begins)
        if end_time is not None:
            event.add("dtend", datetime.combine(end or start, end_time, tzinfo=tz))
        elif end is not None and end != start:
            event.add("dtend", datetime.combine(end + timedelta(days=1), time(), tzinfo=tz))
        elif length is not None:
            event.add("dtend", begins + length)  # wall-clock arithmetic, as the item's times
    if recurrence_id is not None:
        event.add("recurrence-id", recurrence_id)
    if rule:
        event.add("rrule", _rule(rule, timed=timed, start_time=start_time, tz=tz))
    return event


def _month_overrides(item: Deadline | Meeting, today: date) -> list[date]:
    """Occurrences of a recurring month-precision item whose months are not as long as its
    first one's, from last year to MONTH_OVERRIDE_YEARS ahead.

    An RRULE gives every occurrence the first one's length, so a yearly «februar» would lose
    the 29th in leap years and a monthly item starting in January would run three days into
    March. Each of these occurrences gets its own VEVENT (same UID, RECURRENCE-ID) spanning
    its own month(s). Outside the window an occurrence keeps the first one's length; the feed
    is fetched again every hour, so the window moves along with time."""
    months = months_of(item)
    first = item.due_date if isinstance(item, Deadline) else item.start_date
    if not months or not item.rrule or first is None:
        return []
    start = _month_start(first)
    length = _month_start(start, months) - start
    days = rule_days(
        item.rrule,
        start,
        date(max(today.year - 1, 1), 1, 1),
        date(min(today.year + MONTH_OVERRIDE_YEARS, date.max.year), 12, 31),
    )
    return [day for day in days if _month_start(day, months) - _month_start(day) != length]


def _add_alarms(
    event: Event, *, offsets: Sequence[int], start_time: time | None, text: str
) -> None:
    """One VALARM per reminder day: at 09:00 (REMINDER_TIME, local) `offset` days before the
    start, as the bot's own reminders (which also move off weekends and holidays; an alarm
    relative to the start cannot, since it is the same for every occurrence).

    TRIGGER is relative to the start, so one alarm serves every occurrence of a recurring
    deadline. RFC 5545 counts a duration's days as nominal days (the same wall-clock time that
    many days earlier, across daylight saving) and its hours and minutes exactly, so:
    an all-day deadline starts at 00:00, and 7 days before at 09:00 is «-P6DT15H» (six
    nominal days back to 00:00, then 15 hours back to 09:00 the day before); a deadline at
    12:00 gives «-P7DT3H». The exact part can only be an hour off when a clock change falls
    inside it: the 09:00–start stretch of a deadline before 09:00, or a same-day alarm
    («PT9H»), on the Sunday the clocks change. Like the bot, an alarm at or after a timed
    deadline is left out."""
    clock = start_time or time()
    after_start = timedelta(hours=clock.hour, minutes=clock.minute) - timedelta(
        hours=REMINDER_TIME.hour, minutes=REMINDER_TIME.minute
    )
    for offset in sorted(set(offsets), reverse=True):
        before = timedelta(days=offset) + after_start
        if start_time is not None and before <= timedelta(0):
            continue
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", text)
        alarm.add("trigger", -before)
        event.add_component(alarm)


def deadline_event(
    row: Deadline,
    *,
    team_id: str,
    tz: ZoneInfo,
    stamp: datetime,
    done: bool = False,
    wording: Wording = SOURCE_WORDING,
    offsets: Sequence[int] = (),
    occurrence: date | None = None,
) -> Event:
    """The deadline as a VEVENT with a VALARM per day in `offsets`; with `occurrence`, the
    VEVENT that replaces that one occurrence of its RRULE (see _month_overrides)."""
    assert row.due_date is not None and row.id is not None
    _ = wording.gettext
    prefix = "✓ " if done else ""
    summary = prefix + _("Frist: %(title)s") % {"title": row.title}
    event = _event(
        uid=uid_of("deadline", row.id, team_id),
        summary=summary,
        start=occurrence or row.due_date,
        start_time=row.due_time,
        end=row.end_date,
        end_time=None,
        rule=None if occurrence else row.rrule,
        tz=tz,
        stamp=stamp,
        months=months_of(row),
        recurrence_id=occurrence,
    )
    event.add("categories", ["DKS", _("Frist")])
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    if text := _description(row, wording):
        event.add("description", text)
    if row.link:
        event.add("url", row.link)
    timed = row.due_time if months_of(row) is None else None
    _add_alarms(event, offsets=offsets, start_time=timed, text=summary)
    return event


def meeting_event(
    row: Meeting,
    *,
    team_id: str,
    tz: ZoneInfo,
    stamp: datetime,
    wording: Wording = SOURCE_WORDING,
    occurrence: date | None = None,
) -> Event:
    """The meeting as a VEVENT; with `occurrence`, the VEVENT that replaces that one
    occurrence of its RRULE (see _month_overrides)."""
    assert row.start_date is not None and row.id is not None
    event = _event(
        uid=uid_of("meeting", row.id, team_id),
        summary=row.title,
        start=occurrence or row.start_date,
        start_time=row.start_time,
        end=row.end_date,
        end_time=row.end_time,
        rule=None if occurrence else row.rrule,
        tz=tz,
        stamp=stamp,
        months=months_of(row),
        length=DEFAULT_MEETING_LENGTH,
        recurrence_id=occurrence,
    )
    _ = wording.gettext
    plain = row.kind.casefold() == PLAIN_MEETING_KIND
    event.add("categories", ["DKS", _("Møte") if plain else row.kind.capitalize()])
    event.add("transp", "OPAQUE")
    where = [p for p in (row.place, form_word(row.form, wording)) if p]
    if where:
        event.add("location", ", ".join(where))
    if text := _description(row, wording):
        event.add("description", text)
    if row.link:
        event.add("url", row.link)
    return event


def calendar_ics(
    *,
    session: Session,
    team_id: str,
    tz: ZoneInfo,
    now: datetime,
    wording: Wording = SOURCE_WORDING,
    name: str | None = None,
) -> bytes:
    """Every dated deadline and meeting of the workspace as one iCalendar file, in `wording`
    (the workspace's language: see handlers.calendar.feed.workspace_ics)."""
    _ = wording.gettext
    name = name or _("DKS-kalender")
    stamp = now.astimezone(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz.key)
    cal.add("x-published-ttl", "PT1H")
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    deadlines = list(
        session.exec(
            select(Deadline)
            .where(col(Deadline.team_id) == team_id, col(Deadline.due_date).is_not(None))
            .order_by(col(Deadline.due_date), col(Deadline.id))
        )
    )
    meetings = list(
        session.exec(
            select(Meeting)
            .where(col(Meeting.team_id) == team_id, col(Meeting.start_date).is_not(None))
            .order_by(col(Meeting.start_date), col(Meeting.id))
        )
    )
    done = {
        (d, o)
        for d, o in session.exec(
            select(col(DeadlineDone.deadline_id), col(DeadlineDone.occurrence)).where(
                col(DeadlineDone.team_id) == team_id
            )
        )
    }
    years = [d.due_date.year for d in deadlines if d.due_date] + [
        m.start_date.year for m in meetings if m.start_date
    ]
    first = min(years, default=now.year)
    last = max([*years, now.year]) + 10
    cal.add_component(vtimezone(tz, first, last))
    # The reminder days come from the workspace's settings row; one not made yet has defaults.
    workspace = session.get(Workspace, team_id) or Workspace(team_id=team_id)
    today = now.astimezone(tz).date()
    for row in deadlines:
        is_done = not row.rrule and (row.id, row.due_date) in done
        # As the bot's own reminders: none for a month («oktober»: which day?) nor after
        # «Ferdig».
        remind = not is_done and row.precision != DatePrecision.MONTH
        offsets = offsets_for(row, "deadline", workspace) if remind else ()
        for occurrence in (None, *_month_overrides(row, today)):
            cal.add_component(
                deadline_event(
                    row,
                    team_id=team_id,
                    tz=tz,
                    stamp=stamp,
                    done=is_done,
                    wording=wording,
                    offsets=offsets,
                    occurrence=occurrence,
                )
            )
    for meeting in meetings:
        for occurrence in (None, *_month_overrides(meeting, today)):
            cal.add_component(
                meeting_event(
                    meeting,
                    team_id=team_id,
                    tz=tz,
                    stamp=stamp,
                    wording=wording,
                    occurrence=occurrence,
                )
            )
    return cal.to_ical()


# --- The subscribable feed -----------------------------------------------------------------------


def token_hash(token: str) -> str:
    """What is stored of a feed token (migration 0010 hashed the tokens stored before)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Feed:
    """A workspace's feed as `/dks kalender` shows it. `token` is the secret only right after
    it was made (ensure_feed, rotate_feed); None means none was made now, or none exists
    (`token_created_at` tells which)."""

    team_id: str
    token: str | None
    token_created_at: datetime | None


def get_feed(*, session: Session, team_id: str) -> CalendarFeed | None:
    return session.get(CalendarFeed, team_id)


def team_for_token(*, session: Session, token: str) -> str | None:
    if not _TOKEN.fullmatch(token or ""):
        return None
    hashed = token_hash(token)
    row = session.exec(select(CalendarFeed).where(col(CalendarFeed.token_hash) == hashed)).first()
    if row is None or row.token_hash is None or not secrets.compare_digest(row.token_hash, hashed):
        return None
    return row.team_id


def ensure_feed(*, session: Session, team_id: str, user_id: str, now: datetime) -> Feed:
    """The workspace's feed, with a token made now if it has none yet."""
    feed = session.get(CalendarFeed, team_id)
    if feed is None:
        feed = CalendarFeed(team_id=team_id)
    token = None
    if feed.token_hash is None:
        token = _new_token(session, feed, user_id=user_id, now=now, action="create")
    session.add(feed)
    session.flush()
    return Feed(team_id, token, feed.token_created_at)


def rotate_feed(*, session: Session, team_id: str, user_id: str, now: datetime) -> Feed:
    """A new secret token: the old address stops working at once."""
    feed = session.get(CalendarFeed, team_id) or CalendarFeed(team_id=team_id)
    token = _new_token(session, feed, user_id=user_id, now=now, action="rotate")
    session.add(feed)
    session.flush()
    return Feed(team_id, token, feed.token_created_at)


def _new_token(
    session: Session, feed: CalendarFeed, *, user_id: str, now: datetime, action: str
) -> str:
    token = secrets.token_urlsafe(32)  # 43 characters, 256 bits
    feed.token_hash = token_hash(token)
    feed.token_created_at = now
    feed.token_created_by = user_id
    audit.record(
        session=session,
        team_id=feed.team_id,
        user_id=user_id,
        action=action,
        item_kind="calendar_feed",
        summary="Ny adresse for kalenderabonnementet",
        at=now,
    )
    return token


def remember_base_url(*, session: Session, team_id: str, base_url: str) -> None:
    feed = session.get(CalendarFeed, team_id) or CalendarFeed(team_id=team_id)
    if feed.base_url != base_url:
        feed.base_url = base_url
        session.add(feed)
        session.flush()


def delete_feed(*, session: Session, team_id: str) -> bool:
    """The workspace's feed address stops working (uninstalled); True if there was one."""
    feed = session.get(CalendarFeed, team_id)
    if feed is None:
        return False
    session.delete(feed)
    session.flush()
    return True
