"""Every question-and-answer flow (screening, insurance, booking…) through one Rasa form.

`intake_form` has one required slot, `intake_answer`, filled from the text of each reply
(except crisis messages, which the crisis rule answers). The validator hands the text to
bot.flows.Engine, which decides whether it was understood, what to say and what to ask
next; `action_ask_intake_answer` asks whatever question the engine has waiting.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import profile
from bot.dialog import PERSON, STARTERS, Reply, button
from bot.flows import registry
from bot.flows.engine import MAX_FAILURES, SKIP, Context, Engine

DONE = "__done__"  # intake_answer when nothing is waiting: the form may close


@lru_cache(maxsize=1)
def engine() -> Engine:
    return Engine(registry.flows())


def context(tracker: Tracker) -> Context:
    return Context(
        tracker.sender_id, profile(), metadata=dict(tracker.latest_message.get("metadata") or {})
    )


def say(dispatcher: CollectingDispatcher, replies: List[Reply]) -> None:
    for reply in replies:
        dispatcher.utter_message(text=reply.text, buttons=[button(b) for b in reply.buttons])


def _intent(tracker: Tracker):
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name") or "", float(intent.get("confidence") or 0.0)


class ActionStartFlow(Action):
    """Start (or resume) the flow the person asked for."""

    NAME = "action_start_flow"

    def name(self) -> Text:
        return self.NAME

    async def run(self, dispatcher, tracker, domain):
        ctx = context(tracker)
        intent, _ = _intent(tracker)
        name = registry.FLOW_FOR_INTENT.get(intent)
        if intent == "resume_flow":
            name = await asyncio.to_thread(engine().paused, ctx)
            if name is None:
                dispatcher.utter_message(
                    text="There's nothing to continue right now. Would you like to start something?",
                    buttons=[button(o) for o in (*STARTERS, PERSON)],
                )
                return [SlotSet("intake_answer", DONE)]
        if name is None or name not in engine().flows:
            dispatcher.utter_message(text=profile().out_of_scope_text)
            return [SlotSet("intake_answer", DONE)]
        turn = await asyncio.to_thread(engine().start, name, ctx)
        say(dispatcher, turn.say)
        return [SlotSet("flow", name), SlotSet("intake_answer", None if turn.active else DONE)]


class ActionAskIntakeAnswer(Action):
    def name(self) -> Text:
        return "action_ask_intake_answer"

    async def run(self, dispatcher, tracker, domain):
        current = await asyncio.to_thread(engine().current, context(tracker))
        if current is None:
            return []
        question, failures = current
        options = list(question.options)
        if failures >= MAX_FAILURES:
            options += ([SKIP] if question.skippable else []) + [PERSON]
        dispatcher.utter_message(text=question.text, buttons=[button(o) for o in options])
        return []


def _just_started(tracker: Tracker) -> bool:
    """True while the form is being activated: action_start_flow ran after the last message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") == ActionStartFlow.NAME:
            return True
    return False


class ValidateIntakeForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_intake_form"

    async def validate_intake_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict
    ) -> Dict[Text, Any]:
        if value == DONE:
            return {"intake_answer": DONE}
        ctx = context(tracker)
        if _just_started(tracker):
            # The form is being activated: Rasa pre-fills the slot from the message that
            # started the flow ("book an appointment"), which is not an answer.
            waiting = await asyncio.to_thread(engine().current, ctx)
            return {"intake_answer": None if waiting else DONE}
        intent, confidence = _intent(tracker)
        turn = await asyncio.to_thread(engine().handle, str(value or ""), intent, confidence, ctx)
        say(dispatcher, turn.say)
        return {"intake_answer": None if turn.active else DONE}


class ActionFlowFinished(Action):
    """The form closed (done, paused, declined or handed to a person): clear its slots."""

    def name(self) -> Text:
        return "action_flow_finished"

    def run(self, dispatcher, tracker, domain):
        return [SlotSet("intake_answer", None), SlotSet("flow", None)]
