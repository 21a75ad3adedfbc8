"""The in-memory snapshots answer exactly what the SQL reads answer, and never go stale.

`/dks frist`, `/dks møte`, `/dks kontakt`, the Home tab and role checks read from
storage.snapshot; the SQL functions they replaced stay as the reference. Both run here over
the same generated workspace on SQLite and PostgreSQL, and every kind of write, from this
process or another engine (another process), must show on the next read.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from bot.shell.signing import slash_command_body
from storage.calendar import upcoming_page
from storage.contacts import contact_search_key, search_contacts
from storage.db import make_engine, read_one, session_scope
from storage.folding import search_key
from storage.models import (
    Contact,
    Coordinator,
    DatePrecision,
    Deadline,
    DeadlineDone,
    Meeting,
    Municipality,
    School,
    Workspace,
)
from storage.snapshot import SnapshotCache, TextIndex, query_terms
from tests.conftest import CHANNEL, MEMBER
from tests.helpers import add_deadline, visible_text
from tests.home_oracle import (
    next_home_occurrences,
    schools_missing_kulturkontakt,
    undated_home_items,
)

TEAM = "T0SNAP"
OTHER = "T0ANNEN"
TODAY = date(2026, 11, 24)
WORDS = ["Ås", "Ålesund", "Bø", "Tromsø", "Aasen", "kultur", "møte", "frist", "rapport", "Øst"]
ROLES = ["kulturkontakt", "kommunekontakt", "rådgiver", "support"]


def _title(rng: random.Random, i: int) -> str:
    return f"{rng.choice(WORDS)} {rng.choice(WORDS).lower()} {i % 7}"


def populate(engine: Engine, team_id: str, seed: int = 7) -> None:
    """A few hundred rows of every kind the snapshot holds, with the awkward cases in them."""
    rng = random.Random(seed)
    with session_scope(engine, write=True) as session:
        munis = [Municipality(team_id=team_id, name=f"{w} kommune") for w in WORDS[:6]]
        session.add_all(munis)
        session.flush()
        schools = [
            School(
                team_id=team_id,
                name=f"{rng.choice(WORDS)} skole {i}",
                municipality_id=rng.choice(munis).id if i % 9 else None,
            )
            for i in range(40)
        ]
        session.add_all(schools)
        session.flush()
        for i in range(300):
            start = TODAY + timedelta(days=rng.randint(-60, 400))
            rule = rng.choice([None] * 8 + ["FREQ=YEARLY", "FREQ=MONTHLY;COUNT=5"])
            undated = i % 23 == 0
            deadline = Deadline(
                team_id=team_id,
                title=_title(rng, i),
                due_date=None if undated else start,
                due_time=rng.choice([None, time(9), time(12, 30)]),
                end_date=start + timedelta(days=rng.randint(1, 20))
                if i % 11 == 0 and not undated
                else None,
                rrule=None if undated else rule,
                precision=DatePrecision.UNSET if undated or i % 29 == 0 else DatePrecision.DAY,
                confirmed_until=TODAY + timedelta(days=100) if rule else None,
                description=rng.choice([None, "Husk skjema", "Rapport til fylket"]),
            )
            deadline.search_key = search_key(deadline.title, deadline.description)
            meeting = Meeting(
                team_id=team_id,
                title=_title(rng, i + 1),
                start_date=None if undated else start,
                start_time=rng.choice([None, time(10), time(14)]),
                end_date=start + timedelta(days=1) if i % 13 == 0 and not undated else None,
                rrule=None if undated else rule,
                precision=DatePrecision.UNSET if undated else DatePrecision.DAY,
                kind=rng.choice(["nettverksmøte", "fellessamling"]),
                place=rng.choice([None, "Rådhuset", "digitalt"]),
            )
            meeting.search_key = search_key(
                meeting.title, meeting.description, meeting.kind, meeting.place
            )
            session.add_all([deadline, meeting])
        session.flush()
        for deadline in session.exec(select(Deadline).where(Deadline.team_id == team_id).limit(40)):
            if deadline.due_date and not deadline.rrule:
                session.add(
                    DeadlineDone(
                        team_id=team_id,
                        deadline_id=deadline.id or 0,
                        occurrence=deadline.due_date,
                        done_by="U0X",
                    )
                )
        for i in range(400):
            school = rng.choice(schools) if i % 3 else None
            contact = Contact(
                team_id=team_id,
                # Distinct names: the two engines may order equal names differently.
                name=f"{rng.choice(WORDS)} {rng.choice(['Hansen', 'Ødegård', 'Aune'])} {i:03d}",
                role=rng.choice(ROLES),
                organisation=rng.choice([None, "Kulturtanken", "Vestland fylkeskommune"]),
                email=f"person{i}@example.no",
                historical=i % 17 == 0,
                school_id=school.id if school else None,
                municipality_id=None if school else rng.choice(munis).id,
            )
            muni = next((m for m in munis if m.id == contact.municipality_id), None)
            if school is not None:
                muni = next((m for m in munis if m.id == school.municipality_id), None)
            contact.search_key = contact_search_key(
                contact,
                school=school.name if school else None,
                municipality=muni.name if muni else None,
            )
            session.add(contact)


QUERIES = ["", "ås", "møte 3", "Ålesund", "aasen", "kultur frist", "ø", "finnes ikke", "%", "s_"]


@pytest.fixture
def populated(engine: Engine) -> Engine:
    populate(engine, TEAM)
    populate(engine, OTHER, seed=8)  # another workspace in the same tables must not leak in
    return engine


def test_calendar_pages_match_the_sql_reads(populated: Engine) -> None:
    calendar = SnapshotCache(populated).get(TEAM).calendar
    checked = 0
    with session_scope(populated) as session:
        for model in (Deadline, Meeting):
            items = calendar.items(model)
            for query in QUERIES:
                for start, end in (
                    (TODAY - timedelta(days=7), TODAY + timedelta(days=90)),
                    (TODAY, None),
                    (TODAY + timedelta(days=200), None),
                ):
                    for offset, limit in ((0, 5), (0, 15), (15, 15), (290, 15), (0, 0)):
                        want = upcoming_page(
                            session=session,
                            model=model,
                            team_id=TEAM,
                            start=start,
                            end=end,
                            query=query,
                            offset=offset,
                            limit=limit,
                        )
                        got = items.upcoming_page(
                            start=start, end=end, query=query, offset=offset, limit=limit
                        )
                        assert got.total == want.total, (model, query, start, end)
                        assert [
                            (o.item.id, o.start, o.end, o.expected) for o in got.occurrences
                        ] == [(o.item.id, o.start, o.end, o.expected) for o in want.occurrences], (
                            model,
                            query,
                            start,
                            end,
                            offset,
                        )
                        checked += 1
    assert checked == 2 * len(QUERIES) * 3 * 5


def test_contact_search_matches_the_sql_search(populated: Engine) -> None:
    directory = SnapshotCache(populated).get(TEAM).directory
    sqlite = populated.dialect.name == "sqlite"
    with session_scope(populated) as session:
        for query in [*QUERIES, "kulturkontakt ås", "odegard", "person1", "support hansen"]:
            want, want_total = search_contacts(
                session=session, team_id=TEAM, query=query, limit=500
            )
            got, got_total = directory.search(query, 500)
            assert got_total == want_total, query
            assert {h.contact.id for h in got} == {h.contact.id for h in want}, query
            if sqlite:  # PostgreSQL sorts names by its own collation; SQLite by code point, as here
                assert [h.contact.id for h in got] == [h.contact.id for h in want], query
            assert {(h.contact.id, h.school, h.municipality) for h in got} == {
                (h.contact.id, h.school, h.municipality) for h in want
            }
            first, total = directory.search(query, 10)
            assert total == want_total and len(first) == min(10, total)
            if sqlite:
                assert [h.contact.id for h in first] == [h.contact.id for h in want[:10]]


def test_home_reads_match_the_sql_reads(populated: Engine) -> None:
    snapshot = SnapshotCache(populated).get(TEAM)
    calendar = snapshot.calendar
    with session_scope(populated) as session:
        for kind, items in (("deadline", calendar.deadlines), ("meeting", calendar.meetings)):
            for start in (TODAY - timedelta(days=7), TODAY, TODAY + timedelta(days=300)):
                for limit in (1, 6, 26, 400):
                    want = next_home_occurrences(
                        session=session,
                        kind=kind,
                        team_id=TEAM,
                        start=start,
                        limit=limit,  # type: ignore[arg-type]
                    )
                    got = items.next_home_occurrences(start=start, limit=limit, done=calendar.done)
                    assert got == want, (kind, start, limit)
        assert calendar.undated_home_items(4) == undated_home_items(
            session=session, team_id=TEAM, limit=4
        )
        missing, total = schools_missing_kulturkontakt(session=session, team_id=TEAM, limit=500)
        if populated.dialect.name == "sqlite":
            assert snapshot.directory.schools_missing == missing
        assert sorted(map(str, snapshot.directory.schools_missing)) == sorted(map(str, missing))
        assert len(snapshot.directory.schools_missing) == total


def test_text_index_matches_like_for_every_word() -> None:
    rng = random.Random(3)
    keys = [
        search_key(
            f"{a} {b}",
            c,
            f"{a.lower()}.{b.lower()}{rng.randint(1, 20000)}@{c}.kommune.no",
            f"+47 {rng.randint(10_000_000, 99_999_999)}",
        )
        for a in WORDS
        for b in WORDS
        for c in ROLES
    ]
    index = TextIndex(keys)
    queries = [
        *("ås", "s", "a k", "kultur ø", "ostrapport", "|", "aa", "rad giver", "bo 4"),
        *("kommune", "47", "1", "n1", "sen1", ".bo", "@kultur", "no", "a.b", "e@k", "+47"),
        *("tromso.ost", "2 radgiver", "ø9", "kontakt@", "x"),
    ]
    for query in queries:
        terms = query_terms(query)
        want = {i for i, key in enumerate(keys) if all(t in key for t in terms)}
        assert index.rows(terms) == want, query
    assert index.rows([]) is None


def test_every_write_is_seen_on_the_next_read_from_any_process(engine: Engine) -> None:
    populate(engine, TEAM)
    cache = SnapshotCache(engine)
    before = cache.get(TEAM)
    calendar, directory, settings = before.calendar, before.directory, before.settings
    assert cache.get(TEAM) is before  # nothing changed: the same copy

    # Another process: its own engine and connection pool.
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        add_deadline(other, TEAM, "Ny frist fra CLI", TODAY + timedelta(days=3))
        after = cache.get(TEAM)
        assert after is not before
        assert after.directory is directory and after.settings is settings  # untouched parts kept
        page = after.calendar.deadlines.upcoming_page(
            start=TODAY, end=None, query="ny frist fra cli", offset=0, limit=5
        )
        assert [o.item.title for o in page.occurrences] == ["Ny frist fra CLI"]
        assert calendar.deadlines.count + 1 == after.calendar.deadlines.count

        with session_scope(other, write=True) as session:
            contact = session.exec(select(Contact).where(Contact.team_id == TEAM)).first()
            assert contact is not None
            contact.name = "Zacharias Ødegård-Nyland"
            contact.search_key = contact_search_key(contact)
        hits, total = cache.get(TEAM).directory.search("zacharias", 5)
        assert total == 1 and hits[0].contact.name == "Zacharias Ødegård-Nyland"

        with session_scope(other, write=True) as session:
            session.add(Coordinator(team_id=TEAM, user_id="U0NY"))
            session.merge(Workspace(team_id=TEAM, reminder_channel_id="C0NY"))
        latest = cache.get(TEAM)
        assert "U0NY" in latest.settings.coordinators
        assert latest.settings.reminder_channel_id == "C0NY"

        with session_scope(other, write=True) as session:
            session.execute(text("DELETE FROM deadline WHERE team_id = :t"), {"t": TEAM})
        assert cache.get(TEAM).calendar.deadlines.count == 0
        # The other workspace's copy is not disturbed by any of it.
        assert cache.get(OTHER).calendar.deadlines.count == 0
    finally:
        other.dispose()


def test_a_bulk_write_is_one_bump_on_postgresql(engine: Engine) -> None:
    populate(engine, TEAM)
    versions = SnapshotCache(engine).versions(TEAM)
    with session_scope(engine, write=True) as session:
        session.execute(text("UPDATE contact SET note = 'x' WHERE team_id = :t"), {"t": TEAM})
    bumped = SnapshotCache(engine).versions(TEAM)
    assert bumped.calendar == versions.calendar and bumped.settings == versions.settings
    # One statement changed 400 rows: PostgreSQL bumps once per statement, SQLite per row.
    expected = 1 if engine.dialect.name == "postgresql" else 400
    assert bumped.directory - versions.directory == expected


def test_frist_shows_a_deadline_another_process_just_added(make_driver, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    slack = make_driver(engine)
    before = visible_text(slack.command("frist"))
    assert "Søknad om ekstra midler" not in before
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        add_deadline(other, "T0TEST", "Søknad om ekstra midler", TODAY + timedelta(days=2))
    finally:
        other.dispose()
    assert "Søknad om ekstra midler" in visible_text(slack.command("frist"))


def test_a_coordinator_added_elsewhere_can_edit_at_once(make_driver, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    slack = make_driver(engine)
    assert "Bare koordinatorer" in slack.command("ny frist", user=MEMBER)["text"]
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with session_scope(other, write=True) as session:
            session.add(Coordinator(team_id="T0TEST", user_id=MEMBER))
    finally:
        other.dispose()
    body = slash_command_body(
        text="ny frist",
        team_id="T0TEST",
        user_id=MEMBER,
        channel_id=CHANNEL,
        response_url=slack.fake.response_url(),
    )
    response = slack.post(body)
    assert response.status_code == 200 and "Bare koordinatorer" not in response.text
    # The modal opens after the ack, in a lazy listener.
    assert slack.fake.wait_for(lambda: slack.fake.calls_to("views.open")), "the modal opens"


def test_version_reads_survive_a_dropped_connection_and_close_with_the_engine(
    engine: Engine,
) -> None:
    """The per-request version read skips the pool's ping on PostgreSQL; a restarted server
    (here: every other connection killed) must still not fail a request."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads through its pool; nothing to drop")
    cache = SnapshotCache(engine)
    with session_scope(engine, write=True) as session:
        session.add(Workspace(team_id="T0READ"))
    before = cache.versions("T0READ")
    admin = make_engine(engine.url.render_as_string(hide_password=False))

    def others() -> list[int]:
        with admin.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalars()
            )

    try:
        assert others(), "the read keeps its connection"
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        admin.dispose()  # its own pooled connections were among those killed
        with session_scope(admin, write=True) as session:
            workspace = session.get(Workspace, "T0READ")
            assert workspace is not None
            workspace.reminders_paused = True
        after = cache.versions("T0READ")  # on a new connection, and it sees the write
        assert after.settings == before.settings + 1
        # A failing statement is an error as usual, and the next read still works.
        with pytest.raises(DBAPIError):
            read_one(engine, _NO_SUCH_TABLE, {})
        assert cache.versions("T0READ") == after
        engine.dispose()
        assert others() == []
    finally:
        admin.dispose()


