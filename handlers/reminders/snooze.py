"""When «Minn meg på …» may bring a reminder back: never after its item starts (or is due),
never at night or on a closed day.

A reminder offers the next working morning («i morgen») while that still comes before the
item; closer to it, times later the same day that do (an hour on, noon, mid-afternoon); and
none when the item is too close. The click is checked again on the server, because a message
posted earlier (or before this rule) may still show a button that no longer fits.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.posting_times import at_local, may_post_at, snooze_until

TOMORROW = "tomorrow"
SAME_DAY = ("1h", "12", "15")


def snooze_at(choice: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When a choice brings the reminder back; None for a choice the bot never offers."""
    if choice == TOMORROW:
        return snooze_until(now, tz)
    if choice == "1h":
        return (now + timedelta(hours=1)).replace(second=0, microsecond=0).astimezone(UTC)
    if choice in SAME_DAY:
        return at_local(now.astimezone(tz).date(), time(int(choice)), tz)
    return None


def snooze_fits(at: datetime, *, now: datetime, begins: datetime, tz: ZoneInfo) -> bool:
    """Later than now, before the item begins, and when reminders may be posted."""
    return now < at < begins and may_post_at(at, tz)


def snooze_choices(now: datetime, begins: datetime, tz: ZoneInfo) -> tuple[str, ...]:
    """The choices a reminder offers now (see the module's docstring)."""
    if snooze_fits(snooze_until(now, tz), now=now, begins=begins, tz=tz):
        return (TOMORROW,)
    return tuple(
        choice
        for choice in SAME_DAY
        if (at := snooze_at(choice, now, tz)) and snooze_fits(at, now=now, begins=begins, tz=tz)
    )
