"""Which flows exist and which intent starts each one."""

from __future__ import annotations

from typing import Dict

from bot.flows.engine import Flow

FLOW_FOR_INTENT = {
    "start_screening": "screening",
    "check_insurance": "coverage",
    "book_appointment": "booking",
    "reschedule_appointment": "reschedule",
    "cancel_appointment": "cancel",
    "enroll_couple": "couple_invite",
    "join_couple": "couple_join",
    "relationship_safety": "relationship_safety",
}


def flows() -> Dict[str, Flow]:
    from bot.flows.booking import BookingFlow
    from bot.flows.callback import CallbackFlow, LaterCallbackFlow
    from bot.flows.couples import CoupleInviteFlow, CoupleJoinFlow, RelationshipSafetyFlow
    from bot.flows.coverage import CoverageFlow
    from bot.flows.manage_booking import ManageBookingFlow
    from bot.flows.screening import ScreeningFlow

    return {
        "screening": ScreeningFlow(),
        "coverage": CoverageFlow(),
        "booking": BookingFlow(),
        "reschedule": ManageBookingFlow("reschedule"),
        "cancel": ManageBookingFlow("cancel"),
        "callback": CallbackFlow(),
        "callback_later": LaterCallbackFlow(),
        "couple_invite": CoupleInviteFlow(),
        "couple_join": CoupleJoinFlow(),
        "relationship_safety": RelationshipSafetyFlow(),
    }
