"""The relationship-safety check (safety.yml): the private-place gate, the questions, reading
typed answers, scoring, and storing the result encrypted.

Answers are a mapping like the screening's: `relationship_safety.private` -> the gate
option's value ("private" / "later"), `relationship_safety.<item id>` -> an option value
("yes" / "no" / "not_saying") or SKIPPED. Any positive option or skipped item flags the
person. The flag is stored encrypted and is read back only by the clinician-facing
functions (bot.couples.records); `save_safety_check` returns nothing about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.dialog import SKIPPED, NotUnderstood, Option, Question, normalize, parse_yes_no
from bot.store import session, utcnow

from .models import SafetyCheck
from .schema import SafetyFile


@dataclass(frozen=True)
class SafetyResult:
    flagged: bool  # any positive answer (or skipped item)
    complete: bool  # the gate was passed and every item answered or skipped
    deferred: bool  # the person was not somewhere private: nothing was asked


def _key_text(text: str) -> str:
    return normalize(text).replace("'", "")


class SafetyQuestions:
    """One loaded safety.yml, with the questions in order and their parsing."""

    def __init__(self, content: SafetyFile) -> None:
        self.content = content
        self.gate_key = f"{content.id}.private"
        self.item_keys = [f"{content.id}.{item.id}" for item in content.items]
        self._items = dict(zip(self.item_keys, content.items, strict=True))
        # What a plain "yes" / "no" means: I'm alone / not now; yes / no.
        gate = content.gate.options
        self._gate_yes_no = (
            next(o.value for o in gate if o.private),
            next(o.value for o in gate if not o.private),
        )
        values = [o.value for o in content.options]
        self._item_yes_no = (
            "yes" if "yes" in values else next(o.value for o in content.options if o.positive),
            "no" if "no" in values else next(o.value for o in content.options if not o.positive),
        )

    @property
    def keys(self) -> List[str]:
        return [self.gate_key, *self.item_keys]

    def next_question(self, answers: Mapping[str, Any]) -> Optional[Question]:
        """The next question, or None when the check is done or deferred (not private)."""
        if self.gate_key not in answers:
            return self.question(self.gate_key)
        if not self._private(answers):
            return None
        for key in self.item_keys:
            if key not in answers:
                return self.question(key)
        return None

    def question(self, key: str) -> Question:
        c = self.content
        if key == self.gate_key:
            return Question(
                key=key,
                text=" ".join(c.gate.text.split()),
                options=tuple(Option(o.title, o.title) for o in c.gate.options),
                help=c.gate.help,
                skippable=False,
            )
        item = self._items.get(key)
        if item is None:
            raise KeyError(f"no safety question '{key}'")
        first = key == self.item_keys[0]
        text = " ".join(item.text.split())
        return Question(
            key=key,
            # The promise of privacy comes before the first question, in the same bubble.
            text=f"{' '.join(c.intro.split())}\n\n{text}" if first else text,
            options=tuple(Option(o.title, o.title) for o in c.options),
            help=c.help,
        )

    def parse_answer(self, key: str, text: str) -> str:
        """The option value a reply means; NotUnderstood (with the help text) otherwise."""
        c = self.content
        if key == self.gate_key:
            found = self._match(c.gate.options, text, self._gate_yes_no)
            if found is None:
                raise NotUnderstood(c.gate.help)
            return found
        if key not in self._items:
            raise KeyError(f"no safety question '{key}'")
        found = self._match(c.options, text, self._item_yes_no)
        if found is None:
            raise NotUnderstood(c.help)
        return found

    @staticmethod
    def _match(options: Sequence[Any], text: str, yes_no: Tuple[str, str]) -> Optional[str]:
        said = _key_text(text)
        for o in options:
            if said in {_key_text(o.title), *(_key_text(s) for s in o.synonyms)}:
                return str(o.value)
        try:  # "yes", "yeah", "nope" in any of bot.dialog's ways
            return yes_no[0] if parse_yes_no(text, whole=True) else yes_no[1]
        except NotUnderstood:
            return None

    def score(self, answers: Mapping[str, Any]) -> SafetyResult:
        if self.gate_key not in answers or not self._private(answers):
            return SafetyResult(flagged=False, complete=False, deferred=self.gate_key in answers)
        positive = {o.value for o in self.content.options if o.positive}
        given = [answers.get(k) for k in self.item_keys]
        flagged = any(a == SKIPPED or a in positive for a in given)
        complete = all(a is not None for a in given)
        return SafetyResult(flagged=flagged, complete=complete, deferred=False)

    def _private(self, answers: Mapping[str, Any]) -> bool:
        ways_in = {o.value for o in self.content.gate.options if o.private}
        return answers.get(self.gate_key) in ways_in

    def closing(self) -> Tuple[str, str]:
        """What everyone is told at the end, whatever they answered: thanks, then resources."""
        c = self.content
        return " ".join(c.closing.split()), " ".join(c.resources.split())

    def later(self) -> str:
        """What to say when the person is not somewhere private."""
        return " ".join(self.content.gate.later.split())


def save_safety_check(
    questions: SafetyQuestions,
    conversation_id: str,
    answers: Mapping[str, Any],
    now: Optional[datetime] = None,
    db_url: Optional[str] = None,
) -> None:
    """Store a finished check, encrypted. Returns nothing: the caller is partner-facing."""
    result = questions.score(answers)
    if not result.complete:
        raise ValueError("only a finished relationship-safety check is stored")
    kept: Dict[str, Any] = {k: answers[k] for k in questions.keys}
    with session(db_url) as s:
        s.add(
            SafetyCheck(
                conversation_id=conversation_id,
                created_at=now or utcnow(),
                result={"answers": kept, "flagged": result.flagged},
            )
        )


def safety_checked(conversation_id: str, db_url: Optional[str] = None) -> bool:
    """Whether this person finished the check (partner-facing: says nothing of the answers)."""
    with session(db_url) as s:
        found = s.query(SafetyCheck.id).filter(SafetyCheck.conversation_id == conversation_id)
        return found.first() is not None
