"""verification failures by source, lockouts with their start

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema; lockouts of a customer number are no longer kept (anyone could lock the real customer out)."""
    with op.batch_alter_table('verification_failures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_verification_failures_source'), ['source'], unique=False)
    with op.batch_alter_table('verification_lockouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_at', UTCDateTime(timezone=True), nullable=True))
    op.execute("DELETE FROM verification_lockouts WHERE subject = 'customer_number'")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('verification_lockouts', schema=None) as batch_op:
        batch_op.drop_column('locked_at')
    with op.batch_alter_table('verification_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_failures_source'))
        batch_op.drop_column('source')
