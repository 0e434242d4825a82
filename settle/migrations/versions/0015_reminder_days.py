"""the reminders' figures of final days, kept so the dashboard's long periods add them up instead of recounting
every reminder (docs/kpis.md, "Speed")

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COUNTS = ('reminders', 'flagged', 'reached_nobody', 'messages', 'sent', 'failed',
          'counted_3', 'paid_3', 'counted_7', 'paid_7', 'counted_14', 'paid_14')


def upgrade() -> None:
    """Upgrade schema. Both tables start empty: the figures count each final day the first time they need it."""
    op.create_table('reminder_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('starts_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_before', UTCDateTime(timezone=True), nullable=False),
        sa.Column('counted_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('day'),
        sa.UniqueConstraint('starts_at'),
    )
    op.create_table('reminder_day_counts',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('stage', sa.String(length=40), nullable=False),
        sa.Column('stage_order', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.ForeignKeyConstraint(['day'], ['reminder_days.day'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('day', 'language', 'stage', 'stage_order', 'channel'),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('reminder_day_counts')
    op.drop_table('reminder_days')
