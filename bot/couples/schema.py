"""The schema of the couples content files: safety.yml (the relationship-safety check) and
texts.yml (what a partner is told). House style of bot/profile and bot/screening: unknown
keys are errors, and every error names the file and the bad key."""

from __future__ import annotations

from string import Formatter
from typing import Any, List

from pydantic import BaseModel, Extra, StrictBool, StrictStr, validator

from bot.dialog import NEXT_STEP_BUTTONS

MAX_BUBBLE_WORDS = 60
# What the resources text must keep, however a clinic edits it.
REQUIRED_RESOURCES = ("1-800-799-7233", "START to 88788", "911")


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid


def _bubble(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    words = len(text.split())
    if words > MAX_BUBBLE_WORDS:
        raise ValueError(f"{words} words; a reply may have at most {MAX_BUBBLE_WORDS}")
    return text


class Sourced(_Strict):
    """Where the wording comes from, under which licence, and why it may be used here."""

    source: StrictStr
    licence: StrictStr
    why_usable: StrictStr

    @validator("source", "licence", "why_usable")
    def not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("must not be empty")
        return text


class GateOption(_Strict):
    title: StrictStr
    value: StrictStr
    private: StrictBool  # true: the person is alone, the questions may be asked
    synonyms: List[StrictStr] = []


class Gate(Sourced):
    text: StrictStr
    help: StrictStr
    options: List[GateOption]
    later: StrictStr  # said when the person is not somewhere private

    _bubbles = validator("text", "help", "later", allow_reuse=True)(_bubble)

    @validator("options")
    def one_way_on_and_one_way_out(cls, options: List[GateOption]) -> List[GateOption]:
        if not any(o.private for o in options) or all(o.private for o in options):
            raise ValueError("needs an option with private: true and one with private: false")
        return options


class AnswerOption(_Strict):
    title: StrictStr
    value: StrictStr
    positive: StrictBool  # this answer sets the person's private flag
    synonyms: List[StrictStr] = []


class SafetyItem(Sourced):
    id: StrictStr
    text: StrictStr

    _bubble = validator("text", allow_reuse=True)(_bubble)

    @validator("id")
    def plain_id(cls, id_: str) -> str:
        if not id_.replace("_", "").isalnum() or not id_.islower():
            raise ValueError(f"'{id_}' must be lower-case letters, digits and underscores")
        return id_


class SafetyFile(_Strict):
    id: StrictStr
    title: StrictStr
    source: StrictStr
    licence: StrictStr
    gate: Gate
    intro: StrictStr
    help: StrictStr
    options: List[AnswerOption]
    items: List[SafetyItem]
    closing: StrictStr
    resources: StrictStr

    _bubbles = validator("intro", "help", "closing", "resources", allow_reuse=True)(_bubble)

    @validator("source", "licence")
    def not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("must not be empty")
        return text

    @validator("options")
    def yes_and_no(cls, options: List[AnswerOption]) -> List[AnswerOption]:
        if not any(o.positive for o in options) or all(o.positive for o in options):
            raise ValueError("needs an option with positive: true and one with positive: false")
        values = [o.value for o in options]
        for v in values:
            if values.count(v) > 1:
                raise ValueError(f"duplicate value '{v}'")
        return options

    @validator("items")
    def unique_ids(cls, items: List[SafetyItem]) -> List[SafetyItem]:
        if not items:
            raise ValueError("the check needs at least one item")
        ids = [i.id for i in items]
        for n, id_ in enumerate(ids):
            if ids.index(id_) != n:
                raise ValueError(f"{n}.id: duplicate id '{id_}'")
        return items

    @validator("resources")
    def resources_complete(cls, text: str) -> str:
        for needed in REQUIRED_RESOURCES:
            if needed not in text:
                raise ValueError(f"must include '{needed}'")
        return text


class InvitationStatusTexts(_Strict):
    pending: StrictStr
    accepted: StrictStr
    expired: StrictStr
    declined: StrictStr
    revoked: StrictStr

    _bubbles = validator("*", allow_reuse=True)(_bubble)


class InvitationTexts(_Strict):
    created: StrictStr
    not_valid: StrictStr
    too_many_attempts: StrictStr
    own_invitation: StrictStr
    already_in_couple: StrictStr
    joined: StrictStr
    declined: StrictStr
    revoked: StrictStr
    status: InvitationStatusTexts
    go_on_alone: StrictStr

    _bubbles = validator(
        "created",
        "not_valid",
        "too_many_attempts",
        "own_invitation",
        "already_in_couple",
        "joined",
        "declined",
        "revoked",
        "go_on_alone",
        allow_reuse=True,
    )(_bubble)

    @validator("created")
    def placeholders(cls, text: str) -> str:
        for needed in ("{code}", "{days}"):
            if needed not in text:
                raise ValueError(f"must include the placeholder {needed}")
        try:
            text.format(code="ABCD-EFGH", days=7)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"unknown placeholder {exc} (only {{code}} and {{days}})") from None
        return text


class OutcomeText(_Strict):
    text: StrictStr
    offer: List[StrictStr] = []

    _bubble = validator("text", allow_reuse=True)(_bubble)

    @validator("offer", each_item=True)
    def known_offer(cls, offer: str) -> str:
        if offer not in NEXT_STEP_BUTTONS:
            raise ValueError(f"unknown offer '{offer}' (expected {', '.join(NEXT_STEP_BUTTONS)})")
        return offer


class OutcomeTexts(_Strict):
    iop_together: OutcomeText
    individual_first: OutcomeText
    own_path: OutcomeText
    waiting: OutcomeText


FLOW_PLACEHOLDERS = {
    "invitation_link": {"link"},
    "joint_question": {"when"},
    "joint_confirmed": {"when", "join"},
    "joint_booked": {"when"},
    "joint_chosen": {"when"},
}


class FlowTexts(_Strict):
    """The couples flows' own words; each may use only the placeholders named here."""

    invitation_kept: StrictStr
    invitation_link: StrictStr
    meanwhile: StrictStr
    code_question: StrictStr
    code_help: StrictStr
    not_a_code: StrictStr
    no_code: StrictStr
    joined_next: StrictStr
    linked: StrictStr
    not_invited: StrictStr
    invite_when_ready: StrictStr
    nothing_private_left: StrictStr
    after_quick_exit: StrictStr
    quick_exit_hint: StrictStr
    joint_question: StrictStr
    joint_confirmed: StrictStr
    joint_moved: StrictStr
    joint_another_time: StrictStr
    joint_booked: StrictStr
    joint_chosen: StrictStr
    joint_proposed: StrictStr

    _bubbles = validator("*", allow_reuse=True)(_bubble)

    @validator("*")
    def known_placeholders(cls, text: str, field: Any) -> str:
        allowed = FLOW_PLACEHOLDERS.get(field.name, set())
        used = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
        if used - allowed:
            raise ValueError(
                f"unknown placeholder(s) {', '.join(sorted(used - allowed))} "
                f"(allowed here: {', '.join(sorted(allowed)) or 'none'})"
            )
        return text


class TextsFile(_Strict):
    invitation: InvitationTexts
    outcomes: OutcomeTexts
    flows: FlowTexts
