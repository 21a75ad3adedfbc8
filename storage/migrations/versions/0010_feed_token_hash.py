"""calendar_feed: keep the SHA-256 of the feed's secret token, not the token

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

The token in a feed address opened the workspace's calendar to anyone with a copy of the
database. Now only its SHA-256 is stored (storage.ics.token_hash). Tokens stored before are
hashed here, so the addresses people subscribe to keep working.
"""

import hashlib

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calendar_feed") as batch:
        batch.add_column(
            sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT team_id, token FROM calendar_feed WHERE token IS NOT NULL")
    ).all()
    for team_id, token in rows:
        conn.execute(
            sa.text("UPDATE calendar_feed SET token_hash = :hash WHERE team_id = :team_id"),
            {"hash": hashlib.sha256(token.encode()).hexdigest(), "team_id": team_id},
        )
    with op.batch_alter_table("calendar_feed") as batch:
        batch.drop_column("token")
        batch.create_index("ix_calendar_feed_token_hash", ["token_hash"], unique=True)


def downgrade() -> None:
    # A hash cannot be turned back into its token: subscriptions need a new address after a
    # downgrade («Lag ny adresse»).
    with op.batch_alter_table("calendar_feed") as batch:
        batch.drop_index("ix_calendar_feed_token_hash")
        batch.drop_column("token_hash")
        batch.add_column(
            sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.create_unique_constraint("uq_calendar_feed_token", ["token"])
