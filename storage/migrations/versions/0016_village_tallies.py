"""village_households and village_month_tallies: per village and category the active
households, and per month how many had so many visits on so many days (storage.village_tallies,
kept with every visit and household written), counted here from households and household_months

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:10:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BACKFILL_HOUSEHOLDS = """
INSERT INTO village_households (village_id, category, households)
SELECT village_id, category, count(*) FROM households WHERE active
GROUP BY village_id, category
"""
BACKFILL_MONTHS = """
INSERT INTO village_month_tallies (village_id, month, category, visits, days, households)
SELECT h.village_id, m.month, h.category, m.visits, m.days, count(*)
FROM household_months m JOIN households h ON h.id = m.household_id
WHERE h.active
GROUP BY h.village_id, m.month, h.category, m.visits, m.days
"""


def upgrade() -> None:
    op.create_table('village_households',
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['regions.id'], name=op.f('fk_village_households_village_id_regions')),
    sa.PrimaryKeyConstraint('village_id', 'category', name=op.f('pk_village_households'))
    )
    op.create_table('village_month_tallies',
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['regions.id'], name=op.f('fk_village_month_tallies_village_id_regions')),
    sa.PrimaryKeyConstraint('village_id', 'month', 'category', 'visits', 'days', name=op.f('pk_village_month_tallies'))
    )
    op.execute(BACKFILL_HOUSEHOLDS)
    op.execute(BACKFILL_MONTHS)


def downgrade() -> None:
    op.drop_table('village_month_tallies')
    op.drop_table('village_households')
