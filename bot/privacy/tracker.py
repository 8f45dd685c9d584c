"""Rasa's tracker store as deletion needs it: the `events` table of the SQL tracker store that
the endpoints file names (RASA_ENDPOINTS: endpoints.yml, SQLite; endpoints.production.yml,
PostgreSQL).

The file is read as Rasa reads it: `${VAR}` from the environment (and .env, loaded by
bot.config), `url` either a host or a whole database URL, a relative SQLite path relative to
the project (where the servers run). Rasa itself is not imported: bot/ stays Rasa-free, and a
deletion command starts in a second instead of loading Rasa.

Rows are found by `sender_id` (the conversation id), which the encrypted store keeps in
clear for Rasa's own queries; `data` is never read here.
"""

from __future__ import annotations

import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from bot.config import ROOT, Settings, settings

TABLE = "events"  # Rasa's SQLTrackerStore table (stores.encrypted_tracker keeps its schema)
SQL_STORES = ("sql", "stores.encrypted_tracker.encryptedsqltrackerstore")
CHUNK = 500  # ids per IN (…): well under SQLite's and PostgreSQL's parameter limits

events = sa.table(
    TABLE, sa.column("id", sa.Integer), sa.column("sender_id", sa.String), sa.column("timestamp")
)


class TrackerStoreError(ValueError):
    """The endpoints file names no SQL tracker store this package can reach; the message
    says which file and key."""


def tracker_url(endpoints: Optional[str] = None) -> Optional[URL]:
    """The tracker store's database, or None when the endpoints file keeps trackers in
    memory (no tracker_store: nothing rests on disk)."""
    path = Path(endpoints or settings().rasa_endpoints)
    path = path if path.is_absolute() else ROOT / path
    try:
        config = (yaml.safe_load(path.read_text()) or {}).get("tracker_store")
    except (OSError, yaml.YAMLError) as exc:
        raise TrackerStoreError(f"{path}: cannot be read ({type(exc).__name__})") from None
    if not config:
        return None
    kind = str(config.get("type") or "")
    if kind.lower() not in SQL_STORES:
        raise TrackerStoreError(
            f"{path}: tracker_store.type is {kind or 'not set'!r}; deletion and key "
            "rotation reach SQL tracker stores only (type: SQL or "
            "stores.encrypted_tracker.EncryptedSQLTrackerStore)"
        )
    values = {key: _expand(value, f"{path}: tracker_store.{key}") for key, value in config.items()}
    dialect = values.get("dialect") or "sqlite"
    host = values.get("url")
    if host and "://" in host:
        return make_url(host)
    port = int(values["port"]) if values.get("port") else None
    if host:
        parsed = re.match(r"^(?P<host>[^:/]+)(?::(?P<port>\d+))?", host)
        if parsed:
            host, port = parsed["host"], int(parsed["port"]) if parsed["port"] else port
    db = values.get("db") or "rasa.db"
    if dialect == "sqlite":
        db = str(db if Path(db).is_absolute() else ROOT / db)
    return URL.create(
        dialect,
        username=values.get("username"),
        password=values.get("password"),
        host=host,
        port=port,
        database=db,  # with `login_db`, Rasa connects there only to create `db`
        query=config.get("query") or {},
    )


def _defaults() -> Dict[str, str]:
    """The settings' own defaults by variable name (Settings), for a ${VAR} neither the
    environment nor .env sets: the servers start with the same (scripts/stack.py)."""
    return {f.metadata["env"]: str(f.default) for f in fields(Settings) if "env" in f.metadata}


def _expand(value: Any, where: str) -> Any:
    if not isinstance(value, str) or "${" not in value:
        return value

    def var(match: "re.Match[str]") -> str:
        name = match.group(1)
        found = os.environ.get(name) or _defaults().get(name)
        if found is None:
            raise TrackerStoreError(f"{where}: ${{{name}}} is not set")
        return found

    return re.sub(r"\$\{([^}]+)\}", var, value)


def connect(url: Optional[URL] = None, endpoints: Optional[str] = None) -> Optional[Engine]:
    """An engine on the tracker store (`url`, else the endpoints file's), or None when there
    is none. On SQLite, deleted rows are overwritten with zeros (secure_delete)."""
    url = url if url is not None else tracker_url(endpoints)
    if url is None:
        return None
    eng = sa.create_engine(url, future=True, poolclass=NullPool)
    if eng.dialect.name == "sqlite":
        sa.event.listen(eng, "connect", _secure_delete)
    return eng


def _secure_delete(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _exists(eng: Engine) -> bool:
    return sa.inspect(eng).has_table(TABLE)


def count_events(eng: Engine, sender_ids: Iterable[str]) -> int:
    ids = sorted(set(sender_ids))
    if not ids or not _exists(eng):
        return 0
    total = 0
    with eng.connect() as conn:
        for part in _chunks(ids):
            total += conn.execute(
                sa.select(sa.func.count()).select_from(events).where(events.c.sender_id.in_(part))
            ).scalar_one()
    return total


def delete_events(eng: Engine, sender_ids: Iterable[str]) -> int:
    """Delete every event of these conversations, in one transaction. Returns how many."""
    ids = sorted(set(sender_ids))
    if not ids or not _exists(eng):
        return 0
    deleted = 0
    with eng.begin() as conn:
        for part in _chunks(ids):
            deleted += conn.execute(events.delete().where(events.c.sender_id.in_(part))).rowcount
    return deleted


def last_activity(eng: Engine) -> Dict[str, float]:
    """When each conversation last had an event (Unix time), by conversation id."""
    if not _exists(eng):
        return {}
    with eng.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.sender_id, sa.func.max(events.c.timestamp)).group_by(
                events.c.sender_id
            )
        ).all()
    return {sender: float(at) for sender, at in rows if at is not None}


def compact(eng: Engine) -> bool:
    """SQLite: rewrite the file so no deleted byte is left in free pages (VACUUM). False when
    the database stayed busy. PostgreSQL: nothing here (the rows are gone from every query at
    once; their dead versions are reclaimed by autovacuum, and `data` was encrypted)."""
    if eng.dialect.name != "sqlite":
        return True
    try:
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")
    except sa.exc.OperationalError:
        return False
    return True


def _chunks(ids: List[str]) -> Iterable[List[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
