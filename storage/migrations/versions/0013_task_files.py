"""task_files: the files (附件) sent down with a task

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:20:00
"""

from alembic import op
import sqlalchemy as sa

import storage.models

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('mime', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_files_task_id_tasks')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['people.id'], name=op.f('fk_task_files_uploaded_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_files'))
    )
    op.create_index(op.f('ix_task_files_sha256'), 'task_files', ['sha256'], unique=False)
    op.create_index(op.f('ix_task_files_task_id'), 'task_files', ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_task_files_task_id'), table_name='task_files')
    op.drop_index(op.f('ix_task_files_sha256'), table_name='task_files')
    op.drop_table('task_files')
