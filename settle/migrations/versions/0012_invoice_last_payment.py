"""when each invoice's latest payment came in, so the figures find the moment a bill was paid in full without
searching every payment

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. Every invoice with payments gets its latest payment's moment, so nothing is missing."""
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.add_column(sa.Column('last_payment_at', UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE invoices SET last_payment_at = (SELECT max(payments.paid_at) FROM payments WHERE payments.invoice_id = invoices.id) "
        "WHERE EXISTS (SELECT 1 FROM payments WHERE payments.invoice_id = invoices.id)"
    )
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_last_payment_at'), ['last_payment_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_last_payment_at'))
        batch_op.drop_column('last_payment_at')
