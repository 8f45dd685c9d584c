"""What one attempt to send a message came to (the worker marks the row by it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Outcome:
    sent: bool
    retry: bool = False  # not sent, but worth another attempt
    reason: Optional[str] = None  # a status code or an exception class, never the payload
