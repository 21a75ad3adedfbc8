"""Calendar export: iCalendar parsed back with `icalendar` matches the database (dates, times
in Europe/Oslo across daylight saving, spans, RRULE), through the CLI, the subscribable feed
with its rotatable secret token, and the Home tab's «Eksporter kalender»."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from dateutil.rrule import rrulestr
from icalendar import Calendar
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import cli
from bot.shell.signing import block_actions_body, button_action
from handlers.calendar.views import ROTATE_ACTION
from storage.calendar import upcoming
from storage.db import session_scope
from storage.ics import calendar_ics, uid_of
from storage.items import mark_deadline_done
from storage.models import AuditEntry, DatePrecision, Deadline, Meeting, MeetingForm
from tests.conftest import ADMIN, CHANNEL, MEMBER, TEAM
from tests.helpers import add_deadline, add_meeting, seeded_workspace, visible_text
from tests.test_editing import click_and_wait, open_home

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _calendar(engine: Any) -> None:
    add_deadline(
        engine,
        TEAM,
        "Årsrapportering",
        date(2021, 2, 12),
        rrule="FREQ=YEARLY",
        confirmed_until=date(2021, 2, 12),
        link="https://portal.denkulturelleskolesekken.no",
    )
    add_deadline(engine, TEAM, "Påmelding", date(2027, 6, 1), due_time=clock_time(12))
    add_deadline(
        engine,
        TEAM,
        "Tilbakemelding",
        date(2026, 12, 7),
        end_date=date(2026, 12, 13),
        precision=DatePrecision.WEEK,
    )
    add_deadline(engine, TEAM, "Uten dato", None, precision=DatePrecision.UNSET)
    add_deadline(engine, "T0OTHER", "Ikke vår", date(2026, 12, 1))
    add_meeting(
        engine,
        TEAM,
        "Fellessamling",
        date(2027, 9, 24),
        end_date=date(2027, 9, 25),
        start_time=clock_time(9),
        end_time=clock_time(15),
        form=MeetingForm.PHYSICAL,
        place="Lillestrøm",
    )
    add_meeting(
        engine,
        TEAM,
        "Koordinatorsamling",
        date(2027, 1, 21),
        start_time=clock_time(13),
        end_time=clock_time(15, 30),
        rrule="FREQ=MONTHLY;INTERVAL=6;UNTIL=20290101",
        form=MeetingForm.DIGITAL,
    )
    add_meeting(
        engine,
        TEAM,
        "Veiledning",
        date(2026, 10, 1),
        end_date=date(2026, 10, 31),
        precision=DatePrecision.MONTH,
    )


def _events(ics: bytes) -> dict[str, Any]:
    cal = Calendar.from_ical(ics)
    assert cal["VERSION"] == "2.0" and "DKS-boten" in str(cal["PRODID"])
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_the_ics_parses_back_and_matches_the_database(engine):
    _calendar(engine)
    with session_scope(engine) as session:
        ics = calendar_ics(session=session, team_id=TEAM, tz=OSLO, now=NOW)
        deadlines = session.exec(select(Deadline).where(Deadline.team_id == TEAM)).all()  # type: ignore[arg-type]
        meetings = session.exec(select(Meeting)).all()
    cal = Calendar.from_ical(ics)
    [tz] = cal.walk("VTIMEZONE")
    assert tz["TZID"] == "Europe/Oslo"
    assert {str(r["RRULE"].to_ical(), "ascii") for r in tz.walk() if "RRULE" in r} == {
        "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
        "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
    }
    events = _events(ics)
    dated_deadlines = [d for d in deadlines if d.due_date]
    assert set(events) == {uid_of("deadline", d.id, TEAM) for d in dated_deadlines} | {
        uid_of("meeting", m.id, TEAM) for m in meetings
    }

    for row in dated_deadlines:
        event = events[uid_of("deadline", row.id, TEAM)]
        assert event["SUMMARY"] == f"Frist: {row.title}"
        start = event.decoded("DTSTART")
        if row.due_time:
            assert start == datetime.combine(row.due_date, row.due_time, tzinfo=OSLO)
            assert start.utcoffset() == timedelta(hours=2)  # June: summer time
            assert "DTEND" not in event
        else:
            assert start == row.due_date
            assert event.decoded("DTEND") == (row.end_date or row.due_date) + timedelta(days=1)
        assert event["TRANSP"] == "TRANSPARENT"
    for row in meetings:
        event = events[uid_of("meeting", row.id, TEAM)]
        assert event["SUMMARY"] == row.title
        start = event.decoded("DTSTART")
        if row.start_time:
            assert start == datetime.combine(row.start_date, row.start_time, tzinfo=OSLO)
            assert event.decoded("DTEND") == datetime.combine(
                row.end_date or row.start_date, row.end_time, tzinfo=OSLO
            )
        else:
            assert start == row.start_date
            assert event.decoded("DTEND") == row.end_date + timedelta(days=1)

    yearly = next(d for d in dated_deadlines if d.rrule)
    event = events[uid_of("deadline", yearly.id, TEAM)]
    assert event["RRULE"].to_ical() == b"FREQ=YEARLY"
    assert "forventet" in str(event["DESCRIPTION"]) and str(event["URL"]) == yearly.link

    # Expanding each event's own RRULE gives the dates /dks møte shows for the same window.
    window_end = date(2029, 6, 1)
    with session_scope(engine) as session:
        expected = {
            (o.item.title, o.start)
            for o in upcoming(
                session=session,
                model=Meeting,
                team_id=TEAM,
                start=date(2026, 1, 1),
                end=window_end,
            )
        }
    found = set()
    for row in meetings:
        event = events[uid_of("meeting", row.id, TEAM)]
        start = event.decoded("DTSTART")
        if "RRULE" not in event:
            found.add(
                (
                    row.title,
                    start
                    if isinstance(start, date) and not isinstance(start, datetime)
                    else start.date(),
                )
            )
            continue
        rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)
        for moment in rule.between(
            datetime(2026, 1, 1, tzinfo=OSLO),
            datetime.combine(window_end, clock_time(), OSLO),
            inc=True,
        ):
            found.add((row.title, moment.date()))
            # Wall-clock time is kept: 13:00 in winter and in summer alike.
            assert moment.astimezone(OSLO).time() == clock_time(13)
    assert found == expected
    assert ("Koordinatorsamling", date(2027, 7, 21)) in found
    assert ("Koordinatorsamling", date(2029, 1, 21)) not in found  # UNTIL holds


def test_done_deadlines_are_ticked(engine):
    deadline_id = add_deadline(engine, TEAM, "Budsjett", date(2026, 12, 1))
    with session_scope(engine, write=True) as session:
        mark_deadline_done(
            session=session,
            team_id=TEAM,
            deadline_id=deadline_id,
            occurrence=date(2026, 12, 1),
            user_id=ADMIN,
            at=NOW,
        )
        ics = calendar_ics(session=session, team_id=TEAM, tz=OSLO, now=NOW)
    assert _events(ics)[uid_of("deadline", deadline_id, TEAM)]["SUMMARY"] == "✓ Frist: Budsjett"


def test_the_cli_writes_the_calendar_to_stdout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    from storage.db import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    seeded_workspace(engine, TEAM)
    add_meeting(engine, TEAM, "Nettverksmøte", date(2027, 3, 3), start_time=clock_time(9))
    engine.dispose()
    result = CliRunner().invoke(
        cli,
        ["export", "kalender", "--team", TEAM],
        env={"DATABASE_URL": db_url, "SLACK_BOT_TOKEN": ""},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    [event] = _events(result.stdout_bytes).values()
    assert event["SUMMARY"] == "Nettverksmøte"
    assert event.decoded("DTSTART") == datetime(2027, 3, 3, 9, tzinfo=OSLO)


def test_the_feed_url_is_secret_rotatable_and_serves_the_calendar(slack, sqlite_engine):
    # The bot's public address (PUBLIC_URL) is where this test serves it.
    slack.services.settings = replace(slack.services.settings, public_url=slack.url)
    seeded_workspace(sqlite_engine, TEAM)
    add_deadline(sqlite_engine, TEAM, "Søknadsfrist", date(2027, 3, 26))
    refused = slack.command("kalender", user=MEMBER)
    assert "Bare koordinatorer" in refused["text"]

    reply = slack.command("kalender")
    text = visible_text(reply)
    url = next(w.strip("`") for w in text.split() if "/kalender/" in w)
    assert url.startswith(f"{slack.url}/kalender/") and url.endswith(".ics")
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 40
    # Asked again, the address is not shown (only its hash is kept); «Lag ny adresse» is.
    again = visible_text(slack.command("kalender"))
    assert url not in again and "Lag ny adresse" in again

    with httpx.Client(timeout=10) as http:
        response = http.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/calendar")
        [event] = _events(response.content).values()
        assert event["SUMMARY"] == "Frist: Søknadsfrist"
        etag = response.headers["etag"]
        assert http.get(url, headers={"if-none-match": etag}).status_code == 304
        assert http.head(url).status_code == 200
        assert http.get(url.replace(token, "x" * len(token))).status_code == 404

        actions = next(b for b in reply["blocks"] if b["type"] == "actions")
        rotate = next(e for e in actions["elements"] if e["action_id"] == ROTATE_ACTION)
        assert rotate["confirm"]["confirm"]["text"] == "Lag ny"
        body = block_actions_body(
            team_id=TEAM,
            user_id=ADMIN,
            channel_id=CHANNEL,
            response_url=slack.fake.response_url(),
            action=button_action(rotate),
            block_id=actions["block_id"],
        )
        assert slack.post(body).status_code == 200
        assert slack.fake.wait_for(lambda: len(slack.fake.responses) == 1)
        _, replaced = slack.fake.responses[0]
        assert replaced["replace_original"] is True
        new_url = next(w.strip("`") for w in visible_text(replaced).split() if "/kalender/" in w)
        assert new_url != url
        assert http.get(url).status_code == 404  # the old address stops at once
        assert http.get(new_url).status_code == 200
    with session_scope(sqlite_engine) as session:
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.item_kind == "calendar_feed")  # type: ignore[arg-type]
        ).all()
        assert [(e.action, e.user_id) for e in entries] == [("create", ADMIN), ("rotate", ADMIN)]


def test_export_from_home_sends_the_file_in_a_dm(slack, sqlite_engine):
    seeded_workspace(sqlite_engine, TEAM)
    add_meeting(
        sqlite_engine, TEAM, "Kulturkontaktmøte", date(2027, 2, 2), start_time=clock_time(14)
    )
    home = open_home(slack)
    buttons = next(b for b in home["blocks"] if b.get("block_id") == "home_buttons")
    export = next(e for e in buttons["elements"] if e["text"]["text"] == "Eksporter kalender")
    before = len(slack.fake.calls_to("files.completeUploadExternal"))
    from bot.shell.signing import block_actions_body as body_of

    body = body_of(
        team_id=TEAM,
        user_id=ADMIN,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
        action=button_action(export),
        block_id="home_buttons",
        view=home,
    )
    assert slack.post(body).status_code == 200
    assert slack.fake.wait_for(
        lambda: len(slack.fake.calls_to("files.completeUploadExternal")) > before
    )
    complete = slack.fake.calls_to("files.completeUploadExternal")[-1].args
    assert complete["channel_id"].startswith("D")
    files = (
        complete["files"] if isinstance(complete["files"], list) else json.loads(complete["files"])
    )
    upload = slack.fake.uploads[files[0]["id"]]
    assert upload["filename"] == "dks.ics"
    [event] = _events(upload["content"]).values()
    assert event["SUMMARY"] == "Kulturkontaktmøte"

    # A member pressing a crafted export gets a refusal, not the file.
    uploads = len(slack.fake.calls_to("files.completeUploadExternal"))
    notice = click_and_wait(
        slack, home, button_action(export), "home_buttons", "views.open", user=MEMBER
    )
    assert "Bare koordinatorer" in visible_text(notice)
    assert len(slack.fake.calls_to("files.completeUploadExternal")) == uploads
