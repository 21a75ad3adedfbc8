"""change requests: rounds on the tour plan, schools' answers, and their requests

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-12

A coordinator opens a round (`change_round`, with the deadline it created); each school
answers «changes» or «no changes» (`change_answer`, one per school and round) and files
requests (`change_request`) about its performances, keeping the performance as it was when
filed (forestilling_id, title, start). Deleting a round takes its answers and requests; a
performance deleted later leaves the request with the copy (performance_id becomes NULL).
None of these is in the in-memory snapshot, so they need no data-version triggers.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "change_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _text(32), nullable=False),
        sa.Column("closing_date", sa.Date(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=True),
        sa.Column("opened_by", _text(32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("change_round") as batch_op:
        batch_op.create_index("ix_change_round_team_opened", ["team_id", "opened_at"])
    op.create_table(
        "change_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _text(32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("answered_by", _text(32), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["change_round.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "school_id", name="uq_change_answer"),
    )
    op.create_table(
        "change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _text(32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=True),
        sa.Column("external_key", _text(100), nullable=False),
        sa.Column("production_title", _text(200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("wished_date", sa.Date(), nullable=True),
        sa.Column("wished_time", sa.Time(), nullable=True),
        sa.Column("wished_week", sa.Integer(), nullable=True),
        sa.Column("wished_year", sa.Integer(), nullable=True),
        sa.Column("contact_person", _text(200), nullable=True),
        sa.Column("comment", _text(1000), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_by", _text(32), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", _text(32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_by", _text(32), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_import", _text(200), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["change_round.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"]),
        sa.ForeignKeyConstraint(["performance_id"], ["performance.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("change_request") as batch_op:
        batch_op.create_index("ix_change_request_round_school", ["round_id", "school_id"])
        batch_op.create_index("ix_change_request_team_status", ["team_id", "status"])


def downgrade() -> None:
    op.drop_table("change_request")
    op.drop_table("change_answer")
    op.drop_table("change_round")
