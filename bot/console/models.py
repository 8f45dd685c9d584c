"""Coordinator accounts, their console sessions and their private notes on conversations.
What they open is recorded in the general audit log (bot.store.audit, re-exported here).

No PHI in accounts or sessions: an account is a work email, a name and a password hash.
Notes may hold PHI, so their text is encrypted (EncryptedJSON).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String

from bot.store import Base, UTCDateTime, utcnow
from bot.store.audit import AuditEntry  # noqa: F401 (the console's audit is the general log)
from bot.store.crypto import EncryptedJSON

ROLES = ("coordinator", "admin")


class Coordinator(Base):
    __tablename__ = "coordinators"

    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, unique=True)
    name = Column(String(120), nullable=False)
    role = Column(String(16), nullable=False, default="coordinator")
    password_hash = Column(String(255), nullable=False)  # argon2id, with its own salt
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so
    a copy of the database cannot be used to sign in."""

    __tablename__ = "console_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    coordinator_id = Column(Integer, ForeignKey("coordinators.id"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)
    # While the console is open (an event stream runs), this is kept a little ahead of now;
    # "someone is online" means a session with online_until in the future.
    online_until = Column(UTCDateTime, nullable=True)


class ConsoleNote(Base):
    """A coordinator's private note on a conversation: never sent to the person, never part
    of the transcript."""

    __tablename__ = "console_notes"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    coordinator_id = Column(Integer, ForeignKey("coordinators.id"), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    text = Column(EncryptedJSON, nullable=False)
