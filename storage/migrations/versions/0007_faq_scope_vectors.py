"""faqs.county_id (a county's own entries answer that county only) and faq_vectors (stored
sentence vectors of FAQ phrasings)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:10:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('faq_vectors',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_faq_vectors'))
    )
    with op.batch_alter_table('faqs') as batch:
        batch.add_column(sa.Column('county_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_faqs_county_id'), ['county_id'], unique=False)
        batch.create_foreign_key(
            batch.f('fk_faqs_county_id_regions'), 'regions', ['county_id'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('faqs') as batch:
        batch.drop_constraint(batch.f('fk_faqs_county_id_regions'), type_='foreignkey')
        batch.drop_index(batch.f('ix_faqs_county_id'))
        batch.drop_column('county_id')
    op.drop_table('faq_vectors')
