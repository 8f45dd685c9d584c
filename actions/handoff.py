"""Talk to a person: record the request for the coordinator queue and say how to reach us."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import GuardedAction, profile
from bot.handoff import PRIORITY_REQUEST, escalate, someone_can_join

log = logging.getLogger(__name__)


class ActionRequestHuman(GuardedAction):
    def name(self) -> Text:
        return "action_request_human"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        p = profile()
        try:
            escalate(
                tracker.sender_id,
                kind="request",
                reason="asked_for_person",
                priority=PRIORITY_REQUEST,
            )
            online = someone_can_join(p.facts.program.coordinator_schedule)
        except Exception as exc:  # noqa: BLE001 (the database is down: still answer, honestly)
            log.error("request for a person not recorded: %s", type(exc).__name__)
            dispatcher.utter_message(text=p.contact_unrecorded)
            return []
        if online:
            # In the team's hours, someone has the console open: they can join the chat.
            dispatcher.utter_message(text=p.contact_text)
            return []
        # Nobody can join now: say so, and offer what the code can keep (a saved call-back).
        dispatcher.utter_message(
            text=p.contact_unavailable,
            buttons=[
                {"title": "Yes, contact me", "payload": "/affirm"},
                {"title": "No, thanks", "payload": "/deny"},
            ],
        )
        return [SlotSet("contact_offer", True)]


class ActionContactDeclined(GuardedAction):
    """ "No" to the offer of contact: the request stays queued; the chat goes on."""

    def name(self) -> Text:
        return "action_contact_declined"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=profile().contact_declined)
        return [SlotSet("contact_offer", False)]


class ActionCoordinatorMessage(GuardedAction):
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
