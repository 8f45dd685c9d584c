"""The pre-admission screening as a flow: fit questions and instruments from bot.screening,
then a recommendation (never a diagnosis) and the next steps it offers."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, List, Optional

from bot import consent, screening
from bot.dialog import NEXT_STEP_BUTTONS, PERSON, NotUnderstood, Question, Reply
from bot.flows.engine import Context, Flow, latest_answers
from bot.handoff import PRIORITY_CONCERN, PRIORITY_CRISIS, escalate

# The suicide-risk questions: an answer that hedges is asked again, not half-read.
SENSITIVE = {"phq9.9", "asq.1", "asq.2", "asq.3", "asq.4", "asq.5"}
_HEDGED = re.compile(
    r"\b(but|actually|wait|well|though|although|except|sometimes|kind of|"
    r"sort of|maybe|i guess|not sure|idk)\b|\.\s*\w",
    re.IGNORECASE,
)
# Items whose options are not a 0-3 frequency scale, where a bare number is ambiguous.
POSITION_AMBIGUOUS = {"nida.1", "auditc.1", "auditc.3"}


def _is_option(question: Question, text: str) -> bool:
    return any(text.lower() in (o.title.lower(), o.value.lower()) for o in question.options)


def screened_state(ctx: Context) -> Optional[str]:
    """The state of residence the person gave in this conversation's screening, if any."""
    return screening.state_of_residence(latest_answers(ctx, "screening"))


class ScreeningFlow(Flow):
    name = "screening"
    title = "the screening"

    def intro(self, state: dict, ctx: Context) -> List[Reply]:
        return [
            Reply(
                "Let's start. There are about 30 short questions; most take one tap. "
                "You can say “finish later” at any point, and ask me a question in between."
            )
        ]

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        return screening.next_question(state.get("answers", {}), ctx.profile.facts.licensed_states)

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        key, t = question.key, text.strip()
        if key in SENSITIVE and not _is_option(question, t) and _HEDGED.search(t):
            # "no actually yes", "no but sometimes": never record the safe-sounding half.
            raise NotUnderstood(
                "This one matters, so I want to be sure I get it right: please tap "
                "the answer that fits best."
            )
        if key in POSITION_AMBIGUOUS and re.fullmatch(r"\d+", t) and int(t) != 0:
            # "0" can only mean none at all; any other bare number could be a position.
            # Their option values start at 0, so "1" could mean the first option or value 1.
            raise NotUnderstood("Please tap one of the options, or type its words.")
        return screening.parse_answer(key, t)

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        answers = state.get("answers", {})
        states = ctx.profile.facts.licensed_states
        given = consent.given(ctx.conversation_id, ctx.db_url)
        consent_at = given.given_at if given else datetime.now(timezone.utc)
        screening.save_screening(
            ctx.conversation_id, answers, consent.CONSENT.version, consent_at, db_url=ctx.db_url
        )
        rec = screening.recommend(answers, states)
        if rec.level == "crisis":
            escalate(
                ctx.conversation_id,
                kind="crisis",
                reason="asq_acute",
                priority=PRIORITY_CRISIS,
                db_url=ctx.db_url,
            )
            return [Reply(ctx.profile.crisis_text), Reply(ctx.profile.crisis_followup, [PERSON])]
        if rec.coordinator_review:
            escalate(
                ctx.conversation_id,
                kind="review",
                reason=f"screening_{rec.level}",
                priority=PRIORITY_CONCERN,
                db_url=ctx.db_url,
            )
        buttons = [NEXT_STEP_BUTTONS[o] for o in rec.offer if o in NEXT_STEP_BUTTONS]
        return [Reply(rec.text, buttons or [PERSON])]
