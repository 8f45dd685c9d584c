"""The crisis answer: 988/911 at once, a top-priority escalation, and any form ended."""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import ActiveLoop

from actions.common import PERSON_BUTTON, profile
from bot.handoff import PRIORITY_CONCERN, PRIORITY_CRISIS, escalate
from bot.safety import ACUTE, CONCERN


def _entity(tracker, name: str, default: str) -> str:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name:
            return str(entity.get("value"))
    return default


class ActionCrisisResponse(Action):
    def name(self):
        return "action_crisis_response"

    def run(self, dispatcher, tracker, domain):
        p = profile()
        level = _entity(tracker, "crisis_level", ACUTE)  # unknown level: assume the worst
        reason = _entity(tracker, "crisis_reason", "unspecified")
        if level == CONCERN:
            escalate(tracker.sender_id, kind="concern", reason=reason, priority=PRIORITY_CONCERN)
            dispatcher.utter_message(text=p.concern_text, buttons=[PERSON_BUTTON])
        else:
            escalate(tracker.sender_id, kind="crisis", reason=reason, priority=PRIORITY_CRISIS)
            # Plain text on purpose: every channel can show it, and the widget links the URL.
            dispatcher.utter_message(text=p.crisis_text)
            dispatcher.utter_message(text=p.crisis_followup, buttons=[PERSON_BUTTON])
        # End whatever form was running; the person can start it again if they choose
        # (a flow's answers stay saved). Always emitted, as the crisis rule expects.
        return [ActiveLoop(None)]
