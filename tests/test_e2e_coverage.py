"""The insurance check through the real servers, against the bundled sandbox clearinghouse
(stand_ins/clearinghouse.py, started by the stack like `make run` does)."""

import time

import pytest

from bot.coverage import checks_for
from bot.handoff import PRIORITY_CRISIS, for_conversation
from bot.profile import load_profile
from tests.e2e import buttons, new_sender, say, texts, tracker

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
JANE = ["Aetna", "PPO", "AETNA12345", "my own", "Jane", "Doe", "04/04/2004"]


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
