"""The program profile: loads, renders from facts, and names the bad key when broken."""

import copy

import pytest
import yaml

from bot.profile import (
    DEFAULT_PATH,
    MAX_BUBBLE_WORDS,
    PLAN_NAMES,
    PLAN_TOPICS,
    TOPICS,
    ProfileError,
    load_profile,
    parse_profile,
)


@pytest.fixture()
def raw():
    return yaml.safe_load(DEFAULT_PATH.read_text())


def test_default_profile_answers_every_topic_within_one_bubble():
    profile = load_profile()
    for topic in TOPICS:
        text = profile.answer(topic)
        assert text and "{" not in text, topic
        assert len(text.split()) <= MAX_BUBBLE_WORDS, topic


def test_answers_carry_the_seed_facts():
    p = load_profile()
    assert "capped at 10" in p.answer("group_size")
    assert "15" in p.answer("group_size")
    assert "3 to 5 days a week" in p.answer("schedule")
    assert "at least 9 hours a week" in p.answer("schedule")
    assert "morning and evening" in p.answer("schedule")
    assert "8 to 12 weeks" in p.answer("program_length")
    assert "$1,000 and $10,000" in p.answer("cost")
    assert all(n in p.answer("ratios") for n in ("10", "25", "35"))
    assert "emotional-support" in p.answer("pets")
    assert "different" in p.answer("couples") and "two locations" in p.answer("couples")
    assert "separate" in p.answer("couples_therapist")
    assert "(LCSW)" in p.answer("team") and "case manager" in p.answer("team")
    assert "988" in p.crisis_text and "911" in p.crisis_text and "988lifeline.org" in p.crisis_text


def test_editing_a_fact_changes_the_answer(raw):
    raw["facts"]["groups"]["cap"] = 7
    assert "capped at 7" in parse_profile(raw).answer("group_size")


@pytest.mark.parametrize(
    "path, expected",
    [
        (("facts", "groups", "cap"), "facts.groups.cap"),
        (("facts", "schedule"), "facts.schedule"),
        (("crisis", "lifeline_number"), "crisis.lifeline_number"),
    ],
)
def test_missing_key_is_named(raw, path, expected):
    node = raw
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    with pytest.raises(ProfileError, match=expected.replace(".", r"\.")):
        parse_profile(raw)


def test_bad_value_is_named(raw):
    raw["facts"]["groups"]["cap"] = "ten"
    with pytest.raises(ProfileError, match=r"facts\.groups\.cap"):
        parse_profile(raw)


def test_cap_above_the_limit_is_refused(raw):
    raw["facts"]["groups"]["cap"] = 20
    with pytest.raises(ProfileError, match=r"never_above"):
        parse_profile(raw)


def test_mistyped_key_is_named(raw):
    raw["facts"]["groups"]["capp"] = 10
    with pytest.raises(ProfileError, match=r"facts\.groups\.capp"):
        parse_profile(raw)


def test_unknown_placeholder_is_named(raw):
    raw["answers"]["group_size"]["text"] = "Groups have {groups.size} people."
    with pytest.raises(ProfileError, match=r"answers\.group_size\.text"):
        parse_profile(raw)


def test_too_long_reply_is_refused(raw):
    raw["answers"]["pets"]["text"] = "word " * (MAX_BUBBLE_WORDS + 1)
    with pytest.raises(ProfileError, match=r"answers\.pets\.text: \d+ words"):
        parse_profile(raw)


def test_missing_topic_and_unknown_button_are_named(raw):
    broken = copy.deepcopy(raw)
    del broken["answers"]["pets"]
    with pytest.raises(ProfileError, match="missing topic.*pets"):
        parse_profile(broken)
    raw["answers"]["cost"]["next"] = ["insurance", "book_now"]
    with pytest.raises(ProfileError, match=r"answers\.cost\.next: unknown button 'book_now'"):
        parse_profile(raw)


def test_unreadable_file_is_reported(tmp_path):
    bad = tmp_path / "profile.yml"
    bad.write_text("facts: [unclosed")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "missing.yml")


# --- the topics of issue #12 (item 6) -------------------------------------------------------


