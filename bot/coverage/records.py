"""Storing coverage checks and asking a coordinator to follow up."""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select

from bot import handoff
from bot.store import session

from .check import CoverageRequest
from .interpret import CoverageResult
from .models import CoverageCheck

FOLLOWUP_KIND = "coverage_followup"


def record_check(
    conversation_id: str,
    request: CoverageRequest,
    result: CoverageResult,
    db_url: Optional[str] = None,
) -> int:
    """Save one check (PHI encrypted); returns its id."""
    with session(db_url) as s:
        row = CoverageCheck(
            conversation_id=conversation_id,
            payer_id=request.payer.payer_id,
            plan_type=request.plan_type,
            status=result.status,
            reason=result.reason,
            aaa_code=result.aaa_code,
            request=request.summary(),
            result=result.to_dict(),
        )
        s.add(row)
        s.flush()
        return row.id


def checks_for(conversation_id: str, db_url: Optional[str] = None) -> List[CoverageCheck]:
    with session(db_url) as s:
        return list(
            s.execute(
                select(CoverageCheck)
                .where(CoverageCheck.conversation_id == conversation_id)
                .order_by(CoverageCheck.id)
            )
            .scalars()
            .all()
        )


def request_followup(conversation_id: str, reason: str, db_url: Optional[str] = None) -> int:
    """ "A coordinator will verify and contact you": an escalation of kind coverage_followup.
    `reason` is a short label (payer_unavailable, timeout, carve_out, duplicate, ...), never PHI."""
    return handoff.escalate(
        conversation_id,
        kind=FOLLOWUP_KIND,
        reason=(reason or "coverage")[:64],
        priority=handoff.PRIORITY_REQUEST,
        db_url=db_url,
    )
