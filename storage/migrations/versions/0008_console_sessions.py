"""console_links, console_sessions: one-time sign-in links and sessions of the web console;
ix_visits_village_visited for its households not visited for 30 days

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 16:20:00
"""

from alembic import op
import sqlalchemy as sa

import storage.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('used_at', storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_console_links_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_links')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_console_links_token_sha256'))
    )
    op.create_index(op.f('ix_console_links_person_id'), 'console_links', ['person_id'], unique=False)
    op.create_table('console_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_console_sessions_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sessions')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_console_sessions_token_sha256'))
    )
    op.create_index(op.f('ix_console_sessions_person_id'), 'console_sessions', ['person_id'], unique=False)
    op.create_index('ix_visits_village_visited', 'visits', ['village_id', 'visited_at', 'household_id', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_visits_village_visited', table_name='visits')
    op.drop_index(op.f('ix_console_sessions_person_id'), table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_index(op.f('ix_console_links_person_id'), table_name='console_links')
    op.drop_table('console_links')
