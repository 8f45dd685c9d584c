"""Talk to a person: record the request for the coordinator queue and say how to reach us."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import profile
from bot.handoff import PRIORITY_REQUEST, escalate


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        escalate(
            tracker.sender_id, kind="request", reason="asked_for_person", priority=PRIORITY_REQUEST
        )
        dispatcher.utter_message(text=profile().contact_text)
        return []


class ActionCoordinatorMessage(Action):
    """Say what the coordinator console put in `coordinator_message` (never predicted: the
    console runs it through Rasa's /execute, on the person's own channel)."""

    def name(self) -> Text:
        return "action_coordinator_message"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        text = tracker.get_slot("coordinator_message")
        if text:
            dispatcher.utter_message(text=str(text))
        # End the turn as the bot itself would: the assistant's rules only match a message
        # that follows action_listen. Saved with this action, under the conversation's lock,
        # so a reply the person sends at once already finds it.
        return [SlotSet("coordinator_message", None), ActionExecuted("action_listen")]
