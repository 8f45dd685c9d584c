"""The clinic's program profile: facts, FAQ answers and crisis wording, validated on load.

`load_profile()` reads `program.yml` (or the file named by PROGRAM_PROFILE), checks every key
with pydantic, renders every reply once so a placeholder that points nowhere fails start-up,
and returns a `Profile` whose `answer(topic)` gives the text to say.
"""

from __future__ import annotations

import os
import string
from datetime import date, time
from pathlib import Path
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Extra, conint, validator

from bot.config import settings
from bot.content import ContentError, parse_model, read_yaml
from bot.dialog import NEXT_STEP_BUTTONS

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
)
MESSAGES = ("welcome", "out_of_scope", "support")  # replies that are not FAQ topics


class ProfileError(ContentError):
    """The profile is missing a key or has a bad value; the message names it."""


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid  # a mistyped key is an error, not silently ignored


PositiveInt = conint(gt=0)


class ProgramFacts(_Strict):
    name: str
    phone: str
    email: str
    coordinator_hours: str


class GroupFacts(_Strict):
    cap: PositiveInt
    typical_min: PositiveInt
    typical_max: PositiveInt
    never_above: PositiveInt

    @validator("never_above")
    def cap_within_limit(cls, never_above, values):
        cap = values.get("cap")
        if cap is not None and cap > never_above:
            raise ValueError(f"cap ({cap}) is above never_above ({never_above})")
        return never_above


class ScheduleFacts(_Strict):
    days_min: conint(ge=1, le=7)
    days_max: conint(ge=1, le=7)
    hours_per_day: PositiveInt
    session_minutes_min: PositiveInt
    session_minutes_max: PositiveInt
    hours_per_week_min: PositiveInt
    tracks: List[str]
    weekend_groups: bool


class Range(_Strict):
    min: PositiveInt
    max: PositiveInt

    @validator("max")
    def max_not_below_min(cls, max_, values):
        if "min" in values and max_ < values["min"]:
            raise ValueError(f"max ({max_}) is below min ({values['min']})")
        return max_


class RatioFacts(_Strict):
    group_clients_per_clinician: PositiveInt
    individual_caseload_per_therapist: PositiveInt
    mat_clients_per_prescriber: PositiveInt


class CostFacts(_Strict):
    min_usd: PositiveInt
    max_usd: PositiveInt


# How the assistant handles each plan type: check it in real time, hand it to a
# coordinator, or explain kindly that the program is not in network.
PLAN_TYPES = ("ppo", "hmo", "epo", "pos", "medicaid", "medicare")
PLAN_HANDLING = ("verify", "coordinator", "not_accepted")
US_STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
    "PR",
]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class InsuranceFacts(_Strict):
    ppo_covers: List[str]
    plans: Dict[str, str]

    @validator("plans")
    def every_plan_type_handled(cls, plans):
        for plan, handling in plans.items():
            if plan not in PLAN_TYPES:
                raise ValueError(
                    f"unknown plan type '{plan}' (expected one of {', '.join(PLAN_TYPES)})"
                )
            if handling not in PLAN_HANDLING:
                raise ValueError(f"{plan}: '{handling}' is not one of {', '.join(PLAN_HANDLING)}")
        missing = [p for p in PLAN_TYPES if p not in plans]
        if missing:
            raise ValueError(f"missing plan type(s) {', '.join(missing)}")
        return plans


class IntakeFacts(_Strict):
    """When intake assessments can be booked with the built-in scheduler."""

    time_zone: str
    slot_minutes: PositiveInt
    buffer_minutes: conint(ge=0)
    min_lead_hours: conint(ge=0)
    horizon_days: PositiveInt
    # Per weekday, a list of "HH:MM-HH:MM" windows in the program's time zone.
    hours: Dict[str, List[str]]
    holidays: List[date] = []
    assessment: str  # what happens in the assessment
    join: str  # how to join it

    @validator("time_zone")
    def known_time_zone(cls, tz):
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{tz}'") from None
        return tz

    @validator("hours")
    def windows_are_valid(cls, hours):
        for day, windows in hours.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday '{day}' (expected {', '.join(WEEKDAYS)})")
            for window in windows:
                try:
                    start, end = (time.fromisoformat(t.strip()) for t in window.split("-"))
                except ValueError:
                    raise ValueError(f"{day}: '{window}' is not HH:MM-HH:MM") from None
                if end <= start:
                    raise ValueError(f"{day}: '{window}' ends before it starts")
        return hours


class PetFacts(_Strict):
    welcome: str


class CoupleFacts(_Strict):
    joining: str


class TeamFacts(_Strict):
    roles: List[str]
    case_manager_reviews: str


class TechnologyFacts(_Strict):
    devices: List[str]


class MissedSessionFacts(_Strict):
    options: List[str]


class SoberActivityFacts(_Strict):
    list: List[str]


class Facts(_Strict):
    program: ProgramFacts
    licensed_states: List[str]  # two-letter codes of the states where clients may live
    groups: GroupFacts
    schedule: ScheduleFacts
    length_weeks: Range
    ratios: RatioFacts
    cost: CostFacts
    insurance: InsuranceFacts
    pets: PetFacts
    couples: CoupleFacts
    team: TeamFacts
    technology: TechnologyFacts
    missed_sessions: MissedSessionFacts
    sober_activities: SoberActivityFacts
    intake: IntakeFacts

    @validator("licensed_states")
    def states_are_codes(cls, states):
        bad = [s for s in states if s not in US_STATES]
        if bad:
            raise ValueError(f"not a two-letter US state code: {', '.join(bad)}")
        return states


class Message(_Strict):
    text: str
    next: List[str] = []


class Answer(Message):
    title: str  # the button label that leads to this answer


class Contact(_Strict):
    text: str


class Fallback(_Strict):
    rephrase: str
    give_up: str
    did_you_mean: str


class Crisis(_Strict):
    lifeline_number: str
    lifeline_chat_url: str
    emergency_number: str
    acute_text: str
    acute_followup: str
    concern_text: str


class ProfileFile(_Strict):
    facts: Facts
    answers: Dict[str, Answer]
    welcome: Message
    out_of_scope: Message
    support: Message  # reply to someone sharing a struggle (not a crisis)
    fallback: Fallback
    contact: Contact
    crisis: Crisis


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
        self.answers = {
            topic: _render(answer.text, context, f"answers.{topic}.text")
            for topic, answer in data.answers.items()
        }
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
        self.crisis_text = _render(data.crisis.acute_text, context, "crisis.acute_text")
        self.crisis_followup = _render(data.crisis.acute_followup, context, "crisis.acute_followup")
        self.concern_text = _render(data.crisis.concern_text, context, "crisis.concern_text")

    @property
    def facts(self) -> Facts:
        return self.data.facts

    @property
    def crisis(self) -> Crisis:
        return self.data.crisis

    def answer(self, topic: str) -> str:
        return self.answers[topic]

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
        return self.data.answers[topic].title


def _check_next(where: str, steps: List[str]) -> None:
    for step in steps:
        if step not in TOPICS and step not in NEXT_STEP_BUTTONS:
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
