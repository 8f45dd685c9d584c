from sqlalchemy import Column, DateTime, Integer, String

from bot.store import Base, utcnow
from bot.store.crypto import EncryptedJSON


class FlowDraft(Base):
    """A conversation flow in progress (screening, insurance check, booking…).

    The answers so far live in `state`, encrypted: a person who stops can come back to the
    same question, from any replica of the action server.
    """

    __tablename__ = "flow_drafts"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    flow = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False)  # active / paused / done / declined
    question_key = Column(String(64))
    failures = Column(Integer, nullable=False, default=0)
    state = Column(EncryptedJSON, nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
