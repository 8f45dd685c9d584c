"""Key rotation (bot/store/rotate.py): rows written under key A, PHI_ENCRYPTION_KEY becomes
"B,A", the command re-encrypts, then "B" alone reads every row of the app database and the
tracker store, on SQLite and PostgreSQL (127.0.0.1:5432, a scratch database per test, as in
tests/test_migrations.py). Signed links and stored hashes survive the key list changing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import chat_sessions
from bot.couples import invitations
from bot.notify import optout
from bot.scheduling import links
from bot.store import Escalation, crypto, engine, rotate, session
from bot.store.migrate import upgrade
from stores.encrypted_tracker import EncryptedSQLTrackerStore
from tests.conftest import scratch_postgres

A, B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
NAME = "Zebediah Quartermaine"


def use_keys(monkeypatch, keys: str) -> None:
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", keys)
    crypto.cipher.cache_clear()


@pytest.fixture(autouse=True)
def _reset_cipher():
    yield
    crypto.cipher.cache_clear()


@pytest.fixture()
def postgres_url():
    with scratch_postgres("rotate") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return request.getfixturevalue("postgres_url")


def write_app_rows(url: str) -> None:
    from bot.flows.models import FlowDraft
    from bot.scheduling.models import BookingRecord

    start = datetime(2030, 1, 7, 15, tzinfo=timezone.utc)
    with session(url) as s:
        for i in range(7):  # more than one batch (batch=3 below)
            s.add(Escalation(conversation_id=f"c{i}", priority=0, kind="crisis", reason="suicidal"))
            s.add(
                FlowDraft(conversation_id=f"c{i}", flow="booking", status="active", state={"n": i})
            )
        s.add(
            BookingRecord(
                code="APT7KQ2M8XDPR",
                conversation_id="c0",
                start=start,
                end=start + timedelta(hours=1),
                time_zone="America/New_York",
                name=NAME,
                phone="+15555550123",
                email=None,
                dob="1961-07-13",
            )
        )


def read_app_rows(url: str):
    from bot.flows.models import FlowDraft
    from bot.scheduling.models import BookingRecord

    with session(url) as s:
        return (
            sorted(e.reason for e in s.query(Escalation)),
            sorted(d.state["n"] for d in s.query(FlowDraft)),
            [(b.name, b.phone, b.email, b.dob) for b in s.query(BookingRecord)],
        )


def raw_tokens(url: str):
    """Every stored value of every encrypted column."""
    with engine(url).connect() as conn:
        for table, _pk, columns in rotate.encrypted_columns():
            for row in conn.execute(sa.text(f"select {', '.join(columns)} from {table}")):
                yield from (v for v in row if v is not None)


def test_every_encrypted_column_is_found():
    found = {(t, c) for t, _pk, cols in rotate.encrypted_columns() for c in cols}
    assert {
        ("escalations", "reason"),
        ("screenings", "level"),
        ("screenings", "answers"),
        ("intake_bookings", "dob"),
        ("coverage_checks", "request"),
        ("flow_drafts", "state"),
        ("outbox", "payload"),
        ("console_notes", "text"),
    } <= found


def test_app_rows_written_under_a_are_read_with_b_alone_after_rotation(url, monkeypatch):
    use_keys(monkeypatch, A)
    upgrade(url)
    write_app_rows(url)
    expected = read_app_rows(url)

    use_keys(monkeypatch, f"{B},{A}")
    assert read_app_rows(url) == expected  # both keys read: the servers keep working
    counts = rotate.rotate_app(engine(url), batch=3)
    assert counts.rotated == 7 + 7 + 3 and counts.plain == 0
    again = rotate.rotate_app(engine(url), batch=3)  # idempotent: nothing left to do
    assert (again.rotated, again.current) == (0, counts.rotated)

    use_keys(monkeypatch, B)
    assert read_app_rows(url) == expected
    b = Fernet(B.encode())
    for token in raw_tokens(url):
        b.decrypt(token.encode())  # every value, in every table, readable with B alone
    with pytest.raises(InvalidToken):  # and no longer with A
        Fernet(A.encode()).decrypt(next(raw_tokens(url)).encode())


def tracker_store(url: str) -> EncryptedSQLTrackerStore:
    made = sa.engine.make_url(url)
    if made.get_backend_name() == "sqlite":
        return EncryptedSQLTrackerStore(dialect="sqlite", db=made.database)
    return EncryptedSQLTrackerStore(
        dialect="postgresql", host=made.host, port=made.port, db=made.database, username="postgres"
    )


def test_tracker_events_written_under_a_are_read_with_b_alone_after_rotation(url, monkeypatch):
    use_keys(monkeypatch, A)
    store = tracker_store(url)
    events = [
        ActionExecuted("action_listen", timestamp=1.0),
        UserUttered(f"my name is {NAME}", timestamp=2.0),
        SlotSet("intake_answer", NAME, timestamp=3.0),
    ]
    for sender in ("s1", "s2"):
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    store.engine.dispose()

    use_keys(monkeypatch, f"{B},{A}")
    store = tracker_store(url)
    counts = rotate.rotate_tracker(store.engine, batch=4)
    assert counts.rotated == 6 and counts.plain == 0
    assert rotate.rotate_tracker(store.engine).rotated == 0
    store.engine.dispose()

    use_keys(monkeypatch, B)
    store = tracker_store(url)
    for sender in ("s1", "s2"):
        tracker = asyncio.run(store.retrieve(sender))
        assert tracker is not None
        assert [e.as_dict().get("text") for e in tracker.events][1] == f"my name is {NAME}"
        assert any(isinstance(e, SlotSet) and e.value == NAME for e in tracker.events)
    store.engine.dispose()


def test_the_command_rotates_the_app_database_and_the_tracker_store(tmp_path, monkeypatch):
    app_url = f"sqlite:///{tmp_path / 'app.db'}"
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: stores.encrypted_tracker.EncryptedSQLTrackerStore\n"
        f"  dialect: sqlite\n  db: {tmp_path / 'tracker.db'}\n"
    )
    monkeypatch.setenv("DATABASE_URL", app_url)
    use_keys(monkeypatch, A)
    upgrade(app_url)
    write_app_rows(app_url)
    store = tracker_store(f"sqlite:///{tmp_path / 'tracker.db'}")
    asyncio.run(store.save(DialogueStateTracker.from_events("s", [UserUttered(NAME)])))
    store.engine.dispose()

    use_keys(monkeypatch, f"{B},{A}")
    assert rotate.main(["--endpoints", str(endpoints)]) == 0
    use_keys(monkeypatch, B)
    assert rotate.main(["--endpoints", str(endpoints)]) == 0  # nothing needs A any more
    assert read_app_rows(app_url)[2][0][0] == NAME


def test_a_value_no_key_reads_stops_the_command_naming_the_setting(tmp_path, monkeypatch, capsys):
    app_url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", app_url)
    use_keys(monkeypatch, A)
    upgrade(app_url)
    write_app_rows(app_url)
    use_keys(monkeypatch, B)  # A dropped before rotating
    assert rotate.main(["--no-tracker"]) == 2
    assert "PHI_ENCRYPTION_KEY" in capsys.readouterr().err


def test_signed_links_and_stored_hashes_survive_the_new_key_in_front(monkeypatch):
    monkeypatch.delenv("SIGNING_SECRET", raising=False)
    use_keys(monkeypatch, A)
    token = chat_sessions.sign("conversation-1")
    made = (
        invitations._digest("code", "K7QX2M"),
        optout.phone_hash("+15555550123"),
        links.token("APT7KQ2M8XDPR"),
    )

    use_keys(monkeypatch, f"{B},{A}")  # rotation starts
    assert chat_sessions.conversation_of(token) == "conversation-1"
    assert (
        invitations._digest("code", "K7QX2M"),
        optout.phone_hash("+15555550123"),
        links.token("APT7KQ2M8XDPR"),
    ) == made

    # A leaves the key list; SIGNING_SECRET keeps what it signed valid.
    monkeypatch.setenv("SIGNING_SECRET", A)
    use_keys(monkeypatch, B)
    assert chat_sessions.conversation_of(token) == "conversation-1"
    assert optout.phone_hash("+15555550123") == made[1]

    # Without it, they would not (the secret's own rotation).
    monkeypatch.delenv("SIGNING_SECRET")
    assert chat_sessions.conversation_of(token) is None
