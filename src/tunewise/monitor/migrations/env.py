"""Alembic environment for the tunewise store. Run by ``tunewise.monitor.store.open_store`` (which
passes its own connection); the migrations ship inside the package."""

from __future__ import annotations

from alembic import context

from tunewise.monitor.schema import metadata

VERSION_TABLE = "tunewise_alembic_version"

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    connection = engine.connect()

context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
