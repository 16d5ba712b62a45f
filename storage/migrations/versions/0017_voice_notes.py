"""photos.kind: a stored media row is a photo or a voice note (语音)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 20:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('photos') as batch:
        batch.add_column(
            sa.Column('kind', sa.String(8), nullable=False, server_default='photo')
        )


def downgrade() -> None:
    # Voice notes have no place in the older schema (it reads every row as an image).
    op.execute("UPDATE photos SET visit_id = NULL, assignment_id = NULL WHERE kind = 'voice'")
    op.execute("DELETE FROM photos WHERE kind = 'voice'")
    with op.batch_alter_table('photos') as batch:
        batch.drop_column('kind')
