"""FAQ answers and the other profile messages (welcome, out of scope, support)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import PERSON_BUTTON, GuardedAction, buttons, profile
from bot.dialog import faq_topic
from bot.faq import answer_topic, choose
from bot.profile import PLAN_TOPICS, TOPICS

# Labels for intents that are not FAQ topics.
LABELS = {
    "greet": "Saying hello",
    "goodbye": "Saying goodbye",
    "thanks": "Saying thanks",
    "bot_challenge": "Asking whether I'm a bot",
    "request_human": "Talking to a person",
    "affirm": "Yes",
    "deny": "No",
    "start_screening": "Am I a good fit?",
    "check_insurance": "Check my insurance",
    "book_appointment": "Book an assessment",
    "enroll_couple": "Enroll as a couple",
    "join_couple": "Join my partner (I have a code)",
    "couple_status": "Has my partner joined?",
}


class ActionAnswerFaq(GuardedAction):
    def name(self) -> Text:
        return "action_answer_faq"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        answer_or_ask(dispatcher, tracker)
        return []


def answer_or_ask(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Answer the topic(s) asked (bot.faq.choose), or ask "Did you mean …?" when unsure."""
    latest = tracker.latest_message
    ranking = latest.get("intent_ranking") or [latest.get("intent") or {}]
    topics = choose(ranking, latest.get("text") or "", previous_topic(tracker))
    if not topics:
        ask_did_you_mean(dispatcher, tracker)
        return
    p = profile()
    for i, topic in enumerate(topics):
        last = i == len(topics) - 1
        if topic not in TOPICS and topic not in PLAN_TOPICS:
            # Never invent an answer: say what we can help with instead.
            dispatcher.utter_message(
                text=p.out_of_scope_text, buttons=buttons(p.message_next("out_of_scope"))
            )
            return
        dispatcher.utter_message(
            text=p.answer(topic), buttons=buttons(p.answer_next(topic)) if last else []
        )


def previous_topic(tracker: Tracker) -> Optional[str]:
    """The topic of the person's message before this one, if it was a FAQ question."""
    said = [e for e in tracker.events if e.get("event") == "user"]
    if len(said) < 2:
        return None
    before = said[-2]
    intent = ((before.get("parse_data") or {}).get("intent") or {}).get("name")
    return answer_topic(faq_topic(intent), before.get("text") or "")


def ask_did_you_mean(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """ "Did you mean …?" with the two likeliest readings, a person and "something else"."""
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


class ProfileMessage(GuardedAction, ABC):
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
