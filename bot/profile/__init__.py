"""The clinic's program profile: facts, FAQ answers and crisis wording, validated on load.

`load_profile()` reads `program.yml` (or the file named by PROGRAM_PROFILE), checks every key
with pydantic, renders every reply once so a placeholder that points nowhere fails start-up,
and returns a `Profile` whose `answer(topic)` gives the text to say.
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.config import settings
from bot.content import ContentError, parse_model, read_yaml
from bot.dialog import NEXT_STEP_BUTTONS

from .schema import (
    PLAN_HANDLING,
    PLAN_NAMES,
    PLAN_TYPES,
    STATE_NAMES,
    US_STATES,
    WEEKDAYS,
    Answer,
    Contact,
    CostFacts,
    CoupleFacts,
    Crisis,
    Facts,
    Fallback,
    GroupFacts,
    InsuranceFacts,
    IntakeFacts,
    Message,
    MissedSessionFacts,
    PetFacts,
    ProfileFile,
    ProgramFacts,
    Range,
    RatioFacts,
    ScheduleFacts,
    SoberActivityFacts,
    TeamFacts,
    TechnologyFacts,
)

DEFAULT_PATH = Path(__file__).with_name("program.yml")
MAX_BUBBLE_WORDS = 60

# Every FAQ topic the assistant understands; the profile must answer each one.
TOPICS = (
    "what_is_iop",
    "who_is_it_for",
    "effectiveness",
    "group_size",
    "schedule",
    "program_length",
    "ratios",
    "cost",
    "insurance",
    "pets",
    "couples",
    "couples_therapist",
    "team",
    "technology",
    "privacy",
    "missed_sessions",
    "sober_activities",
    "medication",
    "session_length",
    "ppo_coverage",
    "epo_plans",
    "couples_confidentiality",
    # A request for the other partner's answers or results (couples): always a kind no.
    "partner_answers",
    "progress_tracking",
    "conditions_treated",
    # Added with the topic inventory (issue 17): eligibility, logistics, clinical, privacy.
    "eap",
    "self_pay",
    "payment_plans",
    "sliding_scale",
    "age",
    "states_served",
    "referral",
    "sobriety_expectations",
    "start_time",
    "tracks_switching",
    "weekends",
    "camera",
    "travel",
    "cancellation",
    "drug_testing",
    "family_involvement",
    "aftercare",
    "levels_of_care",
    "specialized_groups",
    "language",
    "lgbtq",
    "gender_groups",
    "veterans",
    "employer_privacy",
    "insurer_privacy",
)
# Topics answered from `plan_answers` by how `facts.insurance.plans` handles the plan type,
# so the FAQ and the insurance check say the same thing. Not intents: bot.faq picks them
# when an insurance question names the plan.
PLAN_TOPICS = {
    "medicare": "medicare",
    "medicaid": "medicaid",
    "tricare": "tricare",
    "hmo_plans": "hmo",
}
MESSAGES = ("welcome", "out_of_scope", "support", "unknown")  # replies that are not FAQ topics


class ProfileError(ContentError):
    """The profile is missing a key or has a bad value; the message names it."""


class _FactFormatter(string.Formatter):
    """str.format that joins lists into "a, b and c" and names unknown placeholders."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, (list, tuple)):
            items = [str(v) for v in value]
            value = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
        return super().format_field(value, format_spec)


_formatter = _FactFormatter()


