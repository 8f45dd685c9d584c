"""FAQ answers, greeting and out-of-scope replies, all rendered from the program profile."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import buttons, profile
from bot.profile import TOPICS

FAQ_PREFIX = "faq_"


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        topic = intent[len(FAQ_PREFIX):] if intent.startswith(FAQ_PREFIX) else ""
        p = profile()
        if topic not in TOPICS:
            # Never invent an answer: say what we can help with instead.
            dispatcher.utter_message(text=p.out_of_scope_text, buttons=buttons(p.data.out_of_scope.next))
            return []
        dispatcher.utter_message(text=p.answer(topic), buttons=buttons(p.data.answers[topic].next))
        return []


class ActionGreet(Action):
    def name(self) -> Text:
        return "action_greet"

    def run(self, dispatcher, tracker, domain):
        p = profile()
        dispatcher.utter_message(text=p.welcome_text, buttons=buttons(p.data.welcome.next))
        return []


class ActionOutOfScope(Action):
    def name(self) -> Text:
        return "action_out_of_scope"

    def run(self, dispatcher, tracker, domain):
        p = profile()
        dispatcher.utter_message(text=p.out_of_scope_text, buttons=buttons(p.data.out_of_scope.next))
        return []
