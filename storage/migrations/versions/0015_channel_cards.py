"""channel_cards: messages sent with clickable buttons (WeCom template cards) and the response
code spent on updating each one after its press

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:30:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import storage.models

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('card_id', sa.String(length=128), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('buttons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sent_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('response_code', sa.String(length=512), nullable=True),
    sa.Column('answered_at', storage.models.UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_cards')),
    sa.UniqueConstraint('channel', 'card_id', name='channel_card'),
    sa.UniqueConstraint('response_code', name=op.f('uq_channel_cards_response_code'))
    )
    op.create_index('ix_channel_cards_recipient', 'channel_cards', ['channel', 'external_id', 'sent_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_channel_cards_recipient', table_name='channel_cards')
    op.drop_table('channel_cards')
