"""The two-stage fallback in words a person understands: "Did you mean …?", rephrase, a person."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import PERSON_BUTTON, profile
from bot.dialog import faq_topic
from bot.profile import TOPICS

# Labels for intents that are not FAQ topics.
LABELS = {
    "greet": "Saying hello",
    "goodbye": "Saying goodbye",
    "thanks": "Saying thanks",
    "bot_challenge": "Asking whether I'm a bot",
    "request_human": "Talking to a person",
    "affirm": "Yes",
    "deny": "No",
}


class ActionDefaultAskAffirmation(Action):
    def name(self) -> Text:
        return "action_default_ask_affirmation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        p = profile()
        ranking = [r.get("name") for r in tracker.latest_message.get("intent_ranking") or []]
        guesses = []
        for intent in ranking:
            topic = faq_topic(intent)
            if topic in TOPICS:
                guesses.append({"title": p.title(topic), "payload": f"/{intent}"})
            elif intent in LABELS:
                guesses.append({"title": LABELS[intent], "payload": f"/{intent}"})
            if len(guesses) == 2:
                break
        options = guesses + [PERSON_BUTTON, {"title": "Something else", "payload": "/out_of_scope"}]
        dispatcher.utter_message(text=p.fallback.did_you_mean, buttons=options)
        return []


class ActionDefaultAskRephrase(Action):
    def name(self) -> Text:
        return "action_default_ask_rephrase"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=profile().fallback.rephrase, buttons=[PERSON_BUTTON])
        return []


class ActionDefaultFallback(Action):
    """Still not understood: say so kindly, offer a person, and forget the unclear turn."""

    def name(self) -> Text:
        return "action_default_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=profile().fallback.give_up, buttons=[PERSON_BUTTON])
        return [UserUtteranceReverted()]
