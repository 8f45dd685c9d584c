"""A call-back request as a flow: a phone number (or email) and a good time, kept
encrypted for the intake coordinators, so an offer of contact is kept by a record a
coordinator sees, not by a promise alone. Two occasions:

- `callback`: after a crisis answer ("Would you like a person from our team to contact
  you?" — "yes"); urgent, at the top of the queue;
- `callback_later`: someone asked for a person while no coordinator had the console open;
  the request they already made stays in the queue, now with a way to reach them.
"""

from __future__ import annotations

from typing import Any, List, Optional

from bot import scheduling
from bot.dialog import NotUnderstood, Option, Question, Reply
from bot.flows.engine import Context, Flow
from bot.handoff import PRIORITY_CRISIS, escalate

SOON = Option("As soon as possible", "as soon as possible")


class CallbackFlow(Flow):
    name = "callback"
    title = "the call-back request"
    urgent = True

    def intro(self, state: dict, ctx: Context) -> List[Reply]:
        crisis = ctx.profile.crisis
        if not self.urgent:
            return [Reply("I'll take a way to reach you and save it for our intake team.")]
        return [
            Reply(
                "I'll take a way to reach you and save it for our intake team. "
                f"If you're in danger right now, please call {crisis.emergency_number}, or "
                f"call or text {crisis.lifeline_number} any time."
            )
        ]

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        a = state.get("answers", {})
        if "callback.contact" not in a:
            return Question(
                "callback.contact",
                "What's the best phone number to reach you? (An email works too.)",
                help="A US number like (512) 555-0142, or an email like name@example.com.",
                skippable=False,
            )
        if "callback.times" not in a:
            return Question(
                "callback.times",
                "When is a good time to reach you?",
                (SOON,),
                help="For example “as soon as possible” or “after 5 pm”.",
                skippable=False,
            )
        return None

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        t = text.strip()
        if question.key == "callback.contact":
            if "@" in t:
                return {"email": scheduling.parse_email(t)}
            try:
                return {"phone": scheduling.parse_phone(t)}
            except NotUnderstood:
                raise NotUnderstood(
                    "I need a phone number with the area code, like 512-555-0142, or an email."
                ) from None
        if len(t) < 2 or "?" in t:
            raise NotUnderstood("Tell me roughly when suits you, like “after 5 pm”.")
        return t[:200]

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        a = state.get("answers", {})
        contact = a.get("callback.contact") or {}
        scheduling.request_callback(
            ctx.conversation_id,
            a.get("callback.times", ""),
            phone=contact.get("phone"),
            email=contact.get("email"),
            db_url=ctx.db_url,
        )
        program, crisis = ctx.profile.facts.program, ctx.profile.crisis
        if not self.urgent:
            # The request for a person is already in the queue; the queue now shows the
            # call-back beside it. Only what the code keeps: saved, seen, no time promised.
            return [
                Reply(
                    "Thank you. I've saved your request for our intake team, and they'll see "
                    f"it when they're back (they work {program.coordinator_hours}). If you'd "
                    f"rather call, the number is {program.phone}."
                )
            ]
        # The call-back request joins the crisis escalation at the top of the queue.
        escalate(
            ctx.conversation_id,
            kind="crisis",
            reason="callback_requested",
            priority=PRIORITY_CRISIS,
            db_url=ctx.db_url,
        )
        return [
            Reply(
                # Only what the code keeps: the request is stored and marked urgent. How fast
                # someone calls depends on people, so no time is promised.
                "Thank you. I've saved your request for our intake team and marked it urgent "
                f"(they work {program.coordinator_hours}). If you need someone sooner, call "
                f"{program.phone}. If you're in danger, call {crisis.emergency_number}, or "
                f"call or text {crisis.lifeline_number} any time."
            )
        ]


class LaterCallbackFlow(CallbackFlow):
    """Nobody was available when the person asked for one: not urgent."""

    name = "callback_later"
    urgent = False
