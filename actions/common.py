"""What every action module shares: the loaded profile, button rendering, and the base
class that keeps an action's failure kind to the person and silent about them."""

from __future__ import annotations

import functools
import inspect
import logging
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any, Callable, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.dialog import FAQ_PREFIX, NEXT_STEP_BUTTONS, PERSON, button
from bot.errors import describe
from bot.profile import Profile, load_profile

PERSON_BUTTON = button(PERSON)
log = logging.getLogger("actions")

# Said when the profile itself cannot be read (the failure may be the profile).
FAILED_WITHOUT_PROFILE = (
    "I'm sorry, something went wrong on my side. Please try again in a moment, or ask to "
    "talk to a person. If you are in danger, call or text 988, or call 911."
)


@lru_cache(maxsize=1)
def profile() -> Profile:
    # Loaded once per action-server process: edit the profile, restart the action server.
    return load_profile()


def buttons(steps: List[str]) -> List[Dict[str, str]]:
    """Buttons for the next steps named in the profile (topics, flows or `person`)."""
    p = profile()
    return [
        button(NEXT_STEP_BUTTONS[step])
        if step in NEXT_STEP_BUTTONS
        else {"title": p.title(step), "payload": f"/{FAQ_PREFIX}{step}"}
        for step in steps
    ]


class GuardedAction(Action, ABC):
    """The base of every action in actions/: an exception in `run` never reaches rasa_sdk,
    whose error answer carries the whole tracker (and Rasa logs that answer). The person gets
    `fallback.error` from the profile (something went wrong, how to reach a person) after
    whatever the action had already said (a crisis answer is never taken back); the log gets
    one line: the action, the exception's class and where it was raised; never its message,
    which can hold a slot value or what was typed."""

    @abstractmethod
    def name(self) -> Text:
        """The action's name (abstract, so rasa_sdk never registers this base itself)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not getattr(cls.run, "guarded", False):  # a run of its own, or rasa_sdk's
            cls.run = _guarded(cls.run)

    def failed_events(self, tracker: Tracker) -> List[EventType]:
        """The events to return after a failure: none, so the conversation goes on."""
        return []

    def failed(
        self, exc: Exception, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        log.error("action %s failed: %s", self.name(), describe(exc))
        try:
            text = profile().fallback.error
        except Exception:  # noqa: BLE001 - the failure may be the profile itself
            text = FAILED_WITHOUT_PROFILE
        # Once a turn: when the flow's start failed, the form's next step fails the same way.
        if not _said_this_turn(tracker, text):
            dispatcher.utter_message(text=text, buttons=[PERSON_BUTTON])
        return self.failed_events(tracker)


def _said_this_turn(tracker: Tracker, text: str) -> bool:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and event.get("text") == text:
            return True
    return False


def _guarded(run: Callable[..., Any]) -> Callable[..., Any]:
    """`run`, sync or async as it was, answering a failure with `failed`."""
    if inspect.iscoroutinefunction(run):

        @functools.wraps(run)
        async def guarded_async(
            self: GuardedAction, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
        ) -> Any:
            try:
                return await run(self, dispatcher, tracker, domain)
            except Exception as exc:  # noqa: BLE001 - every failure gets the safe answer
                return self.failed(exc, dispatcher, tracker)

        guarded_async.guarded = True  # type: ignore[attr-defined]
        return guarded_async

    @functools.wraps(run)
    def guarded(
        self: GuardedAction, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> Any:
        try:
            return run(self, dispatcher, tracker, domain)
        except Exception as exc:  # noqa: BLE001 - every failure gets the safe answer
            return self.failed(exc, dispatcher, tracker)

    guarded.guarded = True  # type: ignore[attr-defined]
    return guarded
