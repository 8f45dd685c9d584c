"""Escalations to human intake coordinators, and whether one can join a chat right now.

Records written here are the coordinators' queue (bot.console), ordered by priority then
wait.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import List, Optional

from sqlalchemy import select

from bot.console.models import ConsoleSession
from bot.notify import alert_coordinators
from bot.profile.schema import WeeklyHours
from bot.store import Escalation, session, utcnow

PRIORITY_CRISIS = 0  # someone may be in danger now
PRIORITY_CONCERN = 1  # safety mentioned, not acute: a clinician should follow up
PRIORITY_REQUEST = 2  # asked to talk to a person


def escalate(
    conversation_id: str, kind: str, reason: str, priority: int, db_url: Optional[str] = None
) -> int:
    with session(db_url) as s:
        record = Escalation(
            conversation_id=conversation_id, kind=kind, reason=reason, priority=priority
        )
        s.add(record)
        s.flush()
        # Same transaction: the alert is sent if and only if the escalation is recorded.
        alert_coordinators(s, record.id, kind, conversation_id)
        return record.id


def open_queue(db_url: Optional[str] = None) -> List[Escalation]:
    with session(db_url) as s:
        rows = (
            s.execute(
                select(Escalation)
                .where(Escalation.status == "open")
                .order_by(Escalation.priority, Escalation.created_at)
            )
            .scalars()
            .all()
        )
        return list(rows)


def for_conversation(conversation_id: str, db_url: Optional[str] = None) -> List[Escalation]:
    with session(db_url) as s:
        rows = (
            s.execute(
                select(Escalation)
                .where(Escalation.conversation_id == conversation_id)
                .order_by(Escalation.id)
            )
            .scalars()
            .all()
        )
        return list(rows)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def someone_can_join(schedule: Optional[WeeklyHours], db_url: Optional[str] = None) -> bool:
    """Whether the assistant may say "someone can join you here": inside the coordinators'
    hours (when the profile sets them) and with a coordinator's console open."""
    if schedule is not None and not schedule.is_open(_now()):
        return False
    return coordinators_online(db_url) > 0


def coordinators_online(db_url: Optional[str] = None) -> int:
    """How many coordinators have the console's queue open right now (its event stream keeps
    `online_until` a little ahead of now), i.e. could see a request and join the chat."""
    now = utcnow()
    with session(db_url) as s:
        rows = s.execute(
            select(ConsoleSession.coordinator_id)
            .where(ConsoleSession.online_until > now, ConsoleSession.expires_at > now)
            .distinct()
        ).all()
        return len(rows)
