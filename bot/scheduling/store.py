"""Bookings in the app database, shared by the built-in and the Cal.com schedulers."""

from __future__ import annotations

import logging
import time as _time
from datetime import date, datetime
from typing import Callable, Dict, List, Optional, Set, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot import store
from bot.dialog import NotUnderstood
from bot.scheduling.core import (
    ACTIVE,
    Booking,
    BookingNotFound,
    BookingRequest,
    Slot,
    SlotTaken,
    new_code,
    normalise_code,
)
from bot.scheduling.models import BookingRecord, SlotClaim, cells

log = logging.getLogger(__name__)
T = TypeVar("T")


def to_booking(row: BookingRecord) -> Booking:
    dob = date.fromisoformat(row.dob) if row.dob else None
    return Booking(
        code=row.code,
        slot=Slot(row.start, row.end),
        status=row.status,
        name=row.name,
        phone=row.phone,
        email=row.email,
        time_zone=row.time_zone,
        dob=dob,
        conversation_id=row.conversation_id,
        contact_consent=list(row.contact_consent or []),
        backend=row.backend,
        external_uid=row.external_uid,
        sequence=row.sequence,
        created_at=row.created_at,
    )


def queue_messages(s: Session, booking: Booking, event: str) -> None:
    """The confirmation, reminders or cancellation this change promises, in its transaction
    (bot.notify.bookings): stored together with the booking, or not at all."""
    from bot.notify.bookings import queue_booking_messages
    from bot.notify.templates import load_templates
    from bot.profile import load_profile
    from bot.scheduling.contact import format_slot
    from bot.scheduling.ics import to_ics

    # Discreet: the calendar entry names the sender only, like the messages.
    ics = to_ics(booking, summary=f"Appointment with {load_templates().sender}")
    queue_booking_messages(
        s,
        booking,
        event,
        when=format_slot(booking.slot, booking.time_zone),
        phone_number=load_profile().facts.program.phone,
        ics=ics,
    )


