"""What every action module shares: the loaded profile and button rendering."""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, List

from bot.dialog import FAQ_PREFIX, NEXT_STEP_BUTTONS, PERSON, button
from bot.profile import Profile, load_profile

PERSON_BUTTON = button(PERSON)


@lru_cache(maxsize=1)
def profile() -> Profile:
    # Loaded once per action-server process: edit the profile, restart the action server.
    return load_profile()


def buttons(steps: List[str]) -> List[Dict[str, str]]:
    """Buttons for the next steps named in the profile (topics, flows or `person`)."""
    p = profile()
    return [
        button(NEXT_STEP_BUTTONS[step])
        if step in NEXT_STEP_BUTTONS
        else {"title": p.title(step), "payload": f"/{FAQ_PREFIX}{step}"}
        for step in steps
    ]
