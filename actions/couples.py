"""Couples enrollment outside the flows: "has my partner joined?" and the quick exit."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import GuardedAction
from actions.flow import context, say
from bot.flows.couples import QUICK_EXIT_HINT, invitation_update


class ActionCoupleStatus(GuardedAction):
    def name(self) -> Text:
        return "action_couple_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        say(dispatcher, await asyncio.to_thread(invitation_update, context(tracker)))
        return []


class ActionQuickExit(GuardedAction):
    """The widget's Quick exit button outside a question: the page is already gone, so
    nothing is said (a reply would only wait for the next person at a shared screen).
    Typed, it gets a hint where the button is."""

    def name(self) -> Text:
        return "action_quick_exit"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        if not str(tracker.latest_message.get("text") or "").startswith("/"):
            dispatcher.utter_message(text=QUICK_EXIT_HINT)
        return []
