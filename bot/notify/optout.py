"""Numbers that replied STOP: no text is queued or sent to them again (Twilio's inbound
webhook, bot.web). Stored as a keyed hash, so the table holds no phone number."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Dict, Optional

from sqlalchemy import Column, Integer, String, select
from sqlalchemy.orm import Session

from bot.store import Base, UTCDateTime, session, utcnow
from bot.store.crypto import derived_secret

# Twilio's opt-out keywords (a message that is only one of them, any case).
STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
START_WORDS = {"start", "unstop", "yes"}


class SmsOptOut(Base):
    __tablename__ = "sms_opt_outs"

    id = Column(Integer, primary_key=True)
    phone_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


def twilio_signature(auth_token: str, url: str, params: Dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted form fields."""
    data = url + "".join(k + params[k] for k in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def phone_hash(e164: str) -> str:
    return hmac.new(derived_secret("sms-opt-out"), e164.encode(), hashlib.sha256).hexdigest()


def opted_out(s: Session, e164: str) -> bool:
    found = s.execute(select(SmsOptOut.id).where(SmsOptOut.phone_hash == phone_hash(e164)))
    return found.first() is not None


def record_reply(e164: str, body: str, db_url: Optional[str] = None) -> Optional[str]:
    """A text someone sent us: "stopped" after STOP, "started" after START, else None."""
    word = (body or "").strip().lower().strip(".!")
    with session(db_url) as s:
        key = phone_hash(e164)
        row = s.execute(select(SmsOptOut).where(SmsOptOut.phone_hash == key)).scalar()
        if word in STOP_WORDS:
            if row is None:
                s.add(SmsOptOut(phone_hash=key))
            return "stopped"
        if word in START_WORDS and row is not None:
            s.delete(row)
            return "started"
    return None
