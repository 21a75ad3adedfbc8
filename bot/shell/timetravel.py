"""Moving the local shell's clock forward (`tid +3d`), and posting what falls due on the way.

`ShellClock` is the shell's clock: it starts at the real time, ticks on with it, and jumps
only forward. `travel` moves it to a target through every moment something is due in
between, in order: at each it plans what that moment makes plannable (as the clock process's
refresh would), puts the clock exactly at the row's time and ticks. So every message goes out
on its time, as if the shell had been running all along: none late (no late note), none
skipped as missed, reminders only when planning allows them (never at night or on holidays).

The scheduler it drives must be scoped to the shell's workspace (`build_scheduler(...,
teams=(team_id,))`): the database may hold real workspaces, whose rows a moved clock would
otherwise post early or skip, and whose data the retention rule would delete.
"""

from __future__ import annotations

import threading
import time as monotime
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.scheduler.delivery import MAX_ATTEMPTS, TickStats
from bot.scheduler.engine import Scheduler
from handlers.core.format import day_month_text, klokkeslett
from handlers.core.i18n import _
from storage.db import session_scope
from storage.outbox import Due, next_due

# The longest jump between two plannings: well inside the shortest time a planner plans ahead
# (the January report post's three days; reminders sixty), so nothing is planned too late.
REPLAN_EVERY = timedelta(hours=12)
# A row found due this many times on one journey keeps coming back (given back, retried at
# once, a kind nobody renders): the journey stops there. A row retried until it fails is
# found at most MAX_ATTEMPTS times.
MAX_TURNS_PER_ROW = 2 * MAX_ATTEMPTS


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the shell's clock takes timezone-aware instants")
    return moment.astimezone(UTC)


class ShellClock:
    """A clock (`Clock`: called, it returns an aware UTC datetime) that starts at `start`
    (the real time by default), follows real time, and can be moved forward, never back.

    Real time is counted on the monotonic clock, so a wall clock set back on the machine
    does not set it back either. Safe to read from any thread."""

    def __init__(self, start: datetime | None = None) -> None:
        self._base = _aware(start) if start is not None else datetime.now(UTC)
        self._since = monotime.monotonic()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._read()

    def _read(self) -> datetime:
        return self._base + timedelta(seconds=monotime.monotonic() - self._since)

    def advance_to(self, moment: datetime) -> datetime:
        """Set the clock to `moment`; from there it follows real time again. A moment in its
        past raises ValueError: the clock never goes back."""
        moment = _aware(moment)
        with self._lock:
            now = self._read()
            if moment < now:
                raise ValueError(f"the clock cannot go back from {now} to {moment}")
            self._set(moment)
        return moment

    def at_least(self, moment: datetime) -> datetime:
        """Set the clock to `moment`, or leave it if it is already there or past; returns
        where it is."""
        moment = _aware(moment)
        with self._lock:
            now = self._read()
            if moment <= now:
                return now
            self._set(moment)
        return moment

    def advance_by(self, delta: timedelta) -> datetime:
        """Move the clock `delta` forward (`tid +3d`)."""
        if delta < timedelta(0):
            raise ValueError("the clock cannot go back")
        with self._lock:
            moment = self._read() + delta
            self._set(moment)
        return moment

    def _set(self, moment: datetime) -> None:
        self._base, self._since = moment, monotime.monotonic()


@dataclass(frozen=True)
class Step:
    """One moment of a journey at which the scheduler did something: the clock's time, how
    many messages it posted then (in the order Slack got them), and the tick's full count.
    `stuck` is set on the last step when the journey stopped at a row that kept coming back
    (its clock is where the journey stopped, before that row's time)."""

    moment: datetime
    posted: int
    stats: TickStats
    stuck: Due | None = None


def travel(
    scheduler: Scheduler,
    clock: ShellClock,
    target: datetime,
    *,
    on_step: Callable[[Step], None] | None = None,
) -> list[Step]:
    """Move `clock` forward to `target`, posting everything due on the way at its own time.

    At each moment: plan (`scheduler.refresh`), tick, then find the earliest row of the
    scheduler's workspaces due after it and no later than `target` and move the clock exactly
    there; with none within REPLAN_EVERY the clock moves that far to plan again. The last
    moment is `target` itself. Returns the steps at which something was claimed, in order;
    `on_step` gets each as it happens (the shell prints a heading before that moment's
    messages). `scheduler` must use `clock`, be scoped (`teams`), and should claim nothing
    ahead of its time (`lookahead=timedelta(0)`): a row claimed ahead is posted when real
    time reaches it."""
    if scheduler.clock is not clock:
        raise ValueError("the scheduler must run on the clock it travels with")
    if scheduler.teams is None:
        raise ValueError("only a scheduler scoped to the shell's workspace may travel")
    target = _aware(target)
    moment = clock()
    if target < moment:
        raise ValueError("the clock cannot go back")
    steps: list[Step] = []
    turns: Counter[int] = Counter()
    while True:
        scheduler.refresh(moment)
        stats = scheduler.tick()
        if stats.claimed:
            step = Step(moment=moment, posted=stats.sent, stats=stats)
            steps.append(step)
            if on_step is not None:
                on_step(step)
        if moment >= target:
            return steps
        horizon = min(target, moment + REPLAN_EVERY)
        with session_scope(scheduler.engine) as session:
            due = next_due(session=session, team_ids=scheduler.teams, after=moment, until=horizon)
        if due is not None:
            turns[due.id] += 1
            if turns[due.id] > MAX_TURNS_PER_ROW:
                stuck = Step(moment=clock(), posted=0, stats=TickStats(), stuck=due)
                steps.append(stuck)
                if on_step is not None:
                    on_step(stuck)
                return steps
        # Exactly at the row's time, unless the clock (following real time during the tick)
        # already passed it by a few milliseconds.
        moment = clock.at_least(due.available_at if due is not None else horizon)


def step_header(moment: datetime, tz: ZoneInfo) -> str:
    """«— tirsdag 9. februar kl. 09:00 —»: what the shell prints before a moment's messages."""
    local = moment.astimezone(tz)
    when = _("%(when)s kl. %(time)s") % {
        "when": day_month_text(local.date(), weekday=True),
        "time": klokkeslett(local),
    }
    return f"— {when} —"
