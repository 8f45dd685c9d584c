"""Schema migrations of the app database (Alembic; scripts in bot/store/migrations/).

    python -m bot.store.migrate                 # upgrade DATABASE_URL to the newest schema
    python -m bot.store.migrate current         # any Alembic command: history, downgrade -1, ...
    python -m bot.store.migrate revision --autogenerate -m "handoff tables"
                                                # a new script: the models' changes since head
    python -m bot.store.migrate check           # fails when a model changed without a migration

The Alembic configuration is built here (no alembic.ini): the scripts folder and the database,
`bot.config.database_url()` (DATABASE_URL, else var/app.db); autogenerate and `check` diff
the models against a scratch SQLite database at head instead.

`bot.store.engine()` upgrades every database on its first use in a process, so a process
never runs on an old schema; `make run` and the Docker image upgrade once more before any
server starts, so a failing migration stops the start with its error instead of surfacing in
the first conversation.

Concurrent upgrades (the action server, the Rasa server and the website start at once; N
replicas in production) are serialised: PostgreSQL takes a transaction-level advisory lock
before Alembic reads the version table, SQLite starts with BEGIN IMMEDIATE (the database's
write lock). The second process then finds the schema at head and does nothing.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any, Callable, List, Optional

import sqlalchemy as sa
from alembic import command
from alembic.config import CommandLine, Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The key of pg_advisory_xact_lock(bigint): the same in every process and release.
ADVISORY_LOCK_KEY = zlib.crc32(b"iop-assistant schema migrations")


def config(url: Optional[str] = None, connection: Optional[Connection] = None) -> Config:
    """The Alembic Config for this project. With `connection`, env.py migrates on it (and
    leaves committing to the caller); otherwise env.py connects to `url`."""
    cfg = Config(stdout=sys.stdout)  # sys.stdout now, not when alembic was imported
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if url:
        # ConfigParser interpolation: a '%' in a password must be doubled.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def lock_for_migration(conn: Connection) -> None:
    """Begin the migration transaction holding the database-wide migration lock."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # pysqlite leaves DDL outside transactions unless one is begun explicitly; IMMEDIATE
        # takes the write lock now (waiting up to busy_timeout), so the version check that
        # follows sees what a concurrent upgrader committed.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    else:
        conn.begin()


def upgrade_engine(eng: Engine, revision: str = "head") -> None:
    """Upgrade the database behind `eng` to `revision`, in one locked transaction."""
    _locked(eng, command.upgrade, revision)


def upgrade(url: Optional[str] = None, revision: str = "head") -> None:
    """Upgrade the database at `url` (default: DATABASE_URL) to `revision` (default: head);
    at head, also encrypt the labels written in plain before 0008."""
    _with_engine(url, command.upgrade, revision)
    if revision == "head":
        encrypt_plain_labels(url)


# Columns migration 0008 turned into EncryptedLabel. Their rows from before are encrypted
# here, after the schema upgrade: a migration script never imports app code (the key).
LABELS_ENCRYPTED_IN_0008 = (("screenings", "level"), ("escalations", "reason"))


def encrypt_plain_labels(url: Optional[str] = None) -> int:
    """Encrypt every label still in plain text (none once done: then no key is needed).
    Returns how many were encrypted."""
    from bot.store.crypto import FERNET_PREFIX, encrypt  # no key needed until a row is

    if url is None:
        from bot.config import database_url

        url = database_url()
    eng = migration_engine(url)
    done = 0
    try:
        with eng.connect() as conn:
            lock_for_migration(conn)
            for name, column in LABELS_ENCRYPTED_IN_0008:
                table = sa.table(name, sa.column("id", sa.Integer), sa.column(column, sa.Text))
                value = table.c[column]
                plain = conn.execute(
                    sa.select(table.c.id, value).where(sa.not_(value.like(FERNET_PREFIX + "%")))
                ).all()
                for row_id, label in plain:
                    conn.execute(
                        table.update().where(table.c.id == row_id).values({column: encrypt(label)})
                    )
                done += len(plain)
            conn.commit()
    finally:
        eng.dispose()
    return done


def downgrade(url: Optional[str], revision: str) -> None:
    """Downgrade the database at `url` (default: DATABASE_URL) to `revision` ("base": empty)."""
    _with_engine(url, command.downgrade, revision)


def _with_engine(url: Optional[str], cmd: Callable[..., Any], revision: str) -> None:
    if url is None:
        from bot.config import database_url

        url = database_url()
    eng = migration_engine(url)
    try:
        _locked(eng, cmd, revision)
    finally:
        eng.dispose()


def _locked(eng: Engine, cmd: Callable[..., Any], revision: str) -> None:
    with eng.connect() as conn:
        lock_for_migration(conn)
        cmd(config(connection=conn), revision)
        conn.commit()


def migration_engine(url: str) -> Engine:
    """A short-lived engine for running migrations outside the app's engine cache."""
    eng = create_engine(url, future=True, poolclass=NullPool)
    if eng.dialect.name == "sqlite":
        event.listen(eng, "connect", _sqlite_busy_timeout)
    return eng


def _sqlite_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        from bot.config import database_url

        url = database_url()
        upgrade(url)
        print(f"Database schema is at head: {_redacted(url)}")
        return 0
    if argv[0] in ("upgrade", "downgrade", "stamp") and "--sql" not in argv:
        # Through a locked transaction, as at start-up.
        options = CommandLine(prog="python -m bot.store.migrate").parser.parse_args(argv)
        target = options.revisions if argv[0] == "stamp" else options.revision
        _with_engine(None, getattr(command, argv[0]), target)
        return 0
    cli = CommandLine(prog="python -m bot.store.migrate")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.print_help()
        return 2
    if getattr(options, "autogenerate", False) or argv[0] == "check":
        # Diff the models against a scratch SQLite database at head: the same result on every
        # machine, whatever state var/app.db is in, and no production database is touched.
        with tempfile.TemporaryDirectory() as scratch:
            url = f"sqlite:///{Path(scratch) / 'autogenerate.db'}"
            upgrade(url)
            cli.run_cmd(config(url), options)
        return 0
    from bot.config import database_url

    cli.run_cmd(config(database_url()), options)
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    # Alembic says what it runs ("Running upgrade 0001 -> 0002") on stderr.
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("alembic").setLevel(logging.INFO)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    sys.exit(main())
