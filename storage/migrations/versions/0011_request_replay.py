"""request_replay: the keys of requests already acted on (the replay guard)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

A request that writes stores its Slack signature here in the same transaction as its write;
an event stores its event_id before it is handled. The same key again is a replay or one of
Slack's retries: answered 200, with no second side effect. Keys are pruned after 15 minutes
(Slack refuses signatures more than five minutes off).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_replay",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("request_replay", schema=None) as batch_op:
        batch_op.create_index("ix_request_replay_seen_at", ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request_replay", schema=None) as batch_op:
        batch_op.drop_index("ix_request_replay_seen_at")
    op.drop_table("request_replay")
