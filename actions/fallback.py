"""The two-stage fallback in words a person understands: "Did you mean …?", rephrase, a person."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import PERSON_BUTTON, GuardedAction, profile
from actions.faq import answer_or_ask


class ActionDefaultAskAffirmation(GuardedAction):
    def name(self) -> Text:
        return "action_default_ask_affirmation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        # Two questions in one message, or a follow-up, can still be answered; else ask.
        answer_or_ask(dispatcher, tracker)
        return []


class ActionDefaultAskRephrase(GuardedAction):
    def name(self) -> Text:
        return "action_default_ask_rephrase"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=profile().fallback.rephrase, buttons=[PERSON_BUTTON])
        return []


class ActionDefaultFallback(GuardedAction):
    """Still not understood: say so kindly, offer a person, and forget the unclear turn."""

    def name(self) -> Text:
        return "action_default_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=profile().fallback.give_up, buttons=[PERSON_BUTTON])
        return [UserUtteranceReverted()]
