"""Deleting one person's data (bot.privacy.forget) on the app database and a tracker store,
SQLite and PostgreSQL: found by booking code, contact or conversation, every table reached,
nobody else touched, audited without PHI; the command; reading the endpoints files.

The end-to-end canary (a booking through the real servers, then the command and the console)
is tests/test_e2e_forget.py."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from bot import consent
from bot.console.accounts import add_coordinator
from bot.console.notes import add_note
from bot.couples import accept_invitation, create_invitation
from bot.couples.models import Couple, CouplePartner, SafetyCheck
from bot.flows.models import FlowDraft
from bot.handoff import PRIORITY_REQUEST, escalate
from bot.notify.models import OutboxMessage
from bot.notify.optout import SmsOptOut, record_reply
from bot.privacy import forget, tracker
from bot.scheduling.models import BookingRecord, Callback, SlotClaim
from bot.screening.models import ScreeningRecord
from bot.store import Base, audit, session
from bot.store.crypto import EncryptedJSON, encrypt
from tests.conftest import scratch_postgres

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
CANARY = {
    "name": "Zephyrine Quillfeather",
    "phone": "+15125550187",
    "email": "zephyrine.q@example.com",
    "dob": "1987-03-14",
}
OTHER = {
    "name": "Ordinary Person",
    "phone": "+15125550142",
    "email": "someone.else@example.com",
    "dob": "1990-01-01",
}


@pytest.fixture()
def pg_url():
    with scratch_postgres("forget") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request, tmp_path, monkeypatch):
    """(app database URL, tracker engine): SQLite files, or one scratch PostgreSQL database
    holding both (as production may)."""
    if request.param == "sqlite":
        url = request.getfixturevalue("db_url")
        tracker_url = sa.engine.make_url(f"sqlite:///{tmp_path / 'tracker.db'}")
    else:
        url = request.getfixturevalue("pg_url")
        monkeypatch.setenv("DATABASE_URL", url)
        tracker_url = sa.engine.make_url(url)
    eng = events_table(tracker.connect(tracker_url))
    yield url, eng
    eng.dispose()


def events_table(eng):
    """Rasa's schema of the tracker store's events table, on a scratch database."""
    with eng.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
            "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)"
        )
    return eng


def said(eng, sender, text, at=NOW):
    """A tracker event as the encrypted store writes it."""
    with eng.begin() as conn:
        next_id = conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) + 1 FROM events")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO events (id, sender_id, type_name, timestamp, data) "
                "VALUES (:id, :s, 'user', :t, :d)"
            ),
            {"id": next_id, "s": sender, "t": at.timestamp(), "d": encrypt({"text": text})},
        )


def booked(db, eng, conversation, who, code):
    """A person who consented, screened, checked insurance, booked, got messages, asked for
    a person and left a call-back request: a row in most tables."""
    consent.record(conversation, db)
    with session(db) as s:
        s.add(
            ScreeningRecord(
                conversation_id=conversation,
                consent_version="v",
                consent_at=NOW,
                answers={"fit.state": "TX"},
                scores={},
                reasons=[],
                recommendation={},
                level="withdrawal_management",
            )
        )
        booking = BookingRecord(
            code=code,
            conversation_id=conversation,
            start=NOW + timedelta(days=2),
            end=NOW + timedelta(days=2, hours=1),
            time_zone="America/Chicago",
            contact_consent=["text", "email"],
            name=who["name"],
            phone=who["phone"],
            email=who["email"],
            dob=who["dob"],
        )
        s.add(booking)
        s.flush()
        s.add(SlotClaim(cell=int(NOW.timestamp() // 60) + booking.id * 5, booking_id=booking.id))
        s.add(
            OutboxMessage(
                kind="confirmed",
                channel="sms",
                payload={"to": who["phone"], "text": f"Hi {who['name']}, code {code}"},
                conversation_id=conversation,
                dedupe_key=f"booking:{code}:0:confirmed:sms",
            )
        )
        s.add(
            Callback(
                conversation_id=conversation,
                contact={"phone": who["phone"], "email": None, "time_zone": "America/Chicago"},
                best_times="evenings",
            )
        )
        s.add(
            FlowDraft(
                conversation_id=conversation,
                flow="booking",
                status="done",
                state={"answers": {"booking.name": who["name"]}},
            )
        )
    escalate(conversation, "request", "talk_to_person", PRIORITY_REQUEST, db_url=db)
    record_reply(who["phone"], "STOP", db_url=db)
    said(eng, conversation, f"my name is {who['name']}, {who['phone']}")


def rescheduled_later(db, eng, conversation, code, proof):
    """A later conversation where the person looked their booking up by code and proof."""
    with session(db) as s:
        s.add(
            FlowDraft(
                conversation_id=conversation,
                flow="reschedule",
                status="done",
                state={"answers": {"manage.code": code.lower(), "manage.proof": proof}},
            )
        )
    said(eng, conversation, f"my code is {code}")


def rows_of(db, conversations):
    """How many rows each conversation-keyed table holds for these conversations."""
    with session(db) as s:
        counts = {
            t.name: s.execute(
                select(func.count())
                .select_from(t)
                .where(t.c.conversation_id.in_(sorted(conversations)))
            ).scalar_one()
            for t in forget.person_tables()
        }
    return {name: n for name, n in counts.items() if n}


def decrypted_values(db):
    """Every encrypted value of the app database, decrypted, as one string."""
    out = []
    with session(db) as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.c if isinstance(c.type, EncryptedJSON)]
            if columns:
                for row in s.execute(select(*columns)).all():
                    out.extend(repr(v) for v in row)
    return "\n".join(out)


def events_text(eng):
    from bot.store.crypto import decrypt

    with eng.connect() as conn:
        rows = conn.execute(sa.text("SELECT sender_id, data FROM events")).all()
    return "\n".join(f"{sender} {decrypt(data)}" for sender, data in rows)


def test_every_table_is_either_searched_by_conversation_or_named():
    """A new table must say how deletion reaches it (or why it holds nobody's data)."""
    by_column = {t.name for t in forget.person_tables()}
    named = forget.KEPT | forget.NO_PERSON_DATA | set(forget.BY_REFERENCE)
    assert set(Base.metadata.tables) == by_column | named, (
        "classify the new table in bot/privacy/forget.py"
    )
    assert not by_column & named
    for table in Base.metadata.tables.values():
        odd = [c.name for c in table.c if "conversation" in c.name and c.name != "conversation_id"]
        assert not odd or table.name in forget.BY_REFERENCE, (table.name, odd)


def test_deleting_by_booking_code_reaches_every_conversation_and_table(stores):
    db, eng = stores
    code = "APT-ZQ7KM2XD"
    booked(db, eng, "canary-booked", CANARY, code)
    rescheduled_later(db, eng, "canary-later", code, CANARY["email"])
    said(eng, "canary-later", "thanks")
    booked(db, eng, "other-person", OTHER, "APT-OTHER234")
    # A couple: the canary's partner keeps their own records, the link goes.
    coordinator = add_coordinator("robin@example.org", "Robin", "correct horse battery", "admin")
    inv = create_invitation("canary-booked", now=NOW, db_url=db)
    assert accept_invitation("partner", code=inv.code, now=NOW, db_url=db).outcome == "joined"
    with session(db) as s:
        s.add(SafetyCheck(conversation_id="partner", result={"answers": {}, "flagged": False}))
    add_note("canary-booked", coordinator.id, f"Prefers texts to {CANARY['phone']}", db_url=db)

    canary = {"canary-booked", "canary-later"}
    before = rows_of(db, canary)
    assert {"intake_bookings", "screenings", "outbox", "flow_drafts", "couple_partners"} <= set(
        before
    )
    for value in CANARY.values():
        assert value in decrypted_values(db)
    other_before, partner_before = rows_of(db, {"other-person"}), rows_of(db, {"partner"})

    person = forget.find(booking_code=code.lower().replace("-", " "), db_url=db)
    assert person.conversations == canary
    done = forget.erase(person, eng, db_url=db)

    assert done.conversations == 2 and done.tracker_events == 3 and done.compacted
    assert rows_of(db, canary) == {}
    assert rows_of(db, {"other-person"}) == other_before
    del partner_before["couple_partners"]  # the link, nothing of the partner's own
    assert rows_of(db, {"partner"}) == partner_before
    with session(db) as s:
        assert s.execute(select(func.count()).select_from(SlotClaim)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Couple)).scalar_one() == 0
        assert s.execute(select(CouplePartner.conversation_id)).scalars().all() == []
        assert s.execute(select(SafetyCheck.conversation_id)).scalars().all() == ["partner"]
        assert s.execute(select(func.count()).select_from(SmsOptOut)).scalar_one() == 1
        assert s.execute(select(BookingRecord.code)).scalars().all() == ["APT-OTHER234"]
    leftovers = decrypted_values(db) + events_text(eng)
    for value in CANARY.values():
        assert value not in leftovers
    assert code not in leftovers and OTHER["name"] in leftovers
    assert "canary" not in events_text(eng)

    with session(db) as s:
        entries = s.execute(select(audit.AuditEntry)).scalars().all()
    deleted = {e.conversation_id for e in entries if e.action == "deleted_person"}
    assert deleted == canary
    assert [e.conversation_id for e in entries if e.action == "unlinked_couple"] == ["partner"]
    assert any(e.action == "searched_for_person" for e in entries)
    trail = " ".join(f"{e.record} {e.detail}" for e in entries)
    assert all(v not in trail for v in [*CANARY.values(), code, code.replace("-", "")])


