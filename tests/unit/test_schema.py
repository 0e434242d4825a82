"""The migrations create exactly the schema the models describe."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from settle import schema
from settle.db import engine_for
from settle.models import Base, Customer


def _differences(url: str) -> list:
    with engine_for(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, Base.metadata)


def _head() -> str:
    return ScriptDirectory.from_config(schema.alembic_config("sqlite://")).get_current_head()


def test_migrated_database_matches_the_models(database_url):
    assert _differences(database_url) == []


def test_fresh_sqlite_database_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    schema.upgrade(url)
    assert _differences(url) == []


def test_upgrade_twice_is_harmless(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    schema.upgrade(url)
    with engine_for(url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customers (customer_number, first_name, last_name, postcode, date_of_birth, "
                "preferred_channel, language, municipality, region) "
                "VALUES ('59999999', 'Test', 'Twice', '1000', '1980-01-01', 'chat', 'en', 'Brussel', 'Brussels')"
            )
        )
    schema.upgrade(url)
    with engine_for(url).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [_head()]
        assert connection.execute(text("SELECT customer_number FROM customers")).scalars().all() == ["59999999"]
    assert _differences(url) == []


def test_upgrade_again_keeps_the_seeded_data(database_url):
    with engine_for(database_url).connect() as connection:
        before = connection.execute(select(func.count()).select_from(Customer.__table__)).scalar_one()
    schema.upgrade(database_url)
    with engine_for(database_url).connect() as connection:
        assert connection.execute(select(func.count()).select_from(Customer.__table__)).scalar_one() == before == 40
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [_head()]
