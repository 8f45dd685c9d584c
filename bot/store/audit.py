"""The audit log: one append-only table for everything an auditor asks about (HIPAA
164.312(b)): who signed in and opened what in the console, which PHI record a staff member
had decrypted, deletions (on request and by the retention job) and consent changes.

Append-only: this module only ever inserts, nothing in the code updates or deletes a row,
and the database refuses to (migration 0008: a trigger on PostgreSQL and on SQLite that
raises on UPDATE and DELETE, and on PostgreSQL on TRUNCATE too).

No PHI in it: an entry names a conversation id (a random id), a record by table and id
("screenings:12"), an action, and a short PHI-free detail (counts, a consent version, how a
person was found), never what was said, decrypted or deleted. Deleting a person's data keeps
their audit entries: they say what happened, and point at nothing once the data is gone.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import Session

from bot.store import Base, UTCDateTime, session, utcnow

# Who acted: a signed-in coordinator (coordinator_id set), the person in their own chat
# (consent), an operator's command, or the retention job.
ACTORS = ("coordinator", "person", "command", "retention")
DETAIL_LENGTH = 200


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow)
    actor = Column(String(16), nullable=False, default="coordinator")
    coordinator_id = Column(Integer, ForeignKey("coordinators.id"), nullable=True, index=True)
    action = Column(String(32), nullable=False)  # signed_in, decrypted, deleted_person, …
    conversation_id = Column(String(128), nullable=True, index=True)
    record = Column(String(64), nullable=True)  # "screenings:12": the record decrypted
    detail = Column(String(DETAIL_LENGTH), nullable=True)  # PHI-free: counts, a version


def add(
    s: Session,
    action: str,
    *,
    actor: str = "coordinator",
    coordinator_id: Optional[int] = None,
    conversation_id: Optional[str] = None,
    record: Optional[str] = None,
    detail: Optional[str] = None,
) -> None:
    """Record an entry in `s`, the transaction of what it records: both are stored or
    neither is."""
    if actor not in ACTORS:
        raise ValueError(f"unknown actor {actor!r}")
    if actor == "coordinator" and coordinator_id is None:
        raise ValueError("a coordinator's entry names the coordinator")
    s.add(
        AuditEntry(
            actor=actor,
            coordinator_id=coordinator_id,
            action=action,
            conversation_id=conversation_id,
            record=record,
            detail=(detail or None) and detail[:DETAIL_LENGTH],
        )
    )


def log(
    action: str,
    *,
    actor: str = "coordinator",
    coordinator_id: Optional[int] = None,
    conversation_id: Optional[str] = None,
    record: Optional[str] = None,
    detail: Optional[str] = None,
    db_url: Optional[str] = None,
) -> None:
    """Record an entry in a transaction of its own (for what happened elsewhere: a page
    shown, a Rasa call made)."""
    with session(db_url) as s:
        add(
            s,
            action,
            actor=actor,
            coordinator_id=coordinator_id,
            conversation_id=conversation_id,
            record=record,
            detail=detail,
        )


def record_id(row: Any) -> str:
    """How an entry names a row: "<table>:<id>"."""
    return f"{row.__tablename__}:{row.id}"
