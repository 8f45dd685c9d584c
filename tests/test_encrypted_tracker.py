"""Rasa's tracker store encrypted at rest (stores/encrypted_tracker.py) and the one-off
command that encrypts an existing plaintext store (stores/encrypt_tracker.py), on SQLite and
PostgreSQL (127.0.0.1:5432 as in tests/test_migrations.py, a scratch database per test).

The canary through the running servers is in tests/test_e2e_tracker_encryption.py."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.store import crypto
from stores import encrypt_tracker
from stores.encrypted_tracker import EncryptedSQLTrackerStore

CANARY = "Zebediah Quartermaine ZQ99871X 1961-07-13 zebediah.q@example.org"
DOMAIN = Domain.from_dict(
    {
        "intents": ["crisis", "inform"],
        "slots": {"intake_answer": {"type": "text", "mappings": [{"type": "custom"}]}},
    }
)


@pytest.fixture(autouse=True)
def key(monkeypatch):
    """A key of this test's own, as PHI_ENCRYPTION_KEY would give it."""
    value = Fernet.generate_key().decode()
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", value)
    crypto.cipher.cache_clear()
    yield value
    crypto.cipher.cache_clear()


@pytest.fixture()
def sqlite_db(tmp_path):
    path = tmp_path / "tracker.db"
    return {"dialect": "sqlite", "db": str(path)}, path


@pytest.fixture()
def postgres_db():
    name = f"iop_tracker_{secrets.token_hex(4)}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield (
            {
                "dialect": "postgresql",
                "host": "127.0.0.1",
                "port": 5432,
                "db": name,
                "username": "postgres",
            },
            None,
        )
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    """(the tracker store's settings as endpoints.yml gives them, the SQLite file or None)."""
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "postgres_db")


def conversation(sender: str, start: float = 1000.0):
    """A turn with the canary everywhere Rasa would put it: the message, a slot, a reply."""
    return [
        ActionExecuted("action_listen", timestamp=start),
        UserUttered(
            f"my name is {CANARY}",
            intent={"name": "crisis", "confidence": 0.99},
            parse_data={"text": f"my name is {CANARY}", "intent": {"name": "crisis"}},
            timestamp=start + 1,
        ),
        SlotSet("intake_answer", CANARY, timestamp=start + 2),
        ActionExecuted("action_crisis_response", timestamp=start + 3),
        BotUttered(f"Thanks, {CANARY}.", timestamp=start + 4),
        ActionExecuted("action_listen", timestamp=start + 5),
    ]


def save(store, sender, events):
    tracker = DialogueStateTracker.from_events(sender, events, DOMAIN.slots)
    asyncio.run(store.save(tracker))


def raw_rows(store):
    with store.engine.connect() as conn:
        return conn.execute(
            sa.text("select sender_id, type_name, intent_name, action_name, data from events")
        ).all()


def dicts(events):
    return [e.as_dict() for e in events]


def postgres_files(store) -> bytes:
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("CHECKPOINT"))  # pages still in shared buffers onto the disk
        return b"".join(
            bytes(conn.execute(sa.text("select pg_read_binary_file(:p)"), p=path).scalar())
            for (path,) in conn.execute(
                sa.text(
                    "select pg_relation_filepath(oid) from pg_class where oid in "
                    "('events'::regclass, (select reltoastrelid from pg_class "
                    "where oid = 'events'::regclass))"
                )
            ).all()
        )


def store_for(settings, cls=EncryptedSQLTrackerStore):
    return cls(domain=DOMAIN, **settings)


def test_events_are_encrypted_at_rest_and_read_back(database):
    settings, path = database
    store = store_for(settings)
    sender = "conv-" + secrets.token_hex(4)
    events = conversation(sender)
    save(store, sender, events)

    rows = raw_rows(store)
    assert len(rows) == len(events)
    for sender_id, type_name, intent, action, data in rows:
        # In clear: what Rasa's queries need. Empty: the labels. Encrypted: the rest.
        assert sender_id == sender and type_name in {"action", "user", "slot", "bot"}
        assert intent is None and action is None
        assert data.startswith("gAAAAA") and "Zebediah" not in data
    if path is not None:
        assert b"Zebediah" not in path.read_bytes() and b"crisis" not in path.read_bytes()

    read = asyncio.run(store.retrieve(sender))
    assert dicts(read.events) == dicts(events)
    assert read.get_slot("intake_answer") == CANARY
    assert asyncio.run(store.keys()) == [sender]

    # A later turn appends only its new events (Rasa counts the stored ones).
    more = [*events, UserUttered("thanks", timestamp=2000.0)]
    save(store, sender, more)
    assert len(raw_rows(store)) == len(more)
    assert dicts(asyncio.run(store.retrieve(sender)).events) == dicts(more)
    store.engine.dispose()


def test_sessions_are_found_from_the_clear_type_and_timestamp(sqlite_db):
    settings, _ = sqlite_db
    store = store_for(settings)
    first = [SessionStarted(timestamp=900.0), *conversation("s", 1000.0)]
    second = [SessionStarted(timestamp=3000.0), *conversation("s", 3001.0)]
    save(store, "s", first + second)
    latest = asyncio.run(store.retrieve("s"))
    assert dicts(latest.events) == dicts(second)
    full = asyncio.run(store.retrieve_full_tracker("s"))
    assert dicts(full.events) == dicts(first + second)


def test_the_table_is_rasas_column_for_column(sqlite_db):
    """Switching between Rasa's store and this one needs no schema change."""
    settings, _ = sqlite_db

    def schema(table):
        return [
            (c.name, str(c.type.compile(sa.create_engine("sqlite://").dialect))) for c in table.c
        ]

    assert schema(EncryptedSQLTrackerStore.SQLEvent.__table__) == schema(
        SQLTrackerStore.SQLEvent.__table__
    )