def test_the_sqlite_files_keep_no_byte_of_the_deleted_code(db_url, tmp_path):
    eng = events_table(tracker.connect(sa.engine.make_url(f"sqlite:///{tmp_path / 'tracker.db'}")))
    code = "APT-BYTES7QX"
    booked(db_url, eng, "canary-bytes", CANARY, code)
    files = [tmp_path / "app.db", tmp_path / "app.db-wal", tmp_path / "tracker.db"]

    def raw():
        return b"".join(p.read_bytes() for p in files if p.exists())

    assert code.encode() in raw() and b"canary-bytes" in raw()  # plain before: it can fail
    forget.erase(forget.find(booking_code=code, db_url=db_url), eng, db_url=db_url)
    assert code.encode() not in raw()
    assert b"canary-bytes" not in (tmp_path / "tracker.db").read_bytes()


@pytest.mark.parametrize("typed", ["(512) 555-0187", "512.555.0187", " Zephyrine.Q@EXAMPLE.com "])
def test_deleting_by_phone_or_email_finds_the_same_person(db_url, tmp_path, typed):
    eng = events_table(tracker.connect(sa.engine.make_url(f"sqlite:///{tmp_path / 'tracker.db'}")))
    booked(db_url, eng, "canary-booked", CANARY, "APT-CONTACT2")
    booked(db_url, eng, "other-person", OTHER, "APT-OTHER234")
    person = forget.find(contact=typed, db_url=db_url)
    assert person.conversations == {"canary-booked"}


