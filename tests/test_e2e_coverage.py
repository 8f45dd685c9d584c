"""The insurance check through the real servers, against the bundled sandbox clearinghouse
(stand_ins/clearinghouse.py, started by the stack like `make run` does)."""

import time

import pytest

from bot.coverage import checks_for
from bot.flows.engine import Context, latest_answers
from bot.handoff import PRIORITY_CRISIS, for_conversation
from bot.profile import load_profile
from tests.e2e import buttons, new_sender, parallel, say, texts, tracker

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
JANE = ["Aetna", "PPO", "AETNA12345", "my own", "Jane", "Doe", "04/04/2004"]
# Riley Blake checks as the spouse on Morgan Blake's PPO (the sandbox family, SBX2001).
MORGANS_PLAN = ["cigna", "PPO", "SBX2001", "my wife's insurance", "Morgan", "Blake", "05/12/1986"]


def converse(stack, sender, replies):
    said = []
    for text in ["/check_insurance", "I agree"] + replies:
        said = say(stack, sender, text)
    return said


def test_an_active_ppo_is_explained_in_plain_words(stack):
    sender = new_sender("cov")
    started = time.monotonic()
    messages = converse(stack, sender, JANE)
    said = texts(messages)
    print(f"\ninsurance check: {len(JANE) + 2} turns, {time.monotonic() - started:.1f} s")
    joined = " ".join(said)
    assert (
        "active" in joined and "$600" in joined and "estimate, not a guarantee of payment" in joined
    )
    assert "/book_appointment" in buttons(messages[-1])
    [check] = checks_for(sender, stack.env["DATABASE_URL"])
    assert check.status == "active"
    assert not tracker(stack, sender)["active_loop"].get("name")


def test_an_ambiguous_insurer_gets_a_short_choice_list(stack):
    sender = new_sender("cov")
    said = converse(stack, sender, ["blue cross"])
    assert "Which one" in texts(said)[-1]
    assert len(said[-1]["buttons"]) >= 3


def test_a_member_id_typo_is_corrected_on_the_second_try(stack):
    sender = new_sender("cov")
    said = texts(
        converse(stack, sender, ["aetna", "ppo", "AETNA12354", "me", "Jane", "Doe", "April 4 2004"])
    )
    assert any("member ID" in t for t in said), said
    assert "What's the member ID on your card?" in said
    fixed = " ".join(texts(say(stack, sender, "AETNA12345")))
    assert "active" in fixed and "estimate" in fixed
    assert [c.status for c in checks_for(sender, stack.env["DATABASE_URL"])] == ["error", "active"]


def test_a_second_wrong_member_id_ends_with_a_coordinator_not_another_retry(stack):
    sender = new_sender("cov")
    converse(stack, sender, ["aetna", "ppo", "AETNA12354", "me", "Jane", "Doe", "April 4 2004"])
    final = " ".join(texts(say(stack, sender, "AETNA12399")))
    assert "coordinator" in final and "again" not in final, final
    assert not tracker(stack, sender)["active_loop"].get("name")
    assert [c.status for c in checks_for(sender, stack.env["DATABASE_URL"])] == ["error", "error"]


def test_a_payer_outage_goes_to_a_coordinator(stack):
    sender = new_sender("cov")
    said = " ".join(
        texts(
            converse(
                stack,
                sender,
                ["cigna", "PPO", "SBXAAA42", "my own", "Alex", "Rivera", "01/15/1990"],
            )
        )
    )
    assert "coordinator" in said
    kinds = [r.kind for r in for_conversation(sender, stack.env["DATABASE_URL"])]
    assert kinds == ["coverage_followup"]


def test_an_hmo_is_handed_to_a_coordinator_and_medicaid_is_explained(stack):
    sender = new_sender("cov")
    said = " ".join(texts(converse(stack, sender, ["aetna", "HMO"])))
    assert "coordinator" in said
    assert [r.kind for r in for_conversation(sender, stack.env["DATABASE_URL"])] == [
        "coverage_followup"
    ]
    said = " ".join(texts(converse(stack, new_sender("cov"), ["humana", "medicaid"])))
    assert "isn't able to accept" in said and "$1,000" in said


def test_an_invalid_birth_date_is_re_asked_with_the_reason(stack):
    sender = new_sender("cov")
    said = texts(converse(stack, sender, JANE[:-1] + ["02/30/1990"]))
    assert said[-1].startswith("The policyholder's date of birth")
    assert len(said) == 2  # the reason, then the same question


def test_crisis_language_mid_check_gets_the_crisis_answer(stack):
    sender = new_sender("cov")
    converse(stack, sender, ["aetna", "ppo"])
    said = texts(say(stack, sender, "i can't do this anymore, i want to end my life"))
    assert said[0] == PROFILE.crisis_text
    assert not tracker(stack, sender)["active_loop"].get("name")
    assert ("crisis", PRIORITY_CRISIS) in [
        (r.kind, r.priority) for r in for_conversation(sender, stack.env["DATABASE_URL"])
    ]