def test_keys_rotate_and_a_wrong_key_is_said_plainly(sqlite_db, monkeypatch, key):
    settings, _ = sqlite_db
    save(store_for(settings), "r", conversation("r"))
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", f"{new},{key}")
    crypto.cipher.cache_clear()
    store = store_for(settings)
    assert asyncio.run(store.retrieve("r")).get_slot("intake_answer") == CANARY
    save(store, "r", [*conversation("r"), UserUttered("later", timestamp=5000.0)])
    newest = raw_rows(store)[-1].data
    assert Fernet(new.encode()).decrypt(newest.encode())  # the first key encrypts

    monkeypatch.setenv("PHI_ENCRYPTION_KEY", Fernet.generate_key().decode())
    crypto.cipher.cache_clear()
    with pytest.raises(crypto.MissingKeyError, match="cannot be decrypted") as caught:
        asyncio.run(store_for(settings).retrieve("r"))
    assert "Zebediah" not in str(caught.value)


def test_without_a_key_outside_development_rasa_does_not_start(sqlite_db, monkeypatch):
    settings, path = sqlite_db
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", "")
    crypto.cipher.cache_clear()
    with pytest.raises(crypto.MissingKeyError, match="PHI_ENCRYPTION_KEY is not set"):
        store_for(settings)


def endpoints_file(tmp_path: Path, settings: dict, kind: str = "SQL") -> str:
    import yaml

    path = tmp_path / "endpoints.yml"
    config = {"type": kind, **settings}
    if "host" in config:
        config["url"] = config.pop("host")
    path.write_text(yaml.safe_dump({"tracker_store": config}))
    return str(path)


def test_the_command_encrypts_a_plaintext_store_once(database, tmp_path, capsys):
    settings, path = database
    # Rasa's own store wrote these, in plaintext: two conversations, one of them long.
    plain = store_for(settings, SQLTrackerStore)
    save(plain, "a", conversation("a"))
    long_one = [e for n in range(90) for e in conversation("b", 1000.0 + 10 * n)]
    # An event larger than a page (overflow pages in SQLite, TOAST in PostgreSQL). Freed
    # SQLite pages keep their old bytes unless SQLite was built with secure_delete (Debian's
    # is): the command's VACUUM covers the other builds.
    long_one.append(BotUttered(f"{CANARY} " * 200, timestamp=9000.0))
    save(plain, "b", long_one)
    # What the command is for:
    assert b"Zebediah" in (path.read_bytes() if path else postgres_files(plain))
    plain.engine.dispose()
    endpoints = endpoints_file(tmp_path, settings)

    # Small batches, so the batching is exercised too.
    encrypt_tracker.BATCH = 7
    try:
        assert encrypt_tracker.main(["--endpoints", endpoints]) == 0
    finally:
        encrypt_tracker.BATCH = 500
    total = len(conversation("a")) + len(long_one)
    out = capsys.readouterr().out
    assert f"{total} events encrypted, 0 already encrypted." in out
    assert "Zebediah" not in out

    store = store_for(settings)
    rows = raw_rows(store)
    assert len(rows) == total
    assert all(r.data.startswith("gAAAAA") and r.intent_name is r.action_name is None for r in rows)
    if path is not None:
        assert b"Zebediah" not in path.read_bytes() and b"crisis" not in path.read_bytes()
    else:
        # Dead row versions are gone too: no byte of the table's files (and its TOAST
        # table's), read by the server itself after a checkpoint, holds the plaintext.
        assert b"Zebediah" not in postgres_files(store)
    assert dicts(asyncio.run(store.retrieve("a")).events) == dicts(conversation("a"))
    assert dicts(asyncio.run(store.retrieve_full_tracker("b")).events) == dicts(long_one)

    # Again: nothing to do, and the encrypted rows are untouched.
    assert encrypt_tracker.main(["--endpoints", endpoints_file(tmp_path, settings)]) == 0
    assert f"0 events encrypted, {total} already encrypted." in capsys.readouterr().out
    assert raw_rows(store) == rows
    store.engine.dispose()


def test_the_command_finishes_what_a_mixed_store_left(sqlite_db, tmp_path, capsys):
    """Rows from before and after the switch, in one store (the command was run late)."""
    settings, path = sqlite_db
    plain = store_for(settings, SQLTrackerStore)
    save(plain, "old", conversation("old"))
    plain.engine.dispose()
    store = store_for(settings)
    save(store, "new", conversation("new"))
    # The encrypted store reads the old plaintext rows as they are until then.
    assert asyncio.run(store.retrieve("old")).get_slot("intake_answer") == CANARY
    kind = "stores.encrypted_tracker.EncryptedSQLTrackerStore"
    assert encrypt_tracker.main(["--endpoints", endpoints_file(tmp_path, settings, kind)]) == 0
    assert "6 events encrypted, 6 already encrypted." in capsys.readouterr().out
    assert b"Zebediah" not in path.read_bytes()
    assert asyncio.run(store.retrieve("old")).get_slot("intake_answer") == CANARY


def test_the_command_refuses_a_store_that_is_not_sql(tmp_path, capsys):
    path = tmp_path / "endpoints.yml"
    path.write_text("tracker_store:\n  type: redis\n  url: localhost\n")
    assert encrypt_tracker.main(["--endpoints", str(path)]) == 2
    assert "tracker_store.type is 'redis'" in capsys.readouterr().err
