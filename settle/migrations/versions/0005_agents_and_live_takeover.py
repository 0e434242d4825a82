"""agents and live takeover

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 14:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transcript_json', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('agent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('callback_phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('callback_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_escalations_agent_id'), ['agent_id'], unique=False)
        batch_op.create_foreign_key('fk_escalations_agent_id_agents', 'agents', ['agent_id'], ['id'])

    op.create_table('escalation_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('escalation_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.String(length=10), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('escalation_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_messages_escalation_id'), ['escalation_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('escalation_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_messages_escalation_id'))
    op.drop_table('escalation_messages')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_constraint('fk_escalations_agent_id_agents', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_escalations_agent_id'))
        for column in ('callback_at', 'callback_phone', 'closed_at', 'claimed_at', 'agent_id', 'transcript_json'):
            batch_op.drop_column(column)
    op.drop_table('agents')