def test_member_id_and_birth_date_stay_out_of_the_logs(stack):
    converse(
        stack,
        new_sender("cov"),
        ["aetna", "ppo", "ZQX98765", "my own", "Quintessa", "Marlowe", "03/17/1961"],
    )
    assert {"action server", "rasa server"} <= {p.name for p in stack.processes}
    for proc in stack.processes:
        log = proc.log_path.read_text(errors="replace").lower()
        for secret in ("ZQX98765", "Quintessa", "1961"):
            assert secret.lower() not in log, (proc.name, secret)


# --- a partner as a dependent on the other partner's plan (issue 15) ----------------------------


def log_sizes(stack):
    return {p.name: p.log_path.stat().st_size for p in stack.processes if p.log_path.exists()}


def new_log_lines(stack, sizes):
    out = []
    for p in stack.processes:
        if p.name in sizes:
            with open(p.log_path, "rb") as f:
                f.seek(sizes[p.name])
                out.append(f.read().decode(errors="replace"))
    return "\n".join(out)


def test_a_partner_on_the_other_partners_plan_gets_the_in_network_ppo_answer(stack):
    sender = new_sender("cov")
    asked = []
    for text in ["/check_insurance", "I agree"] + MORGANS_PLAN + ["Riley", "Blake"]:
        asked.append(texts(say(stack, sender, text))[-1])
    assert asked[-4:] == [
        "The policyholder's date of birth? (for example 04/27/1985)",
        "Now about you: your first name?",
        "Your last name?",
        "Your date of birth?",
    ]
    messages = say(stack, sender, "09/23/1988")
    joined = " ".join(texts(messages))
    assert "Good news: your coverage on the Cigna PPO plan is active." in joined
    # Riley's own in-network figures, not Morgan's ($900 left) or the family's ($1,100 left)
    assert "in network: deductible $1,500 ($1,500 left to meet), then $25 copay" in joined
    assert "$900" not in joined and "$1,100" not in joined
    assert "/book_appointment" in buttons(messages[-1])
    db = stack.env["DATABASE_URL"]
    [check] = checks_for(sender, db)
    assert check.status == "active" and check.result["patient_relation"] == "spouse"
    assert (check.request["relation"], check.request["patient_first_name"]) == ("spouse", "Riley")
    assert (check.request["first_name"], check.request["member_id"]) == ("Morgan", "SBX2001")
    assert for_conversation(sender, db) == []  # nothing for a coordinator to do
    assert not tracker(stack, sender)["active_loop"].get("name")


def test_a_dependent_birth_date_that_does_not_match_ends_with_a_coordinator(stack):
    sender = new_sender("cov")
    sizes = log_sizes(stack)
    said = texts(converse(stack, sender, MORGANS_PLAN + ["Riley", "Blake", "09/24/1988"]))
    # asked once for the patient's own date of birth, not the policyholder's
    assert "different date of birth for you on this plan" in said[0], said
    assert said[-1] == "Your date of birth?"
    messages = say(stack, sender, "September 24 1988")
    final = " ".join(texts(messages))
    assert "still couldn't match your date of birth on this plan" in final, final
    assert "intake coordinator will verify your benefits and contact you" in final
    assert "again" not in final
    assert {"/book_appointment", "/request_human"} <= set(buttons(messages[-1]))
    db = stack.env["DATABASE_URL"]
    assert [c.status for c in checks_for(sender, db)] == ["error", "error"]
    assert [c.request["relation"] for c in checks_for(sender, db)] == ["spouse", "spouse"]
    assert [r.kind for r in for_conversation(sender, db)] == ["coverage_followup"]
    assert not tracker(stack, sender)["active_loop"].get("name")
    assert "Traceback" not in new_log_lines(stack, sizes)  # nothing crashed on the way
    # ... and the conversation goes on
    assert texts(say(stack, sender, "how many people are in a group?"))


SPOUSES_PLAN = [
    "my husband's",
    "my partner's plan",
    "my wife's insurance",
    "spouse",
    "My spouse's or partner's",
    "I'm on my husband's plan",
]
OWN_PLAN = ["myself", "mine", "me", "my own"]


def test_whose_plan_it_is_in_context(stack):
    """Typed at "Whose plan is it?", reached the way a person reaches it: no safety answer,
    the policyholder's name asked next, and the relation the check will use."""

    def answer(text):
        sender = new_sender("relation")
        for before in ["/check_insurance", "I agree", "Aetna", "PPO", "AETNA12345"]:
            said = texts(say(stack, sender, before))
        assert said[-1] == "Whose plan is it?", said
        said = texts(say(stack, sender, text))
        ctx = Context(sender, PROFILE, db_url=stack.env["DATABASE_URL"])
        return said, latest_answers(ctx, "coverage").get("coverage.relation")

    phrases = SPOUSES_PLAN + OWN_PLAN
    wrong = []
    for text, (said, relation) in zip(phrases, parallel(answer, phrases), strict=True):
        expected = "spouse" if text in SPOUSES_PLAN else "self"
        if (
            PROFILE.crisis_text in said
            or PROFILE.concern_text in said
            or said[-1:] != ["What is the policyholder's first name, as on the card?"]
            or relation != expected
        ):
            wrong.append((text, relation, said))
    assert wrong == [], "\n".join(map(str, wrong))
