"""FAQ answers and the other profile messages (welcome, out of scope, support)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import buttons, profile
from bot.dialog import faq_topic
from bot.profile import TOPICS


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        topic = faq_topic((tracker.latest_message.get("intent") or {}).get("name"))
        p = profile()
        if topic not in TOPICS:
            # Never invent an answer: say what we can help with instead.
            dispatcher.utter_message(
                text=p.out_of_scope_text, buttons=buttons(p.message_next("out_of_scope"))
            )
            return []
        dispatcher.utter_message(text=p.answer(topic), buttons=buttons(p.data.answers[topic].next))
        return []


class ProfileMessage(Action, ABC):
    """Say one of the profile's non-FAQ messages, with its next-step buttons."""

    @property
    @abstractmethod
    def message(self) -> str:
        """The profile message to say: welcome, out_of_scope or support."""

    def name(self) -> Text:
        return f"action_{self.message}"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        p = profile()
        dispatcher.utter_message(
            text=p.message(self.message), buttons=buttons(p.message_next(self.message))
        )
        return []


class ActionWelcome(ProfileMessage):
    message = "welcome"


class ActionOutOfScope(ProfileMessage):
    message = "out_of_scope"


class ActionSupport(ProfileMessage):
    message = "support"
