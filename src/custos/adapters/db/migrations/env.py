"""Alembic environment: the URL comes from the caller (custos db upgrade), never from a file."""

from __future__ import annotations

from alembic import context

from custos.adapters.db.engine import make_engine
from custos.adapters.db.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
if not url:
    raise RuntimeError("custos migrations need sqlalchemy.url set by the caller")

connectable = config.attributes.get("connection")
if connectable is None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
else:
    context.configure(connection=connectable, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
