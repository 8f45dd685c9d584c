"""Call-back requests for intake coordinators (when no slot suits, or the calendar is down)."""

from __future__ import annotations

from typing import Optional

from bot import store
from bot.scheduling.models import Callback


def request_callback(
    conversation_id: str,
    best_times: str,
    phone: Optional[str] = None,
    email: Optional[str] = None,
    db_url: Optional[str] = None,
    time_zone: Optional[str] = None,
) -> int:
    """Store a call-back request (contact and best times encrypted); returns its id.
    Without phone or email the coordinator finds the person through the conversation
    (or their booking, looked up by conversation id)."""
    with store.session(db_url) as s:
        row = Callback(
            conversation_id=conversation_id,
            best_times=best_times or "",
            contact={"phone": phone, "email": email, "time_zone": time_zone},
            status="open",
        )
        s.add(row)
        s.flush()
        # The acknowledgement is stored with the request, or neither is (bot.notify).
        from bot.notify.bookings import queue_callback_ack
        from bot.profile import load_profile

        phone_number = load_profile().facts.program.phone
        queue_callback_ack(s, row.id, conversation_id, email, phone_number)
        return row.id
