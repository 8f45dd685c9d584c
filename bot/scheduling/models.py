"""Scheduling tables on the shared app Base (bot.store imports this module before
create_all).

- `intake_bookings`: one row per booking. Name, phone, email and date of birth are
  EncryptedJSON (Fernet tokens): never readable in the database file, never logged.
- `slot_claims`: the double-booking guard. A booking claims every CLAIM_MINUTES cell of its
  slot, in the same transaction as the booking row; (calendar, cell) is UNIQUE, so when two
  conversations take the same (or an overlapping) slot at the same moment the database lets
  exactly one commit and the other gets an IntegrityError (-> SlotTaken). Cancel deletes
  the claims, reschedule moves them, in the booking's transaction.
- `callbacks`: "call me back" requests for coordinators (contact and best times encrypted).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import List

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)

from bot.store import Base, UTCDateTime, utcnow  # noqa: F401  (UTCDateTime re-exported)
from bot.store.crypto import EncryptedJSON

CLAIM_MINUTES = 5


class BookingRecord(Base):
    __tablename__ = "intake_bookings"

    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    backend = Column(String(16), nullable=False, default="builtin")  # builtin / calcom
    external_uid = Column(String(128), nullable=True, index=True)  # Cal.com booking uid
    start = Column(UTCDateTime, nullable=False, index=True)
    end = Column(UTCDateTime, nullable=False)
    status = Column(String(16), nullable=False, default="booked")  # booked/rescheduled/cancelled
    sequence = Column(Integer, nullable=False, default=0)
    time_zone = Column(String(64), nullable=False)
    contact_consent = Column(JSON, nullable=False, default=list)  # ["text", "email"]
    name = Column(EncryptedJSON, nullable=False)
    phone = Column(EncryptedJSON, nullable=True)
    email = Column(EncryptedJSON, nullable=True)
    dob = Column(EncryptedJSON, nullable=True)  # "YYYY-MM-DD"
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"BookingRecord(code={self.code!r}, status={self.status!r})"


class SlotClaim(Base):
    __tablename__ = "slot_claims"
    __table_args__ = (UniqueConstraint("calendar", "cell", name="uq_slot_claims_calendar_cell"),)

    id = Column(Integer, primary_key=True)
    calendar = Column(String(32), nullable=False, default="builtin")
    cell = Column(BigInteger, nullable=False)  # minutes since the Unix epoch, UTC
    booking_id = Column(
        Integer, ForeignKey("intake_bookings.id", ondelete="CASCADE"), nullable=False, index=True
    )


class Callback(Base):
    __tablename__ = "callbacks"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    contact = Column(
        EncryptedJSON, nullable=False
    )  # {"phone": ..., "email": ..., "time_zone": ...}
    best_times = Column(EncryptedJSON, nullable=False)  # free text, may hold PHI
    status = Column(String(16), nullable=False, default="open")


def cells(start: datetime, end: datetime) -> List[int]:
    """The CLAIM_MINUTES cells (epoch minutes) that [start, end) touches."""
    first = math.floor(start.timestamp() / 60 / CLAIM_MINUTES) * CLAIM_MINUTES
    last = math.ceil(end.timestamp() / 60 / CLAIM_MINUTES) * CLAIM_MINUTES
    return list(range(first, last, CLAIM_MINUTES))
