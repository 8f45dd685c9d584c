"""What every action module shares: the loaded profile and button rendering."""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, List

from bot.profile import PERSON, Profile, load_profile

PERSON_BUTTON = {"title": "Talk to a person", "payload": "/request_human"}
FLOW_BUTTONS = {
    "screening": {"title": "Am I a good fit?", "payload": "/start_screening"},
    "check_insurance": {"title": "Check my insurance", "payload": "/check_insurance"},
    "book": {"title": "Book an assessment", "payload": "/book_appointment"},
}


@lru_cache(maxsize=1)
def profile() -> Profile:
    # Loaded once per action-server process: edit the profile, restart the action server.
    return load_profile()


def buttons(steps: List[str]) -> List[Dict[str, str]]:
    """Buttons for the next steps named in the profile (topics or `person`)."""
    p = profile()
    return [
        PERSON_BUTTON if step == PERSON
        else FLOW_BUTTONS[step] if step in FLOW_BUTTONS
        else {"title": p.title(step), "payload": f"/faq_{step}"}
        for step in steps
    ]
