"""One engine for every question-and-answer flow: screening, insurance check, booking.

A flow says which question comes next from the answers so far, how to read an answer, and
what to say at the end; the engine does the rest, the same way for all of them:
consent first, answers kept (encrypted) between turns, a kind re-ask with an explanation
when an answer is not understood, "skip" or "talk to a person" after two failures, an
FAQ answered in the middle without losing the place, "finish later" and resume.

The Rasa adapter (actions/flow.py) calls `start`, `handle` and `current`.
"""

from __future__ import annotations

import copy
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import select

from bot import consent
from bot.dialog import PERSON, SKIPPED, NotUnderstood, Option, Question, Reply, faq_topic
from bot.faq import agrees, answer_topic
from bot.flows.models import FlowDraft
from bot.handoff import PRIORITY_REQUEST, escalate, someone_can_join
from bot.profile import PLAN_TOPICS, TOPICS, Profile
from bot.store import session

SKIP = Option("Skip this question", "Skip this question")
QUICK_EXIT = "/quick_exit"  # the widget's quick exit button (bot/flows/couples.py)
MAX_FAILURES = 2
FAQ_CONFIDENCE = 0.6  # an unparseable answer this sure to be a question is answered as one
REQUEST_CONFIDENCE = 0.6  # ... and this sure to ask for a person is handed to one

_PAUSE = re.compile(
    r"^(?:can i |could i |i'?ll |i will |i want to |i'?d like to |let me |let'?s )?"
    r"(?:finish|continue|do|complete) (?:this |it |the rest )?later\b|"
    r"^(?:pause|stop|quit|exit|cancel|not now|later|take a break|stop for now|"
    r"i need to go|i have to go|gotta go)\b",
    re.IGNORECASE,
)


@dataclass
class Turn:
    say: List[Reply]
    active: bool  # a question is waiting for an answer (the form goes on)


@dataclass
class Context:
    conversation_id: str
    profile: Profile
    db_url: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    text: str = ""  # the message being answered (e.g. the one that started a flow)


class Flow(ABC):
    name: str  # e.g. "screening"
    title: str  # how we name it to the person: "the screening"
    needs_consent = True

    def begin(self, state: dict, ctx: Context) -> None:
        """Note what the message that started (or resumed) the flow carries (a code typed
        with it, a link's token in its metadata), before consent is asked: nothing is
        looked up yet."""
        return None

    def intro(self, state: dict, ctx: Context) -> List[Reply]:
        """Said once, when the flow starts (after consent, if any, and `prepare`)."""
        return []

    def prepare(self, state: dict, ctx: Context) -> None:
        """Bring the state up to date before the next question is chosen: look things up
        (earlier answers, the database, the scheduler) and note them in the state. The
        engine calls it once per turn, after an answer is stored."""
        return None  # most flows have nothing to look up

    @abstractmethod
    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        """The question to ask now, from the state alone; None when there is nothing left.
        Pure: no I/O and no change to the state (the engine calls it several times a turn)."""

    @abstractmethod
    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        """The answer's value; raises NotUnderstood with a kind explanation."""

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        """Keep the answer (and act on it: call an API, book…). Returns what to say."""
        state.setdefault("answers", {})[question.key] = value
        return []

    def skip(self, question: Question, state: dict, ctx: Context) -> List[Reply]:
        return self.store(question, SKIPPED, state, ctx)

    @abstractmethod
    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        """Nothing left to ask: save the result and say what happens next."""


