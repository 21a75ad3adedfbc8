"""Storage on SQLite and PostgreSQL: search keys, recurrence, precision, scoping."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from storage.calendar import undated, upcoming
from storage.contacts import search_contacts
from storage.db import current_revision, session_scope
from storage.folding import fold
from storage.models import DatePrecision, Deadline, Meeting
from tests.helpers import add_contact, add_deadline, add_meeting

TEAM = "T0STORE"
TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Østfold", "ostfold"),
        ("Åse", "ase"),
        ("aase", "ase"),
        ("Ærlig BÆR", "aerlig baer"),
        ("Kulturskolerådet", "kulturskoleradet"),
        ("  Café   Ñandú ", "cafe nandu"),
        ("STRASSE", "strasse"),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_migrations_reach_head(engine):
    assert current_revision(engine) is not None


def test_contact_search_matches_every_word_and_escapes_wildcards(engine):
    add_contact(engine, TEAM, name="Åse Aasen", role="kulturkontakt", school="Ås ungdomsskole")
    add_contact(engine, TEAM, name="Bjørn Ødegård", role="rådgiver", organisation="100%_kultur")
    add_contact(engine, "T0OTHER", name="Åse Annen", role="kulturkontakt")
    with session_scope(engine) as session:
        hits, total = search_contacts(session=session, team_id=TEAM, query="aase kulturkontakt")
        assert [h.contact.name for h in hits] == ["Åse Aasen"] and total == 1
        assert hits[0].school == "Ås ungdomsskole"
        hits, _ = search_contacts(session=session, team_id=TEAM, query="odegard")
        assert [h.contact.name for h in hits] == ["Bjørn Ødegård"]
        # Words match at a word's start; LIKE's wildcards are only punctuation: they neither
        # match everybody nor count as words.
        hits, _ = search_contacts(session=session, team_id=TEAM, query="100%_kultur")
        assert [h.contact.name for h in hits] == ["Bjørn Ødegård"]
        assert search_contacts(session=session, team_id=TEAM, query="%_") == ([], 0)
        assert search_contacts(session=session, team_id=TEAM, query="_") == ([], 0)
        hits, total = search_contacts(session=session, team_id=TEAM, query="k", limit=1)
        assert len(hits) == 1 and total == 2


def test_upcoming_expands_recurrence_with_its_end(engine):
    add_deadline(
        engine,
        TEAM,
        "Rapport",
        date(2021, 2, 12),
        rrule="FREQ=YEARLY",
        confirmed_until=date(2021, 2, 12),
    )
    add_deadline(
        engine, TEAM, "Styringsgruppe", date(2018, 12, 1), rrule="FREQ=YEARLY;UNTIL=20200901"
    )
    add_deadline(engine, TEAM, "Engang", TODAY + timedelta(days=3))
    add_deadline(engine, TEAM, "Før", TODAY - timedelta(days=3))
    with session_scope(engine) as session:
        found = upcoming(
            session=session, model=Deadline, team_id=TEAM, start=TODAY, end=date(2028, 12, 31)
        )
        assert [(o.item.title, o.start, o.expected) for o in found] == [
            ("Engang", TODAY + timedelta(days=3), False),
            ("Rapport", date(2027, 2, 12), True),
            ("Rapport", date(2028, 2, 12), True),
        ]
        every = upcoming(session=session, model=Deadline, team_id=TEAM, start=TODAY, end=None)
        assert [(o.item.title, o.start) for o in every] == [
            ("Engang", TODAY + timedelta(days=3)),
            ("Rapport", date(2027, 2, 12)),
        ]


def test_a_running_span_counts_and_undated_items_are_listed(engine):
    add_meeting(
        engine,
        TEAM,
        "Veiledning",
        TODAY - timedelta(days=10),
        end_date=TODAY + timedelta(days=5),
        precision=DatePrecision.WEEK,
    )
    add_meeting(engine, TEAM, "Nettverksmøte", None, precision=DatePrecision.UNSET)
    with session_scope(engine) as session:
        found = upcoming(session=session, model=Meeting, team_id=TEAM, start=TODAY, end=TODAY)
        assert [o.item.title for o in found] == ["Veiledning"]
        assert [m.title for m in undated(session=session, model=Meeting, team_id=TEAM)] == [
            "Nettverksmøte"
        ]


def test_a_failed_write_leaves_nothing_behind(engine):
    with pytest.raises(RuntimeError), session_scope(engine, write=True) as session:
        session.add(Deadline(team_id=TEAM, title="Halvveis", due_date=TODAY))
        session.flush()
        raise RuntimeError("boom")
    with session_scope(engine) as session:
        assert upcoming(session=session, model=Deadline, team_id=TEAM, start=TODAY, end=None) == []


def test_migrations_match_the_models(engine):
    """Every table, column and index the models declare is what Alembic creates."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from cryptography.fernet import Fernet
    from sqlalchemy import MetaData
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401
    from storage.installations import SealedInstallationStore, make_state_store, token_cipher

    # slack_sdk's installation and OAuth-state tables (migration 0009) are declared by its
    # stores, not by our models: compare them too, as the stores use them.
    declared = MetaData()
    store = SealedInstallationStore("1.2", engine, token_cipher([Fernet.generate_key().decode()]))
    for table in [
        *SQLModel.metadata.tables.values(),
        *store.metadata.tables.values(),
        *make_state_store(engine).metadata.tables.values(),
    ]:
        table.to_metadata(declared)
    # Created by the migration on PostgreSQL only: it needs the pg_trgm extension.
    postgres_only = {"ix_contact_search_trgm"}
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), declared)
    diff = [d for d in diff if not (d[0] == "remove_index" and d[1].name in postgres_only)]
    assert diff == []
