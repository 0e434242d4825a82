"""console roles (agent, operations, designer), and what a person did about an account flagged for review

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. Everyone who could log in before keeps working as an agent."""
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=20), nullable=False, server_default='agent'))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders_paused_at', UTCDateTime(timezone=True), nullable=True))
    op.create_table('account_review_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('account_review_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_review_entries_customer_id'), ['customer_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('account_review_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_review_entries_customer_id'))
    op.drop_table('account_review_entries')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('reminders_paused_at')
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('role')
