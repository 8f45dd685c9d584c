"""Every question-and-answer flow (screening, insurance, booking…) through one Rasa form.

`intake_form` has one required slot, `intake_answer`, filled from the text of each reply
(except crisis messages, which the crisis rule answers). The validator hands the text to
bot.flows.Engine, which decides whether it was understood, what to say and what to ask
next; `action_ask_intake_answer` asks whatever question the engine has waiting.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import GuardedAction, profile
from actions.safety import crisis_level, crisis_reason, respond
from bot.dialog import PERSON, STARTERS, Reply, button
from bot.flows import registry
from bot.flows.engine import MAX_FAILURES, SKIP, Context, Engine
from bot.safety.policy import Decision, settle

DONE = "__done__"  # intake_answer when nothing is waiting: the form may close


@lru_cache(maxsize=1)
def engine() -> Engine:
    return Engine(registry.flows())


def context(tracker: Tracker) -> Context:
    message = tracker.latest_message
    return Context(
        tracker.sender_id,
        profile(),
        metadata=dict(message.get("metadata") or {}),
        text=str(message.get("text") or ""),
    )


def say(dispatcher: CollectingDispatcher, replies: List[Reply]) -> None:
    for reply in replies:
        dispatcher.utter_message(text=reply.text, buttons=[button(b) for b in reply.buttons])


def _intent(tracker: Tracker) -> Tuple[str, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name") or "", float(intent.get("confidence") or 0.0)


class ActionStartFlow(GuardedAction):
    """Start (or resume) the flow the person asked for."""

    NAME = "action_start_flow"
    FLOW: Optional[str] = None  # a fixed flow; None: the one the intent names

    def name(self) -> Text:
        return self.NAME

    def failed_events(self, tracker: Tracker) -> List[EventType]:
        # Nothing waiting: the form opens and closes at once, and asks nothing (which would
        # fail again). The flow's saved answers stay; "continue" resumes.
        return [SlotSet("intake_answer", DONE)]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        ctx = context(tracker)
        intent, _ = _intent(tracker)
        name = self.FLOW or registry.FLOW_FOR_INTENT.get(intent)
        if intent == "resume_flow":
            name = await asyncio.to_thread(engine().paused, ctx)
            if name is None:
                dispatcher.utter_message(
                    text="There's nothing to continue right now. "
                    "Would you like to start something?",
                    buttons=[button(o) for o in (*STARTERS, PERSON)],
                )
                return [SlotSet("intake_answer", DONE)]
        if name is None or name not in engine().flows:
            dispatcher.utter_message(text=profile().out_of_scope_text)
            return [SlotSet("intake_answer", DONE)]
        turn = await asyncio.to_thread(engine().start, name, ctx)
        say(dispatcher, turn.say)
        return [SlotSet("flow", name), SlotSet("intake_answer", None if turn.active else DONE)]


class ActionAskIntakeAnswer(GuardedAction):
    def name(self) -> Text:
        return "action_ask_intake_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
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
        if event.get("event") == "action" and event.get("name") in FLOW_STARTERS:
            return True
    return False


class ValidateIntakeForm(GuardedAction, FormValidationAction):
    def name(self) -> Text:
        return "validate_intake_form"

    def failed_events(self, tracker: Tracker) -> List[EventType]:
        # Close the form rather than ask again (the question would fail the same way); the
        # answers so far stay saved and "continue" resumes.
        return [SlotSet("intake_answer", DONE)]

    async def validate_intake_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value == DONE:
            return {"intake_answer": DONE}
        ctx = context(tracker)
        if _just_started(tracker):
            # The form is being activated: Rasa pre-fills the slot from the message that
            # started the flow ("book an appointment"), which is not an answer.
            waiting = await asyncio.to_thread(engine().current, ctx)
            return {"intake_answer": None if waiting else DONE}
        tentative = crisis_level(tracker, "crisis_tentative")
        if tentative:
            # Crisis evidence short of certain, inside a question: a crisis only if the
            # question cannot take the message as its answer (bot.safety.policy).
            understood = await asyncio.to_thread(engine().understands, str(value or ""), ctx)
            reason = crisis_reason(tracker)
            decision = settle(Decision(tentative, reason, tentative=True), understood)
            if decision.level:
                events = respond(
                    dispatcher, tracker.sender_id, decision.level, reason, say_crisis_text=True
                )
                # The crisis answer's slots (the offer of a person) travel with the form's.
                return {"intake_answer": DONE, **{e["name"]: e["value"] for e in events}}
        intent, confidence = _intent(tracker)
        turn = await asyncio.to_thread(engine().handle, str(value or ""), intent, confidence, ctx)
        say(dispatcher, turn.say)
        return {"intake_answer": None if turn.active else DONE}


class ActionFlowFinished(GuardedAction):
    """The form closed (done, paused, declined or handed to a person): clear its slots."""

    def name(self) -> Text:
        return "action_flow_finished"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        return [SlotSet("intake_answer", None), SlotSet("flow", None)]


class ActionAcceptOffer(ActionStartFlow, ABC):
    """ "Yes" to an offer of contact: take a way to reach the person (a call-back flow) and
    withdraw the offer, so a later "yes" is not taken for it again. Abstract, so rasa_sdk
    does not register it under its parent's name."""

    @property
    @abstractmethod
    def OFFER_SLOT(self) -> str:  # noqa: N802 (a class constant in the subclasses)
        """The slot that holds the offer."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        return [SlotSet(self.OFFER_SLOT, False), *events]


class ActionCrisisContact(ActionAcceptOffer):
    """After a crisis answer: an urgent call-back request, at the top of the queue."""

    NAME = "action_crisis_contact"
    FLOW = "callback"
    OFFER_SLOT = "crisis_offer"


class ActionContactLater(ActionAcceptOffer):
    """After "talk to a person" found nobody online: the non-urgent call-back."""

    NAME = "action_contact_later"
    FLOW = "callback_later"
    OFFER_SLOT = "contact_offer"


# Actions that start a flow: the message before them is a request, never an answer.
FLOW_STARTERS = (ActionStartFlow.NAME, ActionCrisisContact.NAME, ActionContactLater.NAME)
