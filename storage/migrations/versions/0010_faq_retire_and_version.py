"""faqs.retired_at (a retired entry is kept but never answered from) and faq_state (a counter
every FAQ write moves on, read before each search so every process notices a change)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07 19:00:00
"""

from alembic import op
import sqlalchemy as sa

import storage.models

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = op.create_table('faq_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_state'))
    )
    op.bulk_insert(state, [{'id': 1, 'version': 0}])
    with op.batch_alter_table('faqs') as batch:
        batch.add_column(sa.Column('retired_at', storage.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('faqs') as batch:
        batch.drop_column('retired_at')
    op.drop_table('faq_state')
