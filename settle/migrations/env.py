"""Alembic environment: migrates the database Settle is configured for (or the connection given)."""
from alembic import context

from settle.config import process_settings
from settle.db import engine_for
from settle.models import Base

config = context.config


def run_migrations() -> None:
    """Runs online only: a connection passed in by `settle.schema`, or one to the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or process_settings().database_url
    with engine_for(url).begin() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
