"""arrangements disputes escalations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 11:40:27.292820

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('context_json', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalations_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalations_status'), ['status'], unique=False)

    op.create_table('hardship_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('reported_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('hardship_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hardship_reports_customer_id'), ['customer_id'], unique=False)

    op.create_table('instalment_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('active', 'completed', 'broken', 'cancelled', name='planstatus', native_enum=False, length=20), nullable=False),
    sa.Column('ended_at', UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('instalment_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instalment_plans_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instalment_plans_status'), ['status'], unique=False)

    op.create_table('disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('previous_invoice_status', sa.Enum('open', 'partially_paid', 'paid', 'disputed', 'in_plan', 'cancelled', name='invoicestatus', native_enum=False, length=20), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disputes_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disputes_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('extensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('original_due_date', sa.Date(), nullable=False),
    sa.Column('new_due_date', sa.Date(), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invoice_id')
    )
    op.create_table('instalments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('paid_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['instalment_plans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'number')
    )
    with op.batch_alter_table('instalments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instalments_due_date'), ['due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_instalments_plan_id'), ['plan_id'], unique=False)

    op.create_table('plan_invoices',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['instalment_plans.id'], ),
    sa.PrimaryKeyConstraint('plan_id', 'invoice_id')
    )
    with op.batch_alter_table('payment_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instalment_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_links_instalment_id'), ['instalment_id'], unique=False)
        batch_op.create_foreign_key('fk_payment_links_instalment_id', 'instalments', ['instalment_id'], ['id'])



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('payment_links', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payment_links_instalment_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payment_links_instalment_id'))
        batch_op.drop_column('instalment_id')

    op.drop_table('plan_invoices')
    with op.batch_alter_table('instalments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instalments_plan_id'))
        batch_op.drop_index(batch_op.f('ix_instalments_due_date'))

    op.drop_table('instalments')
    op.drop_table('extensions')
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disputes_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_disputes_customer_id'))

    op.drop_table('disputes')
    with op.batch_alter_table('instalment_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instalment_plans_status'))
        batch_op.drop_index(batch_op.f('ix_instalment_plans_customer_id'))

    op.drop_table('instalment_plans')
    with op.batch_alter_table('hardship_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hardship_reports_customer_id'))

    op.drop_table('hardship_reports')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalations_status'))
        batch_op.drop_index(batch_op.f('ix_escalations_customer_id'))
        batch_op.drop_index(batch_op.f('ix_escalations_conversation_id'))

    op.drop_table('escalations')