def _is_claim_conflict(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "slot_claims" in text or "uq_slot_claims" in text


def _locked(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "could not serialize" in text


def retry_locked(fn: Callable[[], T], attempts: int = 8) -> T:
    """SQLite answers "database is locked" when many writers queue up beyond busy_timeout;
    PostgreSQL may report a deadlock. Both are safe to retry: the transaction rolled back."""
    for i in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if not _locked(exc) or i == attempts - 1:
                raise
            _time.sleep(0.05 * (i + 1))
    raise AssertionError("unreachable")


def proof_matches(booking: Booking, proof: str) -> bool:
    """Date of birth (YYYY-MM-DD or a US date like 3/14/1990), phone or email."""
    from bot.scheduling.contact import parse_dob, parse_email, parse_phone

    text = (proof or "").strip()
    if not text:
        return False
    if booking.dob is not None:
        try:
            if parse_dob(text) == booking.dob:
                return True
        except NotUnderstood:
            pass
    if booking.email and "@" in text:
        try:
            if parse_email(text).lower() == booking.email.lower():
                return True
        except NotUnderstood:
            pass
    if booking.phone and sum(c.isdigit() for c in text) >= 7:
        try:
            if parse_phone(text) == booking.phone:
                return True
        except NotUnderstood:
            pass
    return False


def _claiming(attempt: Callable[[], Booking]) -> Booking:
    """Run a transaction that claims slot cells; a claim someone else holds is SlotTaken."""
    try:
        return retry_locked(attempt)
    except IntegrityError as exc:
        if _is_claim_conflict(exc):
            raise SlotTaken("That time was just taken.") from None
        raise


class LocalBookings:
    """The booking rows: create with slot claims, find by code + proof, move, cancel."""

    calendar = "builtin"  # slot_claims namespace

    def __init__(self, db_url: Optional[str], code_prefix: str, claim_slots: bool) -> None:
        self.db_url = db_url
        self.code_prefix = code_prefix.upper()
        self.claim_slots = claim_slots

    def _claims(self, booking_id: int, slot: Slot) -> List[Dict[str, object]]:
        return [
            {"calendar": self.calendar, "cell": c, "booking_id": booking_id}
            for c in cells(slot.start, slot.end)
        ]

    def create(
        self,
        slot: Slot,
        request: BookingRequest,
        backend: str = "builtin",
        external_uid: Optional[str] = None,
    ) -> Booking:
        for _ in range(5):  # a new code on the (rare) code collision
            code = new_code(self.code_prefix)

            def attempt(code: str = code) -> Booking:
                with store.session(self.db_url) as s:
                    row = BookingRecord(
                        code=code,
                        conversation_id=request.conversation_id,
                        backend=backend,
                        external_uid=external_uid,
                        start=slot.start,
                        end=slot.end,
                        status="booked",
                        sequence=0,
                        time_zone=request.time_zone,
                        contact_consent=list(request.contact_consent),
                        name=request.name,
                        phone=request.phone,
                        email=request.email,
                        dob=request.dob.isoformat() if request.dob else None,
                    )
                    s.add(row)
                    s.flush()  # the INSERT is the transaction's first statement
                    if self.claim_slots:
                        s.execute(SlotClaim.__table__.insert(), self._claims(row.id, slot))
                    booking = to_booking(row)
                    queue_messages(s, booking, "booked")
                    return booking

            try:
                return _claiming(attempt)
            except IntegrityError as exc:
                if "code" not in str(exc.orig).lower():
                    raise
        raise RuntimeError("could not generate a unique confirmation code")

    def get(self, code: str) -> Booking:
        code = normalise_code(code, self.code_prefix)
        with store.session(self.db_url) as s:
            row = s.execute(
                select(BookingRecord).where(BookingRecord.code == code)
            ).scalar_one_or_none()
            if row is None:
                raise BookingNotFound("No booking with that code.")
            return to_booking(row)

    def find(self, code: str, proof: str) -> Booking:
        try:
            booking = self.get(code)
        except BookingNotFound:
            raise BookingNotFound("No booking matches that code and detail.") from None
        if not proof_matches(booking, proof):
            raise BookingNotFound("No booking matches that code and detail.")
        return booking

    def by_conversation(self, conversation_id: str) -> Optional[Booking]:
        with store.session(self.db_url) as s:
            row = s.execute(
                select(BookingRecord)
                .where(
                    BookingRecord.conversation_id == conversation_id,
                    BookingRecord.status.in_(ACTIVE),
                )
                .order_by(BookingRecord.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            return to_booking(row) if row else None

    def move(self, code: str, new_slot: Slot, external_uid: Optional[str] = None) -> Booking:
        code = normalise_code(code, self.code_prefix)

        def attempt() -> Booking:
            with store.session(self.db_url) as s:
                # Write first: on SQLite this takes the write lock at once instead of
                # upgrading a read lock later (which fails fast under contention).
                bumped = s.execute(
                    update(BookingRecord)
                    .where(BookingRecord.code == code, BookingRecord.status.in_(ACTIVE))
                    .values(sequence=BookingRecord.sequence + 1)
                ).rowcount
                if not bumped:
                    raise BookingNotFound("No active booking with that code.")
                row = s.execute(
                    select(BookingRecord).where(BookingRecord.code == code).with_for_update()
                ).scalar_one()
                if self.claim_slots:
                    s.execute(delete(SlotClaim).where(SlotClaim.booking_id == row.id))
                    s.execute(SlotClaim.__table__.insert(), self._claims(row.id, new_slot))
                row.start, row.end, row.status = new_slot.start, new_slot.end, "rescheduled"
                if external_uid is not None:
                    row.external_uid = external_uid
                s.flush()
                booking = to_booking(row)
                queue_messages(s, booking, "rescheduled")
                return booking

        return _claiming(attempt)

    def cancel(self, code: str) -> Booking:
        code = normalise_code(code, self.code_prefix)

        def attempt() -> Booking:
            with store.session(self.db_url) as s:
                changed = s.execute(
                    update(BookingRecord)
                    .where(BookingRecord.code == code, BookingRecord.status.in_(ACTIVE))
                    .values(status="cancelled", sequence=BookingRecord.sequence + 1)
                ).rowcount
                row = s.execute(
                    select(BookingRecord).where(BookingRecord.code == code)
                ).scalar_one_or_none()
                if row is None:
                    raise BookingNotFound("No booking with that code.")
                s.execute(delete(SlotClaim).where(SlotClaim.booking_id == row.id))
                booking = to_booking(row)
                if changed:  # not when it was already cancelled
                    queue_messages(s, booking, "cancelled")
                return booking

        return retry_locked(attempt)

    def booked_cells(self, start: datetime, end: datetime) -> Set[int]:
        lo, hi = cells(start, end)[0], cells(start, end)[-1]
        with store.session(self.db_url) as s:
            rows = s.execute(
                select(SlotClaim.cell).where(
                    SlotClaim.calendar == self.calendar, SlotClaim.cell >= lo, SlotClaim.cell <= hi
                )
            )
            return {r[0] for r in rows}
