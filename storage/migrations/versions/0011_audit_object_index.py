"""ix_audit_object_id: one object's audit rows (a household's change history) by index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:10:00
"""

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_object_id', 'audit', ['object', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_object_id', table_name='audit')
