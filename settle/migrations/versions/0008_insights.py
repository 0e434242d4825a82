"""what the KPI figures need: conversations, when a link was opened and paid, when an instalment was paid,
and indexes on the moments the figures filter by

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: (table, column) pairs the figures select a period by.
PERIOD_INDEXES = (
    ('disputes', 'created_at'),
    ('escalations', 'created_at'),
    ('extensions', 'created_at'),
    ('hardship_reports', 'reported_at'),
    ('instalment_plans', 'created_at'),
    ('instalment_plans', 'ended_at'),
    ('payment_links', 'created_at'),
    ('payments', 'paid_at'),
    ('received_payments', 'received_at'),
    ('reminders', 'created_at'),
)


def upgrade() -> None:
    """Upgrade schema. A link paid before this migration gets the moment its checkout's money was received
    (exact, from received_payments); an instalment's payment moment and a link's opening were never
    recorded before, so they stay empty rather than guessed."""
    op.create_table(
        'conversations',
        sa.Column('conversation_id', sa.String(length=255), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_message_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('verified_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.PrimaryKeyConstraint('conversation_id'),
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversations_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_started_at'), ['started_at'], unique=False)
    with op.batch_alter_table('payment_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_opened_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paid_at', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('instalments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paid_at', UTCDateTime(timezone=True), nullable=True))
    for table, column in PERIOD_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)
    op.execute(
        "UPDATE payment_links SET paid_at = ("
        " SELECT min(received_payments.received_at) FROM checkouts JOIN received_payments"
        " ON received_payments.external_reference = checkouts.provider || ':' || checkouts.provider_payment_id"
        " WHERE checkouts.link_id = payment_links.id AND checkouts.status = 'paid')"
        " WHERE status = 'paid'"
    )


def downgrade() -> None:
    """Downgrade schema."""
    for table, column in reversed(PERIOD_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
    with op.batch_alter_table('instalments', schema=None) as batch_op:
        batch_op.drop_column('paid_at')
    with op.batch_alter_table('payment_links', schema=None) as batch_op:
        batch_op.drop_column('paid_at')
        batch_op.drop_column('first_opened_at')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_started_at'))
        batch_op.drop_index(batch_op.f('ix_conversations_customer_id'))
    op.drop_table('conversations')
