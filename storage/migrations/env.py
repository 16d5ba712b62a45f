"""Alembic environment: runs on a connection handed in by storage.db (async engines)."""

from alembic import context

from storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - we always pass a connection from storage.db
    raise RuntimeError("run migrations through `cunbot db upgrade` (storage.db.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
