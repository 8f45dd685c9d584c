"""The dialogue vocabulary every layer shares: questions with options, replies, answers that
were not understood, and the few words and buttons that mean the same thing everywhere.

Plain data and small parsers, no I/O: domain packages (consent, coverage, scheduling,
screening), the flows and the Rasa actions all import from here, never from each other's
layers. The Rasa adapter (actions/) turns a Question or a Reply into a message with buttons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

SKIPPED = "__skipped__"  # stored as the answer when the person skips a question


class NotUnderstood(ValueError):
    """An answer that could not be understood. str(exc) explains, kindly and briefly, what
    kind of answer is expected ("Please pick one of the options, or type a number 0-3.").

    `counts_as_failure = False` for a step that narrows the question (e.g. "which of these
    insurers?") rather than a failure to understand."""

    counts_as_failure = True


@dataclass(frozen=True)
class Option:
    title: str  # the button label
    value: str  # what pressing it sends (parsed like typed text)


@dataclass(frozen=True)
class Question:
    key: str  # stable id, e.g. "phq9.1" or "coverage.member_id"
    text: str
    options: Tuple[Option, ...] = field(default_factory=tuple)
    help: str = ""  # said when an answer is not understood: why we ask / how to answer
    skippable: bool = True  # after two failures the person may skip it
    # Almost any words are a valid answer (a name, "weekday mornings"): a request for a
    # person, "finish later" or a question about the program is looked for first.
    free_text: bool = False


@dataclass
class Reply:
    text: str
    buttons: List[Option] = field(default_factory=list)


# --- buttons that mean the same everywhere ------------------------------------------------

PERSON = Option("Talk to a person", "/request_human")
SCREENING = Option("Am I a good fit?", "/start_screening")
CHECK_INSURANCE = Option("Check my insurance", "/check_insurance")
BOOK = Option("Book an assessment", "/book_appointment")
# What a person can start, offered when nothing else is going on.
STARTERS = (SCREENING, CHECK_INSURANCE, BOOK)
# Next steps by the names the profile and the recommendations use.
NEXT_STEP_BUTTONS: Dict[str, Option] = {
    "person": PERSON,
    "screening": SCREENING,
    "check_insurance": CHECK_INSURANCE,
    "book": BOOK,
    "invite_partner": Option("Enroll as a couple", "/enroll_couple"),
    "join_partner": Option("I have my partner's code", "/join_couple"),
}


def button(option: Option) -> Dict[str, str]:
    """A Rasa button."""
    return {"title": option.title, "payload": option.value}


# --- intents --------------------------------------------------------------------------------

FAQ_PREFIX = "faq_"


def faq_topic(intent: Optional[str]) -> Optional[str]:
    """The FAQ topic an intent asks about ("faq_cost" -> "cost"), or None."""
    if intent and intent.startswith(FAQ_PREFIX) and len(intent) > len(FAQ_PREFIX):
        return intent[len(FAQ_PREFIX) :]
    return None


# --- yes and no -----------------------------------------------------------------------------

_YES = (
    r"(?:y|yes|yeah|yep|yup|sure|ok|okay|alright|fine|correct|confirm|of course|sounds good|"
    r"that'?s right|please do|go ahead|yes please|book it|yes,? book it|i do|i agree|agree|"
    r"yes,? i agree)"
)
_NO = (
    r"(?:n|no|nope|nah|not? (?:right|correct)|no thanks?|no thank you|wrong|change|"
    r"no,? change something|not now|no way|i don'?t agree|i do not agree|don'?t agree|"
    r"disagree)"
)
_YES_START, _NO_START = re.compile(rf"^{_YES}\b"), re.compile(rf"^{_NO}\b")
_YES_ONLY, _NO_ONLY = re.compile(rf"{_YES}"), re.compile(rf"{_NO}")


def normalize(text: str) -> str:
    """Lower case, curly apostrophes straightened, spaces collapsed, end punctuation off."""
    return " ".join(text.lower().replace("’", "'").strip(" .!").split())


def chosen(options: Iterable[Option], text: str) -> Optional[str]:
    """The value of the option the text names (its button's title or value), or None."""
    said = normalize(text)
    return next(
        (o.value for o in options if said in (normalize(o.title), normalize(o.value))), None
    )


def parse_yes_no(text: str, explain: str = "Please answer yes or no.", whole: bool = False) -> bool:
    """True for a yes, False for a no; NotUnderstood with `explain` otherwise.

    By default the first words decide ("yes, book it", "no, change something"). With
    `whole=True` the answer must be nothing but a yes or a no: for consent, where "ok but
    who sees it?" is a question, not an agreement."""
    t = normalize(text)
    no, yes = (
        (_NO_ONLY.fullmatch, _YES_ONLY.fullmatch)
        if whole
        else (_NO_START.search, _YES_START.search)
    )
    if no(t):
        return False
    if yes(t):
        return True
    raise NotUnderstood(explain)
