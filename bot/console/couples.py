"""Couples in the console: the couple panel beside a partner's conversation (and on the
couple's own page), the cohort and track form, and the list of couples.

Every read of a couple's private data (levels, safety flags and answers, the joint
recommendation) goes through bot.couples' `clinician_view`, which audits `opened_couple` on
both partners' conversations; placing a couple goes through `set_cohort` (audited
`set_couple_cohort`). The list shows only what both partners share (status, cohort, track,
joint booking) and who they are, and its opening is audited (`opened_couples`).

Every couple is listed, not only couples with a conversation in the queue: coordinators
place each couple in a cohort. A partner's transcript still opens only when that
conversation was handed to the team (the link goes to its escalation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import select

from bot.couples import SAFETY
from bot.couples.recommend import INDIVIDUAL_FIRST, IOP_TOGETHER, OWN_PATH, WAITING
from bot.couples.records import (
    MAX_COHORT_LENGTH,
    ClinicianView,
    CoupleError,
    SharedRecord,
    clinician_view,
    couple_id_of,
    list_couples,
    set_cohort,
)
from bot.dialog import SKIPPED
from bot.profile import load_profile
from bot.scheduling.models import BookingRecord
from bot.store import Escalation, audit, session

__all__ = [
    "MAX_COHORT_LENGTH",
    "CoupleError",
    "CouplePanel",
    "CoupleRow",
    "couple_id_of",
    "couple_panel",
    "couples",
    "place",
    "tracks",
]

ROLE_LABELS = {"inviter": "Partner 1 (invited the other)", "invitee": "Partner 2 (joined)"}
OUTCOME_LABELS = {
    IOP_TOGETHER: "IOP together: joint intake assessment",
    INDIVIDUAL_FIRST: "individual assessments first",
    OWN_PATH: "their own path, from their screening",
    WAITING: "waiting for both partners to finish",
}
PRIVATE_FLAG = "Private flag: see alone before joint sessions"
FILTERS = ("all", "unplaced", "booked")


@dataclass(frozen=True)
class PartnerPanel:
    conversation_id: str
    role: str  # "Partner 1 (invited the other)"
    screening_level: Optional[str]  # None: not finished
    flagged: Optional[bool]  # None: the relationship-safety check is not done
    safety: str  # what the panel says about the check
    safety_checked_at: Optional[datetime]
    safety_answers: List[Tuple[str, str]]  # (question, answer), only for staff
    told: str  # what this partner is told about the next step (OUTCOME_LABELS)
    escalation_id: Optional[int]  # their conversation page, when handed to the team


@dataclass(frozen=True)
class CouplePanel:
    couple_id: int
    status: str  # linked / booked
    cohort: Optional[str]
    track: Optional[str]
    booking: Optional[str]  # "K7Q2M9: booked for 2026-12-03 14:00 UTC"
    together: str
    reasons: List[str]
    partners: List[PartnerPanel]  # inviter first
    tracks: List[str] = field(default_factory=list)  # the choices for the form

    def other_than(self, conversation_id: str) -> Optional[PartnerPanel]:
        """The other partner of `conversation_id`'s couple (for "linked with")."""
        others = [p for p in self.partners if p.conversation_id != conversation_id]
        return others[0] if len(others) == 1 else None

    @property
    def flagged(self) -> bool:
        return any(p.flagged for p in self.partners)


@dataclass(frozen=True)
class CoupleRow:
    """One couple in the list: shared data only."""

    couple_id: int
    status: str
    cohort: Optional[str]
    track: Optional[str]
    booking_code: Optional[str]
    created_at: datetime
    partners: List[Tuple[str, Optional[int]]]  # (conversation id, escalation id or None)


def tracks() -> List[str]:
    """The program's tracks (the profile's schedule.tracks): set_cohort accepts only these."""
    return [str(t) for t in load_profile().facts.schedule.tracks]


def _escalations(conversation_ids: Sequence[str], db_url: Optional[str]) -> Dict[str, int]:
    """The newest escalation of each conversation that was handed to the team: its page."""
    if not conversation_ids:
        return {}
    with session(db_url) as s:
        rows = s.execute(
            select(Escalation.conversation_id, Escalation.id)
            .where(Escalation.conversation_id.in_(list(conversation_ids)))
            .order_by(Escalation.id)
        ).all()
    return {conversation: escalation for conversation, escalation in rows}


