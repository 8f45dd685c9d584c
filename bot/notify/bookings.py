"""The messages a booking promises, queued in the booking's own transaction.

Booked or moved: a confirmation now, and reminders 24 hours and 2 hours before (those still
in the future); cancelled: a cancellation. Each by email and/or text, only as the person
agreed in the chat (`contact_consent`). A move or a cancellation first cancels the reminders
still pending for the old time. Texts to a number that replied STOP are never queued.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.notify import email_payload, enqueue
from bot.notify.models import OutboxMessage
from bot.notify.optout import opted_out
from bot.notify.templates import load_templates

REMINDERS = (("reminder_24h", timedelta(hours=24)), ("reminder_2h", timedelta(hours=2)))
EVENT_MESSAGE = {"booked": "confirmed", "rescheduled": "rescheduled", "cancelled": "cancelled"}


def first_name(name: Any) -> str:
    """The first word of the name given in the chat (or nothing, never the full name)."""
    words = str(name or "").split()
    return words[0] if words else "there"


def queue_booking_messages(
    s: Session,
    booking: Any,  # bot.scheduling.Booking (core dataclass): kept loose to avoid a cycle
    event: str,
    when: str,
    phone_number: str,
    ics: Optional[bytes] = None,
    now: Optional[datetime] = None,
) -> int:
    """Queue `event`'s messages for `booking` in `s`; returns how many were queued."""
    now = now or datetime.now(timezone.utc)
    prefix = f"booking:{booking.code}:"
    # Reminders for the old time no longer apply.
    s.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.dedupe_key.like(prefix + "%:reminder%"),
            OutboxMessage.status == "pending",
        )
        .values(status="cancelled", last_error="booking changed")
        .execution_options(synchronize_session=False)
    )
    plan: List[Tuple[str, datetime]] = [(EVENT_MESSAGE[event], now)]
    if event != "cancelled":
        start = booking.slot.start
        plan += [(kind, start - before) for kind, before in REMINDERS if start - before > now]
    templates = load_templates()
    values = {
        "first_name": first_name(booking.name),
        "when": when,
        "code": booking.code,
        "phone": phone_number,
    }
    consent = set(booking.contact_consent or [])
    queued = 0
    for kind, due in plan:
        rendered = templates.render(kind, values)
        channels: List[Tuple[str, Dict[str, Any]]] = []
        if "email" in consent and booking.email:
            email = email_payload(booking.email, rendered, templates.sender)
            if ics is not None and kind in ("confirmed", "rescheduled", "cancelled"):
                email.update(ics=ics.decode(), ics_name="appointment.ics")
            channels.append(("email", email))
        if "text" in consent and booking.phone and not opted_out(s, booking.phone):
            channels.append(("sms", {"to": booking.phone, "text": rendered["sms"]}))
        for channel, payload in channels:
            key = f"{prefix}{booking.sequence}:{kind}:{channel}"
            if enqueue(s, kind, channel, payload, key, booking.conversation_id, due) is not None:
                queued += 1
    return queued


def queue_callback_ack(
    s: Session, callback_id: int, conversation_id: str, email: Optional[str], phone_number: str
) -> bool:
    """An email saying the call-back request arrived, when the person gave an email for
    it (a phone given for a call is called, not texted). In the request's transaction."""
    if not email:
        return False
    templates = load_templates()
    # No name is asked in the call-back flow: the greeting stays general.
    rendered = templates.render(
        "callback_ack", {"first_name": "there", "when": "", "code": "", "phone": phone_number}
    )
    payload = email_payload(email, rendered, templates.sender)
    key = f"callback:{callback_id}:callback_ack:email"
    return enqueue(s, "callback_ack", "email", payload, key, conversation_id) is not None
