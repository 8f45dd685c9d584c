"""Talk to a person: record the request for the coordinator queue and say how to reach us."""

from __future__ import annotations

from rasa_sdk import Action

from actions.common import profile
from bot.handoff import PRIORITY_REQUEST, escalate


class ActionRequestHuman(Action):
    def name(self):
        return "action_request_human"

    def run(self, dispatcher, tracker, domain):
        escalate(
            tracker.sender_id, kind="request", reason="asked_for_person", priority=PRIORITY_REQUEST
        )
        dispatcher.utter_message(text=profile().contact_text)
        return []
