"""The pre-admission screening as a flow: fit questions and instruments from bot.screening,
then a recommendation (never a diagnosis) and the next steps it offers."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, List, Optional

from bot import consent, screening
from bot.dialog import NEXT_STEP_BUTTONS, PERSON, NotUnderstood, Question, Reply, chosen
from bot.flows import couples as couple_flows
from bot.flows.engine import Context, Flow, latest_answers
from bot.handoff import PRIORITY_CONCERN, PRIORITY_CRISIS, escalate

# The suicide-risk questions: an answer that hedges is asked again, not half-read.
SENSITIVE = {"phq9.9", "asq.1", "asq.2", "asq.3", "asq.4", "asq.5"}
_HEDGED = re.compile(
    r"\b(but|actually|wait|well|though|although|except|sometimes|kind of|"
    r"sort of|maybe|i guess|not sure|idk)\b|\.\s*\w",
    re.IGNORECASE,
)
# Levels whose answer comes at once, without the couples' private questions first: a
# crisis, a clinician's call first (they see the person alone), or a program out of reach.
NO_SAFETY_CHECK = {"crisis", "safety_review", "out_of_state"}
# Items whose options are not a 0-3 frequency scale, where a bare number is ambiguous.
POSITION_AMBIGUOUS = {"nida.1", "auditc.1", "auditc.3"}


def _is_option(question: Question, text: str) -> bool:
    return chosen(question.options, text) is not None


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

    def prepare(self, state: dict, ctx: Context) -> None:
        # One of a couple (or enrolling as one): the private safety check follows the
        # questions, once. Decided when the screening's own questions are done; by then the
        # screening is saved and escalated, so a pause or a closed tab during the private
        # questions loses nothing. Never for a crisis, or for a screening stopped early
        # (under age, outside the states served): those get their answer at once.
        answers = state.get("answers", {})
        states = ctx.profile.facts.licensed_states
        if "couple" in state or screening.next_question(answers, states):
            return
        enrolling = answers.get("fit.for_whom") == "couple"
        state["couple"] = (
            enrolling
            or couple_flows.couples.couple_id_of(ctx.conversation_id, ctx.db_url) is not None
        )
        level = screening.recommend(answers, states).level
        state["safety_due"] = (
            state["couple"]
            and level not in NO_SAFETY_CHECK
            and screening.stop_reason(answers, states) is None
            and couple_flows.needs_safety_check(ctx, enrolling)
        )
        if state["safety_due"]:
            self._record(state, ctx)

    def _record(self, state: dict, ctx: Context) -> None:
        """Save the screening and raise what it asks for (once)."""
        if state.get("recorded"):
            return
        state["recorded"] = True
        answers = state.get("answers", {})
        given = consent.given(ctx.conversation_id, ctx.db_url)
        consent_at = given.given_at if given else datetime.now(timezone.utc)
        screening.save_screening(
            ctx.conversation_id, answers, consent.CONSENT.version, consent_at, db_url=ctx.db_url
        )
        rec = screening.recommend(answers, ctx.profile.facts.licensed_states)
        if rec.level == "crisis":
            escalate(
                ctx.conversation_id,
                kind="crisis",
                reason="asq_acute",
                priority=PRIORITY_CRISIS,
                db_url=ctx.db_url,
            )
        elif rec.coordinator_review:
            escalate(
                ctx.conversation_id,
                kind="review",
                reason=f"screening_{rec.level}",
                priority=PRIORITY_CONCERN,
                db_url=ctx.db_url,
            )

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        question = screening.next_question(
            state.get("answers", {}), ctx.profile.facts.licensed_states
        )
        if question is None and state.get("safety_due"):
            return couple_flows.safety_question(state.get("safety", {}))
        return question

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        key, t = question.key, text.strip()
        if couple_flows.is_safety_key(key):
            return couple_flows.parse_safety(question, t)
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

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        if couple_flows.is_safety_key(question.key):
            # Kept apart from the screening's answers: the check is stored on its own.
            couple_flows.store_safety(question, value, state.setdefault("safety", {}))
            return []
        return super().store(question, value, state, ctx)

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        answers = state.get("answers", {})
        self._record(state, ctx)
        rec = screening.recommend(answers, ctx.profile.facts.licensed_states)
        safety = state.pop("safety", {})  # saved by close_safety; no copy left in the draft
        said_safety = couple_flows.close_safety(safety, ctx) if state.get("safety_due") else []
        if rec.level == "crisis":
            return [Reply(ctx.profile.crisis_text), Reply(ctx.profile.crisis_followup, [PERSON])]
        buttons = [NEXT_STEP_BUTTONS[o] for o in rec.offer if o in NEXT_STEP_BUTTONS]
        if not state.get("couple"):
            return [Reply(rec.text, buttons or [PERSON])]
        if safety.get("quick_exit"):
            return [Reply(couple_flows.flow_text("after_quick_exit"))]
        # The couple's next step replaces the screening's own offer (which would book one
        # person alone); put off until the private questions are done, if they were put off.
        linked = couple_flows.couples.couple_id_of(ctx.conversation_id, ctx.db_url) is not None
        said = [Reply(rec.text, [] if linked else buttons or [PERSON])] + said_safety
        if not couple_flows.couples.score_safety(safety).deferred:
            said += couple_flows.couple_step(ctx)
        return said
