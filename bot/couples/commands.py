"""Two couples messages read by rule, not by the classifier (components/couples_commands.py):
an invitation code typed on its own ("7KQ2-M9XD", "my code is 7kq2 m9xd") joins a partner,
and "private questions" (what the safety check's "not right now" tells people to say) starts
the private relationship-safety check. Plain text in, an intent name or None out.
"""

from __future__ import annotations

import re
from typing import Optional

from .invitations import find_code, normalize_code

JOIN = "join_couple"
SAFETY = "relationship_safety"

_PRIVATE = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|yes|hi),?\s+)?(?:(?:i'?m|i am)\s+(?:ready|alone|private)\s+"
    r"(?:now\s+)?(?:for\s+)?(?:the\s+)?|(?:let'?s\s+do|start|do|ask\s+me)\s+(?:the\s+)?)?"
    r"private\s+questions?\W*$",
    re.IGNORECASE,
)
_MENTIONS_CODE = re.compile(r"\b(?:code|invite|invitation)\b", re.IGNORECASE)
MAX_WORDS_WITH_CODE = 10


def command_intent(text: str) -> Optional[str]:
    t = (text or "").strip()
    if not t or t.startswith("/"):
        return None  # a button's payload already names its intent
    if _PRIVATE.match(t):
        return SAFETY
    # A word typed alone is a code only with a digit typed in it ("together" reads as
    # T0GETHER once O counts as zero), and a letter.
    # A date ("01-02-1990") or a number is not a code: a letter and a digit, as typed.
    if normalize_code(t) and any(ch.isdigit() for ch in t) and any(ch.isalpha() for ch in t):
        return JOIN
    if _MENTIONS_CODE.search(t) and len(t.split()) <= MAX_WORDS_WITH_CODE and find_code(t):
        return JOIN
    return None
