"""The calendar file read by a second, independent parser (issue #15).

`recurring_ical_events` expands every RRULE (and the RECURRENCE-ID overrides) over a year, and
each occurrence must say what the bot says: the same items on the same days as the lists
(`storage.calendar.upcoming`, what `/dks frist` and `/dks møte` read), the same span written
the same way (`date_span`: «februar 2028» is all of February, leap day included), a meeting
without an end lasting DEFAULT_MEETING_LENGTH, and a deadline's alarms at 09:00 on its reminder
days, on the same working days as the Slack reminders the scheduler would post
(`storage.reminders.plan`). The file must also parse with `icalendar` without a single
recorded error and keep RFC 5545's framing (CRLF, 75-octet lines, required properties).

Alarm moments are computed here from RFC 5545 itself, not by recurring_ical_events: its
alarm expansion adds a TRIGGER's hours to a DATE start as date arithmetic (the hours vanish),
so it cannot read alarms on all-day events.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar
from sqlmodel import select

from handlers.calendar.feed import workspace_ics
from handlers.core.format import date_span
from storage.calendar import previous_working_day, upcoming
from storage.db import session_scope
from storage.ics import DEFAULT_MEETING_LENGTH, uid_of
from storage.items import mark_deadline_done
from storage.models import DatePrecision, Deadline, Meeting, Workspace
from storage.reminders import offsets_for, plan
from tests.conftest import ADMIN, TEAM
from tests.helpers import add_deadline, add_meeting, seeded_workspace

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2027, 6, 15, 7, 0, tzinfo=UTC)
# A year that holds a leap February and both clock changes.
WINDOW = (date(2027, 7, 1), date(2028, 7, 1))
NINE = time(9, 0)


def _world(engine: Any) -> dict[str, int]:
    """A workspace with every kind of date the bot keeps; ids by a short name."""
    seeded_workspace(engine, TEAM)
    with session_scope(engine, write=True) as session:
        workspace = session.get(Workspace, TEAM)
        assert workspace is not None
        workspace.reminder_offsets_days = "14,2"  # the workspace's own days
        session.add(workspace)
    month = DatePrecision.MONTH
    ids = {
        "month": add_deadline(engine, TEAM, "Søknad", date(2028, 2, 1), precision=month),
        "yearly_february": add_deadline(
            engine, TEAM, "Årsrapport", date(2027, 2, 1), precision=month, rrule="FREQ=YEARLY"
        ),
        "summer": add_deadline(
            engine,
            TEAM,
            "Turnéplan",
            date(2026, 6, 1),
            end_date=date(2026, 8, 31),
            precision=month,
            rrule="FREQ=YEARLY",
        ),
        "yearly_day": add_deadline(
            engine,
            TEAM,
            "Budsjett",
            date(2026, 9, 15),
            rrule="FREQ=YEARLY",
            reminder_offsets_days="10,3",
        ),
        "noon": add_deadline(engine, TEAM, "Påmelding", date(2027, 11, 2), due_time=time(12, 0)),
        "early": add_deadline(
            engine,
            TEAM,
            "Tidlig frist",
            date(2027, 12, 7),
            due_time=time(8, 0),
            reminder_offsets_days="1,0",
        ),
        "done": add_deadline(engine, TEAM, "Levert", date(2027, 8, 20)),
        "week": add_deadline(
            engine,
            TEAM,
            "Tilbakemelding",
            date(2027, 11, 8),
            end_date=date(2027, 11, 14),
            precision=DatePrecision.WEEK,
        ),
        "monthly_month": add_meeting(
            engine,
            TEAM,
            "Veiledning",
            date(2027, 1, 1),
            precision=month,
            rrule="FREQ=MONTHLY;UNTIL=20281231",
        ),
        "no_end": add_meeting(
            engine, TEAM, "Nettverksmøte", date(2027, 10, 20), start_time=time(13, 0)
        ),
        "monthly_no_end": add_meeting(
            engine,
            TEAM,
            "Kulturkontaktmøte",
            date(2027, 9, 6),
            start_time=time(9, 0),
            rrule="FREQ=MONTHLY;COUNT=10",
        ),
        "with_end": add_meeting(
            engine,
            TEAM,
            "Fellessamling",
            date(2028, 3, 23),
            start_time=time(10, 0),
            end_time=time(15, 30),
        ),
    }
    with session_scope(engine, write=True) as session:
        mark_deadline_done(
            session=session,
            team_id=TEAM,
            deadline_id=ids["done"],
            occurrence=date(2027, 8, 20),
            user_id=ADMIN,
            at=NOW,
        )
    return ids


def _ics(engine: Any) -> bytes:
    with session_scope(engine) as session:
        return workspace_ics(session=session, team_id=TEAM, tz=OSLO, now=NOW)


def _local(value: date | datetime) -> datetime:
    """A DTSTART/DTEND as a local moment: a DATE starts at local midnight."""
    if isinstance(value, datetime):
        return value.astimezone(OSLO)
    return datetime.combine(value, time(), OSLO)


def _alarm_moment(start: date | datetime, trigger: timedelta) -> datetime:
    """RFC 5545 3.3.6: a duration's days are nominal (same wall-clock time), the rest exact."""
    sign = -1 if trigger < timedelta(0) else 1
    size = abs(trigger)
    begins = _local(start)
    nominal = datetime.combine(
        begins.date() + sign * timedelta(days=size.days), begins.time(), OSLO
    )
    return (nominal.astimezone(UTC) + sign * timedelta(seconds=size.seconds)).astimezone(OSLO)


