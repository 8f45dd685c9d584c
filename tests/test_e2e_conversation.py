"""The foundation through the real Rasa and action servers (REST webhook)."""

import time
from pathlib import Path

import httpx
import pytest
import yaml

from bot.handoff import coordinators_online, for_conversation
from bot.profile import DEFAULT_PATH, load_profile
from tests.e2e import new_sender, say, start_fallback_loop, texts, tracker

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
ROOT = Path(__file__).resolve().parent.parent


def test_faq_question_is_answered_from_the_profile(stack):
    messages = say(stack, new_sender(), "how many people are in a group?")
    assert texts(messages)[0] == PROFILE.answer("group_size")
    assert "/request_human" in [b["payload"] for b in messages[0]["buttons"]]


@pytest.mark.parametrize(
    "question, topic",
    [
        ("can my dog be in the room with me during sessions", "pets"),
        ("how much does it cost without insurance", "self_pay"),
        ("can me and my husband do the program together", "couples"),
        ("do you take ppo insurance", "ppo_coverage"),
        ("do you take medicare?", "medicare"),
        ("is the program lgbtq friendly?", "lgbtq"),
        ("how many days a week is it", "schedule"),
        ("who are the therapists", "team"),
    ],
)
def test_common_questions_reach_the_right_answer(stack, question, topic):
    assert texts(say(stack, new_sender(), question))[0] == PROFILE.answer(topic)


def test_a_whole_short_conversation(stack):
    sender = new_sender()
    assert texts(say(stack, sender, "hi there"))[0] == PROFILE.welcome_text
    assert texts(say(stack, sender, "how long is the program"))[0] == PROFILE.answer(
        "program_length"
    )
    assert "assistant" in texts(say(stack, sender, "are you a bot?"))[0]
    assert "welcome" in texts(say(stack, sender, "thanks!"))[0].lower()


def test_out_of_scope_never_invents_a_fact(stack):
    messages = say(stack, new_sender(), "what's the weather going to be like in Chicago tomorrow")
    assert texts(messages)[0] == PROFILE.out_of_scope_text
    assert "/request_human" in [b["payload"] for b in messages[0]["buttons"]]


def test_button_payload_works_like_typing(stack):
    assert texts(say(stack, new_sender(), "/faq_ratios"))[0] == PROFILE.answer("ratios")


def nobody_online(stack):
    """Wait until no console is open (other tests' pages close their event streams)."""

    for _ in range(100):
        if coordinators_online(stack.env["DATABASE_URL"]) == 0:
            return
        time.sleep(0.2)
    raise AssertionError("a console stayed open")


def test_talk_to_a_person_when_nobody_is_online_takes_a_way_to_reach_them(stack):
    from bot.console.queue import waiting
    from bot.scheduling.models import Callback
    from bot.store import session

    nobody_online(stack)
    sender = new_sender()
    offer = say(stack, sender, "/request_human")
    assert texts(offer) == [PROFILE.contact_unavailable]
    assert [r.kind for r in for_conversation(sender, stack.env["DATABASE_URL"])] == ["request"]
    said = texts(say(stack, sender, "yes please"))
    assert any("consent" in t.lower() or "agree" in t.lower() for t in said)
    said = texts(say(stack, sender, "I agree"))
    assert "phone number" in said[-1]
    assert "good time" in texts(say(stack, sender, "512-555-0142"))[-1]
    done = texts(say(stack, sender, "after 5 pm"))[-1]
    assert "saved your request" in done and "urgent" not in done
    # The coordinators' queue shows the request with the call-back beside it, once.
    rows = [r for r in waiting(stack.env["DATABASE_URL"]) if r.conversation_id == sender]
    assert [(r.kind, r.where) for r in rows] == [("request", "left a call-back request")]
    with session(stack.env["DATABASE_URL"]) as s:
        stored = s.query(Callback).filter_by(conversation_id=sender).one()
        assert stored.contact == {"phone": "+15125550142", "email": None, "time_zone": None}
        assert stored.best_times == "after 5 pm"
    # Encrypted at rest: the number is in no byte of the database file.
    raw = Path(stack.env["DATABASE_URL"].removeprefix("sqlite:///"))
    for path in raw.parent.glob(raw.name + "*"):  # the database and its write-ahead log
        assert b"5550142" not in path.read_bytes()


def test_no_to_the_offer_of_contact_keeps_the_chat_going(stack):
    nobody_online(stack)
    sender = new_sender()
    say(stack, sender, "/request_human")
    assert texts(say(stack, sender, "no thanks")) == [PROFILE.contact_declined]
    assert texts(say(stack, sender, "how many people are in a group?")) == [
        PROFILE.answer("group_size")
    ]


def test_unclear_input_never_gets_an_invented_answer(stack):
    said = texts(say(stack, new_sender(), "zxqv blorf wub"))[0]
    # Gibberish may read as a stray answer ("not sure what that answer is for"): honest too.
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    stray = domain["responses"]["utter_inform_out_of_context"][0]["text"]
    assert said in (PROFILE.fallback.did_you_mean, PROFILE.out_of_scope_text, stray)


def test_two_stage_fallback_asks_then_answers_a_clear_question(stack):
    sender = new_sender()
    messages = start_fallback_loop(stack, sender)
    assert texts(messages)[0] == PROFILE.fallback.did_you_mean
    assert "/request_human" in [b["payload"] for b in messages[0]["buttons"]]
    # A clear question ends the loop and is answered.
    assert texts(say(stack, sender, "how big are the groups"))[0] == PROFILE.answer("group_size")
    assert not tracker(stack, sender)["active_loop"].get("name")


def test_http_api_needs_the_token(stack):
    response = httpx.get(f"{stack.rasa_url}/conversations/x/tracker", timeout=10)
    assert response.status_code == 401
    assert httpx.get(f"{stack.rasa_url}/status", timeout=10).status_code == 401


def test_editing_the_profile_changes_the_answer_without_retraining(stack, tmp_path):
    raw = yaml.safe_load(DEFAULT_PATH.read_text())
    raw["facts"]["groups"]["cap"] = 7
    edited = tmp_path / "program.yml"
    edited.write_text(yaml.safe_dump(raw))
    original = stack.env["PROGRAM_PROFILE"]
    stack.restart_actions({"PROGRAM_PROFILE": str(edited)})
    try:
        assert (
            "capped at 7" in texts(say(stack, new_sender(), "how many people are in a group?"))[0]
        )
    finally:
        stack.restart_actions({"PROGRAM_PROFILE": original})
    assert "capped at 10" in texts(say(stack, new_sender(), "how many people are in a group?"))[0]


def test_what_people_type_stays_out_of_the_server_logs(stack):
    secret = "my name is Zebediah Quartermaine and my member id is ZQ99871"
    say(stack, new_sender(), secret)
    say(stack, new_sender(), "i want to kill myself, Zebediah here")
    for proc in stack.processes:
        log = proc.log_path.read_text(errors="replace")
        assert "Zebediah" not in log and "ZQ99871" not in log, proc.name
