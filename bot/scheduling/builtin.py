"""The built-in scheduler: the profile's intake hours, bookings in the app database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, List, Optional

from bot.scheduling.availability import candidate_slots, is_offered
from bot.scheduling.core import Booking, BookingRequest, Scheduler, Slot, SlotTaken, utc
from bot.scheduling.models import cells
from bot.scheduling.store import LocalBookings

if TYPE_CHECKING:
    from bot.profile import IntakeFacts


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class BuiltInScheduler(Scheduler):
    requires_email = False

    def __init__(
        self,
        intake_facts: IntakeFacts,
        db_url: Optional[str] = None,
        now: Callable[[], datetime] = _utcnow,
        code_prefix: str = "APT",
    ) -> None:
        self.facts = intake_facts
        self.now = now
        self.bookings = LocalBookings(db_url, code_prefix, claim_slots=True)

    def available(self, after: Optional[datetime] = None, limit: int = 5) -> List[Slot]:
        now = utc(self.now())
        after = utc(after) if after else now
        horizon_end = now + timedelta(days=self.facts.horizon_days + 1)
        taken = self.bookings.booked_cells(
            max(now, after), max(horizon_end, after + timedelta(days=1))
        )
        out: List[Slot] = []
        for slot in candidate_slots(self.facts, now, after):
            if taken.isdisjoint(cells(slot.start, slot.end)):
                out.append(slot)
                if len(out) >= limit:
                    break
        return out

    def _check_offered(self, slot: Slot) -> None:
        if not is_offered(self.facts, utc(self.now()), slot):
            raise SlotTaken("That time is no longer offered.")

    def book(self, slot: Slot, request: BookingRequest) -> Booking:
        self._check_offered(slot)
        return self.bookings.create(slot, request, backend="builtin")

    def find(self, code: str, proof: str) -> Booking:
        return self.bookings.find(code, proof)

    def reschedule(self, code: str, new_slot: Slot) -> Booking:
        self._check_offered(new_slot)
        return self.bookings.move(code, new_slot)

    def cancel(self, code: str) -> Booking:
        return self.bookings.cancel(code)

    def find_by_conversation(self, conversation_id: str) -> Optional[Booking]:
        return self.bookings.by_conversation(conversation_id)
