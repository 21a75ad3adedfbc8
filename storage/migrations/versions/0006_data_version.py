"""data versions bumped by triggers, for the per-process read snapshots

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

Web processes answer `/dks frist`, `/dks kontakt` and the Home tab from an in-memory copy of
a workspace's calendar and directory (storage.snapshot), checked against `data_version` on
every request. Triggers keep the counters right for every writer: the bot, the CLI, imports
and other processes sharing the database. PostgreSQL bumps once per statement (a bulk import
is one bump); SQLite has only row triggers, which cost a few microseconds per written row.
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> the counter its changes bump
WATCHED = {
    "deadline": "calendar",
    "meeting": "calendar",
    "deadline_done": "calendar",
    "contact": "directory",
    "school": "directory",
    "municipality": "directory",
    "workspace": "settings",
    "coordinator": "settings",
}
COUNTERS = ("calendar", "directory", "settings")


def _sqlite_triggers(table: str, counter: str) -> list[str]:
    statements = []
    for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        values = ", ".join("1" if c == counter else "0" for c in COUNTERS)
        statements.append(
            f"CREATE TRIGGER trg_{table}_version_{event.lower()} AFTER {event} ON {table} "
            f"BEGIN INSERT INTO data_version (team_id, {', '.join(COUNTERS)}) "
            f"VALUES ({row}.team_id, {values}) "
            f"ON CONFLICT (team_id) DO UPDATE SET {counter} = {counter} + 1; END"
        )
    return statements


def _postgres_function(counter: str, rows: str) -> str:
    values = ", ".join("1" if c == counter else "0" for c in COUNTERS)
    return (
        f"CREATE FUNCTION dks_bump_{counter}_{rows}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN INSERT INTO data_version (team_id, {', '.join(COUNTERS)}) "
        f"SELECT DISTINCT team_id, {values} FROM {rows} "
        f"ON CONFLICT (team_id) DO UPDATE SET {counter} = data_version.{counter} + 1; "
        "RETURN NULL; END $$"
    )


def _postgres_triggers(table: str, counter: str) -> list[str]:
    # Transition tables allow one event per trigger, hence three.
    return [
        f"CREATE TRIGGER trg_{table}_version_{event.lower()} AFTER {event} ON {table} "
        f"REFERENCING {which} TABLE AS {rows} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION dks_bump_{counter}_{rows}()"
        for event, which, rows in (
            ("INSERT", "NEW", "new_rows"),
            ("UPDATE", "NEW", "new_rows"),
            ("DELETE", "OLD", "old_rows"),
        )
    ]


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("team_id", sa.String(length=32), primary_key=True),
        *(sa.Column(c, sa.Integer(), nullable=False, server_default="0") for c in COUNTERS),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for counter in COUNTERS:
            for rows in ("new_rows", "old_rows"):
                op.execute(_postgres_function(counter, rows))
    for table, counter in WATCHED.items():
        for statement in (_postgres_triggers if postgres else _sqlite_triggers)(table, counter):
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_version_{event}" + (f" ON {table}" if postgres else ""))
    if postgres:
        for counter in COUNTERS:
            for rows in ("new_rows", "old_rows"):
                op.execute(f"DROP FUNCTION IF EXISTS dks_bump_{counter}_{rows}()")
    op.drop_table("data_version")
