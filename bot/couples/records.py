"""The couple record: what both partners share (cohort, track, joint booking), what each
partner is told next, and the clinician-facing view with both partners' private flags.

Partner-facing: `shared_record`, `next_step`. They never return the other partner's
conversation id (it would let someone write into that conversation), level or flag.
Clinician-facing (audited): `clinician_view`, `set_cohort`. Staff-facing, for the console's
list of couples: `list_couples` (shared records and conversation ids only, no private data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store import latest_for, session, utcnow

from .invitations import partner_row
from .models import Couple, CouplePartner, SafetyCheck
from .recommend import JointRecommendation, PartnerState, joint_recommendation, partner_outcome

MAX_COHORT_LENGTH = 64


class CoupleError(ValueError):
    """A request about a couple that cannot be done; the message is safe to show to staff."""


@dataclass(frozen=True)
class SharedRecord:
    """What both partners of a couple may see: the same for each of them."""

    couple_id: int
    status: str  # linked / booked
    cohort: Optional[str]
    track: Optional[str]
    booking_code: Optional[str]


@dataclass(frozen=True)
class PartnerDetail:
    """One partner, for clinicians."""

    conversation_id: str
    role: str  # inviter / invitee
    screening_level: Optional[str]
    safety_flag: Optional[bool]  # None: not checked yet
    safety_answers: Optional[dict]
    safety_checked_at: Optional[datetime]


@dataclass(frozen=True)
class ClinicianView:
    shared: SharedRecord
    partners: List[PartnerDetail]  # inviter first
    recommendation: JointRecommendation


@dataclass(frozen=True)
class CoupleListing:
    """One couple in the console's list: what both partners share, and who they are. No
    level, flag or answer (those are read through clinician_view, audited)."""

    shared: SharedRecord
    conversation_ids: List[str]  # inviter first
    created_at: datetime


def list_couples(db_url: Optional[str] = None) -> List[CoupleListing]:
    """Staff-facing: every couple, newest first (the console's list; the caller audits the
    opening of the list)."""
    with session(db_url) as s:
        couples = s.execute(select(Couple).order_by(Couple.id.desc())).scalars().all()
        partners: dict = {}
        rows = s.execute(
            select(CouplePartner)
            .where(CouplePartner.couple_id.in_([c.id for c in couples]))
            .order_by(CouplePartner.role != "inviter", CouplePartner.id)
        ).scalars()
        for p in rows:
            partners.setdefault(p.couple_id, []).append(p.conversation_id)
        return [CoupleListing(_shared(c), partners.get(c.id, []), c.created_at) for c in couples]


def couple_id_of(conversation_id: str, db_url: Optional[str] = None) -> Optional[int]:
    """The couple this conversation belongs to, or None (for the console's links)."""
    with session(db_url) as s:
        row = partner_row(s, conversation_id)
        return None if row is None else int(row.couple_id)


def shared_record(conversation_id: str, db_url: Optional[str] = None) -> Optional[SharedRecord]:
    """The couple's shared record, for either partner; None when not linked."""
    with session(db_url) as s:
        row = partner_row(s, conversation_id)
        if row is None:
            return None
        return _shared(s.get(Couple, row.couple_id))


def _shared(couple: Couple) -> SharedRecord:
    return SharedRecord(
        couple_id=couple.id,
        status=couple.status,
        cohort=couple.cohort,
        track=couple.track,
        booking_code=couple.booking_code,
    )


def _partners(s: Session, couple_id: int) -> List[CouplePartner]:
    rows = s.execute(
        select(CouplePartner)
        .where(CouplePartner.couple_id == couple_id)
        .order_by(CouplePartner.role != "inviter", CouplePartner.id)
    ).scalars()
    return list(rows)


def _screening_level(s: Session, conversation_id: str) -> Optional[str]:
    from bot.screening.models import ScreeningRecord

    row = latest_for(s, ScreeningRecord, conversation_id)
    if row is None or row.status == "partial":
        return None
    return str(row.level)


Safety = Tuple[Optional[bool], Optional[dict], Optional[datetime]]  # flag, answers, when


def _safety(s: Session, conversation_id: str) -> Safety:
    row = latest_for(s, SafetyCheck, conversation_id)
    if row is None:
        return None, None, None
    return bool(row.result["flagged"]), dict(row.result["answers"]), row.created_at


def _state(s: Session, conversation_id: str) -> PartnerState:
    return PartnerState(
        level=_screening_level(s, conversation_id),
        safety_flag=_safety(s, conversation_id)[0],
    )


def next_step(conversation_id: str, db_url: Optional[str] = None) -> Optional[str]:
    """Partner-facing: the key of what this partner is told about the couple's next step
    (texts.yml `outcomes`: iop_together, individual_first, own_path, waiting), or None when
    not linked. It depends on the other partner only through whether the couple goes on
    together (bot.couples.recommend)."""
    with session(db_url) as s:
        me = partner_row(s, conversation_id)
        if me is None:
            return None
        other = next(p for p in _partners(s, me.couple_id) if p.id != me.id)
        return partner_outcome(_state(s, me.conversation_id), _state(s, other.conversation_id))


def set_joint_booking(
    couple_id: int, booking_code: str, db_url: Optional[str] = None
) -> SharedRecord:
    """Record the joint intake assessment both partners confirmed (its booking code)."""
    with session(db_url) as s:
        couple = _couple(s, couple_id)
        couple.booking_code = booking_code
        couple.status = "booked"
        couple.updated_at = utcnow()
        return _shared(couple)


def set_cohort(
    couple_id: int,
    coordinator_id: int,
    cohort: Optional[str],
    track: Optional[str],
    db_url: Optional[str] = None,
) -> SharedRecord:
    """A coordinator places the couple: a cohort label (free text, e.g. "March evening A")
    and a track from the profile's schedule.tracks. Audited as `set_couple_cohort` on both
    partners' conversations, in the same transaction as the change."""
    from bot.console.models import AuditEntry

    cohort = " ".join(cohort.split()) if cohort else None
    if cohort and len(cohort) > MAX_COHORT_LENGTH:
        raise CoupleError(f"the cohort name may have at most {MAX_COHORT_LENGTH} characters")
    if track is not None:
        tracks = _tracks()
        if track not in tracks:
            raise CoupleError(f"unknown track '{track}' (the program has {', '.join(tracks)})")
    with session(db_url) as s:
        couple = _couple(s, couple_id)
        couple.cohort = cohort
        couple.track = track
        couple.updated_at = utcnow()
        for p in _partners(s, couple_id):
            s.add(
                AuditEntry(
                    coordinator_id=coordinator_id,
                    action="set_couple_cohort",
                    conversation_id=p.conversation_id,
                )
            )
        return _shared(couple)


def clinician_view(
    couple_id: int, coordinator_id: int, db_url: Optional[str] = None
) -> ClinicianView:
    """Clinician-facing: both partners linked, with their levels and private safety flags
    and answers. Audited as `opened_couple` on both partners' conversations. Never call this
    from a path that answers a partner."""
    from bot.console.models import AuditEntry

    with session(db_url) as s:
        couple = _couple(s, couple_id)
        partners = []
        states = []
        for p in _partners(s, couple_id):
            flag, answers, checked_at = _safety(s, p.conversation_id)
            level = _screening_level(s, p.conversation_id)
            partners.append(
                PartnerDetail(p.conversation_id, p.role, level, flag, answers, checked_at)
            )
            states.append(PartnerState(level=level, safety_flag=flag))
            s.add(
                AuditEntry(
                    coordinator_id=coordinator_id,
                    action="opened_couple",
                    conversation_id=p.conversation_id,
                )
            )
        return ClinicianView(_shared(couple), partners, joint_recommendation(states))


def _couple(s: Session, couple_id: int) -> Couple:
    couple = s.get(Couple, couple_id)
    if couple is None:
        raise CoupleError(f"no couple {couple_id}")
    return couple


def _tracks() -> List[str]:
    from bot.profile import load_profile

    return list(load_profile().facts.schedule.tracks)
