"""The couple's next step, from both partners' screening levels and safety flags.

Each partner is told only what concerns them. What partner A is told depends on partner B
only through one fact both will learn anyway: whether the couple goes on together (an IOP
place and a joint intake assessment). Whether B did not fit, needs another level of care, or
was flagged by the safety check all look the same to A ("the coordinators will arrange
individual assessments first"); tests/test_couples.py checks every combination.

Rules, for partner A (with their own level and flag), first match wins:
1. A's own safety check is positive           -> individual_first (waiting while B has not
                                                 finished: what an unflagged A would see)
2. A's own level is known and not iop_fit     -> own_path (the step from A's screening)
3. both iop_fit and both checks negative      -> iop_together (joint assessment)
4. B's level is known and not iop_fit, or B's check is positive -> individual_first
5. otherwise (someone has not finished)      -> waiting
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

IOP_FIT = "iop_fit"  # bot.screening's level for "IOP looks like a fit"

IOP_TOGETHER = "iop_together"
INDIVIDUAL_FIRST = "individual_first"
OWN_PATH = "own_path"
WAITING = "waiting"
OUTCOMES = (IOP_TOGETHER, INDIVIDUAL_FIRST, OWN_PATH, WAITING)


@dataclass(frozen=True)
class PartnerState:
    """One partner as far as the couple's next step goes."""

    level: Optional[str] = None  # bot.screening's level; None: screening not finished
    safety_flag: Optional[bool] = None  # None: the safety check is not done yet


@dataclass(frozen=True)
class PartnerOutcome:
    outcome: str  # one of OUTCOMES: the key of its text in texts.yml
    text: str = ""
    offer: List[str] = field(default_factory=list)


def together(a: PartnerState, b: PartnerState) -> Optional[bool]:
    """True: IOP together; False: not together (for any reason); None: not decided yet."""
    if a.safety_flag or b.safety_flag:
        return False
    if any(p.level is not None and p.level != IOP_FIT for p in (a, b)):
        return False
    if a.level == b.level == IOP_FIT and a.safety_flag is False and b.safety_flag is False:
        return True
    return None


def partner_outcome(me: PartnerState, other: PartnerState) -> str:
    """The outcome key for `me`: see the rules at the top."""
    if me.safety_flag:
        # Shown right after the private questions, possibly on a shared screen: until the
        # other partner has finished, the same "waiting" an unflagged partner would see.
        finished = other.level is not None and other.safety_flag is not None
        return INDIVIDUAL_FIRST if finished or other.safety_flag else WAITING
    if me.level is not None and me.level != IOP_FIT:
        return OWN_PATH
    decided = together(me, other)
    if decided is True:
        return IOP_TOGETHER
    if decided is False:
        return INDIVIDUAL_FIRST
    return WAITING


@dataclass(frozen=True)
class JointRecommendation:
    """For coordinators and clinicians only: both partners' inputs and what each was told."""

    together: Optional[bool]
    reasons: List[str]
    outcomes: List[str]  # per partner, in the order given


def joint_recommendation(partners: List[PartnerState]) -> JointRecommendation:
    """The clinician-facing summary for a couple (two PartnerStates, inviter first)."""
    if len(partners) != 2:
        raise ValueError("a couple has two partners")
    a, b = partners
    reasons: List[str] = []
    for n, p in enumerate(partners, start=1):
        if p.safety_flag:
            reasons.append(f"partner {n}: relationship-safety check positive (see them alone)")
        elif p.safety_flag is None:
            reasons.append(f"partner {n}: relationship-safety check not done")
        if p.level is None:
            reasons.append(f"partner {n}: screening not finished")
        elif p.level != IOP_FIT:
            reasons.append(f"partner {n}: screening level {p.level}")
    return JointRecommendation(
        together=together(a, b),
        reasons=reasons,
        outcomes=[partner_outcome(a, b), partner_outcome(b, a)],
    )
