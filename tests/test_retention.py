"""The retention job (bot.privacy.retention) on a controlled clock: unfinished drafts and
abandoned conversations go after the profile's periods, intakes and open requests stay, each
deletion is audited; the consent states the same periods."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy import select

from bot.consent import CONSENT
from bot.flows.models import FlowDraft
from bot.handoff import PRIORITY_REQUEST, escalate
from bot.privacy import retention, tracker
from bot.profile import load_profile
from bot.profile.schema import RetentionFacts
from bot.scheduling.models import Callback
from bot.store import Escalation, audit, session
from tests.test_forget import booked, events_table, pg_url, rows_of, said  # noqa: F401

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=timezone.utc)
RULES = RetentionFacts(unfinished_days=30, abandoned_days=90, records_years=7)


def draft(db, conversation, status, touched):
    with session(db) as s:
        row = FlowDraft(
            conversation_id=conversation,
            flow="screening",
            status=status,
            state={"answers": {"fit.state": "TX"}},
        )
        s.add(row)
        s.flush()
        row.updated_at = touched  # set after the insert: `onupdate` would overwrite it
        return row.id


def drafts(db):
    with session(db) as s:
        return set(s.execute(select(FlowDraft.conversation_id)).scalars())


def entries(db, action):
    with session(db) as s:
        return (
            s.execute(select(audit.AuditEntry).where(audit.AuditEntry.action == action))
            .scalars()
            .all()
        )


def test_an_old_unfinished_draft_goes_and_a_fresh_one_stays(db_url):
    draft(db_url, "stale", "paused", NOW - timedelta(days=31))
    draft(db_url, "fresh", "active", NOW - timedelta(days=29))
    draft(db_url, "finished", "done", NOW - timedelta(days=31))  # the conversation's rule
    report = retention.run_once(now=NOW, rules=RULES, db_url=db_url, dry_run=True)
    assert report.drafts == 1 and drafts(db_url) == {"stale", "fresh", "finished"}

    report = retention.run_once(now=NOW, rules=RULES, db_url=db_url)
    assert report.drafts == 1
    assert drafts(db_url) == {"fresh", "finished"}
    [entry] = entries(db_url, "retention_deleted_draft")
    assert (entry.actor, entry.conversation_id, entry.coordinator_id) == (
        "retention",
        "stale",
        None,
    )
    assert entry.detail == "unfinished screening, untouched for 30 days"
    # A day later than the fresh draft's period, it goes too.
    retention.run_once(now=NOW + timedelta(days=2), rules=RULES, db_url=db_url)
    assert drafts(db_url) == {"finished"}


def test_abandoned_conversations_go_whole_intakes_and_open_requests_stay(db_url, tmp_path):
    eng = events_table(tracker.connect(sa.engine.make_url(f"sqlite:///{tmp_path / 't.db'}")))
    long_ago = NOW - timedelta(days=91)
    # Only chatted, long ago: all of it goes, the tracker events included.
    said(eng, "faq-only", "how much is it?", at=long_ago)
    # Screened long ago, never booked.
    said(eng, "screened", "I agree", at=long_ago)
    draft(db_url, "screened", "done", long_ago)
    # Chatted recently: stays.
    said(eng, "recent", "hello", at=NOW - timedelta(days=89))
    # Booked long ago (an intake record): stays until records_years.
    booked(
        db_url,
        eng,
        "intake",
        {"name": "A B", "phone": "+15125550111", "email": "a@example.com", "dob": "1980-01-01"},
        "APT-KEEP2345",
    )
    # Asked for a person long ago, still open in the queue: stays.
    said(eng, "waiting", "a person please", at=long_ago)
    escalate("waiting", "request", "talk_to_person", PRIORITY_REQUEST, db_url=db_url)
    with session(db_url) as s:  # only the booking keeps it: its request and call-back are done
        for table in (Escalation.__table__, Callback.__table__):
            s.execute(
                table.update().where(table.c.conversation_id == "intake").values(status="resolved")
            )
    _age(db_url, long_ago)
    with eng.begin() as conn:  # the booking conversation's chat is as old
        conn.execute(
            sa.text("UPDATE events SET timestamp = :t WHERE sender_id = 'intake'"),
            {"t": long_ago.timestamp()},
        )

    report = retention.run_once(now=NOW, rules=RULES, tracker_engine=eng, db_url=db_url)

    assert report.conversations == 2 and report.tracker_events == 2
    assert tracker.last_activity(eng).keys() == {"recent", "intake", "waiting"}
    assert drafts(db_url) == {"intake"}
    deleted = entries(db_url, "retention_deleted")
    assert {e.conversation_id for e in deleted} == {"faq-only", "screened"}
    assert {e.detail for e in deleted} == {"no activity for 90 days, no intake"}
    assert rows_of(db_url, {"intake"})["intake_bookings"] == 1

    # Seven years on, the intake record goes as well (the open request is still open: it
    # goes too, the team had seven years).
    later = NOW + timedelta(days=365 * 7 + 1)
    report = retention.run_once(now=later, rules=RULES, tracker_engine=eng, db_url=db_url)
    assert rows_of(db_url, {"intake", "waiting"}) == {}
    assert set(tracker.last_activity(eng)) == set()  # "recent" was abandoned by then


def _age(db, moment):
    """Make every app row as old as `moment` (the job reads their times)."""
    from bot.privacy.forget import person_tables

    with session(db) as s:
        for table in person_tables():
            for column in retention.ACTIVITY_COLUMNS:
                if column in table.c:
                    s.execute(table.update().values({column: moment}))


def test_the_consent_states_the_profiles_periods():
    rules = load_profile().facts.retention
    text = " ".join(f"{CONSENT.text} {CONSENT.text_part2}".split())  # both bubbles
    assert f"{rules.unfinished_days} days" in text
    assert f"{rules.abandoned_days} days" in text
    assert f"{rules.records_years} years" in text
    assert re.search(r"delete them at any time", text)


def test_a_failing_pass_is_logged_by_class_and_the_worker_goes_on(monkeypatch, caplog):
    def broken(**_):
        raise RuntimeError("secret detail 555-0187")

    monkeypatch.setattr(retention, "run_once", broken)
    with caplog.at_level(logging.INFO):
        retention.run_quietly(None)
    assert "retention pass failed (RuntimeError)" in caplog.text
    assert "555-0187" not in caplog.text


def test_the_command_counts_with_dry_run_and_deletes_without(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRACKER_SQLITE_PATH", str(tmp_path / "tracker.db"))
    events_table(tracker.connect(endpoints="endpoints.yml"))
    draft(db_url, "stale", "paused", datetime.now(timezone.utc) - timedelta(days=400))
    assert retention.main(["--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("Would delete 1 unfinished drafts")
    assert drafts(db_url) == {"stale"}
    assert retention.main([]) == 0
    assert capsys.readouterr().out.startswith("Deleted 1 unfinished drafts")
    assert drafts(db_url) == set()


def test_on_postgresql_one_worker_at_a_time_runs_a_pass(request, monkeypatch):
    url = request.getfixturevalue("pg_url")  # a scratch database (tests/test_forget.py)
    monkeypatch.setenv("DATABASE_URL", url)
    draft(url, "stale", "paused", NOW - timedelta(days=31))
    other = sa.create_engine(url, future=True)
    with other.connect() as conn:  # another worker, in the middle of its pass
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": retention.LOCK_KEY})
        report = retention.run_once(now=NOW, rules=RULES, db_url=url)
        assert report.skipped and drafts(url) == {"stale"}
        conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": retention.LOCK_KEY})
    other.dispose()
    report = retention.run_once(now=NOW, rules=RULES, db_url=url)
    assert not report.skipped and report.drafts == 1 and drafts(url) == set()
