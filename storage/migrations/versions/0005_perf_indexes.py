"""indexes for the /dks list and contact replies

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

Recurring and undated calendar items are a few percent of a workspace's rows, but each
`/dks frist` and `/dks møte` reads all of them; partial indexes hold just those rows, the
recurring one with every column the page query needs. On PostgreSQL a trigram index serves
the contact search's `LIKE '%word%'`, when the pg_trgm extension can be had.
"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CALENDAR = (("deadline", "due_date", "due_time"), ("meeting", "start_date", "start_time"))
TRIGRAM_INDEX = "ix_contact_search_trgm"


def upgrade() -> None:
    for table, day, at in CALENDAR:
        op.create_index(
            f"ix_{table}_team_recurring",
            table,
            ["team_id", day, "end_date", "rrule", "confirmed_until", at, "title"],
            sqlite_where=sa.text("rrule IS NOT NULL"),
            postgresql_where=sa.text("rrule IS NOT NULL"),
        )
        op.create_index(
            f"ix_{table}_team_undated",
            table,
            ["team_id", "title"],
            sqlite_where=sa.text("precision = 'unset'"),
            postgresql_where=sa.text("precision = 'unset'"),
        )

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # CREATE EXTENSION needs a privilege not every database user has; without it the
        # search still works, only slower, so the upgrade goes on.
        savepoint = bind.begin_nested()
        try:
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except sa.exc.DBAPIError:
            savepoint.rollback()
            return
        savepoint.commit()
        op.create_index(
            TRIGRAM_INDEX,
            "contact",
            ["search_key"],
            postgresql_using="gin",
            postgresql_ops={"search_key": "gin_trgm_ops"},
        )


def downgrade() -> None:
    op.execute(sa.text(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}"))
    for table, _, _ in CALENDAR:
        op.drop_index(f"ix_{table}_team_undated", table_name=table)
        op.drop_index(f"ix_{table}_team_recurring", table_name=table)
