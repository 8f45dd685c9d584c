"""The schema of the program profile file (program.yml): one pydantic model per section.

Unknown keys are errors (a typo is named, not silently ignored), and the validators check
what a type cannot: plan types, time zones, intake hours, state codes.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Extra, NonNegativeInt, PositiveInt, validator

if TYPE_CHECKING:  # how pydantic types its own PositiveInt: an int to mypy
    DayCount = int
else:
    from pydantic import conint

    DayCount = conint(ge=1, le=7)


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid  # a mistyped key is an error, not silently ignored


class ProgramFacts(_Strict):
    name: str
    phone: str
    email: str
    coordinator_hours: str  # said to people, e.g. "Monday to Friday, 8 am to 6 pm Central Time"
    # The same hours for the code: outside them nobody is offered a live coordinator, even
    # with a console left open. Unset: whether a coordinator is online decides alone.
    coordinator_schedule: Optional[WeeklyHours] = None


class GroupFacts(_Strict):
    cap: PositiveInt
    typical_min: PositiveInt
    typical_max: PositiveInt
    never_above: PositiveInt

    @validator("never_above")
    def cap_within_limit(cls, never_above: int, values: Dict[str, Any]) -> int:
        cap = values.get("cap")
        if cap is not None and cap > never_above:
            raise ValueError(f"cap ({cap}) is above never_above ({never_above})")
        return never_above


class ScheduleFacts(_Strict):
    days_min: DayCount
    days_max: DayCount
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
    def max_not_below_min(cls, max_: int, values: Dict[str, Any]) -> int:
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
PLAN_TYPES = ("ppo", "hmo", "epo", "pos", "medicaid", "medicare", "tricare")
# How a plan type is named in a reply.
PLAN_NAMES = {
    "ppo": "PPO",
    "hmo": "HMO",
    "epo": "EPO",
    "pos": "POS",
    "medicaid": "Medicaid",
    "medicare": "Medicare",
    "tricare": "TRICARE",
}
PLAN_HANDLING = ("verify", "coordinator", "not_accepted")
# Two-letter codes and the names a reply uses.
STATE_NAMES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "the District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "PR": "Puerto Rico",
}
US_STATES = list(STATE_NAMES)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class InsuranceFacts(_Strict):
    ppo_covers: List[str]
    plans: Dict[str, str]

    @validator("plans")
    def every_plan_type_handled(cls, plans: Dict[str, str]) -> Dict[str, str]:
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


class WeeklyHours(_Strict):
    """Opening hours: per weekday, "HH:MM-HH:MM" windows in the program's time zone, closed on
    the holidays (local dates)."""

    time_zone: str
    hours: Dict[str, List[str]]
    holidays: List[date] = []

    @validator("time_zone")
    def known_time_zone(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{tz}'") from None
        return tz

    @validator("hours")
    def windows_are_valid(cls, hours: Dict[str, List[str]]) -> Dict[str, List[str]]:
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

    def windows(self, day: date) -> List[Tuple[time, time]]:
        """That local date's (start, end) windows; none on a holiday."""
        if day in self.holidays:
            return []
        out = []
        for window in self.hours.get(WEEKDAYS[day.weekday()], []):
            start, end = (time.fromisoformat(t.strip()) for t in window.split("-"))
            out.append((start, end))
        return out

    def is_open(self, moment: datetime) -> bool:
        """Whether `moment` (aware) falls inside a window, on the local clock."""
        local = moment.astimezone(ZoneInfo(self.time_zone))
        return any(start <= local.time() < end for start, end in self.windows(local.date()))


class IntakeFacts(WeeklyHours):
    """When intake assessments can be booked with the built-in scheduler."""

    slot_minutes: PositiveInt
    buffer_minutes: NonNegativeInt
    min_lead_hours: NonNegativeInt
    horizon_days: PositiveInt
    assessment: str  # what happens in the assessment
    join: str  # how to join it


ProgramFacts.update_forward_refs(WeeklyHours=WeeklyHours)


class PetFacts(_Strict):
    welcome: str


