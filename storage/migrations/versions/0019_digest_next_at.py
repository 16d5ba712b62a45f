"""people.morning_next_at / evening_next_at / nudge_next_at: when the digest and nudge jobs next look at a person

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 22:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

EPOCH = '1970-01-01 00:00:00'
# storage.models.DIGEST_WHO as it is at this revision
WHO = {
    'morning': "role IN ('secretary', 'team_member') AND active",
    'evening': "role IN ('county_staff') AND active",
    'nudge': "role IN ('secretary', 'team_member') AND active",
}


def upgrade() -> None:
    # Every person starts "due for a look": the first tick settles each one (a digest already
    # queued today is not queued again: its outbox key exists).
    with op.batch_alter_table('people') as batch:
        batch.add_column(
            sa.Column('morning_next_at', sa.DateTime(), nullable=False, server_default=EPOCH)
        )
        batch.add_column(
            sa.Column('evening_next_at', sa.DateTime(), nullable=False, server_default=EPOCH)
        )
        batch.add_column(
            sa.Column('nudge_next_at', sa.DateTime(), nullable=False, server_default=EPOCH)
        )
    for kind, who in WHO.items():
        op.create_index(
            f'ix_people_{kind}_due',
            'people',
            [f'{kind}_next_at'],
            postgresql_where=sa.text(who),
            sqlite_where=sa.text(who),
        )


def downgrade() -> None:
    for kind in WHO:
        op.drop_index(f'ix_people_{kind}_due', table_name='people')
    with op.batch_alter_table('people') as batch:
        batch.drop_column('nudge_next_at')
        batch.drop_column('evening_next_at')
        batch.drop_column('morning_next_at')
