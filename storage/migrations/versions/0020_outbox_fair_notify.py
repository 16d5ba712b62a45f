"""outbox: lanes and ranks for fair sharing, the claim-order index, and the insert NOTIFY

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 22:30:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

LIVE = "status IN ('pending', 'sending')"
NOTIFY_FUNCTION = (
    "CREATE OR REPLACE FUNCTION cunbot_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM pg_notify('cunbot_outbox', ''); RETURN NULL; END $$"
)
NOTIFY_TRIGGER = (
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
    "FOR EACH STATEMENT EXECUTE FUNCTION cunbot_outbox_notify()"
)


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('lane', sa.String(32), nullable=False, server_default=''))
        batch.add_column(sa.Column('rank', sa.BigInteger(), nullable=False, server_default='0'))
    op.create_index(
        'ix_outbox_ready', 'outbox', ['priority', 'rank', 'id'],
        postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE),
    )
    op.create_index(
        'ix_outbox_lane_tail', 'outbox', ['lane', 'rank'],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS cunbot_outbox_notify()")
    op.drop_index('ix_outbox_lane_tail', table_name='outbox')
    op.drop_index('ix_outbox_ready', table_name='outbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('rank')
        batch.drop_column('lane')
