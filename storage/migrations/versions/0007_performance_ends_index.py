"""index on performances by end time, for the Home tab's missing-feedback section

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

«Tilbakemeldinger som mangler» reads the newest performances held (ended) in a workspace on
every Home tab; without this index PostgreSQL read every performance of the workspace.
"""

from alembic import op


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_performance_team_ends", "performance", ["team_id", "ends_at"])


def downgrade() -> None:
    op.drop_index("ix_performance_team_ends", table_name="performance")