def _booking(code: Optional[str], db_url: Optional[str]) -> Optional[str]:
    """The joint booking from its plain columns (status and time; contact stays encrypted)."""
    if not code:
        return None
    with session(db_url) as s:
        row = s.execute(
            select(BookingRecord.status, BookingRecord.start).where(BookingRecord.code == code)
        ).first()
    if row is None:
        return code
    return f"{code}: {row.status} for {row.start:%Y-%m-%d %H:%M} UTC"


def _answer_text(value: object) -> str:
    if value == SKIPPED:
        return "skipped"
    for option in SAFETY.content.options:
        if option.value == value:
            return str(option.title)
    return str(value)


def _answers(answers: Optional[dict]) -> List[Tuple[str, str]]:
    if not answers:
        return []
    out = []
    for item in SAFETY.content.items:
        key = f"{SAFETY.content.id}.{item.id}"
        if key in answers:
            out.append((" ".join(item.text.split()), _answer_text(answers[key])))
    return out


def _safety_text(flag: Optional[bool]) -> str:
    if flag is None:
        return "not done yet"
    return PRIVATE_FLAG if flag else "done: nothing raised"


def _together(view: ClinicianView) -> str:
    if view.recommendation.together is True:
        return "Together: IOP together, one joint intake assessment"
    if view.recommendation.together is False:
        return "Not together for now: individual assessments first"
    return "Not decided yet: waiting for both partners' screening and safety check"


def couple_panel(couple_id: int, viewer: int, db_url: Optional[str] = None) -> CouplePanel:
    """The couple as coordinator `viewer` sees it, read through clinician_view (audited as
    `opened_couple` on both partners' conversations). CoupleError: no such couple."""
    view = clinician_view(couple_id, viewer, db_url)
    pages = _escalations([p.conversation_id for p in view.partners], db_url)
    shared: SharedRecord = view.shared
    partners = [
        PartnerPanel(
            conversation_id=p.conversation_id,
            role=ROLE_LABELS.get(p.role, p.role),
            screening_level=p.screening_level,
            flagged=p.safety_flag,
            safety=_safety_text(p.safety_flag),
            safety_checked_at=p.safety_checked_at,
            safety_answers=_answers(p.safety_answers),
            told=OUTCOME_LABELS.get(outcome, outcome),
            escalation_id=pages.get(p.conversation_id),
        )
        for p, outcome in zip(view.partners, view.recommendation.outcomes, strict=True)
    ]
    return CouplePanel(
        couple_id=shared.couple_id,
        status=shared.status,
        cohort=shared.cohort,
        track=shared.track,
        booking=_booking(shared.booking_code, db_url),
        together=_together(view),
        reasons=list(view.recommendation.reasons),
        partners=partners,
        tracks=tracks(),
    )


def couples(viewer: int, show: str = "all", db_url: Optional[str] = None) -> List[CoupleRow]:
    """Every couple, newest first (`show`: all, unplaced = no cohort or track yet, booked),
    as coordinator `viewer` lists them: audited as `opened_couples`."""
    listed = list_couples(db_url)
    if show == "unplaced":
        listed = [c for c in listed if not (c.shared.cohort and c.shared.track)]
    elif show == "booked":
        listed = [c for c in listed if c.shared.status == "booked"]
    pages = _escalations([cid for c in listed for cid in c.conversation_ids], db_url)
    audit.log(
        "opened_couples", coordinator_id=viewer, detail=f"{show}: {len(listed)}", db_url=db_url
    )
    return [
        CoupleRow(
            couple_id=c.shared.couple_id,
            status=c.shared.status,
            cohort=c.shared.cohort,
            track=c.shared.track,
            booking_code=c.shared.booking_code,
            created_at=c.created_at,
            partners=[(cid, pages.get(cid)) for cid in c.conversation_ids],
        )
        for c in listed
    ]


def place(
    couple_id: int,
    viewer: int,
    cohort: Optional[str],
    track: Optional[str],
    db_url: Optional[str] = None,
) -> SharedRecord:
    """A coordinator sets the couple's cohort and track from the form ("" clears either),
    through set_cohort (audited as `set_couple_cohort`). CoupleError: refused, with a
    message safe to show."""
    cohort = (cohort or "").strip() or None
    track = (track or "").strip() or None
    return set_cohort(couple_id, viewer, cohort, track, db_url)
