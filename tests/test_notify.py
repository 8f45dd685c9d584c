"""The outbox and its worker, against a real local webhook (stand_ins.webhook) over HTTP,
on SQLite and on PostgreSQL: written with the escalation, sent once by racing workers,
retried on 429/5xx/timeouts, failed at once on other 4xx, never lost by a killed worker."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from bot.handoff import PRIORITY_CRISIS, PRIORITY_REQUEST, escalate
from bot.notify import worker
from bot.notify.models import OutboxMessage
from bot.store import Escalation, session, utcnow
from stand_ins.webhook import Webhook
from tests.conftest import scratch_postgres


@pytest.fixture()
def hook(monkeypatch):
    running = Webhook().start()
    monkeypatch.setenv("ALERT_WEBHOOK_URL", running.url)
    monkeypatch.setenv("WEB_PUBLIC_URL", "https://intake.example.org")
    yield running
    running.stop()


def rows(db_url):
    with session(db_url) as s:
        return s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()


def test_an_escalation_queues_one_alert_with_a_link_and_no_phi(db_url, hook):
    escalation = escalate("conv-jamie-555", "crisis", "suicidal", PRIORITY_CRISIS)
    [row] = rows(db_url)
    assert row.status == "pending" and row.channel == "webhook"
    text = row.payload["text"]
    assert text.startswith(":rotating_light: Crisis")
    assert text.endswith(f"https://intake.example.org/console/conversation/{escalation}")
    assert "conv-jamie-555" not in text and "suicidal" not in text
    assert row.payload["urgent"] is True
    # The payload is encrypted at rest like every other PHI column.
    raw = Path(db_url.removeprefix("sqlite:///")).read_bytes()
    assert b"intake.example.org" not in raw


def test_no_webhook_configured_no_outbox_row(db_url, monkeypatch):
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "")
    escalate("c1", "request", "asked_for_person", PRIORITY_REQUEST)
    assert rows(db_url) == []


def test_the_alert_is_written_with_the_escalation_or_not_at_all(db_url, hook, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("outbox write failed")

    monkeypatch.setattr("bot.handoff.alert_coordinators", broken)
    with pytest.raises(RuntimeError):
        escalate("c1", "crisis", "suicidal", PRIORITY_CRISIS)
    with session(db_url) as s:
        assert s.execute(select(Escalation)).first() is None  # rolled back together


def test_the_worker_posts_slack_json_and_marks_it_sent(db_url, hook):
    escalate("c1", "request", "asked_for_person", PRIORITY_REQUEST)
    with httpx.Client() as client:
        assert worker.send_due(client) == 1
        assert worker.send_due(client) == 0  # nothing twice
    [got] = hook.wait_for(1)
    assert got["text"].startswith("Someone in the chat asked to talk to a person.")
    [row] = rows(db_url)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


@pytest.mark.parametrize(
    "answer, status, reason",
    [
        (500, "pending", "HTTP 500"),
        (503, "pending", "HTTP 503"),
        (429, "pending", "HTTP 429"),
        (404, "failed", "HTTP 404"),
        (403, "failed", "HTTP 403"),
    ],
)
def test_provider_errors_retry_or_fail_by_kind(db_url, hook, answer, status, reason):
    hook.script.append(answer)
    escalate("c1", "request", "asked_for_person", PRIORITY_REQUEST)
    before = utcnow()
    with httpx.Client() as client:
        worker.send_due(client)
    [row] = rows(db_url)
    assert (row.status, row.last_error, row.attempts) == (status, reason, 1)
    if status == "pending":  # retried later, not at once
        assert row.next_attempt_at >= before + timedelta(seconds=worker.FIRST_RETRY - 1)
        with httpx.Client() as client:
            assert worker.send_due(client) == 0


def test_a_retry_succeeds_once_due_and_gives_up_after_the_last_attempt(db_url, hook):
    hook.script.extend([500] * worker.MAX_ATTEMPTS)
    escalate("c1", "request", "asked_for_person", PRIORITY_REQUEST)
    with httpx.Client() as client:
        for attempt in range(1, worker.MAX_ATTEMPTS + 1):
            with session(db_url) as s:  # make it due now
                s.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
            assert worker.send_due(client) == 1
            [row] = rows(db_url)
            assert row.attempts == attempt
    assert row.status == "failed" and row.last_error == "HTTP 500"
    assert hook.received == []


def test_a_timeout_and_a_refused_connection_are_retried(db_url, hook, monkeypatch):
    monkeypatch.setattr(worker, "TIMEOUT", httpx.Timeout(0.5))
    hook.script.append("stall")
    escalate("c1", "request", "asked_for_person", PRIORITY_REQUEST)
    with httpx.Client() as client:
        worker.send_due(client)
    [row] = rows(db_url)
    assert (row.status, row.last_error) == ("pending", "ReadTimeout")

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv("ALERT_WEBHOOK_URL", f"http://127.0.0.1:{s.getsockname()[1]}/")
    with session(db_url) as s:
        s.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    with httpx.Client() as client:
        worker.send_due(client)
    [row] = rows(db_url)
    assert (row.status, row.last_error, row.attempts) == ("pending", "ConnectError", 2)


def test_a_worker_killed_mid_send_loses_nothing(db_url, hook):
    escalate("c1", "crisis", "suicidal", PRIORITY_CRISIS)
    [held] = worker.claim()  # this worker dies here, before sending or marking
    assert worker.claim() == []  # the lease keeps others off meanwhile
    with session(db_url) as s:  # … until the lease runs out
        s.execute(update(OutboxMessage).values(lease_until=utcnow() - timedelta(seconds=1)))
    with httpx.Client() as client:
        assert worker.send_due(client) == 1
    [row] = rows(db_url)
    assert row.id == held.id and row.status == "sent" and row.attempts == 2
    assert len(hook.wait_for(1)) == 1


def race(db_url, hook, count=40, workers=4):
    for n in range(count):
        escalate(f"c{n}", "request", "asked_for_person", PRIORITY_REQUEST, db_url=db_url)

    def drain():
        with httpx.Client() as client:
            while worker.send_due(client, db_url):
                pass

    threads = [threading.Thread(target=drain) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    got = hook.wait_for(count, timeout=10)
    links = [m["text"].rsplit("/", 1)[1] for m in got]
    assert len(links) == count and len(set(links)) == count  # each once, none twice
    assert {r.status for r in rows(db_url)} == {"sent"}


def test_racing_workers_send_each_message_once_on_sqlite(db_url, hook):
    race(db_url, hook)


@pytest.fixture()
def pg_url():
    with scratch_postgres("outbox") as url:
        yield url


def test_racing_workers_send_each_message_once_on_postgres(pg_url, hook):
    race(pg_url, hook, count=60, workers=6)


def test_the_team_mailbox_gets_the_same_alert_by_email(db_url, hook, monkeypatch):
    monkeypatch.setenv("ALERT_EMAIL", "intake-team@example.org")
    escalation = escalate("conv-jamie-555", "crisis", "suicidal", PRIORITY_CRISIS)
    email = [r for r in rows(db_url) if r.channel == "email"]
    assert len(email) == 1 and email[0].payload["to"] == "intake-team@example.org"
    assert email[0].payload["subject"] == "URGENT: crisis in the chat"
    text = email[0].payload["text"]
    assert text.startswith("Crisis:") and text.endswith(f"/console/conversation/{escalation}")
    assert "conv-jamie-555" not in text and "suicidal" not in text
