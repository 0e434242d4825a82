"""when an agent marked a booked callback done, and who: the agents' figures count callbacks done

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. Callbacks booked before this migration have no "done" recorded: they count as not done."""
    with op.batch_alter_table('escalations') as batch_op:
        batch_op.add_column(sa.Column('callback_done_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('callback_done_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_escalations_callback_done_by_agents', 'agents', ['callback_done_by'], ['id'])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('escalations') as batch_op:
        batch_op.drop_constraint('fk_escalations_callback_done_by_agents', type_='foreignkey')
        batch_op.drop_column('callback_done_by')
        batch_op.drop_column('callback_done_at')
