"""Alembic environment: migrations run on a connection handed over by storage.db.upgrade."""

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    # Offline tooling (`alembic revision --autogenerate`) with a synchronous URL.
    url = config.get_main_option("sqlalchemy.url").replace("+aiosqlite", "").replace("+asyncpg", "")
    with create_engine(url).connect() as sync_connection:
        run_on(sync_connection)
        sync_connection.commit()
