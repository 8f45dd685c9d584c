"""Alembic environment for the app database. Run through bot.store.migrate (which builds the
Config in code); `bot.store.engine()` and `make run` upgrade to head with it.

Migration scripts never import the app's model classes or column types: a TypeDecorator
(EncryptedJSON, UTCDateTime) is rendered as the plain type it stores (sa.Text, sa.DateTime),
so a script keeps working when the models move or are renamed.
"""

from __future__ import annotations

from typing import Any, Optional

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from bot.store import Base, import_models

config = context.config
import_models()
target_metadata = Base.metadata


def include_name(name: Optional[str], type_: str, parent_names: Any) -> bool:
    # The database may be shared (Rasa's tracker store keeps its `events` table in the same
    # PostgreSQL database in production): autogenerate looks only at the app's own tables.
    # Dropping a table therefore has to be written by hand in its migration.
    if type_ == "table":
        return name in target_metadata.tables or name == "alembic_version"
    return True


def render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False  # the default rendering


OPTIONS = dict(
    target_metadata=target_metadata,
    include_name=include_name,
    render_item=render_item,
    compare_type=True,
    render_as_batch=True,  # SQLite cannot ALTER most things: later migrations copy-and-move
)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # bot.store.migrate passes its connection, already in the locked transaction it
        # commits itself (Alembic sees an external transaction and leaves it alone).
        context.configure(connection=connection, **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, future=True, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **OPTIONS)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
