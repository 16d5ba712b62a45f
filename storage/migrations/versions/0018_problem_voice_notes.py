"""photos.problem_id: a voice note sent during 整改完成 is attached to its problem

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 22:10:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('photos') as batch:
        batch.add_column(sa.Column('problem_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_photos_problem_id'), ['problem_id'], unique=False)
        batch.create_foreign_key(
            batch.f('fk_photos_problem_id_problems'), 'problems', ['problem_id'], ['id']
        )


def downgrade() -> None:
    # The voice notes stay (loose, as 0017 keeps a voice nobody placed); only the link goes.
    with op.batch_alter_table('photos') as batch:
        batch.drop_constraint(batch.f('fk_photos_problem_id_problems'), type_='foreignkey')
        batch.drop_index(batch.f('ix_photos_problem_id'))
        batch.drop_column('problem_id')
