"""Messages the system sends, through the outbox (bot.notify.models).

`enqueue` adds a row inside the caller's transaction; `bot.notify.worker` sends it. For now
the one kind is the coordinator alert: a new escalation posts a Slack-compatible webhook
(ALERT_WEBHOOK_URL) with a label and a link to the console, never what the person said.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import settings
from bot.notify.models import OutboxMessage
from bot.store import utcnow

# The alert's first words, by escalation kind (bot.handoff): no PHI, only why and where.
ALERT_HEADLINES = {
    "crisis": (
        ":rotating_light: Crisis: someone in the chat may be in danger "
        "(the assistant gave them 988 and 911)."
    ),
    "concern": "Safety concern: someone in the chat mentioned risk; a clinician should follow up.",
    "request": "Someone in the chat asked to talk to a person.",
}


def enqueue(
    s: Session,
    kind: str,
    channel: str,
    payload: Dict[str, Any],
    dedupe_key: str,
    conversation_id: Optional[str] = None,
    due: Optional[datetime] = None,
) -> Optional[OutboxMessage]:
    """Add one message to the outbox in `s`'s transaction, to send at `due` (default now);
    None if `dedupe_key` is there."""
    if s.execute(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)).first():
        return None
    row = OutboxMessage(
        kind=kind,
        channel=channel,
        payload=payload,
        dedupe_key=dedupe_key,
        conversation_id=conversation_id,
        next_attempt_at=due or utcnow(),
    )
    s.add(row)
    return row


def alert_text(kind: str, escalation_id: int) -> str:
    headline = ALERT_HEADLINES.get(kind, ALERT_HEADLINES["request"])
    link = f"{settings().web_base_url.rstrip('/')}/console/conversation/{escalation_id}"
    return f"{headline} Open it in the intake console: {link}"


def alert_coordinators(s: Session, escalation_id: int, kind: str, conversation_id: str) -> None:
    """Queue the coordinators' alert for a new escalation, when the clinic configured a
    webhook (the console's live queue shows every escalation either way)."""
    if not settings().alert_webhook_url:
        return
    enqueue(
        s,
        kind="coordinator_alert",
        channel="webhook",
        payload={"text": alert_text(kind, escalation_id), "urgent": kind == "crisis"},
        dedupe_key=f"escalation:{escalation_id}:webhook",
        conversation_id=conversation_id,
    )
