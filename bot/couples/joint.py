"""The couple's joint intake assessment, partner-facing: one partner books a time for both
(`propose`), the other confirms it (`confirm`) or asks a coordinator for another one. Only
the time and who still has to confirm are shared; the booking's contact details stay with
the partner who booked it.

couples.status goes linked -> proposed -> booked (bot/couples/models.py). The time is the
booking's own (bookings table), so a rescheduled joint booking shows its new time, and a
cancelled one leaves the couple with nothing booked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import select

from bot.store import session, utcnow

from .invitations import partner_row
from .models import Couple

NONE = "none"  # nothing booked for the two of them yet
MINE = "proposed_by_me"  # I chose the time; my partner has not confirmed it yet
PARTNERS = "proposed_by_partner"  # my partner chose a time: I am asked to confirm it
BOOKED = "booked"  # both confirmed


@dataclass(frozen=True)
class JointBooking:
    status: str  # NONE / MINE / PARTNERS / BOOKED
    start: Optional[datetime] = None


def joint_booking(conversation_id: str, db_url: Optional[str] = None) -> Optional[JointBooking]:
    """Where the couple's joint assessment stands, as this partner sees it; None when the
    conversation is not one of a couple."""
    with session(db_url) as s:
        me = partner_row(s, conversation_id)
        if me is None:
            return None
        from bot.scheduling.models import BookingRecord

        couple = s.get(Couple, me.couple_id)
        if couple.status not in ("proposed", "booked") or not couple.booking_code:
            return JointBooking(NONE)
        booking = s.execute(
            select(BookingRecord).where(BookingRecord.code == couple.booking_code)
        ).scalar()
        if booking is None or booking.status == "cancelled":
            return JointBooking(NONE)
        if couple.status == "booked":
            return JointBooking(BOOKED, booking.start)
        mine = couple.booking_proposed_by == me.role
        return JointBooking(MINE if mine else PARTNERS, booking.start)


def propose(conversation_id: str, booking_code: str, db_url: Optional[str] = None) -> None:
    """This partner booked the joint assessment: the other is asked to confirm the time."""
    with session(db_url) as s:
        me = partner_row(s, conversation_id)
        if me is None:
            raise ValueError("not one of a couple")
        couple = s.get(Couple, me.couple_id)
        couple.booking_code = booking_code
        couple.booking_proposed_by = me.role
        couple.status = "proposed"
        couple.updated_at = utcnow()


def confirm(conversation_id: str, start: datetime, db_url: Optional[str] = None) -> bool:
    """The other partner confirms the time they were shown (`start`); False when there is
    nothing for this partner to confirm any more: nothing proposed, proposed by them, the
    booking cancelled, or moved to another time meanwhile."""
    from bot.scheduling.models import BookingRecord

    with session(db_url) as s:
        me = partner_row(s, conversation_id)
        if me is None:
            return False
        couple = s.get(Couple, me.couple_id)
        if couple.status != "proposed" or couple.booking_proposed_by == me.role:
            return False
        booking = s.execute(
            select(BookingRecord).where(BookingRecord.code == couple.booking_code)
        ).scalar()
        if booking is None or booking.status == "cancelled" or _utc(booking.start) != _utc(start):
            return False
        couple.status = "booked"
        couple.updated_at = utcnow()
        return True


def _utc(moment: datetime) -> datetime:
    return (
        moment.replace(tzinfo=None)
        if moment.tzinfo is None
        else moment.astimezone(timezone.utc).replace(tzinfo=None)
    )
