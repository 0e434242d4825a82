"""customers' opt-outs from reminders (and back in), per channel or for all, with when and where they said so

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. Nobody has opted out before this migration: every customer keeps getting reminders."""
    op.create_table('reminder_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Enum('chat', 'link', 'console', name='optoutsource', native_enum=False, length=10), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reminder_choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_choices_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_choices_customer_id'), ['customer_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('reminder_choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_choices_customer_id'))
        batch_op.drop_index(batch_op.f('ix_reminder_choices_created_at'))
    op.drop_table('reminder_choices')
