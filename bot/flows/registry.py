"""Which flows exist and which intent starts each one."""
from __future__ import annotations

from typing import Dict

from bot.flows.base import Option
from bot.flows.engine import Flow

FLOW_FOR_INTENT = {
    "start_screening": "screening",
    "check_insurance": "coverage",
    "book_appointment": "booking",
    "reschedule_appointment": "reschedule",
    "cancel_appointment": "cancel",
}

STARTERS = (
    Option("Am I a good fit? (screening)", "/start_screening"),
    Option("Check my insurance", "/check_insurance"),
    Option("Book an assessment", "/book_appointment"),
)


def flows() -> Dict[str, Flow]:
    from bot.flows.booking import BookingFlow, ManageBookingFlow
    from bot.flows.coverage import CoverageFlow
    from bot.flows.screening import ScreeningFlow

    return {
        "screening": ScreeningFlow(),
        "coverage": CoverageFlow(),
        "booking": BookingFlow(),
        "reschedule": ManageBookingFlow("reschedule"),
        "cancel": ManageBookingFlow("cancel"),
    }