def _day(value: date | datetime) -> date:
    return value.astimezone(OSLO).date() if isinstance(value, datetime) else value


def _expanded(ics: bytes) -> list[Any]:
    cal = Calendar.from_ical(ics)
    return list(recurring_ical_events.of(cal).between(*WINDOW))


def test_the_file_parses_strictly_and_keeps_rfc_5545s_framing(engine):
    _world(engine)
    ics = _ics(engine)
    text = ics.decode("utf-8")
    lines = text.split("\r\n")
    assert lines[-1] == "" and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in lines)
    cal = Calendar.from_ical(ics)
    problems = [(c.name, c.errors) for c in cal.walk() if c.errors]
    assert problems == []
    seen: set[tuple[str, date | None]] = set()
    masters: dict[str, Any] = {}
    for event in cal.walk("VEVENT"):
        for name in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
            assert name in event, (name, event.get("SUMMARY"))
        start = event.decoded("DTSTART")
        if "DTEND" in event:
            end = event.decoded("DTEND")
            assert isinstance(end, datetime) == isinstance(start, datetime)
            assert _local(end) > _local(start)
        recurrence = event.decoded("RECURRENCE-ID") if "RECURRENCE-ID" in event else None
        key = (str(event["UID"]), recurrence)
        assert key not in seen  # one master per UID, one override per occurrence
        seen.add(key)
        if recurrence is None:
            masters[str(event["UID"])] = event
        for alarm in event.walk("VALARM"):
            assert alarm["ACTION"] == "DISPLAY"
            assert str(alarm["DESCRIPTION"]) == str(event["SUMMARY"])
            assert isinstance(alarm.decoded("TRIGGER"), timedelta)  # relative to the start
    # An override replaces an occurrence its master's RRULE really has.
    for uid, recurrence in seen:
        if recurrence is not None:
            master = masters[uid]
            days = {
                _day(o.decoded("DTSTART"))
                for o in recurring_ical_events.of(Calendar.from_ical(ics)).at(recurrence.year)
                if str(o["UID"]) == uid
            }
            assert "RRULE" in master and recurrence in days


def test_every_occurrence_in_a_year_matches_what_the_bot_lists(engine):
    ids = _world(engine)
    occurrences = _expanded(_ics(engine))
    last = WINDOW[1] - timedelta(days=1)
    with session_scope(engine) as session:
        listed = {
            (uid_of(kind, o.item.id, TEAM), o.start): o
            for kind, model in (("deadline", Deadline), ("meeting", Meeting))
            for o in upcoming(session=session, model=model, team_id=TEAM, start=WINDOW[0], end=last)
        }
    found: dict[tuple[str, date], Any] = {}
    for event in occurrences:
        start = event.decoded("DTSTART")
        key = (str(event["UID"]), _day(start))
        assert key not in found
        found[key] = event
    assert set(found) == set(listed)

    for key, occ in listed.items():
        event = found[key]
        row = occ.item
        start, end = event.decoded("DTSTART"), event.decoded("DTEND", None)
        precision = DatePrecision(row.precision)
        clock = row.due_time if isinstance(row, Deadline) else row.start_time
        bot_says = date_span(occ.start, occ.end, precision=precision)
        if precision == DatePrecision.MONTH:
            # All day, from the 1st of the month to the 1st of the next (exclusive).
            assert not isinstance(start, datetime) and start.day == 1 and end.day == 1
            assert date_span(start, end - timedelta(days=1), precision=precision) == bot_says
        elif clock is None:
            assert not isinstance(start, datetime) and start == occ.start
            assert date_span(start, end - timedelta(days=1), precision=precision) == bot_says
        else:
            assert _local(start) == datetime.combine(occ.start, clock, OSLO)
            if isinstance(row, Meeting) and row.end_time is None:
                # The default length, in wall-clock time across daylight saving too.
                assert _local(end) == datetime.combine(occ.start, clock, OSLO) + (
                    DEFAULT_MEETING_LENGTH
                )
                assert _local(end).time() == time(clock.hour + 2, clock.minute)
            elif isinstance(row, Meeting):
                assert _local(end) == datetime.combine(occ.end or occ.start, row.end_time, OSLO)
            else:
                # A deadline at a time is a moment (the expansion fills in DTEND = DTSTART).
                assert end is None or _local(end) == _local(start)

    february = found[(uid_of("deadline", ids["yearly_february"], TEAM), date(2028, 2, 1))]
    assert february.decoded("DTEND") == date(2028, 3, 1)  # the leap day is in
    assert date_span(date(2028, 2, 1), None, precision=DatePrecision.MONTH) == "februar 2028"
    monthly = uid_of("meeting", ids["monthly_month"], TEAM)
    spans = sorted(
        (e.decoded("DTSTART"), e.decoded("DTEND")) for k, e in found.items() if k[0] == monthly
    )
    assert len(spans) == 12
    assert all(end == nxt for (_, end), (nxt, _) in pairwise(spans))
    summer = found[(uid_of("deadline", ids["summer"], TEAM), date(2028, 6, 1))]
    assert summer.decoded("DTEND") == date(2028, 9, 1)