class Profile:
    """A validated profile. Replies are rendered once, at load, and kept."""

    def __init__(self, data: ProfileFile):
        self.data = data
        context = {name: getattr(data.facts, name) for name in data.facts.__fields__}
        context["crisis"] = data.crisis
        context["licensed_state_names"] = [STATE_NAMES[c] for c in data.facts.licensed_states]
        # A topic the clinic left empty (text: null) is absent here: answer() says so.
        self.answers = {
            topic: _render(answer.text, context, f"answers.{topic}.text")
            for topic, answer in data.answers.items()
            if answer.text is not None
        }
        for topic, plan in PLAN_TOPICS.items():
            handling = data.facts.insurance.plans[plan]
            template = getattr(data.plan_answers, handling)
            self.answers[topic] = _render(
                template.replace("{plan}", PLAN_NAMES[plan]),
                context,
                f"plan_answers.{handling}",
            )
        self.messages = {
            name: _render(getattr(data, name).text, context, f"{name}.text") for name in MESSAGES
        }
        self.fallback = Fallback(
            **{
                key: _render(value, context, f"fallback.{key}")
                for key, value in data.fallback.dict().items()
            }
        )
        self.contact_text = _render(data.contact.text, context, "contact.text")
        self.contact_unavailable = _render(data.contact.unavailable, context, "contact.unavailable")
        self.contact_declined = _render(data.contact.declined, context, "contact.declined")
        self.contact_queued = _render(data.contact.queued, context, "contact.queued")
        self.contact_unrecorded = _render(data.contact.unrecorded, context, "contact.unrecorded")
        self.crisis_text = _render(data.crisis.acute_text, context, "crisis.acute_text")
        self.crisis_followup = _render(data.crisis.acute_followup, context, "crisis.acute_followup")
        self.crisis_offer_unflagged = _render(
            data.crisis.acute_followup_unrecorded, context, "crisis.acute_followup_unrecorded"
        )
        self.crisis_close = _render(data.crisis.close_text, context, "crisis.close_text")
        self.concern_text = _render(data.crisis.concern_text, context, "crisis.concern_text")

    @property
    def facts(self) -> Facts:
        return self.data.facts

    @property
    def crisis(self) -> Crisis:
        return self.data.crisis

    def answer(self, topic: str) -> str:
        """The reply for a topic; for one the clinic left empty, the honest "I don't know"."""
        return self.answers.get(topic) or self.messages["unknown"]

    def answer_next(self, topic: str) -> List[str]:
        if topic not in self.answers:
            return list(self.data.unknown.next)
        if topic in PLAN_TOPICS:
            return ["check_insurance", "cost", "person"]
        return list(self.data.answers[topic].next)

    def knows(self, topic: str) -> bool:
        return topic in self.answers

    @property
    def welcome_text(self) -> str:
        return self.messages["welcome"]

    @property
    def out_of_scope_text(self) -> str:
        return self.messages["out_of_scope"]

    def message(self, name: str) -> str:
        return self.messages[name]

    def message_next(self, name: str) -> List[str]:
        return list(getattr(self.data, name).next)

    def title(self, topic: str) -> str:
        if topic in PLAN_TOPICS:
            return f"{PLAN_NAMES[PLAN_TOPICS[topic]]} plans"
        return self.data.answers[topic].title


def _check_next(where: str, steps: List[str]) -> None:
    for step in steps:
        if step not in TOPICS and step not in PLAN_TOPICS and step not in NEXT_STEP_BUTTONS:
            raise ProfileError(f"{where}.next: unknown button '{step}'")


def _render(template: str, context: Dict[str, Any], where: str) -> str:
    try:
        text = _formatter.vformat(template, (), context)
    except (KeyError, AttributeError, IndexError, ValueError) as exc:
        raise ProfileError(f"{where}: placeholder cannot be filled from facts ({exc})") from exc
    text = " ".join(text.split())
    words = len(text.split())
    if words > MAX_BUBBLE_WORDS:
        raise ProfileError(f"{where}: {words} words; a reply may have at most {MAX_BUBBLE_WORDS}")
    return text


def _check_topics(answers: Dict[str, Answer]) -> None:
    missing = [t for t in TOPICS if t not in answers]
    if missing:
        raise ProfileError(f"answers: missing topic(s) {', '.join(missing)}")
    unknown = [t for t in answers if t not in TOPICS]
    if unknown:
        raise ProfileError(f"answers: unknown topic(s) {', '.join(unknown)}")
    for topic, answer in answers.items():
        _check_next(f"answers.{topic}", answer.next)


def parse_profile(raw: Any, source: str = "profile") -> Profile:
    data = parse_model(ProfileFile, raw, source, ProfileError)
    _check_topics(data.answers)
    for name in MESSAGES:
        _check_next(name, getattr(data, name).next)
    return Profile(data)


def load_profile(path: Optional[os.PathLike] = None) -> Profile:
    path = Path(path or settings().program_profile or DEFAULT_PATH)
    return parse_profile(read_yaml(path, ProfileError, source=str(path)), str(path))


__all__ = [
    "DEFAULT_PATH",
    "MAX_BUBBLE_WORDS",
    "MESSAGES",
    "TOPICS",
    "PLAN_TOPICS",
    "PLAN_NAMES",
    "STATE_NAMES",
    "Profile",
    "ProfileError",
    "load_profile",
    "parse_profile",
    # the schema of the profile file (bot/profile/schema.py)
    "PLAN_HANDLING",
    "PLAN_TYPES",
    "US_STATES",
    "WEEKDAYS",
    "Answer",
    "Contact",
    "CostFacts",
    "CoupleFacts",
    "Crisis",
    "Facts",
    "Fallback",
    "GroupFacts",
    "InsuranceFacts",
    "IntakeFacts",
    "Message",
    "MissedSessionFacts",
    "PetFacts",
    "ProfileFile",
    "ProgramFacts",
    "Range",
    "RatioFacts",
    "ScheduleFacts",
    "SoberActivityFacts",
    "TeamFacts",
    "TechnologyFacts",
]