class CoupleFacts(_Strict):
    joining: str
    # The clinic's confidentiality policy between partners (what stays private from the
    # other partner, and the couples therapist's "no secrets" rule); the clinic sets it.
    confidentiality: str
    # How long a partner's invitation (link and code) works (bot.couples).
    invitation_days: PositiveInt = 7


class TeamFacts(_Strict):
    roles: List[str]
    case_manager_reviews: str


class ConditionFacts(_Strict):
    """What the program treats, and concerns worked on in therapy; the clinic sets both."""

    treated: List[str]
    also_addressed: List[str]


class TechnologyFacts(_Strict):
    devices: List[str]


class MissedSessionFacts(_Strict):
    options: List[str]


class SoberActivityFacts(_Strict):
    list: List[str]


class EligibilityFacts(_Strict):
    min_age: PositiveInt


class RetentionFacts(_Strict):
    """How long the assistant keeps what people leave (bot.privacy.retention). The consent
    text (bot/consent/consent.yml) states these periods: change both together."""

    # A screening, insurance check or booking started and left: its draft answers.
    unfinished_days: PositiveInt = 30
    # A conversation that never became an intake (no booking, nothing open for the team):
    # everything of it, the chat included.
    abandoned_days: PositiveInt = 90
    # Everything else, intake records included, after this long without activity.
    records_years: PositiveInt = 7

    @validator("abandoned_days")
    def abandoned_after_unfinished(cls, days: int, values: Dict[str, Any]) -> int:
        if days < values.get("unfinished_days", 0):
            raise ValueError("must be at least unfinished_days")
        return days


class Facts(_Strict):
    program: ProgramFacts
    eligibility: EligibilityFacts
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
    conditions: ConditionFacts
    technology: TechnologyFacts
    missed_sessions: MissedSessionFacts
    sober_activities: SoberActivityFacts
    intake: IntakeFacts
    retention: RetentionFacts = RetentionFacts()

    @validator("licensed_states")
    def states_are_codes(cls, states: List[str]) -> List[str]:
        bad = [s for s in states if s not in US_STATES]
        if bad:
            raise ValueError(f"not a two-letter US state code: {', '.join(bad)}")
        return states


class Message(_Strict):
    text: str
    next: List[str] = []


class Answer(_Strict):
    title: str  # the button label that leads to this answer
    # None: the clinic has not filled this topic in; the assistant says it doesn't have the
    # detail and offers a coordinator, never a neighbouring topic's answer.
    text: Optional[str] = None
    next: List[str] = []


class PlanAnswers(_Strict):
    """One reply per way a plan type is handled (facts.insurance.plans); {plan} is its name.

    "Do you take Medicare?" is answered from here, so the FAQ and the insurance check can't
    disagree."""

    verify: str
    coordinator: str
    not_accepted: str


class Contact(_Strict):
    text: str  # a coordinator has the console open: they can join this chat
    unavailable: str  # nobody has: offer to take a way to reach the person
    declined: str  # "no" to that offer
    queued: str  # nobody has, asked inside a flow (the flow pauses; no offer to answer)
    unrecorded: str  # the request could not be saved (database down): how to reach a person


class Fallback(_Strict):
    rephrase: str
    give_up: str
    did_you_mean: str
    error: str  # an action failed: said instead of any detail (actions.common.GuardedAction)


class Crisis(_Strict):
    lifeline_number: str
    lifeline_chat_url: str
    emergency_number: str
    acute_text: str
    acute_followup: str  # said when the urgent flag was recorded
    acute_followup_unrecorded: str  # the same offer when the flag could not be recorded
    concern_text: str
    close_text: str  # "no" to the offer of a person: a gentle close that keeps 988 in sight


class ProfileFile(_Strict):
    facts: Facts
    answers: Dict[str, Answer]
    plan_answers: PlanAnswers
    welcome: Message
    unknown: Message  # a topic the clinic has not filled in
    out_of_scope: Message
    support: Message  # reply to someone sharing a struggle (not a crisis)
    fallback: Fallback
    contact: Contact
    crisis: Crisis
