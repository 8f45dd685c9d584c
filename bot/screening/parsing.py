"""Understanding typed answers (and button payloads, which are typed answers too).

Data lives in parsing.yml (phrase groups, number words, state names) and in each option's
`synonyms`. The order of attempts for a choice question:

1. a message that is clearly a question ("how many days a week is it?") is not an answer,
   unless the whole message is a clean answer ("several days?");
2. the whole message is an option title or synonym;
3. phrases found inside the message, longest first ("I'd say more than half the days");
   phrases that mean "not sure" / "rather not say" block an answer for questions that
   have no such option, and "not <phrase>" is never read as <phrase>;
4. numbers, as the item's `numbers` rule says (a score 0-3, "3 days", "8 drinks",
   "3 times a week");
5. a close spelling of a whole option phrase (difflib), for cheap typo tolerance.

Anything else raises NotUnderstood with the question's help text. Nothing here logs.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Dict, List, Optional, Sequence

from bot.dialog import NotUnderstood
from bot.profile import US_STATES

from .schema import NumberRule, ParsingFile, Range

_BLOCK = object()  # a phrase that means "not an answer to this question"
BLOCKING_GROUPS = ("refuse", "unsure")


class Parser:
    def __init__(self, data: ParsingFile):
        self.data = data
        self._numbers = dict(data.numbers)
        self._tens = dict(data.tens)
        self.states: Dict[str, str] = {}
        for code, names in data.states.items():
            for name in names:
                self.states[self.normalize(name)] = code
        self.codes = set(US_STATES)

    # --- normalisation -----------------------------------------------------------------

    def normalize(self, text: str) -> str:
        t = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
        t = t.replace("'", "")
        t = re.sub(r"[\u2013\u2014]", "-", t)
        t = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", t)  # twenty-one, non-stop
        t = re.sub(r"(\d)\s*-\s*(?=\d)", r"\1 to ", t)  # 2-4 -> 2 to 4
        t = re.sub(r"(\d)\s*\+", r"\1 or more ", t)  # 10+ -> 10 or more
        t = re.sub(r"(\d)\s*/\s*7\b", r"\1 7", t)  # 24/7
        t = re.sub(r"[^a-z0-9 ]+", " ", t)
        words = t.split()
        out: List[str] = []
        i = 0
        while i < len(words):
            w = words[i]
            if w in self._tens:
                n = self._tens[w]
                if (
                    i + 1 < len(words)
                    and words[i + 1] in self._numbers
                    and 0 < self._numbers[words[i + 1]] < 10
                ):
                    n += self._numbers[words[i + 1]]
                    i += 1
                out.append(str(n))
            elif w in self._numbers:
                out.append(str(self._numbers[w]))
            else:
                out.append(w)
            i += 1
        return " ".join(out)

    def is_question(self, raw: str, norm: str) -> bool:
        words = norm.split()
        if raw.strip().endswith("?"):
            return True
        return (
            bool(words)
            and words[0] in self.data.question_words
            and len(words) >= self.data.question_min_words
        )

    # --- choice questions --------------------------------------------------------------

    def phrase_table(self, options: Sequence[Any], where: str) -> Dict[str, Any]:
        """normalised phrase -> option value (or _BLOCK). Raises ValueError on a phrase that
        two options claim."""
        table: Dict[str, Any] = {}
        used_groups = set()
        for opt in options:
            phrases = [opt.title, *opt.synonyms]
            for g in opt.groups:
                used_groups.add(g)
                phrases.extend(self.data.groups[g])
            for p in phrases:
                key = self.normalize(p)
                if not key:
                    continue
                if key in table and table[key] != opt.value:
                    raise ValueError(f"{where}: the phrase '{p}' means two different options")
                table[key] = opt.value
        for g in BLOCKING_GROUPS:
            if g in used_groups or g not in self.data.groups:
                continue
            for p in self.data.groups[g]:
                table.setdefault(self.normalize(p), _BLOCK)
        return table

    def match_choice(
        self,
        raw: str,
        options: Sequence[Any],
        table: Dict[str, Any],
        numbers: Optional[NumberRule],
        help_text: str,
    ) -> Any:
        norm = self.normalize(raw)
        if not norm:
            raise NotUnderstood(help_text)
        # 2. the whole message
        if norm in table and table[norm] is not _BLOCK:
            return table[norm]
        if self.is_question(raw, norm) and not (numbers and re.fullmatch(r"\d+", norm)):
            raise NotUnderstood(help_text)
        if norm in table:  # a blocking phrase on its own
            raise NotUnderstood(help_text)
        # 3. phrases inside the message, longest first
        found = self._phrases_in(norm, table)
        if found is not None:
            values = set(found)
            if _BLOCK in values or len(_distinct(found)) != 1:
                raise NotUnderstood(help_text)
            return found[0]
        # 4. numbers
        if numbers is not None:
            value = self._by_numbers(norm, numbers, [o.value for o in options])
            if value is not None:
                return value
        # 5. a close spelling of a whole phrase
        if len(norm) >= 4:
            close = difflib.get_close_matches(norm, list(table), n=1, cutoff=self.data.fuzzy_cutoff)
            if close and table[close[0]] is not _BLOCK:
                return table[close[0]]
        raise NotUnderstood(help_text)

    def _phrases_in(self, norm: str, table: Dict[str, Any]) -> Optional[List[Any]]:
        text = f" {norm} "
        found: List[Any] = []
        for phrase in sorted(table, key=len, reverse=True):
            pat = f" {phrase} "
            while pat in text:
                at = text.index(pat)
                # "not every day" is not "every day"
                if not phrase.startswith("not ") and text[: at + 1].endswith(" not "):
                    found.append(_BLOCK)
                else:
                    found.append(table[phrase])
                text = text[:at] + " | " + text[at + len(pat) :]
        return found or None

    def _by_numbers(self, norm: str, rule: NumberRule, values: List[Any]) -> Optional[int]:
        got: List[int] = []
        for m in re.finditer(r"(\d+)(?: (?:to|or) (\d+))?((?: \w+){0,4})", norm):
            low = int(m.group(1))
            high = int(m.group(2)) if m.group(2) else low
            tail = m.group(3).split()
            unit = None
            for w in tail:
                if w in ("week", "weeks", "weekly", "wk"):
                    unit = "week"
                    break
                if w in ("month", "months", "monthly"):
                    unit = "month"
                    break
                if w in ("year", "years", "yr"):
                    unit = "year"
                    break
            if unit is None and tail and tail[0] in ("day", "days"):
                unit = "day"
            ranges = {
                "week": rule.per_week,
                "month": rule.per_month,
                "day": rule.days,
                None: rule.count,
            }.get(unit)
            for n in {low, high}:
                if ranges:
                    v = _in_ranges(n, ranges)
                    if v is None:
                        return None
                    got.append(v)
                elif unit is None and rule.score and n in values:
                    got.append(n)
                else:
                    return None
        if not got:
            return None
        return max(got)  # "4 or 5" spanning two options: the higher, the cautious reading

    # --- ages and states ----------------------------------------------------------------

    def parse_age(self, raw: str, lo: int, hi: int, help_text: str) -> int:
        norm = self.normalize(raw)
        if self.is_question(raw, norm) and not re.fullmatch(r"\d+", norm):
            raise NotUnderstood(help_text)
        nums = {int(n) for n in re.findall(r"\d+", norm)}
        if len(nums) != 1:
            raise NotUnderstood(help_text)
        age = nums.pop()
        if not lo <= age <= hi:
            raise NotUnderstood(help_text)
        return age

    _AMBIGUOUS_CODES = {
        "in",
        "me",
        "or",
        "ok",
        "hi",
        "oh",
        "id",
        "de",
        "pa",
        "ma",
        "al",
        "co",
        "la",
        "mo",
        "ne",
        "wa",
        "ga",
        "ar",
        "ms",
        "md",
        "mt",
        "sc",
    }

    def parse_state(self, raw: str, help_text: str) -> str:
        norm = self.normalize(raw)
        if not norm:
            raise NotUnderstood(help_text)
        if norm in self.states:
            return self.states[norm]
        if norm.upper() in self.codes and len(norm) == 2:
            return norm.upper()
        if self.is_question(raw, norm):
            raise NotUnderstood(help_text)
        found = self._phrases_in(norm, self.states)
        if found:
            if len(set(found)) == 1:
                return found[0]
            raise NotUnderstood(help_text)
        codes = {w for w in re.findall(r"\b[A-Z]{2}\b", raw) if w in self.codes}
        codes |= {
            w.upper()
            for w in norm.split()
            if w.upper() in self.codes and w not in self._AMBIGUOUS_CODES
        }
        if len(codes) == 1:
            return codes.pop()
        if codes:
            raise NotUnderstood(help_text)
        words = norm.split()
        grams = {" ".join(words[i : i + k]) for k in (1, 2, 3) for i in range(len(words) - k + 1)}
        hits = set()
        for g in grams:
            if len(g) < 4:
                continue
            close = difflib.get_close_matches(
                g, list(self.states), n=1, cutoff=self.data.fuzzy_cutoff
            )
            if close:
                hits.add(self.states[close[0]])
        if len(hits) == 1:
            return hits.pop()
        raise NotUnderstood(help_text)


def _distinct(values: List[Any]) -> List[Any]:
    out: List[Any] = []
    for v in values:
        if not any(v is o or (type(v) is type(o) and v == o) for o in out):
            out.append(v)
    return out


def _in_ranges(n: int, ranges: Sequence[Range]) -> Optional[int]:
    for r in ranges:
        if n >= r.min and (r.max is None or n <= r.max):
            return r.value
    return None


__all__ = ["Parser", "NotUnderstood"]
