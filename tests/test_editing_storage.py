"""storage.items and storage.audit on SQLite and PostgreSQL: writes keep search keys in step,
every change is audited in the same transaction, and the Home tab's reads stay correct."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

import pytest
from sqlmodel import select

from storage import audit
from storage.calendar import upcoming
from storage.contacts import search_contacts
from storage.db import session_scope
from storage.items import (
    ItemInUse,
    ItemNotFound,
    delete_item,
    get_item,
    mark_deadline_done,
    save_item,
    school_overview,
    schools_without_kulturkontakt,
    search_schools,
    undated_items,
)
from storage.models import (
    AuditEntry,
    Contact,
    DatePrecision,
    Deadline,
    Meeting,
    Municipality,
    School,
)
from tests.conftest import ADMIN, TEAM
from tests.helpers import add_deadline, add_meeting
from tests.home_oracle import next_occurrences

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_create_update_delete_keeps_search_key_and_audit(engine):
    with session_scope(engine, write=True) as session:
        result = save_item(
            session=session,
            kind="deadline",
            team_id=TEAM,
            item_id=None,
            values={"title": "Søknad til Kulturrådet", "due_date": date(2027, 1, 15)},
            user_id=ADMIN,
            at=NOW,
        )
        assert result.created
        deadline_id = result.row.id
    with session_scope(engine) as session:
        row = session.get(Deadline, deadline_id)
        assert row is not None and row.search_key == "soknad til kulturradet"
        change = audit.last_change(
            session=session, team_id=TEAM, item_kind="deadline", item_id=deadline_id
        )
        assert change is not None and change.user_id == ADMIN and change.action == "create"
        assert change.at == NOW

    later = NOW + timedelta(hours=2)
    with session_scope(engine, write=True) as session:
        result = save_item(
            session=session,
            kind="deadline",
            team_id=TEAM,
            item_id=deadline_id,
            values={"title": "Søknad til Kulturrådet", "audience": "kommunekontakt"},
            user_id="U0OTHER",
            at=later,
        )
        assert result.changes == {"audience": [None, "kommunekontakt"]}
    with session_scope(engine) as session:
        row = session.get(Deadline, deadline_id)
        assert row is not None and "kommunekontakt" in row.search_key
        entries = audit.entries_for(session=session, team_id=TEAM, item_kind="deadline")
        assert [e.action for e in entries] == ["create", "update"]
        assert audit.changes_of(entries[1]) == {"audience": [None, "kommunekontakt"]}
        assert entries[1].at == later and entries[1].user_id == "U0OTHER"

    # An update that changes nothing writes no audit entry.
    with session_scope(engine, write=True) as session:
        result = save_item(
            session=session,
            kind="deadline",
            team_id=TEAM,
            item_id=deadline_id,
            values={"audience": "kommunekontakt"},
            user_id=ADMIN,
        )
        assert result.changes == {}
    with session_scope(engine, write=True) as session:
        assert (
            delete_item(
                session=session, kind="deadline", team_id=TEAM, item_id=deadline_id, user_id=ADMIN
            )
            == "Søknad til Kulturrådet"
        )
    with session_scope(engine) as session:
        assert session.get(Deadline, deadline_id) is None
        entries = audit.entries_for(session=session, team_id=TEAM, item_id=deadline_id)
        assert [e.action for e in entries] == ["create", "update", "delete"]
        assert audit.changes_of(entries[-1])["title"][1] == "Søknad til Kulturrådet"


def test_other_workspaces_rows_are_not_found(engine):
    other = add_deadline(engine, "T0OTHER", "Deres frist", TODAY)
    with session_scope(engine, write=True) as session:
        assert get_item(session=session, kind="deadline", team_id=TEAM, item_id=other) is None
        with pytest.raises(ItemNotFound):
            save_item(
                session=session,
                kind="deadline",
                team_id=TEAM,
                item_id=other,
                values={"title": "Kapret"},
                user_id=ADMIN,
            )
        with pytest.raises(ItemNotFound):
            delete_item(
                session=session, kind="deadline", team_id=TEAM, item_id=other, user_id=ADMIN
            )
    with session_scope(engine) as session:
        row = session.get(Deadline, other)
        assert row is not None and row.title == "Deres frist"
        assert session.exec(select(AuditEntry)).all() == []


def test_a_failed_transaction_leaves_neither_row_nor_audit(engine):
    with pytest.raises(RuntimeError), session_scope(engine, write=True) as session:
        save_item(
            session=session,
            kind="meeting",
            team_id=TEAM,
            item_id=None,
            values={"title": "Nettverksmøte", "start_date": TODAY},
            user_id=ADMIN,
        )
        raise RuntimeError("boom")
    with session_scope(engine) as session:
        assert session.exec(select(Meeting)).all() == []
        assert session.exec(select(AuditEntry)).all() == []


def test_renaming_a_school_rekeys_its_contacts_and_deleting_it_keeps_them(engine):
    with session_scope(engine, write=True) as session:
        muni = Municipality(team_id=TEAM, name="Ås")
        session.add(muni)
        session.flush()
        school = save_item(
            session=session,
            kind="school",
            team_id=TEAM,
            item_id=None,
            values={"name": "Nordby skole", "municipality_id": muni.id},
            user_id=ADMIN,
        ).row
        contact = save_item(
            session=session,
            kind="contact",
            team_id=TEAM,
            item_id=None,
            values={"name": "Kari Dahl", "role": "kulturkontakt", "school_id": school.id},
            user_id=ADMIN,
        ).row
        school_id, contact_id = school.id, contact.id
    with session_scope(engine) as session:
        hits, _ = search_contacts(session=session, team_id=TEAM, query="nordby")
        assert [h.contact.id for h in hits] == [contact_id]
        assert hits[0].municipality == "Ås"

    with session_scope(engine, write=True) as session:
        save_item(
            session=session,
            kind="school",
            team_id=TEAM,
            item_id=school_id,
            values={"name": "Sjøskogen skole"},
            user_id=ADMIN,
        )
    with session_scope(engine) as session:
        assert search_contacts(session=session, team_id=TEAM, query="nordby")[1] == 0
        assert search_contacts(session=session, team_id=TEAM, query="sjoskogen")[1] == 1

    with session_scope(engine, write=True) as session:
        delete_item(session=session, kind="school", team_id=TEAM, item_id=school_id, user_id=ADMIN)
    with session_scope(engine) as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None and contact.school_id is None
        assert contact.municipality_id is not None  # still at Ås
        assert search_contacts(session=session, team_id=TEAM, query="sjoskogen")[1] == 0
        assert search_contacts(session=session, team_id=TEAM, query="as kari")[1] == 1


def test_a_school_other_data_points_at_is_not_deleted(engine):
    from storage.models import Performance, Production

    with session_scope(engine, write=True) as session:
        school = School(team_id=TEAM, name="Fjellet skole")
        production = Production(team_id=TEAM, title="Jazz", title_key="jazz", art_form="musikk")
        session.add_all([school, production])
        session.flush()
        session.add(
            Performance(
                team_id=TEAM,
                external_key="f1",
                production_id=production.id,
                school_id=school.id,
                starts_at=NOW,
                ends_at=NOW + timedelta(hours=1),
            )
        )
        school_id = school.id
    with session_scope(engine, write=True) as session:
        with pytest.raises(ItemInUse):
            delete_item(
                session=session, kind="school", team_id=TEAM, item_id=school_id, user_id=ADMIN
            )
        # The transaction is still usable after the refused delete.
        assert session.get(School, school_id) is not None
    with session_scope(engine) as session:
        assert session.get(School, school_id) is not None
        assert session.exec(select(AuditEntry)).all() == []


def test_next_occurrences_skips_done_and_merges_recurring(engine):
    yearly = add_deadline(
        engine,
        TEAM,
        "Årsrapport",
        date(2021, 12, 1),
        rrule="FREQ=YEARLY",
        confirmed_until=date(2021, 12, 1),
    )
    soon = add_deadline(engine, TEAM, "Snart", TODAY + timedelta(days=2))
    add_deadline(engine, TEAM, "Senere", TODAY + timedelta(days=20), due_time=clock_time(9))
    add_deadline(engine, TEAM, "Gammel", TODAY - timedelta(days=30))
    add_deadline(engine, TEAM, "Udatert", None, precision=DatePrecision.UNSET)
    add_deadline(engine, "T0OTHER", "Ikke vår", TODAY + timedelta(days=1))

    with session_scope(engine) as session:
        found, more = next_occurrences(
            session=session, model=Deadline, team_id=TEAM, start=TODAY, limit=2
        )
        assert [(o.item.title, o.start) for o in found] == [
            ("Snart", TODAY + timedelta(days=2)),
            ("Årsrapport", date(2026, 12, 1)),
        ]
        assert found[1].expected and more

    with session_scope(engine, write=True) as session:
        for deadline_id, day in ((soon, TODAY + timedelta(days=2)), (yearly, date(2026, 12, 1))):
            assert mark_deadline_done(
                session=session,
                team_id=TEAM,
                deadline_id=deadline_id,
                occurrence=day,
                user_id=ADMIN,
                at=NOW,
            )
        assert not mark_deadline_done(
            session=session,
            team_id=TEAM,
            deadline_id=soon,
            occurrence=TODAY + timedelta(days=2),
            user_id=ADMIN,
            at=NOW,
        )
    with session_scope(engine) as session:
        found, more = next_occurrences(
            session=session, model=Deadline, team_id=TEAM, start=TODAY, limit=5
        )
        # Done occurrences are gone; the yearly one comes back next year.
        assert [(o.item.title, o.start) for o in found] == [
            ("Senere", TODAY + timedelta(days=20)),
            ("Årsrapport", date(2027, 12, 1)),
        ]
        assert not more
        assert [e.action for e in audit.entries_for(session=session, team_id=TEAM)] == [
            "done",
            "done",
        ]
        rows, total = undated_items(session=session, model=Deadline, team_id=TEAM, limit=5)
        assert [r.title for r in rows] == ["Udatert"] and total == 1


def test_next_occurrences_agrees_with_the_list_commands(engine):
    """The Home tab's fast path and /dks møte's full expansion must pick the same items."""
    for i in range(30):
        add_meeting(engine, TEAM, f"Møte {i:02d}", TODAY + timedelta(days=(i * 7) % 200 - 20))
    add_meeting(
        engine,
        TEAM,
        "Fellessamling",
        TODAY - timedelta(days=1),
        end_date=TODAY + timedelta(days=1),
    )
    add_meeting(engine, TEAM, "Månedlig", date(2026, 1, 5), rrule="FREQ=MONTHLY")
    with session_scope(engine) as session:
        fast, more = next_occurrences(
            session=session, model=Meeting, team_id=TEAM, start=TODAY, limit=12
        )
        full = upcoming(session=session, model=Meeting, team_id=TEAM, start=TODAY, end=None)
    assert more
    assert fast[0].item.title == "Fellessamling"  # still running today
    assert [(o.item.title, o.start) for o in fast] == [(o.item.title, o.start) for o in full[:12]]
    assert [o.start for o in fast if o.item.title == "Månedlig"] == [date(2026, 12, 5)]


def test_schools_without_kulturkontakt(engine):
    with session_scope(engine, write=True) as session:
        muni = Municipality(team_id=TEAM, name="Moss")
        session.add(muni)
        session.flush()
        schools = [
            School(team_id=TEAM, name=name, municipality_id=muni.id)
            for name in ("Bakken skole", "Åsen skole", "Øvre skole", "Holmen skole")
        ]
        session.add_all([*schools, School(team_id="T0OTHER", name="Annen skole")])
        session.flush()
        session.add_all(
            [
                Contact(team_id=TEAM, name="A", role="kulturkontakt", school_id=schools[0].id),
                Contact(team_id=TEAM, name="B", role="rektor", school_id=schools[1].id),
                Contact(
                    team_id=TEAM,
                    name="C",
                    role="kulturkontakt",
                    school_id=schools[2].id,
                    historical=True,
                ),
            ]
        )
    with session_scope(engine) as session:
        missing, total = schools_without_kulturkontakt(session=session, team_id=TEAM, limit=2)
        assert total == 3
        assert [(s.name, m) for s, m in missing] == [
            ("Holmen skole", "Moss"),
            ("Åsen skole", "Moss"),
        ]
        lines, count = school_overview(session=session, team_id=TEAM, offset=0, limit=10)
        assert count == 4
        assert [line.school.name for line in lines][-1] == "Bakken skole"  # covered ones last
        assert [c.name for c in lines[-1].kulturkontakter] == ["A"]
        assert [
            s.name for s, _ in search_schools(session=session, team_id=TEAM, query="asen", limit=5)
        ] == ["Åsen skole"]
        assert len(search_schools(session=session, team_id=TEAM, query="moss", limit=3)) == 3
