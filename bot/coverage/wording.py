"""The insurance check's words: what a CoverageResult means, in plain language, and what to
ask when the insurer rejected one of the answers. The only place these texts live.

Pure functions: no I/O, no logging.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, List, Optional

from bot.profile.schema import PLAN_NAMES  # how a plan type is named in a reply

from .interpret import Benefits, CoverageResult, Range

ESTIMATE = "This is an estimate, not a guarantee of payment."
COORDINATOR_VERIFIES = "An intake coordinator will verify your benefits and contact you."

# The answers an insurer can reject that the person can correct: what to ask once.
CORRECTIONS = {
    "member_id": "Your insurer couldn't find that member ID. Could you check your card and type "
    "it again, exactly as shown?",
    "dob": "Your insurer has a different date of birth for the policyholder. Could you check it "
    "and type it again?",
    "name": "Your insurer couldn't match the policyholder's name. Please type it exactly as it "
    "appears on the card.",
    # About the patient as a dependent on someone else's plan (their own details).
    "patient_dob": "Your insurer has a different date of birth for you on this plan. Could you "
    "check it and type it again?",
    "patient_name": "Your insurer couldn't match your name on this plan. Please type it exactly "
    "as the insurer has it (as on your card, if you have one).",
    "patient": "Your insurer couldn't find you on this plan. Please type your name and date of "
    "birth exactly as the insurer has them.",
}
CANNOT_MATCH = {
    "member_id": "the member ID",
    "dob": "the date of birth",
    "name": "the policyholder's name",
    "patient_dob": "your date of birth on this plan",
    "patient_name": "your name on this plan",
    "patient": "you on this plan",
}


def correction(r: CoverageResult) -> Optional[str]:
    """What to ask when the insurer rejected an answer the person can correct; None when
    there is nothing they can fix."""
    return CORRECTIONS.get(r.error_field or "") if r.status == "error" else None


# --- benefits ----------------------------------------------------------------------------


def money(v: Decimal) -> str:
    v = Decimal(v)
    return f"${v:,.0f}" if v == v.to_integral_value() else f"${v:,.2f}"


def _pct(v: Decimal) -> str:
    v = Decimal(v).normalize()
    return f"{v:f}".rstrip("0").rstrip(".") + "%" if "." in f"{v:f}" else f"{v:f}%"


def _range(r: Range, fmt: Callable[[Decimal], str]) -> str:
    return fmt(r.low) if r.low == r.high else f"{fmt(r.low)} to {fmt(r.high)}"


def describe(b: Benefits) -> str:
    """'deductible $1,500 ($600 left to meet), then 20% coinsurance; out-of-pocket maximum
    $5,000 ($3,100 left)'"""
    parts = []
    if b.deductible is not None:
        if b.deductible == 0:
            parts.append("no deductible")
        elif b.deductible_remaining is not None and b.deductible_remaining == 0:
            parts.append(f"deductible {money(b.deductible)} (already met)")
        elif b.deductible_remaining is not None:
            parts.append(
                f"deductible {money(b.deductible)} ({money(b.deductible_remaining)} left to meet)"
            )
        else:
            parts.append(f"deductible {money(b.deductible)}")
    cost = []
    if b.copay is not None:
        cost.append(
            "$0 copay" if b.copay.high == 0 else f"{_range(b.copay, money)} copay per visit"
        )
    if b.coinsurance is not None:
        cost.append(
            "no coinsurance"
            if b.coinsurance.high == 0
            else f"{_range(b.coinsurance, _pct)} coinsurance"
        )
    if cost:
        joined = " and ".join(cost)
        parts.append(("then " + joined) if parts and b.deductible else joined)
    first = ", ".join(parts)
    oop = ""
    if b.oop_max is not None:
        oop = f"out-of-pocket maximum {money(b.oop_max)}"
        if b.oop_remaining is not None:
            oop += (
                " (already reached)"
                if b.oop_remaining == 0
                else f" ({money(b.oop_remaining)} left)"
            )
    return "; ".join(p for p in (first, oop) if p)


def render(r: CoverageResult) -> List[str]:
    payer = r.payer_name or "your insurance"
    plan = PLAN_NAMES.get(r.plan_type or "", "")
    plan_words = (
        f"your {payer} {plan} plan".replace("  ", " ")
        if r.payer_name
        else f"your {plan} plan".replace("  ", " ")
    )
    if r.patient_relation:  # covered as a dependent on someone else's plan
        plan_words = "your coverage on " + plan_words.replace("your ", "the ", 1)
    if r.status == "error":
        # The final word: a correction, if any, was already asked for (see `correction`).
        if r.error_field in CANNOT_MATCH:
            return [
                f"Your insurer still couldn't match {CANNOT_MATCH[r.error_field]}, so I can't "
                f"confirm your benefits here. {COORDINATOR_VERIFIES}"
            ]
        if r.error_field == "person":
            return [
                "The insurer found more than one person with these details, so I can't "
                f"confirm this one here. {COORDINATOR_VERIFIES}"
            ]
        return [
            f"I couldn't complete the check with your insurer. {COORDINATOR_VERIFIES} "
            "Nothing else is needed from you right now."
        ]
    if r.status == "unavailable":
        return [
            "Your insurer's system isn't answering right now, so I couldn't check your "
            "benefits. An intake coordinator will verify them and contact you; you don't need "
            "to do anything else."
        ]
    if r.status == "inactive":
        return [
            f"I'm sorry: {plan_words} shows as not active right now. "
            "Plans sometimes change or end. A coordinator can double-check with you and go "
            "over other options, including self-pay.",
            "This is what the insurer told us just now. " + ESTIMATE,
        ]
    # active
    if r.reason == "dependent_not_confirmed":
        the_plan = plan_words.replace("your ", "The ", 1)
        return [
            f"{the_plan} is active, but your insurer answered about the policyholder only, so "
            f"I can't confirm your own coverage on it here. {COORDINATOR_VERIFIES}"
        ]
    out: List[str] = []
    if r.carve_out:
        out.append(
            f"Good news: {plan_words} is active. Your behavioral health benefits are managed by "
            f"{r.carve_out}; a coordinator will confirm your mental health and substance use "
            "benefits with them and contact you."
        )
    elif r.in_network is not None:
        out.append(
            f"Good news: {plan_words} is active. For outpatient mental health and substance "
            f"use care in network: {describe(r.in_network)}."
        )
    elif r.out_of_network is not None:
        out.append(
            f"Good news: {plan_words} is active. It shows out-of-network benefits for "
            "outpatient mental health and substance use care: "
            f"{describe(r.out_of_network)}. A coordinator will check how this applies to our "
            "program."
        )
    else:
        out.append(
            f"Good news: {plan_words} is active. The insurer didn't list mental health "
            "details, so a coordinator will confirm your benefits and contact you."
        )
    if not r.carve_out and r.in_network is not None and r.out_of_network is not None:
        out.append(f"Out of network, it's {describe(r.out_of_network)}.")
    if r.prior_auth_required:
        out.append("Prior authorization is required; we handle it.")
    out.append(ESTIMATE)
    # Short tail sentences (prior authorisation, the estimate notice) join the previous bubble
    # while it stays within 60 words; the out-of-network summary keeps its own bubble.
    bubbles: List[str] = []
    for i, msg in enumerate(out):
        tail = i >= 1 and not msg.startswith("Out of network")
        if bubbles and tail and len((bubbles[-1] + " " + msg).split()) <= 60:
            bubbles[-1] = bubbles[-1] + " " + msg
        else:
            bubbles.append(msg)
    return bubbles
