"""The intake summary a coordinator sees beside the transcript: consent, the screening
(answers, scores, recommendation), the insurance check and the booking.

PHI is decrypted here, for a signed-in coordinator, and only what is shown: each record
decrypted is audited (`decrypted`, "screenings:12") in the same transaction that reads it.
The insurance check and the booking are shown from their plain columns (status, plan type,
time, code), so their encrypted ones (names, member ID, contact) are not even read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from bot.consent.models import Consent
from bot.coverage.models import CoverageCheck
from bot.scheduling.models import BookingRecord
from bot.screening.models import ScreeningRecord
from bot.store import audit, latest_columns, latest_for, session


@dataclass
class Summary:
    consent: Optional[str] = None  # "version 2, 2026-12-01 10:02 UTC"
    screening_level: Optional[str] = None
    screening_status: Optional[str] = None
    needs_clinician_review: bool = False
    scores: List[Tuple[str, str]] = field(default_factory=list)
    answers: List[Tuple[str, str]] = field(default_factory=list)
    recommendation: Optional[str] = None
    coverage: Optional[str] = None  # "active (PPO)", "error: payer_unavailable"
    booking: Optional[str] = None  # "booked for 2026-12-03 14:00 UTC (code ABC123)"


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def intake_summary(conversation_id: str, viewer: int, db_url: Optional[str] = None) -> Summary:
    """The summary of `conversation_id` as coordinator `viewer` sees it (audited)."""
    out = Summary()
    with session(db_url) as s:
        consent = latest_for(s, Consent, conversation_id)
        if consent is not None:
            out.consent = f"version {consent.version}, {consent.given_at:%Y-%m-%d %H:%M} UTC"
        screening = latest_for(s, ScreeningRecord, conversation_id)
        if screening is not None:
            audit.add(
                s,
                "decrypted",
                coordinator_id=viewer,
                conversation_id=conversation_id,
                record=audit.record_id(screening),
            )
            out.screening_level = screening.level
            out.screening_status = screening.status
            out.needs_clinician_review = bool(screening.coordinator_review)
            scores: Dict[str, Any] = screening.scores or {}
            answers: Dict[str, Any] = screening.answers or {}
            out.scores = [(k, _text(v)) for k, v in scores.items()]
            out.answers = [(k, _text(v)) for k, v in answers.items()]
            recommendation = screening.recommendation or {}
            out.recommendation = str(recommendation.get("text") or "") or None
        check = latest_columns(s, CoverageCheck, conversation_id, "status", "plan_type", "reason")
        if check is not None:
            plan = f" ({check.plan_type.upper()})" if check.plan_type else ""
            reason = f": {check.reason}" if check.reason else ""
            out.coverage = f"{check.status}{plan}{reason}"
        booking = latest_columns(s, BookingRecord, conversation_id, "status", "start", "code")
        if booking is not None:
            out.booking = (
                f"{booking.status} for {booking.start:%Y-%m-%d %H:%M} UTC (code {booking.code})"
            )
    return out
