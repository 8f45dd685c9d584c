"""The calendar file (.ics) link sent with a confirmation: /calendar/<code>.ics?t=<token>.

The token is an HMAC of the code, so knowing a confirmation code alone does not open the
file; the file itself holds the time and how to join, never contact details.
"""

from __future__ import annotations

import hmac
from hashlib import sha256
from typing import TYPE_CHECKING, Optional

from bot.config import settings
from bot.store.crypto import derived_secret

if TYPE_CHECKING:
    from bot.profile import Profile


def token(code: str) -> str:
    return hmac.new(derived_secret("calendar-link"), code.encode(), sha256).hexdigest()[:24]


def calendar_url(code: str) -> str:
    base = settings().web_base_url  # WEB_PUBLIC_URL, else http://localhost:$WEB_PORT
    return f"{base.rstrip('/')}/calendar/{code}.ics?t={token(code)}"


def calendar_file(
    code: str, given_token: str, profile: Profile, db_url: Optional[str] = None
) -> Optional[bytes]:
    """The .ics for a booking, or None when the token does not match or there is no booking."""
    from bot.scheduling import BookingNotFound, to_ics
    from bot.scheduling.store import LocalBookings

    if not hmac.compare_digest(token(code), given_token or ""):
        return None
    try:
        prefix = settings().booking_code_prefix
        booking = LocalBookings(db_url, prefix, claim_slots=False).get(code)
    except BookingNotFound:
        return None
    facts = profile.facts
    return to_ics(
        booking,
        summary=f"Intake assessment, {facts.program.name}",
        description=f"{facts.intake.assessment}. {facts.intake.join} "
        f"Questions: {facts.program.phone}.",
        location="Video call",
    )
