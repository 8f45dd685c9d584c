"""The tiny condition language of `ask_when` in the screening content:
"phq9.9 > 0 or phq9.9 skipped"."""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

_CLAUSE = re.compile(
    r"^\s*([a-z0-9_]+\.[a-z0-9_]+|[a-z0-9_]+)"  # the key: "phq9.9" or "age"
    r"\s*(?:(>=|<=|==|!=|>|<)\s*(-?\d+)|(skipped|answered))\s*$"
)

Clause = Tuple[str, str, Optional[int]]  # (key, op, number); "skipped"/"answered" has no number


def parse_condition(text: str) -> Tuple[Clause, ...]:
    """A tiny condition language: clauses `KEY OP NUMBER` or `KEY skipped|answered`, joined
    by `or`. Raises ValueError naming the bad clause."""
    clauses: List[Clause] = []
    for part in re.split(r"\s+or\s+", text.strip()):
        m = _CLAUSE.match(part)
        if not m:
            raise ValueError(
                f"cannot read condition clause '{part}' "
                "(expected e.g. 'phq9.9 > 0' or 'phq9.9 skipped')"
            )
        key, op, num, word = m.groups()
        clauses.append((key, word, None) if word else (key, op, int(num)))
    return tuple(clauses)
