"""tour plan and evaluation feedback

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "production",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("title_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("art_form", sa.String(length=32), nullable=False),
        sa.Column("producer", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "title_key"),
    )
    op.create_table(
        "tourplanstate",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_table(
        "performance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("external_key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("production_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("venue", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("grade_levels", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("expected_pupils", sa.Integer(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("search_key", sqlmodel.sql.sqltypes.AutoString(length=800), nullable=False),
        sa.ForeignKeyConstraint(["production_id"], ["production.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "external_key"),
    )
    with op.batch_alter_table("performance", schema=None) as batch_op:
        batch_op.create_index("ix_performance_team_start", ["team_id", "starts_at"], unique=False)
        batch_op.create_index(
            "ix_performance_team_production",
            ["team_id", "production_id", "ends_at", "cancelled"],
            unique=False,
        )

    op.create_table(
        "feedbackanswer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=False),
        sa.Column("production_id", sa.Integer(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("respondent_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("rating_overall", sa.Integer(), nullable=False),
        sa.Column("rating_artistic", sa.Integer(), nullable=False),
        sa.Column("rating_relevance", sa.Integer(), nullable=False),
        sa.Column("rating_pupils", sa.Integer(), nullable=False),
        sa.Column("rating_practical", sa.Integer(), nullable=False),
        sa.Column("comment_overall", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("comment_artistic", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("comment_relevance", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("comment_pupils", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("comment_practical", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("pupil_hosts", sa.String(length=16), nullable=True),
        sa.Column("pupils_attended", sa.Integer(), nullable=True),
        sa.Column("free_comment", sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edit_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["performance_id"], ["performance.id"]),
        sa.ForeignKeyConstraint(["production_id"], ["production.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "performance_id", "respondent_key"),
    )
    with op.batch_alter_table("feedbackanswer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedbackanswer_team_production",
            [
                "team_id",
                "production_id",
                "performance_id",
                "created_at",
                "rating_overall",
                "rating_artistic",
                "rating_relevance",
                "rating_pupils",
                "rating_practical",
            ],
            unique=False,
        )
        batch_op.create_index("ix_feedbackanswer_performance", ["performance_id"], unique=False)
        batch_op.create_index(
            "ix_feedbackanswer_team_respondent", ["team_id", "respondent_key"], unique=False
        )
        batch_op.create_index(
            "ix_feedbackanswer_open_keys",
            ["edit_until"],
            unique=False,
            sqlite_where=sa.text("respondent_key IS NOT NULL"),
            postgresql_where=sa.text("respondent_key IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("feedbackanswer", schema=None) as batch_op:
        batch_op.drop_index("ix_feedbackanswer_open_keys")
        batch_op.drop_index("ix_feedbackanswer_team_respondent")
        batch_op.drop_index("ix_feedbackanswer_performance")
        batch_op.drop_index("ix_feedbackanswer_team_production")
    op.drop_table("feedbackanswer")
    with op.batch_alter_table("performance", schema=None) as batch_op:
        batch_op.drop_index("ix_performance_team_production")
        batch_op.drop_index("ix_performance_team_start")
    op.drop_table("performance")
    op.drop_table("tourplanstate")
    op.drop_table("production")
