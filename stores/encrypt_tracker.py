"""Encrypt an existing plaintext tracker store in place (once, when switching to
`stores.encrypted_tracker.EncryptedSQLTrackerStore`):

    python -m stores.encrypt_tracker --endpoints endpoints.yml

It reads the tracker store from the endpoints file (`type: SQL` or the encrypted store; the
same ${VARIABLES} from the environment and .env), encrypts every event whose `data` is
still plain JSON and empties `intent_name` and `action_name`. Rows already encrypted are left
alone, so running it again (or after an interruption) is safe. Then it compacts the
database (SQLite `VACUUM`, PostgreSQL `VACUUM FULL events`) so the old plaintext does not
linger in free pages. Backups and PostgreSQL WAL archives made before still hold it.

Prints counts only, never an event's content. Exit 0 done; 1 when the database could not be
compacted (busy: run it again with the servers stopped); 2 when the endpoints file names no
SQL tracker store or the key is missing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

import bot.config  # noqa: F401 - loads .env, as the servers do, before the endpoints are read
from bot.store.crypto import MissingKeyError
from stores.encrypted_tracker import TABLE, EncryptedSQLTrackerStore, encrypt_event, is_plaintext

STORE_PATH = f"{EncryptedSQLTrackerStore.__module__}.{EncryptedSQLTrackerStore.__name__}"
BATCH = 500

# The raw table, past the store's own mapping (which would decrypt on read).
events = sa.table(
    TABLE,
    sa.column("id", sa.Integer),
    sa.column("data", sa.Text),
    sa.column("intent_name", sa.String),
    sa.column("action_name", sa.String),
)


@dataclass
class Outcome:
    encrypted: int = 0  # rows whose data was plain JSON
    already: int = 0  # rows left as they were
    labels_cleared: int = 0  # encrypted rows that still had an intent or action name


def encrypt_rows(engine: Engine, batch: int = BATCH) -> Outcome:
    """Encrypt the plaintext rows of `events`, one committed batch at a time (an interrupted
    run leaves every row either plain or encrypted, never half)."""
    outcome = Outcome()
    last = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(events.c.id, events.c.data, events.c.intent_name, events.c.action_name)
                .where(events.c.id > last)
                .order_by(events.c.id)
                .limit(batch)
            ).all()
            for row in rows:
                plain = row.data is not None and is_plaintext(row.data)
                labelled = row.intent_name is not None or row.action_name is not None
                if plain:
                    outcome.encrypted += 1
                elif labelled:
                    outcome.labels_cleared += 1
                else:
                    outcome.already += 1
                    continue
                values: Dict[str, Optional[str]] = {"intent_name": None, "action_name": None}
                if plain:
                    values["data"] = encrypt_event(row.data)
                conn.execute(events.update().where(events.c.id == row.id).values(**values))
        if len(rows) < batch:
            return outcome
        last = rows[-1].id


def compact(engine: Engine) -> None:
    """Rewrite the table so the replaced plaintext is gone from the files (SQLite's free
    pages, PostgreSQL's dead row versions)."""
    statement = {"sqlite": "VACUUM", "postgresql": f"VACUUM FULL {TABLE}"}.get(engine.dialect.name)
    if statement:
        # VACUUM cannot run inside a transaction.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(statement))


class NotSQLStore(ValueError):
    """The endpoints file names another kind of tracker store."""


def open_store(endpoints_path: str) -> EncryptedSQLTrackerStore:
    from rasa.core.utils import AvailableEndpoints

    config = AvailableEndpoints.read_endpoints(endpoints_path).tracker_store
    kind = (config.type or "") if config else ""
    if kind.lower() != "sql" and kind != STORE_PATH:
        raise NotSQLStore(
            f"{endpoints_path}: tracker_store.type is {kind or 'not set'!r}; this command "
            f"encrypts an SQL tracker store (type: SQL or {STORE_PATH})."
        )
    # The encrypted store on the same database: same engine settings, table created if absent.
    return EncryptedSQLTrackerStore(host=config.url, **config.kwargs)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stores.encrypt_tracker",
        description="Encrypt the plaintext events of Rasa's SQL tracker store in place.",
    )
    parser.add_argument("--endpoints", default="endpoints.yml", help="Rasa endpoints file")
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="skip compacting the database afterwards (VACUUM locks the table while it runs)",
    )
    args = parser.parse_args(argv)
    try:
        store = open_store(args.endpoints)
        outcome = encrypt_rows(store.engine)
    except (MissingKeyError, NotSQLStore) as exc:
        print(f"Cannot encrypt: {exc}", file=sys.stderr)
        return 2
    lines: List[str] = [
        f"{outcome.encrypted} events encrypted, {outcome.already} already encrypted"
        + (
            f", intent/action names emptied on {outcome.labels_cleared} more"
            if outcome.labels_cleared
            else ""
        )
        + "."
    ]
    # Always, not only when rows changed: an earlier run may have stopped before compacting.
    if not args.no_vacuum:
        try:
            compact(store.engine)
        except sa.exc.OperationalError as exc:
            print("\n".join(lines))
            print(
                f"Could not compact the database ({type(exc.orig).__name__}): run this again "
                "with the Rasa servers stopped, or the replaced plaintext stays in its free pages.",
                file=sys.stderr,
            )
            return 1
        lines.append("Database compacted: the replaced plaintext is gone from its files.")
    store.engine.dispose()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
