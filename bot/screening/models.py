"""The screenings table. Answers, scores, reasons and the level (`withdrawal_management`
next to a conversation id is PHI under 42 CFR Part 2) are encrypted at rest
(bot.store.crypto). Only the review flag stays plain."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, String

from bot.store import Base, utcnow
from bot.store.crypto import EncryptedJSON, EncryptedLabel


class ScreeningRecord(Base):
    """One saved screening (the questionnaire's content is bot.screening.questionnaire)."""

    __tablename__ = "screenings"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    person_id = Column(String(64), nullable=True, index=True)  # for couples, once intakes exist
    consent_version = Column(String(32), nullable=False)
    consent_at = Column(DateTime(timezone=True), nullable=False)
    status = Column(String(16), nullable=False, default="complete")  # complete | stopped | partial
    answers = Column(EncryptedJSON, nullable=False)
    scores = Column(EncryptedJSON, nullable=False)
    reasons = Column(EncryptedJSON, nullable=False)
    recommendation = Column(EncryptedJSON, nullable=False)  # {"text", "offer"}
    level = Column(EncryptedLabel, nullable=False)
    coordinator_review = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
