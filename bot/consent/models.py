from sqlalchemy import Column, DateTime, Integer, String

from bot.store import Base, utcnow


class Consent(Base):
    """Who agreed to which version of the consent text, and when."""

    __tablename__ = "consents"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    version = Column(String(32), nullable=False)
    given_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