class Engine:
    def __init__(self, flows: Dict[str, Flow]):
        self.flows = flows

    # --- the three calls the Rasa adapter makes ---------------------------------------

    def start(self, name: str, ctx: Context) -> Turn:
        flow = self.flows[name]
        draft = self._latest(ctx, name, ("active", "paused"))
        say: List[Reply] = []
        if draft is None:
            self._pause_others(ctx, name)
            draft_state: dict = {}
            flow.begin(draft_state, ctx)
            if flow.needs_consent and consent.given(ctx.conversation_id, ctx.db_url) is None:
                draft_state["awaiting_consent"] = True
                say.append(Reply(consent.CONSENT.text))
            else:
                flow.prepare(draft_state, ctx)
                say += flow.intro(draft_state, ctx)
            draft = self._save(ctx, None, name, "active", draft_state, 0)
        else:
            self._pause_others(ctx, name)
            flow.begin(draft.state, ctx)  # e.g. a partner's link opened again
            say.append(Reply(f"Welcome back! Let's pick up {flow.title} where you left off."))
            draft = self._save(ctx, draft.id, name, "active", draft.state, draft.failures)
        return self._advance(flow, draft.id, draft.state, 0, say, ctx)

    def current(self, ctx: Context) -> Optional[Tuple[Question, int]]:
        """The question waiting for an answer, and how often it was not understood."""
        draft = self._latest(ctx, None, ("active",))
        if draft is None:
            return None
        flow = self.flows[draft.flow]
        q = self._question(flow, draft.state, ctx)
        return (q, draft.failures) if q else None

    def understands(self, text: str, ctx: Context) -> bool:
        """Whether the waiting question would take `text` as its answer; nothing is stored.
        A free-text question (a name, a good time) takes almost any words, so it never
        counts as understanding them."""
        draft = self._latest(ctx, None, ("active",))
        if draft is None:
            return False
        flow = self.flows[draft.flow]
        question = self._question(flow, draft.state, ctx)
        if question is None or question.free_text:
            return False
        try:
            _read(flow, question, text.strip(), copy.deepcopy(draft.state), ctx)
        except NotUnderstood as exc:
            return not exc.counts_as_failure  # "which of these insurers?" is an answer
        return True

    def handle(self, text: str, intent: str, confidence: float, ctx: Context) -> Turn:
        draft = self._latest(ctx, None, ("active",))
        if draft is None:
            return Turn([], False)
        flow = self.flows[draft.flow]
        state, failures = draft.state, draft.failures
        question = self._question(flow, state, ctx)
        if question is None:  # nothing was waiting: close it properly
            return self._advance(flow, draft.id, state, 0, [], ctx)
        clean = text.strip()

        if question.free_text:
            turn = self._interruption(
                flow, draft.id, state, question, clean, intent, confidence, failures, ctx
            )
            if turn:
                return turn
        try:
            value = _read(flow, question, clean, state, ctx)
        except NotUnderstood as exc:
            # Not an answer: maybe a person wanted, a wish to stop, a skip, or a question about
            # the program. (An answer always counts as an answer: "me" is not a request.)
            turn = self._interruption(
                flow, draft.id, state, question, clean, intent, confidence, failures, ctx
            )
            if turn:
                return turn
            failures += 1 if exc.counts_as_failure else 0
            self._save(ctx, draft.id, flow.name, "active", state, failures)
            return Turn([Reply(_explanation(str(exc), question, exc, failures))], True)

        if question.key == consent.QUESTION_KEY:
            state.pop("awaiting_consent", None)
            if not value:
                self._save(ctx, draft.id, flow.name, "declined", {}, 0)
                consent.record_declined(ctx.conversation_id, ctx.db_url)
                return Turn([Reply(consent.CONSENT.declined, [PERSON])], False)
            consent.record(ctx.conversation_id, ctx.db_url)
            flow.prepare(state, ctx)
            say = [Reply("Thank you.")] + flow.intro(state, ctx)
        else:
            say = flow.store(question, value, state, ctx)
        return self._advance(flow, draft.id, state, 0, say, ctx)

    # --- internals ----------------------------------------------------------------------

    def _interruption(
        self,
        flow: Flow,
        draft_id: int,
        state: dict,
        question: Question,
        clean: str,
        intent: str,
        confidence: float,
        failures: int,
        ctx: Context,
    ) -> Optional[Turn]:
        """A message that is not an answer: a person wanted, "finish later", a skip, or a
        question about the program. None when it is none of these."""
        if clean == QUICK_EXIT:
            # The widget's quick exit: the page is gone. Keep the place, say nothing.
            self._save(ctx, draft_id, flow.name, "paused", state, 0)
            return Turn([], False)
        if (
            intent == "request_human" and confidence >= REQUEST_CONFIDENCE
        ) or clean == PERSON.value:
            self._save(ctx, draft_id, flow.name, "paused", state, 0)
            escalate(
                ctx.conversation_id,
                kind="request",
                reason=f"asked_for_person_in_{flow.name}",
                priority=PRIORITY_REQUEST,
                db_url=ctx.db_url,
            )
            # "Someone can join you" only in the team's hours, with a coordinator online.
            online = someone_can_join(ctx.profile.facts.program.coordinator_schedule, ctx.db_url)
            contact = ctx.profile.contact_text if online else ctx.profile.contact_queued
            return Turn(
                [
                    Reply(contact),
                    Reply(
                        f"Your answers are saved; say “continue {flow.title}” any time to go on."
                    ),
                ],
                False,
            )
        if _PAUSE.search(clean) and question.key != consent.QUESTION_KEY:
            self._save(ctx, draft_id, flow.name, "paused", state, 0)
            return Turn(
                [
                    Reply(
                        f"Of course. I've saved your answers so far. Whenever you're ready, "
                        f"say “continue {flow.title}” and we'll pick up at the same question.",
                        [Option(f"Continue {flow.title}", "/resume_flow")],
                    )
                ],
                False,
            )
        if clean == SKIP.value and question.skippable and failures >= MAX_FAILURES:
            return self._advance(flow, draft_id, state, 0, flow.skip(question, state, ctx), ctx)
        topic = answer_topic(faq_topic(intent), clean)
        if (
            topic
            and confidence >= FAQ_CONFIDENCE
            and (topic in TOPICS or topic in PLAN_TOPICS)
            and agrees(intent, clean)
        ):
            self._save(ctx, draft_id, flow.name, "active", state, failures)
            return Turn(
                [Reply(ctx.profile.answer(topic)), Reply("Now, back to where we were:")], True
            )
        return None

    def _question(self, flow: Flow, state: dict, ctx: Context) -> Optional[Question]:
        if state.get("awaiting_consent"):
            return consent.question()
        return flow.next_question(state, ctx)

    def _advance(
        self, flow: Flow, draft_id: int, state: dict, failures: int, say: List[Reply], ctx: Context
    ) -> Turn:
        if not state.get("awaiting_consent"):
            flow.prepare(state, ctx)
        if self._question(flow, state, ctx) is not None:
            self._save(ctx, draft_id, flow.name, "active", state, failures)
            return Turn(say, True)
        say = say + flow.finish(state, ctx)
        self._save(ctx, draft_id, flow.name, "done", state, 0)
        return Turn(say, False)

    def _latest(
        self, ctx: Context, name: Optional[str], statuses: Tuple[str, ...]
    ) -> Optional[FlowDraft]:
        with session(ctx.db_url) as s:
            query = select(FlowDraft).where(
                FlowDraft.conversation_id == ctx.conversation_id, FlowDraft.status.in_(statuses)
            )
            if name:
                query = query.where(FlowDraft.flow == name)
            return (
                s.execute(query.order_by(FlowDraft.updated_at.desc(), FlowDraft.id.desc()))
                .scalars()
                .first()
            )

    def _pause_others(self, ctx: Context, name: str) -> None:
        with session(ctx.db_url) as s:
            for d in s.execute(
                select(FlowDraft).where(
                    FlowDraft.conversation_id == ctx.conversation_id,
                    FlowDraft.status == "active",
                    FlowDraft.flow != name,
                )
            ).scalars():
                d.status = "paused"

    def _save(
        self,
        ctx: Context,
        draft_id: Optional[int],
        name: str,
        status: str,
        state: dict,
        failures: int,
    ) -> FlowDraft:
        with session(ctx.db_url) as s:
            draft = s.get(FlowDraft, draft_id) if draft_id else None
            if draft is None:
                draft = FlowDraft(conversation_id=ctx.conversation_id, flow=name)
                s.add(draft)
            draft.status, draft.failures = status, failures
            draft.state = dict(state)  # a new object, so SQLAlchemy sees the change
            question = self._question(self.flows[name], state, ctx) if status == "active" else None
            draft.question_key = question.key if question else None
            s.flush()
            return draft

    def paused(self, ctx: Context) -> Optional[str]:
        """The flow this conversation paused most recently, to resume on "continue"."""
        draft = self._latest(ctx, None, ("paused", "active"))
        return draft.flow if draft else None


