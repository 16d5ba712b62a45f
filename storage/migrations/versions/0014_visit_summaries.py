"""household_months and households.last_visited_at, last_month, last_month_visits,
last_month_days: visit summaries kept with every visit written (storage.visit_summary),
backfilled here from the visits

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 19:10:00
"""

from alembic import op
import sqlalchemy as sa

import storage.models

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BACKFILL_MONTHS = """
INSERT INTO household_months (household_id, month, visits, days)
SELECT household_id, month, count(*), count(DISTINCT day)
FROM visits WHERE status = 'active' GROUP BY household_id, month
"""
BACKFILL_LAST = """
UPDATE households SET
    last_visited_at = (
        SELECT max(v.visited_at) FROM visits v
        WHERE v.household_id = households.id AND v.status = 'active'),
    last_month = (
        SELECT max(m.month) FROM household_months m WHERE m.household_id = households.id)
"""
BACKFILL_LAST_MONTH = """
UPDATE households SET
    last_month_visits = (
        SELECT m.visits FROM household_months m
        WHERE m.household_id = households.id AND m.month = households.last_month),
    last_month_days = (
        SELECT m.days FROM household_months m
        WHERE m.household_id = households.id AND m.month = households.last_month)
"""


def upgrade() -> None:
    op.create_table('household_months',
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_household_months_household_id_households')),
    sa.PrimaryKeyConstraint('household_id', 'month', name=op.f('pk_household_months'))
    )
    op.create_index('ix_household_months_month', 'household_months', ['month', 'household_id', 'days', 'visits'], unique=False)
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_visited_at', storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_month', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('last_month_visits', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_month_days', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_households_last_month'), ['last_month'], unique=False)
    op.execute(BACKFILL_MONTHS)
    op.execute(BACKFILL_LAST)
    op.execute(BACKFILL_LAST_MONTH)


def downgrade() -> None:
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_households_last_month'))
        batch_op.drop_column('last_month_days')
        batch_op.drop_column('last_month_visits')
        batch_op.drop_column('last_month')
        batch_op.drop_column('last_visited_at')
    op.drop_index('ix_household_months_month', table_name='household_months')
    op.drop_table('household_months')
