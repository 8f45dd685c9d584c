"""The outbox: every message the system promises to send, written in the same transaction
as what causes it (an escalation, later a booking), so a provider outage delays a message
but never loses it. A worker (bot.notify.worker) sends and marks each row."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String

from bot.store import Base, UTCDateTime, utcnow
from bot.store.crypto import EncryptedJSON

STATUSES = ("pending", "sending", "sent", "failed", "cancelled")


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id = Column(Integer, primary_key=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    kind = Column(String(32), nullable=False)  # coordinator_alert, …
    channel = Column(String(16), nullable=False)  # webhook (later email, sms)
    # What to send, encrypted: person-facing messages carry an address and a name.
    payload = Column(EncryptedJSON, nullable=False)
    conversation_id = Column(String(128), nullable=True, index=True)
    # One row per cause (e.g. "escalation:12:webhook"): enqueueing twice is a no-op.
    dedupe_key = Column(String(128), nullable=False, unique=True)
    status = Column(String(16), nullable=False, default="pending", index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    # A worker holds a row it is sending until then; a worker killed mid-send lets it go.
    lease_until = Column(UTCDateTime, nullable=True)
    last_error = Column(String(200), nullable=True)  # status code or exception class, no PHI
    sent_at = Column(UTCDateTime, nullable=True)