def _read(flow: Flow, question: Question, text: str, state: dict, ctx: Context) -> Any:
    """The answer's value: the consent question is the engine's, every other the flow's."""
    if question.key == consent.QUESTION_KEY:
        return consent.parse(text)
    return flow.parse(question, text, state, ctx)


def _explanation(reason: str, question: Question, exc: NotUnderstood, failures: int) -> str:
    """Why the answer was not understood; after repeated misses also how to answer (said
    once, even when the reason already is the help text) and the way out."""
    if not exc.counts_as_failure or failures < MAX_FAILURES:
        return reason
    words = [reason]
    if question.help and " ".join(question.help.split()) not in " ".join(reason.split()):
        words.append(question.help)
    words.append(
        "If you'd rather, you can skip this question or talk to a person."
        if question.skippable
        else "If you'd rather, you can talk to a person."
    )
    return " ".join(words)


def latest_answers(ctx: Context, flow: str) -> Dict[str, Any]:
    """The answers this conversation gave in its latest run of `flow` (finished or not).
    For the flow modules that own those answers; others ask them, not the keys."""
    with session(ctx.db_url) as s:
        draft = (
            s.execute(
                select(FlowDraft)
                .where(FlowDraft.conversation_id == ctx.conversation_id, FlowDraft.flow == flow)
                .order_by(FlowDraft.id.desc())
            )
            .scalars()
            .first()
        )
        return dict((draft.state or {}).get("answers", {})) if draft else {}
