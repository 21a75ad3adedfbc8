"""scheduled outbox, deadline done marks, reminder channel changes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outbox_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('unique_key', sa.String(length=255), nullable=False),
        sa.Column('ref', sa.String(length=255), nullable=False),
        sa.Column('target', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('needs_check', sa.Boolean(), nullable=False),
        sa.Column('late', sa.Boolean(), nullable=False),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('channel', sa.String(length=32), nullable=True),
        sa.Column('ts', sa.String(length=32), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('team_id', 'kind', 'unique_key', name='uq_outbox_key'),
    )
    op.create_index('ix_outbox_state_available', 'outbox_message', ['state', 'available_at'])
    op.create_index('ix_outbox_team_ref', 'outbox_message', ['team_id', 'ref'])
    op.create_index('ix_outbox_team_state_due', 'outbox_message', ['team_id', 'state', 'due_at'])

    op.create_table(
        'outbox_alert',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.String(length=32), nullable=False),
        sa.Column('alert_key', sa.String(length=200), nullable=False),
        sa.Column('reason', sa.String(length=100), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('team_id', 'alert_key', name='uq_outbox_alert_key'),
    )

    op.create_table(
        'deadline_done',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.String(length=32), nullable=False),
        sa.Column('deadline_id', sa.Integer(), nullable=False),
        sa.Column('occurrence', sa.Date(), nullable=False),
        sa.Column('done_by', sa.String(length=32), nullable=False),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('team_id', 'deadline_id', 'occurrence', name='uq_deadline_done'),
    )

    op.create_table(
        'reminder_channel_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.String(length=32), nullable=False),
        sa.Column('channel_id', sa.String(length=32), nullable=True),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_reminder_channel_change_team', 'reminder_channel_change', ['team_id', 'changed_at']
    )


def downgrade() -> None:
    op.drop_index('ix_reminder_channel_change_team', table_name='reminder_channel_change')
    op.drop_table('reminder_channel_change')
    op.drop_table('deadline_done')
    op.drop_table('outbox_alert')
    op.drop_index('ix_outbox_team_state_due', table_name='outbox_message')
    op.drop_index('ix_outbox_team_ref', table_name='outbox_message')
    op.drop_index('ix_outbox_state_available', table_name='outbox_message')
    op.drop_table('outbox_message')
