"""The insurance check as a flow: insurer, plan type, member ID, policyholder, then a
real-time eligibility check (bot.coverage) explained in plain words.

Plan types the program does not verify in real time follow the profile (`insurance.plans`):
a coordinator checks them, or we explain kindly that the plan is not accepted. An insurer
that says a field is wrong gets one chance to correct it; an insurer that is not answering
becomes a follow-up for the coordinators.

Each check is a clearinghouse call billed under the clinic's NPI, so checks are limited
(bot.limits: per conversation, and overall); over a limit nobody is called and the person
is offered a coordinator instead.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any, Iterable, List, Optional

from bot import coverage, limits
from bot.coverage import wording
from bot.dialog import BOOK, PERSON, NotUnderstood, Option, Question, Reply
from bot.flows.engine import Context, Flow, latest_answers

PLAN_OPTIONS = tuple(
    Option(t, t) for t in ("PPO", "HMO", "EPO", "POS", "Medicaid", "Medicare", "Not sure")
)
RELATION_OPTIONS = (
    Option("My own plan", "my own"),
    Option("My spouse's or partner's", "spouse"),
    Option("My parent's", "parent"),
)
FIELDS_FOR_FIX = {
    "member_id": ("coverage.member_id",),
    "dob": ("coverage.subscriber_dob",),
    "name": ("coverage.subscriber_first", "coverage.subscriber_last"),
    # The patient's own details, when they are a dependent on someone else's plan.
    "patient_dob": ("coverage.patient_dob",),
    "patient_name": ("coverage.patient_first", "coverage.patient_last"),
    "patient": ("coverage.patient_first", "coverage.patient_last", "coverage.patient_dob"),
}
RELATION_HELP = (
    "Choose “My own plan” if it's in your name. If you're covered as a dependent on your "
    "spouse's or partner's plan, or a parent's, choose theirs."
)
NOT_SURE_HELP = "It's usually printed on the front of your card (for example “PPO” or “HMO”)."


def _q(
    key: str, text: str, options: Iterable[Option] = (), help: str = "", skippable: bool = False
) -> Question:
    names = key.endswith(("_first", "_last"))  # any words may be a name
    return Question(
        key=key, text=text, options=tuple(options), help=help, skippable=skippable, free_text=names
    )


class CoverageFlow(Flow):
    name = "coverage"
    title = "the insurance check"

    def prepare(self, state: dict, ctx: Context) -> None:
        # Over a limit already: say so before asking anything (the check itself counts).
        fresh = not state.get("answers") and not state.get("finished")
        if fresh and not limits.check(_checks(ctx), db_url=ctx.db_url):
            state["finished"] = state["limited"] = True

    def intro(self, state: dict, ctx: Context) -> List[Reply]:
        if state.get("limited"):
            return [_limited(ctx)]
        return [
            Reply(
                "I'll check your benefits with your insurer right now. Have your insurance "
                "card handy; it takes about a minute."
            )
        ]

    # --- which question now ---------------------------------------------------------------

    def next_question(self, state: dict, ctx: Context) -> Optional[Question]:
        a = state.get("answers", {})
        if state.get("finished"):
            return None
        if "coverage.insurer" not in a:
            if state.get("candidates"):
                return _q(
                    "coverage.insurer",
                    "Which one is it?",
                    [Option(c["name"], c["name"]) for c in state["candidates"]]
                    + [Option("Not listed", "Not listed")],
                    help="Choose the company printed on your card.",
                )
            return _q(
                "coverage.insurer",
                "Which insurance company is your plan with? (the name on your card)",
                [
                    Option(n, n)
                    for n in ("Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare")
                ]
                + [
                    Option("Another insurer", "Not listed"),
                    Option("I don't have insurance", "self-pay"),
                ],
                help="For example Aetna, Cigna, Humana or Blue Cross.",
            )
        if "coverage.plan_type" not in a:
            return _q(
                "coverage.plan_type", "What type of plan is it?", PLAN_OPTIONS, help=NOT_SURE_HELP
            )
        fields = [
            (
                "coverage.member_id",
                "What's the member ID on your card?",
                (),
                "It's usually on the front, labeled “Member ID” or “ID #”.",
            ),
            ("coverage.relation", "Whose plan is it?", RELATION_OPTIONS, RELATION_HELP),
            (
                "coverage.subscriber_first",
                "What is the policyholder's first name, as on the card?",
                (),
                "",
            ),
            ("coverage.subscriber_last", "And their last name?", (), ""),
            (
                "coverage.subscriber_dob",
                "The policyholder's date of birth? (for example 04/27/1985)",
                (),
                "Month, day and year, like 04/27/1985 or April 27 1985.",
            ),
        ]
        if a.get("coverage.relation", "self") != "self":
            fields += [
                ("coverage.patient_first", "Now about you: your first name?", (), ""),
                ("coverage.patient_last", "Your last name?", (), ""),
                (
                    "coverage.patient_dob",
                    "Your date of birth?",
                    (),
                    "Month, day and year, like 04/27/1985.",
                ),
            ]
        for key, text, options, help in fields:
            if key not in a:
                return _q(key, text, options, help)
        return None

    # --- reading answers ------------------------------------------------------------------

    def parse(self, question: Question, text: str, state: dict, ctx: Context) -> Any:
        key = question.key
        if key == "coverage.insurer":
            if text.strip().lower() in ("not listed", "other", "none of these"):
                return {"name": "other", "payer_id": ""}
            try:
                if coverage.parse_plan_type(text) == "self_pay":
                    return {"name": "self-pay", "payer_id": ""}
            except NotUnderstood:
                pass
            found = coverage.match_payer(text)
            if len(found) == 1:
                return {"name": found[0].name, "payer_id": found[0].payer_id}
            if len(found) > 1:
                state["candidates"] = [{"name": p.name, "payer_id": p.payer_id} for p in found[:5]]
                raise _Narrowed()
            raise NotUnderstood(
                "I couldn't find that insurer in my list. Check the name on your card, "
                "or choose “Another insurer” and a coordinator will check it for you."
            )
        if key == "coverage.plan_type":
            return coverage.parse_plan_type(text)
        if key == "coverage.member_id":
            return coverage.parse_member_id(text)
        if key == "coverage.relation":
            return coverage.parse_relation(text)
        if key.endswith("_dob"):
            return coverage.parse_dob(text).isoformat()
        return coverage.parse_name(text)

    def store(self, question: Question, value: Any, state: dict, ctx: Context) -> List[Reply]:
        a = state.setdefault("answers", {})
        a[question.key] = value
        if question.key == "coverage.insurer":
            state.pop("candidates", None)
            if value["name"] in ("self-pay", "other"):
                return self._route(
                    value["name"] if value["name"] == "other" else "self_pay", state, ctx
                )
        if question.key == "coverage.plan_type":
            handling = (
                "verify"
                if value == "not_sure"
                else (
                    "self_pay" if value == "self_pay" else ctx.profile.facts.insurance.plans[value]
                )
            )
            if handling != "verify":
                return self._route(handling, state, ctx)
        if self.next_question(state, ctx) is None and not state.get("finished"):
            return self._check(state, ctx)
        return []

    # --- outcomes ---------------------------------------------------------------------------

    def _route(self, handling: str, state: dict, ctx: Context) -> List[Reply]:
        state["finished"] = True
        f = ctx.profile.facts
        plan = str(state["answers"].get("coverage.plan_type", "")).upper()
        if handling == "coordinator":
            coverage.request_followup(
                ctx.conversation_id, reason=f"plan_{plan.lower()}", db_url=ctx.db_url
            )
            text = (
                f"{plan} plans often need a referral or authorization first, so one of our intake "
                f"coordinators will check your benefits personally and contact you "
                f"({f.program.coordinator_hours})."
            )
        elif handling == "not_accepted":
            text = (
                f"I'm sorry: our program isn't able to accept {plan.title()} plans right now. "
                f"Self-pay usually costs ${f.cost.min_usd:,} to ${f.cost.max_usd:,}, "
                "and a coordinator can talk through options, including programs that do accept "
                "your plan."
            )
        elif handling == "other":
            coverage.request_followup(
                ctx.conversation_id, reason="insurer_not_listed", db_url=ctx.db_url
            )
            text = (
                "No problem. One of our intake coordinators will check your insurance personally "
                "and contact you."
            )
        else:  # self-pay
            text = (
                f"That's okay. Without insurance, the program usually costs ${f.cost.min_usd:,} to "
                f"${f.cost.max_usd:,}, depending on how long you attend and the care you need. A "
                f"coordinator can go over payment options with you."
            )
        return [Reply(text)]

    def _check(self, state: dict, ctx: Context) -> List[Reply]:
        a = state["answers"]
        request = _request(a)
        if not limits.take(_checks(ctx), db_url=ctx.db_url):
            state["finished"] = state["limited"] = True
            return [_limited(ctx)]
        result = coverage.check_coverage(request, _client())
        coverage.record_check(ctx.conversation_id, request, result, db_url=ctx.db_url)
        ask = wording.correction(result)
        if ask and state.get("corrections", 0) < 1:
            # One chance to correct the field the insurer rejected; then a coordinator.
            state["corrections"] = state.get("corrections", 0) + 1
            for key in FIELDS_FOR_FIX[result.error_field or ""]:
                a.pop(key, None)
            return [Reply(ask)]
        state["finished"] = True
        state["status"] = result.status
        if result.needs_followup or result.status == "error":
            coverage.request_followup(
                ctx.conversation_id,
                reason=result.reason or f"coverage_{result.status}",
                db_url=ctx.db_url,
            )
        return [Reply(text) for text in wording.render(result)]

    def finish(self, state: dict, ctx: Context) -> List[Reply]:
        if state.get("limited"):
            return []  # the limit's reply already offers a person
        if state.get("status") == "active":
            return [Reply("Would you like to book your intake assessment?", [BOOK, PERSON])]
        return [Reply("Anything else I can help with?", [BOOK, PERSON])]


def _checks(ctx: Context) -> List["limits.Item"]:
    # The channels do not hand the client's address to actions (yet): per conversation and
    # overall only.
    return limits.coverage_checks(ctx.conversation_id)


def _limited(ctx: Context) -> Reply:
    f = ctx.profile.facts.program
    return Reply(
        "I'm sorry, I can't run another insurance check from this chat right now: each one is "
        "a request to an insurer, and there have been several. One of our intake coordinators "
        "can check your benefits personally and follow up with you: tap “Talk to a person”, "
        f"or call {f.phone} ({f.coordinator_hours}).",
        [PERSON],
    )


@lru_cache(maxsize=1)
def _client() -> "coverage.EligibilityClient":
    # One client per process: its concurrency cap is per client.
    return coverage.client_from_env()


class _Narrowed(NotUnderstood):
    """Several insurers match: ask which (not counted as a failure)."""

    counts_as_failure = False

    def __init__(self) -> None:
        super().__init__("A few insurers match that name.")


def _request(a: dict) -> "coverage.CoverageRequest":
    from bot.coverage.payers import directory

    payer_id = a["coverage.insurer"]["payer_id"]
    payer = directory().by_id(payer_id)
    if payer is None:  # e.g. removed from payers.yml while this check was paused
        raise LookupError(f"payer {payer_id!r} is not in payers.yml")
    dependent = a.get("coverage.relation", "self") != "self"
    return coverage.CoverageRequest(
        payer=payer,
        plan_type=a["coverage.plan_type"],
        member_id=a["coverage.member_id"],
        first_name=a["coverage.subscriber_first"],
        last_name=a["coverage.subscriber_last"],
        dob=date.fromisoformat(a["coverage.subscriber_dob"]),
        relation=a.get("coverage.relation", "self"),
        patient_first_name=a.get("coverage.patient_first") if dependent else None,
        patient_last_name=a.get("coverage.patient_last") if dependent else None,
        patient_dob=date.fromisoformat(a["coverage.patient_dob"]) if dependent else None,
    )


def patient_dob(ctx: Context) -> Optional[date]:
    """The person's date of birth if this conversation's insurance check has it (theirs, or
    the patient's on someone else's plan), so it can prove a booking later."""
    answers = latest_answers(ctx, "coverage")
    own = answers.get("coverage.relation", "self") == "self"
    dob = answers.get("coverage.subscriber_dob" if own else "coverage.patient_dob")
    return date.fromisoformat(dob) if isinstance(dob, str) else None
