"""The coordinators' queue: escalations waiting for a person, most urgent first, with where
each person is in their intake; and claiming one (one coordinator at a time).

Only escalated conversations appear: a coordinator never browses conversations that were
not handed to the team.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Union

from sqlalchemy import select, update

from bot.console.models import Coordinator
from bot.coverage.models import CoverageCheck
from bot.flows.models import FlowDraft
from bot.scheduling.models import BookingRecord, Callback
from bot.screening.models import ScreeningRecord
from bot.store import Escalation, latest_columns, session, utcnow

KIND_LABELS = {
    "crisis": "Crisis",
    "concern": "Safety concern",
    "request": "Asked for a person",
    "followup": "Follow-up",
}
FLOW_LABELS = {
    "screening": "screening",
    "coverage": "insurance check",
    "booking": "booking",
    "manage_booking": "changing a booking",
    "callback": "call-back request",
    "callback_later": "call-back request",
}


@dataclass(frozen=True)
class QueueItem:
    id: int
    conversation_id: str
    kind: str
    label: str  # "Crisis: suicidal", "Asked for a person: asked for person in booking"
    priority: int
    waiting_seconds: int
    claimed_by: Optional[str]  # the coordinator's name
    where: str  # the flow the person is in, or "chat"
    screening: Optional[str]  # recommended level of care
    coverage: Optional[str]  # active / inactive / error / unavailable
    booking: Optional[str]  # booked / rescheduled / cancelled

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)


def _aware(moment: datetime) -> datetime:
    # escalations.created_at comes back naive from SQLite; it was written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def waiting(db_url: Optional[str] = None) -> List[QueueItem]:
    """Open and claimed escalations, crisis first, then by how long they have waited."""
    now = utcnow()
    items = []
    with session(db_url) as s:
        rows = s.execute(
            select(Escalation, Coordinator.name)
            .outerjoin(Coordinator, Coordinator.id == Escalation.claimed_by)
            .where(Escalation.status.in_(("open", "claimed")))
            .order_by(Escalation.priority, Escalation.created_at, Escalation.id)
        ).all()
        for e, holder in rows:
            # Only the columns shown: the queue refreshes every half second, and a draft's
            # answers or a booking's contact details have no business being decrypted here.
            draft = latest_columns(s, FlowDraft, e.conversation_id, "status", "flow")
            screening = latest_columns(s, ScreeningRecord, e.conversation_id, "level")
            check = latest_columns(s, CoverageCheck, e.conversation_id, "status")
            booking = latest_columns(s, BookingRecord, e.conversation_id, "status")
            where = "chat"
            if draft is not None and draft.status in ("active", "paused"):
                where = FLOW_LABELS.get(draft.flow, draft.flow)
            elif latest_columns(s, Callback, e.conversation_id, "id") is not None:
                where = "left a call-back request"
            items.append(
                QueueItem(
                    id=e.id,
                    conversation_id=e.conversation_id,
                    kind=e.kind,
                    label=f"{KIND_LABELS.get(e.kind, e.kind)}: {e.reason.replace('_', ' ')}",
                    priority=e.priority,
                    waiting_seconds=max(0, int((now - _aware(e.created_at)).total_seconds())),
                    claimed_by=holder,
                    where=where,
                    screening=screening.level if screening is not None else None,
                    coverage=check.status if check is not None else None,
                    booking=booking.status if booking is not None else None,
                )
            )
    return items


@dataclass(frozen=True)
class Claimed:
    won: bool
    holder: Optional[str]  # who holds it now (the claimant when won)


def claim(
    escalation_id: int, coordinator_id: int, db_url: Optional[str] = None
) -> Union[Claimed, None]:
    """Take a conversation: the escalation asked for and every other open one of the same
    conversation (a crisis answer and "talk to a person" are two rows, one person), so one
    coordinator holds it and the assistant is paused and resumed once.

    The conversation's rows are locked in id order (PostgreSQL; SQLite writes one at a
    time anyway), then one UPDATE … WHERE status = 'open': when two coordinators claim at
    once, exactly one changes the rows. None if there is no such escalation in the queue."""
    with session(db_url) as s:
        target = s.get(Escalation, escalation_id)
        if target is None or target.status not in ("open", "claimed"):
            return None
        conversation = target.conversation_id
        s.execute(
            select(Escalation.id)
            .where(Escalation.conversation_id == conversation)
            .order_by(Escalation.id)
            .with_for_update()
        ).all()
        taken = s.execute(
            select(Escalation.claimed_by).where(
                Escalation.conversation_id == conversation,
                Escalation.status == "claimed",
                Escalation.claimed_by != coordinator_id,
            )
        ).first()
        won = False
        if taken is None:
            result = s.execute(
                update(Escalation)
                .where(Escalation.conversation_id == conversation, Escalation.status == "open")
                .values(status="claimed", claimed_by=coordinator_id, claimed_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            won = result.rowcount > 0
        holder = s.execute(
            select(Coordinator.name)
            .join(Escalation, Escalation.claimed_by == Coordinator.id)
            .where(Escalation.id == escalation_id)
        ).scalar()
    return Claimed(won=won, holder=holder)


def conversation_of(escalation_id: int, db_url: Optional[str] = None) -> Optional[str]:
    with session(db_url) as s:
        e = s.get(Escalation, escalation_id)
        return e.conversation_id if e is not None else None


@dataclass(frozen=True)
class Held:
    escalation_id: int
    conversation_id: str
    status: str  # open / claimed / returned / resolved
    claimed_by: Optional[int]


def held(escalation_id: int, db_url: Optional[str] = None) -> Optional[Held]:
    with session(db_url) as s:
        e = s.get(Escalation, escalation_id)
        if e is None:
            return None
        return Held(e.id, e.conversation_id, e.status, e.claimed_by)


def close(
    escalation_id: int, coordinator_id: int, status: str, db_url: Optional[str] = None
) -> bool:
    """The holder gives the conversation back to the assistant ("returned") or resolves it,
    with every row of it they hold. False when this coordinator does not hold it."""
    if status not in ("returned", "resolved"):
        raise ValueError(status)
    return _change_held(escalation_id, coordinator_id, db_url, status=status)


def release(escalation_id: int, db_url: Optional[str] = None) -> bool:
    """An admin frees an abandoned claim: every claimed row of the conversation is open
    again, for anyone to claim. False when nobody holds it."""
    return _change_held(
        escalation_id,
        None,
        db_url,
        status="open",
        claimed_by=None,
        claimed_at=None,
        person_typing_until=None,
    )


def _change_held(
    escalation_id: int, holder: Optional[int], db_url: Optional[str], **values: Any
) -> bool:
    """Update every claimed row of the escalation's conversation (only `holder`'s when
    given): a conversation is held, and let go, as a whole."""
    with session(db_url) as s:
        target = s.get(Escalation, escalation_id)
        if target is None:
            return False
        conditions = [
            Escalation.conversation_id == target.conversation_id,
            Escalation.status == "claimed",
        ]
        if holder is not None:
            conditions.append(Escalation.claimed_by == holder)
        result = s.execute(
            update(Escalation)
            .where(*conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount > 0


PERSON_TYPING_FOR = timedelta(seconds=5)  # the widget refreshes it every ~2 s while typing


def mark_person_typing(conversation_id: str, db_url: Optional[str] = None) -> bool:
    """The person is typing: recorded only while a coordinator holds the conversation (one
    UPDATE; nothing is written for a conversation with the assistant). True if recorded."""
    with session(db_url) as s:
        result = s.execute(
            update(Escalation)
            .where(Escalation.conversation_id == conversation_id, Escalation.status == "claimed")
            .values(person_typing_until=utcnow() + PERSON_TYPING_FOR)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount > 0


def person_typing(conversation_id: str, db_url: Optional[str] = None) -> bool:
    with session(db_url) as s:
        found = s.execute(
            select(Escalation.id)
            .where(
                Escalation.conversation_id == conversation_id,
                Escalation.status == "claimed",
                Escalation.person_typing_until > utcnow(),
            )
            .limit(1)
        ).first()
        return found is not None
