"""rate_windows: the delivery limits shared by every process (a sliding-window log per key)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 02:10:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import storage.models

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_windows',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('times', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_windows'))
    )
    op.create_index(op.f('ix_rate_windows_updated_at'), 'rate_windows', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rate_windows_updated_at'), table_name='rate_windows')
    op.drop_table('rate_windows')
