"""visits.day (the local date, for the once-a-day quota count) and visit_quotas (per-region
overrides of the monthly visit quota by household category)

Existing visits get their local date in the service's time zone (``CUNBOT_TIMEZONE``, default
Asia/Shanghai): in SQL on PostgreSQL, row by row in Python on SQLite (which has no zone data).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 16:00:00
"""

import os
from datetime import UTC
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

import storage.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

visits = sa.table(
    'visits', sa.column('id', sa.Integer), sa.column('visited_at', sa.DateTime),
    sa.column('day', sa.Date),
)
OLD_INDEXES = {
    'ix_visits_village_month': ['village_id', 'month', 'status', 'household_id'],
    'ix_visits_month_status': ['month', 'status', 'household_id', 'village_id'],
}
BATCH = 5000


def _backfill() -> None:
    bind = op.get_bind()
    zone = os.environ.get('CUNBOT_TIMEZONE') or 'Asia/Shanghai'
    if bind.dialect.name == 'postgresql':
        bind.execute(
            sa.text("UPDATE visits SET day = CAST(timezone(:tz, visited_at AT TIME ZONE 'UTC') AS DATE)"),
            {'tz': zone},
        )
        return
    tz = ZoneInfo(zone)
    last = 0
    while True:
        rows = bind.execute(
            sa.select(visits.c.id, visits.c.visited_at)
            .where(visits.c.id > last).order_by(visits.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            visits.update().where(visits.c.id == sa.bindparam('vid')).values(day=sa.bindparam('d')),
            [{'vid': i, 'd': at.replace(tzinfo=UTC).astimezone(tz).date()} for i, at in rows],
        )
        last = rows[-1][0]


def upgrade() -> None:
    op.create_table('visit_quotas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('per_month', sa.Integer(), nullable=False),
    sa.Column('updated_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_visit_quotas_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_quotas')),
    sa.UniqueConstraint('region_id', 'category', name='region_category')
    )
    with op.batch_alter_table('visits') as batch_op:
        batch_op.add_column(sa.Column('day', sa.Date(), nullable=True))
    _backfill()
    with op.batch_alter_table('visits') as batch_op:
        batch_op.alter_column('day', existing_type=sa.Date(), nullable=False)
        for name, columns in OLD_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [*columns, 'day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('visits') as batch_op:
        for name, columns in OLD_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
        batch_op.drop_column('day')
    op.drop_table('visit_quotas')
