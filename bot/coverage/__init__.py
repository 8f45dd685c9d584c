"""Insurance coverage checks for outpatient mental health and substance use care: parse the
answers, ask the clearinghouse (Stedi's real-time eligibility JSON API, or the local
sandbox), explain the benefits in plain words, store the check encrypted.

No Rasa imports: actions/ adapts this to the conversation.
"""

from typing import TYPE_CHECKING, Callable

from .check import CoverageRequest, build_payload, check_coverage
from .client import ClearinghouseError, EligibilityClient, client_from_env
from .interpret import Benefits, CoverageResult, interpret
from .parsing import (
    PLAN_TYPES,
    RELATIONS,
    parse_dob,
    parse_member_id,
    parse_name,
    parse_plan_type,
    parse_relation,
)
from .payers import Payer, PayerFileError, match_payer

if TYPE_CHECKING:  # at run time these come lazily from __getattr__ below
    from .records import checks_for as checks_for
    from .records import record_check as record_check
    from .records import request_followup as request_followup

__all__ = [
    "Benefits",
    "ClearinghouseError",
    "CoverageRequest",
    "CoverageResult",
    "EligibilityClient",
    "PLAN_TYPES",
    "Payer",
    "PayerFileError",
    "RELATIONS",
    "build_payload",
    "check_coverage",
    "client_from_env",
    "interpret",
    "match_payer",
    "parse_dob",
    "parse_member_id",
    "parse_name",
    "parse_plan_type",
    "parse_relation",
    "record_check",
    "request_followup",
]


def __getattr__(name: str) -> Callable[..., object]:
    # Storage is imported lazily: bot.store imports bot.coverage.models.
    if name in ("record_check", "request_followup", "checks_for"):
        from . import records

        return getattr(records, name)
    raise AttributeError(name)
