"""Couples enrollment, the domain core (plain Python, no Rasa): two partners, each a client
with their own conversation, consent, screening and privacy, linked for scheduling and
cohort. Content is data, validated at import (`python -m bot.couples` checks it):
`safety.yml` (the relationship-safety check, each item with source, licence and why it may
be used) and `texts.yml` (what a partner is told). Tables: bot/couples/models.py.

Partner-facing (a path that answers a partner may call only these):

    inv = create_invitation(conv)            # Invitation(token, code "7KQ2-M9XD", expires_at)
    TEXTS.invitation.created.format(code=inv.code, days=...)   # the link carries inv.token
    invitation_status(conv)                  # pending/accepted/expired/declined/revoked/None
    status_reply(status)                     # ...said kindly (TEXTS.invitation.status)
    revoke_invitation(conv)                  # True when one was waiting
    may_go_on_alone(conv)                    # True: go on as an individual (TEXTS ... go_on_alone)
    code = find_code(text)                   # None: "that doesn't look like a code" (not counted)
    result = accept_invitation(conv2, code=code)   # or token=...; decline_invitation(...)
    join_reply(result)                       # the one text per outcome; NOT_VALID for every
                                             # reused/expired/revoked/mistyped/guessed code
    q = safety_question(answers)             # the private-place gate first; None: done/deferred
    answers[q.key] = parse_safety_answer(q.key, text)   # NotUnderstood: re-ask
    save_safety_check(conv, answers)         # encrypted; returns nothing
    safety_checked(conv)                     # True once this person finished the check
    safety_closing()                         # (thanks, resources): the same for everyone
    next_step(conv)                          # PartnerOutcome(outcome, text, offer) or None
    shared_record(conv)                      # cohort, track, joint booking: same for both
    set_joint_booking(couple_id, booking_code)
    joint.joint_booking(conv) / joint.propose(conv, code) / joint.confirm(conv)
                                             # the joint assessment: one books, one confirms
    commands.command_intent(text)            # a typed code / "private questions" (NLU rule)

Staff-facing (audited in the audit log): `clinician_view(couple_id, coordinator_id)` (both
partners, levels, private safety flags and answers, the joint recommendation),
`set_cohort(couple_id, coordinator_id, cohort, track)`, `couple_id_of(conv)`,
`hide_invitations(text)` (a transcript line with any invitation link or code masked).

Rules that hold everywhere: no function here logs; no partner-facing function returns the
other partner's conversation id, level, answers or flag; what a partner is told about the
next step depends on the other partner only through whether the couple goes on together
(bot/couples/recommend.py). Guessing codes is limited (bot/couples/invitations.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Optional, Tuple

from bot.dialog import Question

from . import records as _records
from . import safety as _safety
from .content import CouplesContentError, load_safety, load_texts
from .invitations import (
    ALREADY_IN_COUPLE,
    DECLINED,
    JOINED,
    LIMITS,
    NOT_VALID,
    OWN_INVITATION,
    TOO_MANY_ATTEMPTS,
    AlreadyLinked,
    GuessLimits,
    Invitation,
    JoinResult,
    accept_invitation,
    create_invitation,
    decline_invitation,
    display_code,
    find_code,
    hide_invitations,
    invitation_status,
    may_go_on_alone,
    revoke_invitation,
)
from .recommend import (
    OUTCOMES,
    JointRecommendation,
    PartnerOutcome,
    PartnerState,
    joint_recommendation,
    partner_outcome,
)
from .records import (
    ClinicianView,
    CoupleError,
    PartnerDetail,
    SharedRecord,
    clinician_view,
    couple_id_of,
    set_cohort,
    set_joint_booking,
    shared_record,
)
from .safety import SafetyQuestions, SafetyResult, safety_checked

SAFETY = SafetyQuestions(load_safety())
TEXTS = load_texts()


def join_reply(result: JoinResult) -> str:
    """What to say after accept_invitation / decline_invitation."""
    return " ".join(getattr(TEXTS.invitation, result.outcome).split())


def status_reply(status: str) -> str:
    """What to tell the first partner about their invitation (invitation_status)."""
    return " ".join(getattr(TEXTS.invitation.status, status).split())


def safety_question(answers: Mapping[str, Any]) -> Optional[Question]:
    return SAFETY.next_question(answers)


def parse_safety_answer(key: str, text: str) -> str:
    return SAFETY.parse_answer(key, text)


def safety_closing() -> Tuple[str, str]:
    return SAFETY.closing()


def score_safety(answers: Mapping[str, Any]) -> SafetyResult:
    """The result of answers just given, e.g. to alert the clinicians. Never use it to choose
    what either partner is shown: everyone gets safety_closing()."""
    return SAFETY.score(answers)


def save_safety_check(
    conversation_id: str,
    answers: Mapping[str, Any],
    now: Optional[datetime] = None,
    db_url: Optional[str] = None,
) -> None:
    _safety.save_safety_check(SAFETY, conversation_id, answers, now, db_url)


def next_step(conversation_id: str, db_url: Optional[str] = None) -> Optional[PartnerOutcome]:
    """What this partner is told about the couple's next step; None when not linked."""
    key = _records.next_step(conversation_id, db_url)
    if key is None:
        return None
    entry = getattr(TEXTS.outcomes, key)
    return PartnerOutcome(key, " ".join(entry.text.split()), list(entry.offer))


__all__ = [
    "ALREADY_IN_COUPLE",
    "DECLINED",
    "JOINED",
    "LIMITS",
    "NOT_VALID",
    "OUTCOMES",
    "OWN_INVITATION",
    "SAFETY",
    "TEXTS",
    "TOO_MANY_ATTEMPTS",
    "AlreadyLinked",
    "ClinicianView",
    "CoupleError",
    "CouplesContentError",
    "GuessLimits",
    "Invitation",
    "JoinResult",
    "JointRecommendation",
    "PartnerDetail",
    "PartnerOutcome",
    "PartnerState",
    "SafetyQuestions",
    "SafetyResult",
    "SharedRecord",
    "accept_invitation",
    "clinician_view",
    "couple_id_of",
    "create_invitation",
    "decline_invitation",
    "display_code",
    "find_code",
    "hide_invitations",
    "invitation_status",
    "join_reply",
    "joint_recommendation",
    "load_safety",
    "load_texts",
    "may_go_on_alone",
    "next_step",
    "parse_safety_answer",
    "partner_outcome",
    "revoke_invitation",
    "safety_checked",
    "safety_closing",
    "safety_question",
    "save_safety_check",
    "score_safety",
    "set_cohort",
    "set_joint_booking",
    "shared_record",
    "status_reply",
]