def test_deadlines_alarm_at_nine_on_their_reminder_days_as_the_bot_reminds(engine):
    ids = _world(engine)
    occurrences = _expanded(_ics(engine))
    with session_scope(engine) as session:
        workspace = session.get(Workspace, TEAM)
        assert workspace is not None
        rows = {
            uid_of("deadline", row.id, TEAM): row
            for row in session.exec(select(Deadline).where(Deadline.team_id == TEAM))  # type: ignore[arg-type]
        }
        offsets = {uid: offsets_for(row, "deadline", workspace) for uid, row in rows.items()}
        window = [datetime.combine(day, time(), OSLO) for day in WINDOW]
        planned = plan(
            session=session, workspace=workspace, now=window[0], until=window[1], tz=OSLO
        )

    alarms: dict[tuple[str, date], list[datetime]] = defaultdict(list)
    for event in occurrences:
        uid = str(event["UID"])
        if not uid.startswith("dks-deadline-"):
            assert event.walk("VALARM") == []  # meetings carry none
            continue
        start = event.decoded("DTSTART")
        for alarm in event.walk("VALARM"):
            alarms[(uid, _day(start))].append(_alarm_moment(start, alarm.decoded("TRIGGER")))

        row = rows[uid]
        occurrence = _day(start)
        expected = []
        if row.precision != DatePrecision.MONTH and row.id != ids["done"]:
            for offset in offsets[uid]:
                at = datetime.combine(occurrence - timedelta(days=offset), NINE, OSLO)
                if row.due_time is None or at < datetime.combine(occurrence, row.due_time, OSLO):
                    expected.append(at)
        assert sorted(alarms[(uid, occurrence)]) == sorted(expected), row.title

    # The item's own days, the workspace's, none for a month or a done deadline, none after
    # a deadline at 08:00; 09:00 local across the October clock change.
    budget = uid_of("deadline", ids["yearly_day"], TEAM)
    assert [a.date() for a in sorted(alarms[(budget, date(2027, 9, 15))])] == [
        date(2027, 9, 5),
        date(2027, 9, 12),
    ]
    noon = alarms[(uid_of("deadline", ids["noon"], TEAM), date(2027, 11, 2))]
    assert sorted(noon) == [
        datetime(2027, 10, 19, 9, tzinfo=OSLO),  # summer time
        datetime(2027, 10, 31, 9, tzinfo=OSLO),  # winter time
    ]
    early = alarms[(uid_of("deadline", ids["early"], TEAM), date(2027, 12, 7))]
    assert early == [datetime(2027, 12, 6, 9, tzinfo=OSLO)]
    for name in ("month", "yearly_february", "summer", "done"):
        uid = uid_of("deadline", ids[name], TEAM)
        assert not any(moments for (u, _), moments in alarms.items() if u == uid), name

    # The scheduler's reminders fall on the same days, moved off weekends and holidays the
    # way the bot moves them (a calendar alarm cannot move). Occurrences near the window's
    # start are left out: their reminders may lie before it.
    settled = WINDOW[0] + timedelta(days=30)
    from_alarms = {
        (uid, occurrence, previous_working_day(moment.date()))
        for (uid, occurrence), moments in alarms.items()
        for moment in moments
        if settled <= occurrence < WINDOW[1]
    }
    from_plan = {
        (uid_of("deadline", p.item_id, TEAM), p.occurrence, p.at.astimezone(OSLO).date())
        for p in planned
        if p.item_kind == "deadline" and settled <= p.occurrence < WINDOW[1]
    }
    assert from_plan and from_alarms == from_plan
    assert all(p.at.astimezone(OSLO).time() == NINE for p in planned)
