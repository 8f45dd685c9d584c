"""Messages the system sends, through the outbox (bot.notify.models).

`enqueue` adds a row inside the caller's transaction; `bot.notify.worker` sends it. For now
the one kind is the coordinator alert: a new escalation posts a Slack-compatible webhook
(ALERT_WEBHOOK_URL) with a label and a link to the console, never what the person said.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import settings
from bot.notify.models import OutboxMessage
from bot.store import session, utcnow

# The alert's first words, by escalation kind (bot.handoff): no PHI, only why and where.
ALERT_HEADLINES = {
    "crisis": (
        "Crisis: someone in the chat may be in danger (the assistant gave them 988 and 911)."
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


def email_payload(to: str, rendered: Dict[str, str], sender_name: str) -> Dict[str, Any]:
    """What the email sender (bot.notify.email) reads from an outbox row."""
    return {
        "to": to,
        "subject": rendered["subject"],
        "text": rendered["text"],
        "html": rendered["html"],
        "sender_name": sender_name,
    }


def alert_text(kind: str, escalation_id: int) -> str:
    headline = ALERT_HEADLINES.get(kind, ALERT_HEADLINES["request"])
    link = f"{settings().web_base_url.rstrip('/')}/console/conversation/{escalation_id}"
    return f"{headline} Open it in the intake console: {link}"


def alert_coordinators(s: Session, escalation_id: int, kind: str, conversation_id: str) -> None:
    """Queue the coordinators' alerts for a new escalation, by the channels the clinic
    configured: a webhook, the team's mailbox (the console's live queue shows it either way)."""
    config = settings()
    text = alert_text(kind, escalation_id)
    urgent = kind == "crisis"
    if config.alert_webhook_url:
        enqueue(
            s,
            kind="coordinator_alert",
            channel="webhook",
            # Slack shows the emoji code as a siren.
            payload={"text": (":rotating_light: " if urgent else "") + text, "urgent": urgent},
            dedupe_key=f"escalation:{escalation_id}:webhook",
            conversation_id=conversation_id,
        )
    if config.alert_email:
        subject = "URGENT: crisis in the chat" if urgent else "Someone is waiting in the chat"
        enqueue(
            s,
            kind="coordinator_alert",
            channel="email",
            payload=email_payload(
                config.alert_email,
                {"subject": subject, "text": text, "html": f"<p>{html.escape(text)}</p>"},
                "Intake assistant",
            ),
            dedupe_key=f"escalation:{escalation_id}:email",
            conversation_id=conversation_id,
        )


def failures(days: int = 7, db_url: Optional[str] = None) -> List[Dict[str, Any]]:
    """Messages that could not be sent lately, for the console: what, how, why and when;
    never the address or the text."""
    since = utcnow() - timedelta(days=days)
    with session(db_url) as s:
        rows = (
            s.execute(
                select(OutboxMessage)
                .where(OutboxMessage.status == "failed", OutboxMessage.created_at >= since)
                .order_by(OutboxMessage.created_at.desc())
                .limit(50)
            )
            .scalars()
            .all()
        )
        return [
            {
                "kind": r.kind.replace("_", " "),
                "channel": r.channel,
                "reason": r.last_error or "unknown",
                "attempts": r.attempts,
                "created_at": r.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                "conversation_id": r.conversation_id or "",
            }
            for r in rows
        ]