_NO_SUCH_TABLE = select(text("1")).select_from(text("no_such_table"))


def test_a_workspace_deleted_and_installed_again_is_read_afresh(engine: Engine) -> None:
    """After a deletion (data protection) the counters start again; the copy a long-running
    process holds must not pass for the new workspace's data."""
    from storage.dataprotection import delete_workspace
    from storage.importers.calendar import seed_workspace
    from storage.models import utcnow
    from storage.workspaces import get_or_create_workspace

    def install_and_seed() -> None:
        with session_scope(engine, write=True) as session:
            workspace = get_or_create_workspace(session=session, team_id=TEAM)
            seed_workspace(session=session, team_id=TEAM)
            workspace.seeded_at = utcnow()
            session.add(workspace)

    install_and_seed()
    cache = SnapshotCache(engine)
    before = cache.get(TEAM)
    calendar = before.calendar
    with session_scope(engine, write=True) as session:
        delete_workspace(session=session, team_id=TEAM)
    install_and_seed()
    after = cache.get(TEAM)
    assert after.versions.calendar == before.versions.calendar  # the counters came back equal
    # ... and still the calendar is read again: its rows are new rows (PostgreSQL gives them
    # new ids; SQLite may reuse the old ones).
    assert after.calendar is not calendar
    assert after.calendar.deadlines.count == calendar.deadlines.count
