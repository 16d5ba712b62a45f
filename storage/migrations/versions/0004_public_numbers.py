"""public numbers: one short, gap-free number per task, problem and question in each county

``counters`` keeps the last number a county gave out per series (task, problem, question).
Existing rows are numbered in id order per county: tasks and notices share the ``task``
series; a problem gets the next ``problem`` number and its rectification task carries the same
number (one number per thing); a question is numbered only if it was ever handed to staff
(pending or answered by staff). A rectification task with no problem row (never written by
the code, but possible in old data) continues its county's problem series.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 16:00:00
"""

from collections import defaultdict
from typing import Any

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

regions = sa.table(
    'regions', sa.column('id', sa.Integer), sa.column('parent_id', sa.Integer),
    sa.column('level', sa.String),
)
tasks = sa.table(
    'tasks', sa.column('id', sa.Integer), sa.column('kind', sa.String),
    sa.column('county_id', sa.Integer), sa.column('number', sa.Integer),
)
assignments = sa.table('assignments', sa.column('id', sa.Integer), sa.column('task_id', sa.Integer))
problems = sa.table(
    'problems', sa.column('id', sa.Integer), sa.column('village_id', sa.Integer),
    sa.column('assignment_id', sa.Integer), sa.column('county_id', sa.Integer),
    sa.column('number', sa.Integer),
)
questions = sa.table(
    'questions', sa.column('id', sa.Integer), sa.column('county_id', sa.Integer),
    sa.column('status', sa.String), sa.column('number', sa.Integer),
)
counters = sa.table(
    'counters', sa.column('county_id', sa.Integer), sa.column('kind', sa.String),
    sa.column('value', sa.Integer),
)


def upgrade() -> None:
    op.create_table('counters',
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['regions.id'], name=op.f('fk_counters_county_id_regions')),
    sa.PrimaryKeyConstraint('county_id', 'kind', name=op.f('pk_counters'))
    )
    op.add_column('tasks', sa.Column('number', sa.Integer(), nullable=True))
    op.add_column('problems', sa.Column('county_id', sa.Integer(), nullable=True))
    op.add_column('problems', sa.Column('number', sa.Integer(), nullable=True))
    op.add_column('questions', sa.Column('number', sa.Integer(), nullable=True))

    _number_existing_rows(op.get_bind())

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint('task_number', ['county_id', 'kind', 'number'])
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.alter_column('county_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_problems_county_id_regions'), 'regions', ['county_id'], ['id']
        )
        batch_op.create_unique_constraint('problem_number', ['county_id', 'number'])
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_unique_constraint('question_number', ['county_id', 'number'])


def downgrade() -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_constraint('question_number', type_='unique')
        batch_op.drop_column('number')
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_constraint('problem_number', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_problems_county_id_regions'), type_='foreignkey')
        batch_op.drop_column('number')
        batch_op.drop_column('county_id')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint('task_number', type_='unique')
        batch_op.drop_column('number')
    op.drop_table('counters')


# --- numbering what exists ------------------------------------------------------------------


def _counties(conn: Any) -> dict[int, int]:
    """region id -> the id of the county it lies in (itself for a county)."""
    rows = list(conn.execute(sa.select(regions.c.id, regions.c.parent_id, regions.c.level)))
    parent = {rid: pid for rid, pid, _ in rows}
    level = {rid: lv for rid, _, lv in rows}
    out: dict[int, int] = {}
    for rid in parent:
        at: int | None = rid
        for _ in range(10):  # county > township > village: a few steps at most
            if at is None or level.get(at) == 'county':
                break
            at = parent.get(at)
        if at is not None and level.get(at) == 'county':
            out[rid] = at
    return out


def _update(conn: Any, table: Any, values: list[dict[str, Any]]) -> None:
    if not values:
        return
    columns: dict[str, Any] = {k: sa.bindparam(f'new_{k}') for k in values[0] if k != 'id'}
    stmt = table.update().where(table.c.id == sa.bindparam('row_id')).values(**columns)
    params = [{'row_id': v['id'], **{f'new_{k}': x for k, x in v.items() if k != 'id'}} for v in values]
    for start in range(0, len(params), 5000):
        conn.execute(stmt, params[start : start + 5000])


def _number_existing_rows(conn: Any) -> None:
    last: dict[tuple[int, str], int] = defaultdict(int)

    def take(county_id: int, kind: str) -> int:
        last[(county_id, kind)] += 1
        return last[(county_id, kind)]

    sendable = conn.execute(
        sa.select(tasks.c.id, tasks.c.county_id)
        .where(tasks.c.kind != 'rectify')
        .order_by(tasks.c.id)
    )
    _update(conn, tasks, [{'id': tid, 'number': take(cid, 'task')} for tid, cid in sendable])

    county_of = _counties(conn)
    found = conn.execute(
        sa.select(problems.c.id, problems.c.village_id, assignments.c.task_id)
        .select_from(problems)
        .outerjoin(assignments, assignments.c.id == problems.c.assignment_id)
        .order_by(problems.c.id)
    )
    problem_rows, rectify_rows, numbered = [], [], set()
    for pid, village_id, task_id in found:
        county_id = county_of[village_id]
        number = take(county_id, 'problem')
        problem_rows.append({'id': pid, 'county_id': county_id, 'number': number})
        if task_id is not None and task_id not in numbered:
            numbered.add(task_id)
            rectify_rows.append({'id': task_id, 'number': number})
    orphans = conn.execute(
        sa.select(tasks.c.id, tasks.c.county_id)
        .where(tasks.c.kind == 'rectify')
        .order_by(tasks.c.id)
    )
    rectify_rows += [
        {'id': tid, 'number': take(cid, 'problem')} for tid, cid in orphans if tid not in numbered
    ]
    _update(conn, problems, problem_rows)
    _update(conn, tasks, rectify_rows)

    queued = conn.execute(
        sa.select(questions.c.id, questions.c.county_id)
        .where(
            questions.c.county_id.is_not(None),
            questions.c.status.in_(('pending', 'staff_answered')),
        )
        .order_by(questions.c.id)
    )
    _update(conn, questions, [{'id': qid, 'number': take(cid, 'question')} for qid, cid in queued])

    if last:
        conn.execute(
            counters.insert(),
            [{'county_id': c, 'kind': k, 'value': v} for (c, k), v in sorted(last.items())],
        )
