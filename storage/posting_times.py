"""When the bot may post: local wall-clock times, quiet hours (21:00–07:00) and working days.

All in the bot's time zone, so 09:00 stays 09:00 across daylight-saving changes. Working days
(weekends, Norwegian public holidays, the extra closed days) are storage.calendar's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.calendar import is_working_day, next_working_day

REMINDER_TIME = time(9, 0)
QUIET_START = time(21, 0)
QUIET_END = time(7, 0)


def at_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as an aware UTC instant (zoneinfo applies the day's offset)."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def in_quiet_hours(moment: datetime, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz).time()
    return local >= QUIET_START or local < QUIET_END


def next_allowed(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` if a message may be posted then, else the next 07:00 (moving forward only)."""
    if not in_quiet_hours(moment, tz):
        return moment.astimezone(UTC)
    local = moment.astimezone(tz)
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return at_local(day, QUIET_END, tz)


def may_post_at(moment: datetime, tz: ZoneInfo) -> bool:
    """Whether a reminder moved by hand or by a late plan may come then: a working day, 07–21."""
    return is_working_day(moment.astimezone(tz).date()) and not in_quiet_hours(moment, tz)


def next_working_moment(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` if `may_post_at` it, else 07:00 on the first working day that allows it."""
    if may_post_at(moment, tz):
        return moment.astimezone(UTC)
    local = moment.astimezone(tz)
    day = local.date()
    if local.time() >= QUIET_END or not is_working_day(day):
        day = next_working_day(day)
    return at_local(day, QUIET_END, tz)


def snooze_until(now: datetime, tz: ZoneInfo) -> datetime:
    """«Minn meg på i morgen»: the next working day at 09:00."""
    return at_local(next_working_day(now.astimezone(tz).date()), REMINDER_TIME, tz)
