"""The screening as a sequence of questions: which one comes next, when to stop early, and
how a typed answer is understood. Loaded and validated once, at import."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from bot.dialog import SKIPPED, Option, Question

from .conditions import Clause, parse_condition
from .content import (
    ScreeningContentError,
    check_conditions,
    load_fit,
    load_instruments,
    load_parsing,
)
from .parsing import Parser
from .schema import FitFile, FitOption, FitQuestion, Instrument, ScoredOption

UNDER_18 = "under_18"
OUT_OF_STATE = "out_of_state"
# The comparisons a condition clause may make ("phq9.9 > 0").
_COMPARE: Dict[str, Callable[[Any, int], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


class Questionnaire:
    """All screening content, validated, with per-question phrase tables built once."""

    def __init__(self, instruments: Dict[str, Instrument], fit: FitFile, parser: Parser) -> None:
        order = [s for s in fit.sequence if s in instruments]
        self.instruments = {
            i: instruments[i] for i in order + [i for i in instruments if i not in order]
        }
        self.fit = fit
        self.parser = parser
        self.fit_questions: Dict[str, FitQuestion] = {q.key: q for q in fit.questions}
        self.tables: Dict[str, Dict[str, Any]] = {}
        for q in fit.questions:
            if q.kind == "choice":
                self.tables[q.key] = self._table(q.options, f"bot/screening/fit.yml: {q.key}")
        for inst in self.instruments.values():
            for n in range(1, len(inst.items) + 1):
                self.tables[inst.key(n)] = self._table(
                    inst.item_options(n), f"bot/screening/instruments/{inst.id}.yml: items.{n - 1}"
                )
        self.conditions: Dict[str, Tuple[Clause, ...]] = {}
        for inst in instruments.values():
            if inst.ask_when:
                self.conditions[inst.id] = parse_condition(inst.ask_when)
            for n, item in enumerate(inst.items, start=1):
                if item.ask_when:
                    self.conditions[inst.key(n)] = parse_condition(item.ask_when)

    def _table(
        self, options: Sequence[Union[ScoredOption, FitOption]], where: str
    ) -> Dict[str, Any]:
        try:
            return self.parser.phrase_table(options, where)
        except ValueError as exc:
            raise ScreeningContentError(str(exc)) from None

    # --- lookup ------------------------------------------------------------------------

    def locate(self, key: str) -> Tuple[Optional[Instrument], int]:
        """(instrument, item number) for an item key, (None, 0) for a fit question."""
        if key in self.fit_questions:
            return None, 0
        inst_id, _, n = key.partition(".")
        inst = self.instruments.get(inst_id)
        if inst is None or not n.isdigit() or not 1 <= int(n) <= len(inst.items):
            raise KeyError(f"unknown screening question '{key}'")
        return inst, int(n)

    def effective(self, answers: Mapping[str, Any], key: str) -> Any:
        """An answer as conditions and scores see it: a skipped item scores as the
        instrument's `skipped_value` when it has one (ASQ: a refusal)."""
        value = answers.get(key)
        if value == SKIPPED:
            try:
                inst, _ = self.locate(key)
            except KeyError:
                inst = None
            if inst is not None and inst.skipped_value is not None:
                return inst.skipped_value
        return value

    def holds(self, cond_key: str, answers: Mapping[str, Any]) -> bool:
        clauses = self.conditions.get(cond_key)
        if clauses is None:
            return True
        for key, op, num in clauses:
            raw = answers.get(key)
            if op == "skipped":
                if raw == SKIPPED:
                    return True
                continue
            if op == "answered":
                if raw is not None and raw != SKIPPED:
                    return True
                continue
            value = self.effective(answers, key)
            if value is None or value == SKIPPED or not isinstance(value, (int, float)):
                continue
            if num is not None and _COMPARE[op](value, num):  # a comparison has a number
                return True
        return False

    def applicable_items(self, inst: Instrument, answers: Mapping[str, Any]) -> List[int]:
        """Item numbers that apply given the answers so far (empty if the instrument does not)."""
        if not self.holds(inst.id, answers):
            return []
        return [n for n in range(1, len(inst.items) + 1) if self.holds(inst.key(n), answers)]

    # --- the flow ----------------------------------------------------------------------

    def stop_reason(self, answers: Mapping[str, Any], licensed_states: List[str]) -> Optional[str]:
        for q in self.fit.questions:
            value = answers.get(q.key)
            if value is None or value == SKIPPED:
                continue
            if (
                q.kind == "age"
                and q.eligible_from is not None
                and isinstance(value, int)
                and value < q.eligible_from
            ):
                return UNDER_18
        for q in self.fit.questions:
            value = answers.get(q.key)
            if (
                q.kind == "state"
                and isinstance(value, str)
                and value != SKIPPED
                and value.upper() not in {s.upper() for s in licensed_states}
            ):
                return OUT_OF_STATE
        return None

    def next_question(
        self, answers: Mapping[str, Any], licensed_states: List[str]
    ) -> Optional[Question]:
        if self.stop_reason(answers, licensed_states):
            return None
        for step in self.fit.sequence:
            if step in self.fit_questions:
                if step not in answers:
                    return self.question(step, answers)
                continue
            inst = self.instruments[step]
            for n in self.applicable_items(inst, answers):
                if inst.key(n) not in answers:
                    return self.question(inst.key(n), answers)
        return None

    def question(self, key: str, answers: Optional[Mapping[str, Any]] = None) -> Question:
        """The Question for a key (progress "(question 3 of 9)" counts the items that apply)."""
        inst, n = self.locate(key)
        if inst is None:
            q = self.fit_questions[key]
            return Question(
                key=key,
                text=q.text,
                help=q.help,
                skippable=q.skippable,
                options=tuple(Option(title=o.title, value=o.title) for o in q.options),
            )
        item = inst.items[n - 1]
        text = f"{inst.preamble} {item.text}".strip() if inst.preamble else item.text
        applicable = self.applicable_items(inst, answers or {}) or list(
            range(1, len(inst.items) + 1)
        )
        if len(applicable) > 1 and n in applicable:
            text = f"{text} (question {applicable.index(n) + 1} of {len(applicable)})"
        return Question(
            key=key,
            text=" ".join(text.split()),
            options=tuple(Option(title=o.title, value=o.title) for o in inst.item_options(n)),
            help=" ".join((item.help or inst.help).split()),
            skippable=item.skippable if item.skippable is not None else inst.skippable,
        )

    def parse_answer(self, key: str, text: str) -> Any:
        inst, n = self.locate(key)
        if inst is None:
            q = self.fit_questions[key]
            help_text = " ".join(q.help.split())
            if q.kind == "age":
                return self.parser.parse_age(
                    text or "",
                    q.min if q.min is not None else 0,
                    q.max if q.max is not None else 150,
                    help_text,
                )
            if q.kind == "state":
                return self.parser.parse_state(text or "", help_text)
            return self.parser.match_choice(
                text or "", q.options, self.tables[key], None, help_text
            )
        item = inst.items[n - 1]
        help_text = " ".join((item.help or inst.help).split())
        return self.parser.match_choice(
            text or "", inst.item_options(n), self.tables[key], inst.item_numbers(n), help_text
        )


def load_screening(
    instruments_dir: Optional[Path] = None,
    fit_path: Optional[Path] = None,
    parsing_path: Optional[Path] = None,
) -> Questionnaire:
    parsing = load_parsing(parsing_path)
    instruments = load_instruments(instruments_dir, parsing)
    fit = load_fit(fit_path, instruments, parsing)
    check_conditions(instruments, fit)
    return Questionnaire(instruments, fit, Parser(parsing))
