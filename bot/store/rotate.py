"""Re-encrypt every stored PHI value with the first key of PHI_ENCRYPTION_KEY (key rotation):

    PHI_ENCRYPTION_KEY=<new>,<old> python -m bot.store.rotate --endpoints endpoints.yml

It rewrites, with `MultiFernet.rotate`, each encrypted column of the app database (every
column of a model in `bot.store.MODEL_MODULES` whose type is `crypto.EncryptedJSON` or a
subclass) and the `data` of the tracker store's events (the SQL tracker store the endpoints
file names, as deletion reads it: bot.privacy.tracker). Then the old key can leave
PHI_ENCRYPTION_KEY. Signed links and stored hashes do not depend on it as long as
SIGNING_SECRET holds it once it is gone (`crypto.derived_secret`).

One committed batch at a time; a value is rewritten only if the first key cannot read it,
and only if it did not change meanwhile, so running it again, after an interruption or next
to running servers is safe. Values still in plain text (labels from before migration 0008,
events from before tracker encryption) are left to `bot.store.migrate` and
`stores.encrypt_tracker`. Prints counts only. Exit 0 done; 2 on a missing or unusable key or
an endpoints file without an SQL tracker store.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from sqlalchemy.engine import Engine

from bot.store import crypto

BATCH = 500


@dataclass
class Counts:
    rotated: int = 0  # values re-encrypted with the first key
    current: int = 0  # values the first key already encrypted
    plain: int = 0  # values not yet encrypted (left alone)


def encrypted_columns() -> List[Tuple[str, str, List[str]]]:
    """(table, primary key column, encrypted columns) of every app table holding PHI."""
    from bot.store import Base, import_models

    import_models()
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c.name for c in table.columns if isinstance(c.type, crypto.EncryptedJSON)]
        if columns:
            (pk,) = table.primary_key.columns  # every app table has an integer `id`
            found.append((table.name, pk.name, columns))
    return found


def rotate_table(
    engine: Engine, name: str, pk: str, columns: Sequence[str], batch: int = BATCH
) -> Counts:
    """Re-encrypt `columns` of table `name` with the first key, `batch` rows per commit,
    straight on the stored tokens (never through the models, which would decrypt)."""
    cipher = crypto.cipher()
    first = crypto.primary_cipher()
    table = sa.table(name, sa.column(pk, sa.Integer), *(sa.column(c, sa.Text) for c in columns))
    key = table.c[pk]
    counts = Counts()
    last = None
    while True:
        with engine.begin() as conn:
            query = sa.select(table).order_by(key).limit(batch)
            if last is not None:
                query = query.where(key > last)
            rows = conn.execute(query).all()
            for row in rows:
                for column in columns:
                    token = row._mapping[column]
                    if token is None:
                        continue
                    if not crypto.is_encrypted(token):
                        counts.plain += 1
                        continue
                    try:
                        first.decrypt(token.encode())
                        counts.current += 1
                        continue
                    except InvalidToken:
                        pass
                    try:
                        new = cipher.rotate(token.encode()).decode()
                    except InvalidToken:
                        raise crypto.MissingKeyError(
                            f"A value in {name}.{column} cannot be decrypted with any key of "
                            "PHI_ENCRYPTION_KEY: keep the key it was written with in the list."
                        ) from None
                    # Only if unchanged since read: a server may have rewritten it meanwhile.
                    conn.execute(
                        table.update()
                        .where(key == row._mapping[pk], table.c[column] == token)
                        .values({column: new})
                    )
                    counts.rotated += 1
        if len(rows) < batch:
            return counts
        last = rows[-1]._mapping[pk]


def rotate_app(engine: Engine, batch: int = BATCH) -> Counts:
    total = Counts()
    for name, pk, columns in encrypted_columns():
        counts = rotate_table(engine, name, pk, columns, batch)
        total.rotated += counts.rotated
        total.current += counts.current
        total.plain += counts.plain
    return total


def rotate_tracker(engine: Engine, batch: int = BATCH) -> Counts:
    """The tracker store's `events.data` (plain JSON rows are `stores.encrypt_tracker`'s)."""
    from bot.privacy.tracker import TABLE

    return rotate_table(engine, TABLE, "id", ["data"], batch)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.store.rotate",
        description="Re-encrypt the app database and the tracker store with the first key "
        "of PHI_ENCRYPTION_KEY.",
    )
    parser.add_argument("--endpoints", default="endpoints.yml", help="Rasa endpoints file")
    parser.add_argument(
        "--no-tracker", action="store_true", help="only the app database (no tracker store)"
    )
    parser.add_argument("--batch", type=int, default=BATCH, help="rows per transaction")
    args = parser.parse_args(argv)

    # The tracker store reached as deletion reaches it: plain SQLAlchemy, no Rasa in bot/.
    from bot.privacy.tracker import TrackerStoreError, connect
    from bot.store import engine

    try:
        crypto.check_key()
        app = rotate_app(engine(), args.batch)
        print(
            f"App database: {app.rotated} values re-encrypted, {app.current} already "
            f"with the first key, {app.plain} not encrypted yet."
        )
        tracker = None if args.no_tracker else connect(endpoints=args.endpoints)
        if tracker is not None:
            try:
                events = rotate_tracker(tracker, args.batch)
            finally:
                tracker.dispose()
            print(
                f"Tracker store: {events.rotated} events re-encrypted, {events.current} "
                f"already with the first key, {events.plain} not encrypted yet"
                + (" (run python -m stores.encrypt_tracker)." if events.plain else ".")
            )
    except (crypto.MissingKeyError, TrackerStoreError) as exc:
        print(f"Cannot rotate: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
