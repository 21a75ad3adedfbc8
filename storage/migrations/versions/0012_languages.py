"""languages: the workspace's written standard and each person's own choice

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

`workspace.language` (nb, nn, en; empty means bokmål) is what channel posts, exports and the
calendar feed are written in; `user_language` holds a person's own choice, which wins in what
only they read. Both bump the `settings` data version, like the other settings tables
(migration 0006), so every process's snapshot sees a change at once.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspace") as batch_op:
        batch_op.add_column(
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
    op.create_table(
        "user_language",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _postgres_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)


# As migration 0006 writes them (a migration stays as it was run, so they are copied here).
def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER trg_user_language_version_{event.lower()} AFTER {event} "
        f"ON user_language BEGIN INSERT INTO data_version "
        f"(team_id, calendar, directory, settings) VALUES ({row}.team_id, 0, 0, 1) "
        "ON CONFLICT (team_id) DO UPDATE SET settings = settings + 1; END"
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    ]


def _postgres_triggers() -> list[str]:
    # The bump functions exist since 0006.
    return [
        f"CREATE TRIGGER trg_user_language_version_{event.lower()} AFTER {event} "
        f"ON user_language REFERENCING {which} TABLE AS {rows} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION dks_bump_settings_{rows}()"
        for event, which, rows in (
            ("INSERT", "NEW", "new_rows"),
            ("UPDATE", "NEW", "new_rows"),
            ("DELETE", "OLD", "old_rows"),
        )
    ]


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for event in ("insert", "update", "delete"):
        op.execute(
            f"DROP TRIGGER IF EXISTS trg_user_language_version_{event}"
            + (" ON user_language" if postgres else "")
        )
    op.drop_table("user_language")
    with op.batch_alter_table("workspace") as batch_op:
        batch_op.drop_column("language")
