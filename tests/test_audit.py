"""The audit log (bot.store.audit, migration 0008): the database refuses to change or remove
an entry (SQLite and PostgreSQL); the console's old entries and plain labels are carried
over; each decryption in a staff-facing view, each consent change and each deletion is
recorded, without PHI."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from bot import consent
from bot.console.accounts import add_coordinator, audit_log
from bot.console.notes import add_note, notes_for
from bot.console.summary import intake_summary
from bot.coverage.models import CoverageCheck
from bot.flows.engine import Context, Engine
from bot.profile import load_profile
from bot.scheduling.models import BookingRecord
from bot.screening.models import ScreeningRecord
from bot.store import Escalation, audit, migrate, session
from tests.test_flow_engine import Pets
from tests.test_forget import pg_url  # noqa: F401 - the scratch PostgreSQL fixture

AT = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request):
    return request.getfixturevalue("db_url" if request.param == "sqlite" else "pg_url")


def raw(url):
    return create_engine(url, future=True, poolclass=NullPool)


def test_the_database_refuses_to_change_or_remove_an_entry(any_url):
    audit.log("signed_in", actor="command", detail="probe", db_url=any_url)
    eng = raw(any_url)
    try:
        for statement in (
            "UPDATE audit_log SET action = 'nothing_happened'",
            "DELETE FROM audit_log",
            *(["TRUNCATE audit_log"] if eng.dialect.name == "postgresql" else []),
        ):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), eng.begin() as conn:
                conn.exec_driver_sql(statement)
        with eng.connect() as conn:
            assert conn.exec_driver_sql("SELECT action FROM audit_log").scalars().all() == [
                "signed_in"
            ]
    finally:
        eng.dispose()


def test_0008_carries_the_consoles_entries_over_and_encrypts_plain_labels(any_url):
    migrate._with_engine(any_url, migrate.command.upgrade, "0007")
    eng = raw(any_url)
    with eng.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO coordinators (id, email, name, role, password_hash, failed_logins, "
            "created_at) VALUES (7, 'a@example.org', 'Alex', 'admin', 'x', 0, '2026-12-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO console_audit (id, at, coordinator_id, action, conversation_id) "
            "VALUES (41, '2026-12-01 10:00:00', 7, 'opened_transcript', 'conv-old')"
        )
        conn.exec_driver_sql(
            "INSERT INTO escalations (conversation_id, created_at, priority, kind, reason, "
            "status) VALUES ('conv-old', '2026-12-01 10:00:00', 0, 'crisis', 'suicidal', 'open')"
        )
    # Up to head without the label pass first: a plain label still reads as it is.
    migrate._with_engine(any_url, migrate.command.upgrade, "head")
    with session(any_url) as s:
        assert [e.reason for e in s.execute(select(Escalation)).scalars()] == ["suicidal"]
    migrate.upgrade(any_url)  # what make run and the image do: the label pass too
    with eng.connect() as conn:
        stored = conn.exec_driver_sql("SELECT reason FROM escalations").scalar_one()
        copied = conn.exec_driver_sql(
            "SELECT id, actor, coordinator_id, action, conversation_id FROM audit_log"
        ).all()
    eng.dispose()
    assert stored.startswith("gAAAAA") and "suicidal" not in stored
    with session(any_url) as s:
        assert [e.reason for e in s.execute(select(Escalation)).scalars()] == ["suicidal"]
    assert [tuple(r) for r in copied] == [(41, "coordinator", 7, "opened_transcript", "conv-old")]
    audit.log("signed_in", coordinator_id=7, db_url=any_url)  # ids go on after the copied ones
    assert [line.action for line in audit_log(db_url=any_url)] == [
        "signed_in",
        "opened_transcript",
    ]


def test_the_intake_summary_records_each_decryption_and_reads_only_what_it_shows(db_url):
    alex = add_coordinator("alex@example.org", "Alex", "correct horse battery")
    with session() as s:
        screening = ScreeningRecord(
            conversation_id="c1",
            consent_version="v",
            consent_at=AT,
            answers={"fit.state": "TX"},
            scores={},
            reasons=[],
            recommendation={"text": "IOP fits."},
            level="withdrawal_management",
        )
        s.add(screening)
        s.add(
            CoverageCheck(
                conversation_id="c1",
                payer_id="60054",
                status="active",
                request={"member_id": "W123"},
                result={},
            )
        )
        s.add(
            BookingRecord(
                code="APT-SUMMARY2",
                conversation_id="c1",
                start=AT,
                end=AT,
                time_zone="UTC",
                contact_consent=[],
                name="Jamie Rivera",
            )
        )
        s.flush()
        screening_id = screening.id
    add_note("c1", alex.id, "call after 6")

    summary = intake_summary("c1", viewer=alex.id)
    notes_for("c1", alex.id)

    assert summary.screening_level == "withdrawal_management"
    assert summary.coverage == "active" and summary.booking.startswith("booked")
    lines = [x for x in audit_log() if x.action == "decrypted"]
    assert [(x.email, x.conversation_id) for x in lines] == [("alex@example.org", "c1")] * 2
    assert {x.record for x in lines} == {f"screenings:{screening_id}", "console_notes:1"}


def test_consent_given_and_declined_are_recorded_with_the_version(db_url):
    engine = Engine({"pets": Pets()})
    profile = load_profile()
    for conversation, answer in (("agrees", "I agree"), ("declines", "No thanks")):
        ctx = Context(conversation, profile, db_url=db_url)
        engine.start("pets", ctx)
        engine.handle(answer, "", 0.0, ctx)
    with session() as s:
        rows = s.execute(select(audit.AuditEntry).order_by(audit.AuditEntry.id)).scalars().all()
    assert [(e.actor, e.action, e.conversation_id, e.detail) for e in rows] == [
        ("person", "consent_given", "agrees", f"version {consent.CONSENT.version}"),
        ("person", "consent_declined", "declines", f"version {consent.CONSENT.version}"),
    ]
    assert rows[0].record.startswith("consents:")


def test_an_entry_names_who_acted(db_url):
    with pytest.raises(ValueError):
        audit.log("decrypted", record="screenings:1")  # a coordinator's, but whose?
    with pytest.raises(ValueError):
        audit.log("deleted_person", actor="someone")
    audit.log("deleted_person", actor="command", conversation_id="c9", detail="x" * 500)
    [line] = audit_log()
    assert (line.email, line.conversation_id, len(line.detail)) == ("(command)", "c9", 200)
