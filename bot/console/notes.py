"""Coordinators' private notes on a conversation: stored encrypted (they may hold PHI), shown
only in the console, never sent to the person and never part of the transcript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from sqlalchemy import select

from bot.console.models import ConsoleNote, Coordinator
from bot.store import audit, session

MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class Note:
    author: str  # the coordinator's name
    at: datetime
    text: str


def add_note(
    conversation_id: str, coordinator_id: int, text: str, db_url: Optional[str] = None
) -> Note:
    text = text.strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        raise ValueError(f"a note has 1 to {MAX_NOTE_CHARS} characters")
    with session(db_url) as s:
        note = ConsoleNote(
            conversation_id=conversation_id, coordinator_id=coordinator_id, text=text
        )
        s.add(note)
        s.flush()
        author = s.get(Coordinator, coordinator_id).name
        return Note(author, note.created_at, text)


def notes_for(conversation_id: str, viewer: int, db_url: Optional[str] = None) -> List[Note]:
    """Oldest first (the newest is read last, under the transcript), as coordinator `viewer`
    reads them: each note decrypted is audited."""
    with session(db_url) as s:
        rows = s.execute(
            select(ConsoleNote, Coordinator.name)
            .join(Coordinator, Coordinator.id == ConsoleNote.coordinator_id)
            .where(ConsoleNote.conversation_id == conversation_id)
            .order_by(ConsoleNote.id)
        ).all()
        for n, _ in rows:
            audit.add(
                s,
                "decrypted",
                coordinator_id=viewer,
                conversation_id=conversation_id,
                record=audit.record_id(n),
            )
        return [Note(name, n.created_at, n.text) for n, name in rows]
