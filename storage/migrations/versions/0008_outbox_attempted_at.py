"""outbox: when a post was first attempted and not yet settled, and how late it can have landed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

The sender records `attempted_at` (many rows per write) before it posts. A row whose lease ran
out needs the look in the channel's history only if it carries one: its post may have reached
Slack. Rows a dead process claimed but never posted go out without a read. Since 29 May 2025
Slack limits `conversations.history` for commercially distributed apps outside the Marketplace
(one read a minute, 15 messages), so reads that are not needed cost minutes. `check_until`
bounds the read from above: the lease end of the process that attempted the post.
"""

from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("check_until", sa.DateTime(timezone=True), nullable=True))
    # Rows held by a process of the version before may have been posted, and rows it left to
    # be looked for were: they keep the look, from their last claim. (Stop the schedulers of
    # the version before first: rows they claim after this are not covered.)
    op.execute(
        "UPDATE outbox_message SET attempted_at = claimed_at "
        "WHERE state = 'claimed' OR (state = 'pending' AND needs_check)"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("check_until")
        batch.drop_column("attempted_at")
