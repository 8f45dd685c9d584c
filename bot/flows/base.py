"""What every conversation flow is made of: questions with options, and answers that were
not understood. Plain data: the Rasa adapter (actions/flow.py) turns a Question into a
message with buttons and a NotUnderstood into a kind re-ask."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Tuple


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
