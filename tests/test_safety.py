"""The crisis rule matcher on its own (the server-level gate is in test_e2e_safety.py)."""

from pathlib import Path

import pytest
import yaml

from bot.safety import ACUTE, CONCERN, CrisisDetector, PatternError, default_detector

SET = yaml.safe_load((Path(__file__).parent / "data" / "crisis_set.yml").read_text())


@pytest.fixture(scope="module")
def detector():
    return default_detector()


def test_the_committed_set_is_big_enough():
    assert len(SET["crisis"]) >= 150 and len(SET["hard_negatives"]) >= 150
    categories = {c["category"] for c in SET["crisis"]}
    assert {
        "suicidal",
        "self_harm",
        "overdose_medical",
        "harm_to_others",
        "danger_from_others",
        "third_person",
    } <= categories


def test_matcher_finds_every_crisis_message(detector):
    missed = [
        c["text"]
        for c in SET["crisis"]
        if (d := detector.detect(c["text"])) is None or d.level != ACUTE
    ]
    assert missed == []


def test_matcher_false_alarms_stay_under_two_percent(detector):
    alarms = [n["text"] for n in SET["hard_negatives"] if detector.detect(n["text"])]
    assert len(alarms) / len(SET["hard_negatives"]) <= 0.02, alarms


def test_lower_risk_mentions_never_get_the_full_alarm(detector):
    alarmed = [
        x["text"]
        for x in SET["lower_risk"]
        if (d := detector.detect(x["text"])) is not None and d.level == ACUTE
    ]
    assert alarmed == []


@pytest.mark.parametrize(
    "text, reason",
    [
        ("I want to kill myself", "suicidal"),
        ("kms", "suicidal"),
        ("thinking about how to unalive myself", "suicidal"),
        ("i wanna dye", None),  # not in the patterns: the trained intent is the second net
        ("I wrote goodbye letters to my kids", "suicidal"),
        ("no point in living anymore", "suicidal"),
        ("im cutting right now", "self_harm"),
        ("he's not breathing after using", "overdose_medical"),
        ("my partner says she is going to kill herself", "third_person_suicidal"),
        ("my boyfriend is threatening me right now", "danger_from_others"),
        ("I'm going to hurt my coworker tomorrow", "harm_to_others"),
    ],
)
def test_acute_examples(detector, text, reason):
    detection = detector.detect(text)
    if reason is None:
        assert detection is None
    else:
        assert detection is not None and detection.level == ACUTE and detection.reason == reason


@pytest.mark.parametrize(
    "text",
    [
        "this wait is killing me",
        "I'm dying to know how big the groups are",
        "I've been killing it at work",
        "my depression is worse",
        "I relapsed last weekend",
        "I drink every night",
        "my phone is about to die",
        "can you shoot me an email with the schedule",
        "I need to cut back on drinking",
    ],
)
def test_idioms_and_clinical_talk_do_not_trigger(detector, text):
    assert detector.detect(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "I attempted suicide 5 years ago",
        "what happens if I tell my therapist I'm suicidal",
        "do you treat people with a history of self-harm",
    ],
)
def test_past_and_policy_mentions_are_a_concern_not_an_alarm(detector, text):
    detection = detector.detect(text)
    assert detection is not None and detection.level == CONCERN


def test_present_danger_keeps_a_past_mention_acute(detector):
    assert (
        detector.detect(
            "I attempted suicide years ago and I want to kill myself again tonight"
        ).level
        == ACUTE
    )


def test_normalisation_spells_out_slang_and_contractions(detector):
    assert detector.normalize("I can't, kms") == "i can not, kill myself"


def _write(tmp_path, text):
    path = tmp_path / "patterns.yml"
    path.write_text(text)
    return path


def test_a_missing_section_is_named(tmp_path):
    with pytest.raises(PatternError, match="missing key 'keep_acute'"):
        CrisisDetector(
            _write(
                tmp_path, "normalize: {}\nacute: {}\nconcern: {}\nnot_crisis: []\ndowngrade: []\n"
            )
        )


def test_a_bad_rule_is_named(tmp_path):
    text = (
        "normalize: {}\nacute:\n  suicidal:\n    - 'kill|=myself'\nconcern: {}\n"
        "not_crisis: []\ndowngrade: []\nkeep_acute: []\n"
    )
    with pytest.raises(PatternError, match=r"acute\.suicidal\[0\]"):
        CrisisDetector(_write(tmp_path, text))