def test_bad_seeds_are_told_kindly(db_url):
    with pytest.raises(ValueError, match="not a phone number or an email"):
        forget.find(contact="tomorrow afternoon", db_url=db_url)
    with pytest.raises(forget.NotFound):
        forget.find(booking_code="APT-NOBODY22", db_url=db_url)
    with pytest.raises(ValueError):
        forget.find(db_url=db_url)


def test_the_command_shows_first_deletes_with_yes_and_reads_the_contact_from_stdin(
    db_url, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("TRACKER_SQLITE_PATH", str(tmp_path / "tracker.db"))
    eng = events_table(tracker.connect(endpoints="endpoints.yml"))
    assert str(eng.url).endswith(str(tmp_path / "tracker.db"))
    booked(db_url, eng, "canary-cli", CANARY, "APT-COMMAND2")

    monkeypatch.setattr("sys.stdin", io.StringIO(CANARY["email"] + "\n"))
    assert forget.main(["--contact", "--endpoints", "endpoints.yml"]) == 0
    shown = capsys.readouterr().out
    assert "Found 1 conversation(s) by contact: canary-cli" in shown
    assert "intake_bookings 1" in shown and "tracker events 1" in shown
    assert "Nothing deleted yet" in shown and CANARY["email"] not in shown
    assert rows_of(db_url, {"canary-cli"})

    assert forget.main(["--booking-code", "APT-COMMAND2", "--yes"]) == 0
    assert "Deleted" in capsys.readouterr().out
    assert rows_of(db_url, {"canary-cli"}) == {}
    assert forget.main(["--booking-code", "APT-COMMAND2", "--yes"]) == 1  # gone
    assert "nothing found by booking code" in capsys.readouterr().err


def test_the_tracker_store_is_read_from_the_endpoints_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_SQLITE_PATH", "var/some.db")
    assert tracker.tracker_url("endpoints.yml").database.endswith("/var/some.db")
    monkeypatch.setenv("TRACKER_DB_HOST", "db.internal:6543")
    monkeypatch.setenv("TRACKER_DB_PASSWORD", "p@ss word")
    url = tracker.tracker_url("endpoints.production.yml")
    assert (url.drivername, url.host, url.port, url.password) == (
        "postgresql",
        "db.internal",
        6543,
        "p@ss word",
    )
    in_memory = tmp_path / "memory.yml"
    in_memory.write_text("lock_store:\n  type: in_memory\n")
    assert tracker.tracker_url(str(in_memory)) is None
    other = tmp_path / "mongo.yml"
    other.write_text("tracker_store:\n  type: mongod\n  url: mongodb://localhost\n")
    with pytest.raises(tracker.TrackerStoreError, match="mongod"):
        tracker.tracker_url(str(other))
    unset = tmp_path / "unset.yml"
    unset.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: ${NO_SUCH_VAR_X}\n")
    with pytest.raises(tracker.TrackerStoreError, match="NO_SUCH_VAR_X"):
        tracker.tracker_url(str(unset))
