"""task evidence holds photo ids; the dead "overdue" status leaves the unscheduled index

Task submissions stored their photos as SHA-256s under ``evidence["photos"]`` while
rectification stored ids under ``evidence["photo_ids"]``. Both now store ids under
``photo_ids``: existing rows are converted by looking each SHA-256 up in ``photos`` (a
SHA-256 with no photo row is dropped: nothing could show it). Downgrade converts back.

"overdue" was never written, so the partial index no longer lists it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 01:30:00
"""

from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OLD_UNSCHEDULED = (
    "remind_at IS NULL AND deadline IS NOT NULL"
    " AND status IN ('pending', 'acked', 'returned', 'overdue')"
)
NEW_UNSCHEDULED = (
    "remind_at IS NULL AND deadline IS NOT NULL AND status IN ('pending', 'acked', 'returned')"
)

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
assignments = sa.table(
    'assignments', sa.column('id', sa.Integer), sa.column('task_id', sa.Integer),
    sa.column('evidence', JSON),
)
tasks = sa.table('tasks', sa.column('id', sa.Integer), sa.column('kind', sa.String))
photos = sa.table(
    'photos', sa.column('id', sa.Integer), sa.column('sha256', sa.String),
)


def _unscheduled_index(predicate: str) -> None:
    op.drop_index('ix_assignments_unscheduled', table_name='assignments')
    op.create_index(
        'ix_assignments_unscheduled', 'assignments', ['id'], unique=False,
        postgresql_where=sa.text(predicate), sqlite_where=sa.text(predicate),
    )


def _task_rows(conn: Any) -> list[tuple[int, dict[str, Any]]]:
    rows = conn.execute(
        sa.select(assignments.c.id, assignments.c.evidence)
        .join(tasks, tasks.c.id == assignments.c.task_id)
        .where(tasks.c.kind != 'rectify')
    )
    return [(aid, dict(evidence)) for aid, evidence in rows if evidence]


def _convert(from_key: str, to_key: str, column: Any, lookup: Any) -> None:
    conn = op.get_bind()
    for aid, evidence in _task_rows(conn):
        if from_key not in evidence:
            continue
        values = list(evidence.pop(from_key) or [])
        found: dict[Any, Any] = {}
        if values:
            rows = conn.execute(sa.select(column, lookup).where(column.in_(values))).all()
            found = {row[0]: row[1] for row in rows}
        evidence[to_key] = [found[v] for v in values if v in found]
        conn.execute(assignments.update().where(assignments.c.id == aid).values(evidence=evidence))


def upgrade() -> None:
    _unscheduled_index(NEW_UNSCHEDULED)
    _convert('photos', 'photo_ids', photos.c.sha256, photos.c.id)


def downgrade() -> None:
    _convert('photo_ids', 'photos', photos.c.id, photos.c.sha256)
    _unscheduled_index(OLD_UNSCHEDULED)
