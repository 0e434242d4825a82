"""payments links and checkouts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:21:40.202717

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sandbox_payments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('metadata_json', sa.Text(), nullable=False),
    sa.Column('redirect_url', sa.String(length=500), nullable=False),
    sa.Column('webhook_url', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('payment_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'paid', 'revoked', name='linkstatus', native_enum=False, length=20), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('payment_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_links_customer_id'), ['customer_id'], unique=False)

    op.create_table('received_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_reference', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('method', sa.String(length=30), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('review_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('external_reference')
    )
    with op.batch_alter_table('received_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_received_payments_customer_id'), ['customer_id'], unique=False)

    op.create_table('checkouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_payment_id', sa.String(length=80), nullable=False),
    sa.Column('checkout_url', sa.String(length=500), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['payment_links.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider', 'provider_payment_id')
    )
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkouts_link_id'), ['link_id'], unique=False)

    op.create_table('payment_link_invoices',
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['link_id'], ['payment_links.id'], ),
    sa.PrimaryKeyConstraint('link_id', 'invoice_id')
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_payment_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payments_received_payment_id'), ['received_payment_id'], unique=False)
        batch_op.create_foreign_key('fk_payments_received_payment_id', 'received_payments', ['received_payment_id'], ['id'])



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payments_received_payment_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payments_received_payment_id'))
        batch_op.drop_column('received_payment_id')

    op.drop_table('payment_link_invoices')
    with op.batch_alter_table('checkouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkouts_link_id'))

    op.drop_table('checkouts')
    with op.batch_alter_table('received_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_received_payments_customer_id'))

    op.drop_table('received_payments')
    with op.batch_alter_table('payment_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_links_customer_id'))

    op.drop_table('payment_links')
    op.drop_table('sandbox_payments')
