"""The couples tables. Nothing here is partner-facing: bot.couples' functions decide what
each partner may see.

- `couples`: one linked couple; its cohort, track and joint booking are shared by both.
- `couple_partners`: the two conversations of a couple. A conversation is in at most one
  couple (UNIQUE), which the database enforces when two joins race.
- `couple_invitations`: the link token and the typed code, stored only as keyed hashes
  (HMAC), so a copy of the database cannot be used to join a couple.
- `couple_join_attempts`: failed joins, for the guessing limit. No code text.
- `relationship_safety_checks`: each person's answers and flag, encrypted (EncryptedJSON);
  keyed by conversation, because a partner may answer before the couple exists and the
  answers belong to the person, not the couple.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String

from bot.store import Base, UTCDateTime, utcnow
from bot.store.crypto import EncryptedJSON


class Couple(Base):
    __tablename__ = "couples"

    id = Column(Integer, primary_key=True)
    status = Column(String(16), nullable=False, default="linked")  # linked / proposed / booked
    cohort = Column(String(64), nullable=True)  # set by coordinators, e.g. "March evening A"
    track = Column(String(32), nullable=True)  # one of the profile's schedule.tracks
    booking_code = Column(String(32), nullable=True)  # the joint intake booking's code
    # Until both confirm: the role (inviter / invitee) of the partner who chose the time.
    booking_proposed_by = Column(String(16), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class CouplePartner(Base):
    __tablename__ = "couple_partners"

    id = Column(Integer, primary_key=True)
    couple_id = Column(Integer, ForeignKey("couples.id"), nullable=False, index=True)
    conversation_id = Column(String(128), nullable=False, unique=True)
    role = Column(String(16), nullable=False)  # inviter / invitee
    joined_at = Column(UTCDateTime, nullable=False, default=utcnow)


class CoupleInvitation(Base):
    __tablename__ = "couple_invitations"

    id = Column(Integer, primary_key=True)
    inviter_conversation_id = Column(String(128), nullable=False, index=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    code_hash = Column(String(64), nullable=False, unique=True)
    # pending / accepted / declined / revoked (an expired one stays pending: see expires_at)
    status = Column(String(16), nullable=False, default="pending")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)
    closed_at = Column(UTCDateTime, nullable=True)  # when accepted, declined or revoked
    couple_id = Column(Integer, ForeignKey("couples.id"), nullable=True)


class JoinAttempt(Base):
    """A failed attempt to join with a link or a code (the guess is not kept)."""

    __tablename__ = "couple_join_attempts"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, index=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    by_code = Column(Boolean, nullable=False)


class SafetyCheck(Base):
    """One person's relationship-safety answers: {"answers": {...}, "flagged": bool}, encrypted.
    Read only through bot.couples' clinician-facing functions."""

    __tablename__ = "relationship_safety_checks"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    result = Column(EncryptedJSON, nullable=False)
