"""The crisis answer and what follows it.

The 988/911 text itself is a domain response (utter_crisis) that the Rasa server sends on
its own, before any action runs: it goes out even when this action server, the database
or the escalation write fails. What runs here adds to it: the escalation, the offer of a
person, and the gentle answer to a safety concern.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import PERSON_BUTTON, GuardedAction, profile
from bot.couples import safety_closing
from bot.handoff import PRIORITY_CONCERN, PRIORITY_CRISIS, escalate
from bot.safety import ACUTE, CONCERN
from bot.safety.policy import UNSPECIFIED, known_reasons

DANGER_FROM_OTHERS = "danger_from_others"  # a bot/safety/patterns.yml reason

log = logging.getLogger(__name__)

OFFER_BUTTONS = [
    {"title": "Yes, please", "payload": "/affirm"},
    {"title": "No, thanks", "payload": "/deny"},
]


def entity(tracker: Tracker, name: str) -> Optional[str]:
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") == name:
            return str(found.get("value"))
    return None


# The crisis entities come from the crisis component, or from anyone who types
# `/crisis{"crisis_reason": "..."}`: only values the component could have set are used.


def crisis_level(tracker: Tracker, name: str = "crisis_level") -> Optional[str]:
    """ACUTE or CONCERN from the entity `name`; None without one. An unknown level is
    treated as the worst."""
    value = entity(tracker, name)
    if value is None:
        return None
    return value if value in (ACUTE, CONCERN) else ACUTE


def crisis_reason(tracker: Tracker) -> str:
    """The component's reason label (e.g. "suicidal"), else UNSPECIFIED: never free text,
    which would reach the escalation record, the log and the coordinators' queue."""
    value = entity(tracker, "crisis_reason")
    return value if value in known_reasons() else UNSPECIFIED


def respond(
    dispatcher: CollectingDispatcher,
    conversation_id: str,
    level: str,
    reason: str,
    say_crisis_text: bool,
) -> List[EventType]:
    """Escalate and answer a crisis (acute) or a safety concern. Never raises: a failed
    escalation write is logged (no PHI) and the offer is worded without the promise."""
    p = profile()
    acute = level != CONCERN  # an unknown level is treated as the worst
    if acute and say_crisis_text:
        dispatcher.utter_message(text=p.crisis_text)
    if reason == DANGER_FROM_OTHERS:
        # Someone is hurting or threatening them: the domestic violence hotline too.
        dispatcher.utter_message(text=safety_closing()[1])
    try:
        escalate(
            conversation_id,
            kind="crisis" if acute else "concern",
            reason=reason,
            priority=PRIORITY_CRISIS if acute else PRIORITY_CONCERN,
        )
        flagged = True
    except Exception as exc:  # the database may be down: the person still gets an answer
        # The error's class only: a database error's text can carry the row's values.
        log.error("crisis escalation not recorded (%s, reason=%s)", type(exc).__name__, reason)
        flagged = False
    if not acute:
        dispatcher.utter_message(text=p.concern_text, buttons=[PERSON_BUTTON])
        return []
    offer = p.crisis_followup if flagged else p.crisis_offer_unflagged
    dispatcher.utter_message(text=offer, buttons=OFFER_BUTTONS)
    return [SlotSet("crisis_offer", True)]


class ActionCrisisResponse(GuardedAction):
    """After utter_crisis (acute) or on its own (concern): escalate, offer a person, and
    end whatever form was running (a flow's answers stay saved)."""

    def name(self) -> Text:
        return "action_crisis_response"

    def failed_events(self, tracker: Tracker) -> List[EventType]:
        return [ActiveLoop(None)]  # as the crisis rules expect, failure or not

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        level = crisis_level(tracker) or ACUTE
        reason = crisis_reason(tracker)
        events = respond(dispatcher, tracker.sender_id, level, reason, say_crisis_text=False)
        # Always emitted, as the crisis rules expect.
        return [*events, ActiveLoop(None)]


class ActionCrisisClose(GuardedAction):
    """ "No" to the offer: a gentle close that keeps 988 in sight."""

    def name(self) -> Text:
        return "action_crisis_close"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=profile().crisis_close, buttons=[PERSON_BUTTON])
        return [SlotSet("crisis_offer", False)]
