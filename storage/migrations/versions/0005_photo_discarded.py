"""photos.discarded_at: a photo its sender said is for nothing (不用了) or removed from a visit

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 16:00:00
"""

from alembic import op
import sqlalchemy as sa

import storage.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('photos') as batch:
        batch.add_column(sa.Column('discarded_at', storage.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('photos') as batch:
        batch.drop_column('discarded_at')