def test_new_topics_answer_from_the_facts():
    p = load_profile()
    assert "60 to 90 minutes" in p.answer("session_length")
    assert "about 3 hours" in p.answer("session_length")
    assert p.answer("ppo_coverage").startswith("Usually, yes.")
    assert "same level" in p.answer("ppo_coverage")
    assert "couples and family therapy" in p.answer("ppo_coverage")
    assert "case manager" in p.answer("progress_tracking")
    assert "weekly" in p.answer("progress_tracking")
    assert "self-esteem" in p.answer("conditions_treated")
    assert "depression" in p.answer("conditions_treated")
    assert "no-secrets" in p.answer("couples_confidentiality")
    assert "written permission" in p.answer("couples_confidentiality")


def test_ppo_answer_offers_the_check_after_answering():
    p = load_profile()
    assert p.data.answers["ppo_coverage"].next[0] == "check_insurance"
    assert "check_insurance" in p.data.answers["epo_plans"].next


def test_plan_answers_agree_with_how_each_plan_is_handled():
    p = load_profile()
    plans = p.facts.insurance.plans
    assert plans["epo"] == "coordinator" and "coordinator" in p.answer("epo_plans")
    insurance = p.answer("insurance")
    for plan, handling in plans.items():
        name = PLAN_NAMES[plan]
        assert name in insurance, plan
        if handling == "not_accepted":
            assert "can't accept" in insurance and name in insurance.split("can't accept")[1]
        if handling == "coordinator":
            assert "coordinator" in insurance
    # "Do you take Medicare?" is answered from the same handling as the insurance check.
    for topic, plan in PLAN_TOPICS.items():
        answer = p.answer(topic)
        assert PLAN_NAMES[plan] in answer, topic
        expected = {"verify": "we work with", "coordinator": "coordinator checks"}.get(
            plans[plan], "can't accept"
        )
        assert expected in answer.lower(), topic


def test_plan_answers_follow_the_profile(raw):
    raw["facts"]["insurance"]["plans"]["medicare"] = "verify"
    assert "we work with Medicare plans" in parse_profile(raw).answer("medicare")


def test_an_unfilled_topic_is_answered_honestly_not_guessed(raw):
    raw["answers"]["cost"]["text"] = None
    p = parse_profile(raw)
    assert not p.knows("cost")
    assert p.answer("cost").startswith("I don't have that detail")
    assert p.answer_next("cost") == ["person"]
    assert p.knows("language") is False  # the sample clinic leaves languages to coordinators


def test_the_couples_policy_is_a_clinic_fact(raw):
    raw["facts"]["couples"]["confidentiality"] = "the clinic's own policy applies"
    assert "the clinic's own policy applies" in parse_profile(raw).answer("couples_confidentiality")
    del raw["facts"]["couples"]["confidentiality"]
    with pytest.raises(ProfileError, match=r"facts\.couples\.confidentiality"):
        parse_profile(raw)


def test_conditions_are_clinic_facts(raw):
    raw["facts"]["conditions"]["treated"] = ["alcohol use", "depression"]
    assert "alcohol use and depression" in parse_profile(raw).answer("conditions_treated")


def test_the_coordinators_hours_are_read_on_the_local_clock(raw):
    from datetime import datetime, timezone

    hours = parse_profile(raw).facts.program.coordinator_schedule
    utc = timezone.utc
    assert hours.is_open(datetime(2026, 12, 8, 14, 0, tzinfo=utc))  # Tue 8:00 CST opens
    assert not hours.is_open(datetime(2026, 12, 8, 13, 59, tzinfo=utc))  # 7:59
    assert not hours.is_open(datetime(2026, 12, 9, 0, 0, tzinfo=utc))  # Tue 18:00 closes
    assert hours.is_open(datetime(2027, 6, 8, 13, 0, tzinfo=utc))  # 8:00 CDT in summer
    assert not hours.is_open(datetime(2026, 12, 12, 16, 0, tzinfo=utc))  # a Saturday
    assert not hours.is_open(datetime(2026, 12, 25, 16, 0, tzinfo=utc))  # a holiday


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"hours": {"thurs": ["08:00-18:00"]}}, r"coordinator_schedule.*unknown weekday 'thurs'"),
        ({"hours": {"mon": ["18:00-08:00"]}}, r"coordinator_schedule.*ends before it starts"),
        ({"time_zone": "Central"}, r"coordinator_schedule.*unknown time zone"),
        ({"opens": "08:00"}, r"coordinator_schedule\.opens"),
    ],
)
def test_bad_coordinator_hours_are_named(raw, change, expected):
    raw["facts"]["program"]["coordinator_schedule"].update(change)
    with pytest.raises(ProfileError, match=expected):
        parse_profile(raw)
