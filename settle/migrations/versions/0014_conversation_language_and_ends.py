"""each conversation's language, and what the bot waited for when its latest turn ended, for the language
filter and the abandoned conversations of the figures

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from settle.models import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. A conversation's language is its latest recorded message's, filled in from the messages
    kept since migration 0010; how the bot's turns ended was never recorded before, so it stays empty."""
    with op.batch_alter_table('conversations') as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('turn_ended_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('waiting_for', sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE conversations SET language = (SELECT m.language FROM conversation_messages AS m"
        " WHERE m.conversation_id = conversations.conversation_id AND m.language IS NOT NULL"
        " ORDER BY m.position DESC LIMIT 1)"
        " WHERE EXISTS (SELECT 1 FROM conversation_messages AS m WHERE m.conversation_id = conversations.conversation_id"
        " AND m.language IS NOT NULL)"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('conversations') as batch_op:
        batch_op.drop_column('waiting_for')
        batch_op.drop_column('turn_ended_at')
        batch_op.drop_column('language')
