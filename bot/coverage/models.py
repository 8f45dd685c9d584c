"""The coverage_checks table: one row per eligibility check. PHI (the request summary and
the interpreted result) is encrypted at rest; the raw 271 is not kept."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, String

from bot.store import Base, utcnow
from bot.store.crypto import EncryptedJSON


class CoverageCheck(Base):
    __tablename__ = "coverage_checks"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    payer_id = Column(String(32), nullable=False)
    plan_type = Column(String(16), nullable=True)
    status = Column(String(16), nullable=False)  # active / inactive / error / unavailable
    reason = Column(String(32), nullable=True)  # e.g. payer_unavailable, dob_mismatch, carve_out
    aaa_code = Column(String(4), nullable=True)
    request = Column(EncryptedJSON, nullable=False)  # names, member ID, DOB: encrypted
    result = Column(EncryptedJSON, nullable=False)  # the interpreted benefits: encrypted
