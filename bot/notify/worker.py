"""The outbox worker: claims due rows, sends them, marks the result.

Safe with several workers (`make run` starts one; production runs N): a row is claimed by a
compare-and-set UPDATE (plus `FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers don't queue
behind each other), and held under a lease. A worker killed mid-send lets the lease run
out and another sends the row: a message is never lost. (It can then be sent twice if the
first worker died after the provider accepted it and before marking it: at least once.)

Outcomes: 2xx sent; 429, 5xx, timeouts and connection errors retried with exponential
backoff up to MAX_ATTEMPTS; any other 4xx failed at once (retrying cannot fix it). A failed
row keeps its reason (a status code or an exception class, never the payload).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Callable, Dict, List, Optional

import httpx
from sqlalchemy import or_, select, update

from bot.config import settings
from bot.notify.email import send_email
from bot.notify.models import OutboxMessage
from bot.notify.optout import opted_out
from bot.notify.outcome import Outcome
from bot.notify.sms import send_sms
from bot.store import session, utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
FIRST_RETRY = 5.0  # seconds; then 10, 20 … up to MAX_RETRY
MAX_RETRY = 30 * 60.0
TIMEOUT = httpx.Timeout(10.0)


def post_webhook(payload: Dict, client: httpx.Client) -> Outcome:
    """A Slack-compatible incoming webhook: POST {"text": …}."""
    url = settings().alert_webhook_url
    if not url:
        return Outcome(sent=False, reason="ALERT_WEBHOOK_URL is not set")
    try:
        response = client.post(url, json={"text": payload["text"]}, timeout=TIMEOUT)
    except httpx.HTTPError as exc:  # timeouts, refused connections, broken responses
        return Outcome(sent=False, retry=True, reason=type(exc).__name__)
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(sent=True)
    return Outcome(sent=False, retry=code == 429 or code >= 500, reason=f"HTTP {code}")


def send_text(payload: Dict, client: httpx.Client) -> Outcome:
    """A text, unless the number replied STOP after it was queued."""
    with session() as s:
        if opted_out(s, payload["to"]):
            return Outcome(sent=False, reason="opted out (STOP)")
    return send_sms(payload, client)


SENDERS: Dict[str, Callable[[Dict, httpx.Client], Outcome]] = {
    "webhook": post_webhook,
    "email": send_email,
    "sms": send_text,
}


def retry_delay(attempts: int) -> float:
    return min(MAX_RETRY, FIRST_RETRY * 2 ** max(0, attempts - 1))


def claim(batch: int = 10, db_url: Optional[str] = None) -> List[OutboxMessage]:
    """Due rows this worker now holds (status sending, lease set, attempts counted)."""
    now = utcnow()
    due = (
        (OutboxMessage.status.in_(("pending", "sending")))
        & (OutboxMessage.next_attempt_at <= now)
        & or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now)
    )
    held: List[OutboxMessage] = []
    with session(db_url) as s:
        ids = (
            s.execute(
                select(OutboxMessage.id)
                .where(due)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(batch)
                .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it
            )
            .scalars()
            .all()
        )
        for row_id in ids:
            # Compare-and-set: only one worker's UPDATE matches a row still due.
            won = s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, due)
                .values(
                    status="sending",
                    lease_until=now + LEASE,
                    attempts=OutboxMessage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if won:
                held.append(s.get(OutboxMessage, row_id))
    return held


def _mark(row: OutboxMessage, outcome: Outcome, db_url: Optional[str]) -> None:
    now = utcnow()
    if outcome.sent:
        values = {"status": "sent", "sent_at": now, "lease_until": None, "last_error": None}
    elif outcome.retry and row.attempts < MAX_ATTEMPTS:
        values = {
            "status": "pending",
            "lease_until": None,
            "next_attempt_at": now + timedelta(seconds=retry_delay(row.attempts)),
            "last_error": outcome.reason,
        }
    else:
        values = {"status": "failed", "lease_until": None, "last_error": outcome.reason}
    with session(db_url) as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == "sending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def send_due(client: httpx.Client, db_url: Optional[str] = None) -> int:
    """One pass: claim, send and mark what is due. Returns how many rows it handled."""
    rows = claim(db_url=db_url)
    for row in rows:
        sender = SENDERS.get(row.channel)
        try:
            outcome = (
                sender(row.payload, client)
                if sender
                else Outcome(sent=False, reason=f"no sender for {row.channel}")
            )
        except Exception as exc:  # a bug in one sender must not stop the others
            outcome = Outcome(sent=False, retry=True, reason=type(exc).__name__)
        _mark(row, outcome, db_url)
        # Ids and outcomes only: the payload can hold an address.
        log.info("outbox %s %s: %s", row.id, row.kind, "sent" if outcome.sent else outcome.reason)
    return len(rows)


def run(
    poll: float = 0.5, db_url: Optional[str] = None, retention_every: Optional[float] = None
) -> None:
    """Send forever (the `make run` worker); a database outage is waited out. With
    `retention_every` (seconds), also run the retention job (bot.privacy.retention) at start
    and then that often."""
    next_retention = time.monotonic()
    with httpx.Client() as client:
        while True:
            if retention_every and time.monotonic() >= next_retention:
                next_retention = time.monotonic() + retention_every
                _retention_pass()
            try:
                handled = send_due(client, db_url)
            except Exception as exc:
                log.error("outbox pass failed (%s); retrying", type(exc).__name__)
                handled = 0
            if not handled:
                time.sleep(poll)


def _retention_pass() -> None:
    from bot.privacy import retention, tracker  # above bot.notify: imported when used

    try:
        tracker_engine = tracker.connect()
    except tracker.TrackerStoreError as exc:
        log.error("retention pass skipped: %s", exc)
        return
    retention.run_quietly(tracker_engine)
