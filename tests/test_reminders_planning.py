"""Reminder planning: offsets, weekend and holiday shifts, quiet hours, DST, snooze."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.settings import Settings
from storage.calendar import is_working_day
from storage.db import session_scope
from storage.models import DatePrecision, Workspace
from storage.posting_times import next_allowed, snooze_until
from storage.reminders import (
    OffsetError,
    mark_done,
    parse_offsets,
    plan,
    previous_working_day,
)
from tests.helpers import add_deadline, add_meeting

OSLO = ZoneInfo("Europe/Oslo")
TEAM = "T0PLAN"


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def oslo(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=OSLO)


def workspace(engine, **fields) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine, write=True) as session:
        session.merge(Workspace(team_id=TEAM, reminder_channel_id="C0REM", **fields))


def planned(engine, now: datetime, until: datetime) -> list[tuple[str, datetime, int]]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        ws = session.get(Workspace, TEAM)
        assert ws is not None
        return [
            (p.title, p.at, p.offset)
            for p in plan(session=session, workspace=ws, now=now, until=until, tz=OSLO)
        ]


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2027, 3, 24), True),  # Wednesday before Easter
        (date(2027, 3, 25), False),  # Maundy Thursday
        (date(2027, 3, 26), False),  # Good Friday
        (date(2027, 3, 29), False),  # Easter Monday
        (date(2027, 5, 17), False),  # Constitution Day
        (date(2027, 5, 6), False),  # Ascension Day
        (date(2026, 12, 23), True),
        (date(2026, 12, 24), False),  # Christmas Eve: no holiday by law, but offices close
        (date(2026, 12, 31), False),  # New Year's Eve, likewise (DKS_EXTRA_CLOSED_DAYS)
        (date(2026, 12, 25), False),
        (date(2026, 12, 26), False),
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 11, 29), False),  # Sunday
    ],
)
def test_working_days_follow_norwegian_holidays(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_previous_working_day_jumps_back_over_easter() -> None:
    assert previous_working_day(date(2027, 3, 29)) == date(2027, 3, 24)


def test_deadline_defaults_are_14_7_and_1_days_before_at_nine_oslo_time(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine)
    add_deadline(engine, TEAM, "Rapport", date(2027, 2, 12))  # a Friday
    got = planned(engine, utc(2027, 1, 1, 0), utc(2027, 3, 1, 0))
    assert got == [
        ("Rapport", utc(2027, 1, 29, 8), 14),  # 09:00 CET is 08:00 UTC
        ("Rapport", utc(2027, 2, 5, 8), 7),
        ("Rapport", utc(2027, 2, 11, 8), 1),
    ]


def test_reminders_on_weekends_move_to_the_friday_before(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine)
    add_deadline(engine, TEAM, "Mandagsfrist", date(2026, 12, 7))  # Monday
    got = planned(engine, utc(2026, 11, 24, 9), utc(2026, 12, 31, 0))
    # 14 days before is Monday 23 Nov (in the past), 7 days is Monday 30 Nov, 1 day is Sunday.
    assert got == [
        ("Mandagsfrist", utc(2026, 11, 30, 8), 7),
        ("Mandagsfrist", utc(2026, 12, 4, 8), 1),
    ]


def test_easter_shifts_to_the_wednesday_before_maundy_thursday(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine, reminder_offsets_days="1")
    add_deadline(engine, TEAM, "Etter påske", date(2027, 3, 30))  # Tuesday after Easter Monday
    got = planned(engine, utc(2027, 3, 1, 0), utc(2027, 4, 30, 0))
    assert got == [("Etter påske", utc(2027, 3, 24, 8), 1)]


def test_17_may_and_christmas_shift_to_the_working_day_before(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine, reminder_offsets_days="1")
    add_deadline(engine, TEAM, "Etter 17. mai", date(2027, 5, 18))
    add_deadline(engine, TEAM, "Romjul", date(2026, 12, 28))
    got = planned(engine, utc(2026, 12, 1, 0), utc(2027, 6, 1, 0))
    assert got == [
        ("Romjul", utc(2026, 12, 23, 8), 1),  # 27 Sun, 26 and 25 holidays, 24 closed → 23
        ("Etter 17. mai", utc(2027, 5, 14, 7), 1),  # 17 May Mon, 16 Sun, 15 Sat → Fri, CEST
    ]


def test_two_offsets_landing_on_one_day_give_one_reminder(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine, reminder_offsets_days="3,2,1")
    add_deadline(engine, TEAM, "Mandag", date(2026, 12, 7))
    got = planned(engine, utc(2026, 11, 24, 9), utc(2026, 12, 31, 0))
    # 3 days before is Friday; 2 (Sat) and 1 (Sun) move to the same Friday: one reminder.
    assert got == [("Mandag", utc(2026, 12, 4, 8), 3)]


def test_march_dst_week_keeps_nine_local(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine)
    add_meeting(engine, TEAM, "Nettverksmøte", date(2027, 3, 31), start_time=time(9, 0))
    got = planned(engine, utc(2027, 3, 1, 0), utc(2027, 4, 30, 0))
    # Summer time starts Sunday 28 March 2027: 09:00 is 08:00 UTC before, 07:00 UTC after.
    assert got == [
        ("Nettverksmøte", utc(2027, 3, 24, 8), 7),
        ("Nettverksmøte", utc(2027, 3, 30, 7), 1),
    ]
    assert all(at.astimezone(OSLO).time() == time(9, 0) for _, at, _ in got)


def test_october_dst_week_keeps_nine_local(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine)
    add_deadline(engine, TEAM, "Høstfrist", date(2027, 11, 2), due_time=time(12, 0))
    got = planned(engine, utc(2027, 10, 1, 0), utc(2027, 11, 30, 0))
    # Winter time starts Sunday 31 October 2027.
    assert got == [
        ("Høstfrist", utc(2027, 10, 19, 7), 14),
        ("Høstfrist", utc(2027, 10, 26, 7), 7),
        ("Høstfrist", utc(2027, 11, 1, 8), 1),
    ]


def test_meetings_after_ten_also_get_a_same_morning_reminder(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine)
    add_meeting(engine, TEAM, "Ettermiddag", date(2026, 12, 9), start_time=time(12, 30))
    add_meeting(engine, TEAM, "Klokka ti", date(2026, 12, 10), start_time=time(10, 0))
    got = planned(engine, utc(2026, 11, 24, 9), utc(2026, 12, 31, 0))
    assert got == [
        ("Ettermiddag", utc(2026, 12, 2, 8), 7),
        ("Klokka ti", utc(2026, 12, 3, 8), 7),
        ("Ettermiddag", utc(2026, 12, 8, 8), 1),
        ("Ettermiddag", utc(2026, 12, 9, 8), 0),
        ("Klokka ti", utc(2026, 12, 9, 8), 1),
    ]


def test_item_offsets_win_over_workspace_offsets_and_done_occurrences_are_skipped(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine, reminder_offsets_days="2")
    own = add_deadline(engine, TEAM, "Egen", date(2026, 12, 11), reminder_offsets_days="4")
    add_deadline(engine, TEAM, "Arvet", date(2026, 12, 11))
    add_deadline(engine, TEAM, "Månedlig", date(2026, 12, 1), precision=DatePrecision.MONTH)
    got = planned(engine, utc(2026, 11, 24, 9), utc(2026, 12, 31, 0))
    assert got == [("Egen", utc(2026, 12, 7, 8), 4), ("Arvet", utc(2026, 12, 9, 8), 2)]
    with session_scope(engine, write=True) as session:
        mark_done(
            session=session,
            team_id=TEAM,
            deadline_id=own,
            occurrence=date(2026, 12, 11),
            user_id="U1",
            now=utc(2026, 11, 24, 9),
        )
    got = planned(engine, utc(2026, 11, 24, 9), utc(2026, 12, 31, 0))
    assert [g[0] for g in got] == ["Arvet"]


def test_yearly_deadline_gets_reminders_for_each_occurrence(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine, reminder_offsets_days="7")
    add_deadline(
        engine, TEAM, "Årsrapport", date(2021, 2, 12), rrule="FREQ=YEARLY", confirmed_until=None
    )
    got = planned(engine, utc(2026, 11, 24, 9), utc(2028, 3, 1, 0))
    assert got == [
        ("Årsrapport", utc(2027, 2, 5, 8), 7),
        ("Årsrapport", utc(2028, 2, 4, 8), 7),  # 12 Feb 2028 is a Saturday: 5th, a Saturday → 4th
    ]


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        (oslo(2026, 11, 24, 20, 59), oslo(2026, 11, 24, 20, 59)),
        (oslo(2026, 11, 24, 21, 0), oslo(2026, 11, 25, 7, 0)),
        (oslo(2026, 11, 24, 23, 30), oslo(2026, 11, 25, 7, 0)),
        (oslo(2026, 11, 25, 3, 0), oslo(2026, 11, 25, 7, 0)),
        (oslo(2026, 11, 25, 6, 59), oslo(2026, 11, 25, 7, 0)),
        (oslo(2026, 11, 25, 7, 0), oslo(2026, 11, 25, 7, 0)),
        # The night summer time starts: 07:00 CEST is 05:00 UTC.
        (oslo(2027, 3, 27, 22, 0), oslo(2027, 3, 28, 7, 0)),
        # The night winter time starts: 07:00 CET is 06:00 UTC.
        (oslo(2027, 10, 30, 22, 0), oslo(2027, 10, 31, 7, 0)),
    ],
)
def test_quiet_hours_move_forward_to_seven(moment: datetime, allowed: datetime) -> None:
    got = next_allowed(moment, OSLO)
    assert got == allowed
    assert got >= moment


def test_quiet_hours_across_dst_are_real_utc_instants() -> None:
    assert next_allowed(oslo(2027, 3, 27, 22, 0), OSLO) == utc(2027, 3, 28, 5)
    assert next_allowed(oslo(2027, 10, 30, 22, 0), OSLO) == utc(2027, 10, 31, 6)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (oslo(2026, 11, 27, 15, 0), oslo(2026, 11, 30, 9, 0)),  # Friday → Monday
        (oslo(2026, 11, 24, 15, 0), oslo(2026, 11, 25, 9, 0)),  # Tuesday → Wednesday
        (oslo(2027, 3, 24, 10, 0), oslo(2027, 3, 30, 9, 0)),  # before Easter → Tuesday after
        (oslo(2026, 12, 22, 16, 0), oslo(2026, 12, 23, 9, 0)),
        (oslo(2026, 12, 23, 16, 0), oslo(2026, 12, 28, 9, 0)),  # past Christmas Eve
        (oslo(2026, 12, 24, 10, 0), oslo(2026, 12, 28, 9, 0)),
        (oslo(2026, 12, 30, 10, 0), oslo(2027, 1, 4, 9, 0)),  # past New Year's Eve
        (oslo(2026, 11, 27, 23, 30), oslo(2026, 11, 30, 9, 0)),  # late Friday night
    ],
)
def test_snooze_goes_to_the_next_working_day_at_nine(now: datetime, until: datetime) -> None:
    assert snooze_until(now, OSLO) == until


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("14,7,1", (14, 7, 1)), ("1, 7 14", (14, 7, 1)), ("7;7;0", (7, 0)), ("", None), (" ", None)],
)
def test_parse_offsets(text: str, parsed: tuple[int, ...] | None) -> None:
    assert parse_offsets(text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("14,sju", "«sju» er ikke et antall dager"),
        ("-1", "«-1» er ikke et antall dager"),
        ("120", "høyst 90"),
        ("1,2,3,4,5,6,7", "høyst 6"),
    ],
)
def test_parse_offsets_refuses_with_a_norwegian_reason(text: str, message: str) -> None:
    with pytest.raises(OffsetError, match=message):
        parse_offsets(text)


def test_nothing_planned_before_now_or_after_the_item(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine, reminder_offsets_days="0")
    add_deadline(engine, TEAM, "Tidlig", date(2026, 12, 2), due_time=time(8, 0))
    add_deadline(engine, TEAM, "Hele dagen", date(2026, 12, 3))
    got = planned(engine, utc(2026, 11, 24, 9), utc(2026, 12, 31, 0))
    # 09:00 on the day is after an 08:00 deadline: no reminder; a whole-day deadline gets one.
    assert got == [("Hele dagen", utc(2026, 12, 3, 8), 0)]
    assert planned(engine, utc(2026, 12, 3, 9), utc(2026, 12, 31, 0)) == []


def test_new_years_eve_is_closed_like_christmas_eve(engine) -> None:  # type: ignore[no-untyped-def]
    workspace(engine, reminder_offsets_days="1")
    add_deadline(engine, TEAM, "Nyttår", date(2027, 1, 4))  # Monday
    got = planned(engine, utc(2026, 12, 1, 0), utc(2027, 2, 1, 0))
    assert got == [("Nyttår", utc(2026, 12, 30, 8), 1)]  # 3 Sun, 2 Sat, 1 holiday, 31 closed


@pytest.fixture
def default_settings_after() -> Iterator[None]:
    yield
    Settings.from_env({}, dotenv_path=None)  # back to the default closed days


@pytest.mark.parametrize(
    ("closed", "reminded"),
    [
        ("none", utc(2026, 12, 24, 8)),  # Christmas Eve is a working day again
        ("12-31", utc(2026, 12, 24, 8)),
        ("12-23,12-24", utc(2026, 12, 22, 8)),
    ],
)
@pytest.mark.usefixtures("default_settings_after")
def test_the_extra_closed_days_are_a_setting(engine, closed: str, reminded: datetime) -> None:  # type: ignore[no-untyped-def]
    workspace(engine, reminder_offsets_days="1")
    add_deadline(engine, TEAM, "Romjul", date(2026, 12, 28))
    # Read at start, like every process does: the setting is the bot's working calendar.
    Settings.from_env({"DKS_EXTRA_CLOSED_DAYS": closed}, dotenv_path=None)
    assert planned(engine, utc(2026, 12, 1, 0), utc(2027, 1, 1, 0)) == [("Romjul", reminded, 1)]
