"""bot.screening: content validation, question flow, scoring and recommendation rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.dialog import Question
from bot.screening import (
    INSTRUMENTS,
    SKIPPED,
    Recommendation,
    ScreeningContentError,
    load_instruments,
    load_screening,
    next_question,
    parse_answer,
    recommend,
    score_all,
    stop_reason,
)
from bot.screening import content as content_mod

LICENSED = ["TX", "OK", "LA", "AR", "NM", "CO"]
SCREENING_DIR = Path(content_mod.__file__).parent


def phq(*values):
    return {f"phq9.{n}": v for n, v in enumerate(values, start=1)}


def gad(*values):
    return {f"gad7.{n}": v for n, v in enumerate(values, start=1)}


def spread(total, items, top):
    """`items` values 0..top summing to `total`."""
    values = []
    for _ in range(items):
        v = min(top, total)
        values.append(v)
        total -= v
    assert total == 0
    return values


# --- content -----------------------------------------------------------------------------


def test_instruments_loaded_with_source_and_licence():
    assert list(INSTRUMENTS) == ["phq9", "gad7", "auditc", "nida", "asq"]
    counts = {"phq9": 9, "gad7": 7, "auditc": 3, "nida": 1, "asq": 5}
    for inst_id, inst in INSTRUMENTS.items():
        assert len(inst.items) == counts[inst_id]
        assert inst.source.strip() and inst.licence.strip()
    assert [o.title for o in INSTRUMENTS["phq9"].options] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    assert [o.value for o in INSTRUMENTS["gad7"].options] == [0, 1, 2, 3]
    assert "DAST-10 is NOT included" in (SCREENING_DIR / "instruments" / "nida.yml").read_text()


def test_asq_wording_verbatim():
    texts = [i.text for i in INSTRUMENTS["asq"].items]
    assert texts == [
        "In the past few weeks, have you wished you were dead?",
        "In the past few weeks, have you felt that you or your family would be better off "
        "if you were dead?",
        "In the past week, have you been having thoughts about killing yourself?",
        "Have you ever tried to kill yourself?",
        "Are you having thoughts of killing yourself right now?",
    ]


def test_every_button_parses_to_its_option():
    from bot.screening import CONTENT

    keys = [q.key for q in CONTENT.fit.questions if q.kind == "choice"]
    for inst in INSTRUMENTS.values():
        keys += inst.keys
    for key in keys:
        q = CONTENT.question(key)
        inst, n = CONTENT.locate(key)
        options = inst.item_options(n) if inst else CONTENT.fit_questions[key].options
        for button, opt in zip(q.options, options, strict=True):
            got = parse_answer(key, button.value)
            assert got == opt.value and type(got) is type(opt.value), (key, button)


def test_question_texts_fit_a_bubble():
    from bot.screening import CONTENT

    keys = [q.key for q in CONTENT.fit.questions] + [
        k for i in INSTRUMENTS.values() for k in i.keys
    ]
    for key in keys:
        q = CONTENT.question(key)
        assert isinstance(q, Question)
        assert len(q.text.split()) <= 60, key  # one phone bubble
        assert q.help


def test_preamble_and_progress():
    q = next_question({**fit_ok(), "sex": "female"}, LICENSED)
    assert q.key == "phq9.1"
    assert q.text.startswith("Over the last 2 weeks, how often have you been bothered by:")
    assert q.text.endswith("(question 1 of 9)")
    assert [o.title for o in q.options][0] == "Not at all"


# --- validation errors name the file and key ------------------------------------------------


def _broken_copy(tmp_path, name, mutate):
    d = tmp_path / "instruments"
    shutil.copytree(SCREENING_DIR / "instruments", d)
    data = yaml.safe_load((d / name).read_text())
    mutate(data)
    (d / name).write_text(yaml.safe_dump(data, sort_keys=False))
    return d


def test_bad_option_value_names_the_key(tmp_path):
    def mutate(data):
        data["items"][3]["options"] = [{"title": "A", "value": 0}, {"title": "B", "value": "lots"}]

    d = _broken_copy(tmp_path, "phq9.yml", mutate)
    with pytest.raises(ScreeningContentError) as exc:
        load_instruments(d)
    assert "phq9.yml: items.3.options.1.value: value is not a valid integer" in str(exc.value)


def test_unknown_key_is_an_error(tmp_path):
    d = _broken_copy(tmp_path, "gad7.yml", lambda data: data["scoring"].update(cutoff=10))
    with pytest.raises(
        ScreeningContentError, match=r"gad7.yml: scoring.cutoff: extra fields not permitted"
    ):
        load_instruments(d)


def test_missing_licence_is_an_error(tmp_path):
    d = _broken_copy(tmp_path, "nida.yml", lambda data: data.pop("licence"))
    with pytest.raises(ScreeningContentError, match=r"nida.yml: licence: field required"):
        load_instruments(d)


def test_bare_yes_no_in_yaml_is_an_error(tmp_path):
    d = _broken_copy(
        tmp_path,
        "auditc.yml",
        lambda data: data["items"][0]["options"][0]["synonyms"].append(False),
    )
    with pytest.raises(
        ScreeningContentError,
        match=r"auditc.yml: items.0.options.0.synonyms.\d+: str type expected",
    ):
        load_instruments(d)


def test_bad_condition_and_bands_are_errors(tmp_path):
    d = _broken_copy(tmp_path, "asq.yml", lambda data: data.update(ask_when="phq9.9 is big"))
    with pytest.raises(
        ScreeningContentError, match=r"asq.yml: ask_when: cannot read condition clause"
    ):
        load_instruments(d)
    d2 = tmp_path / "two"
    d2.mkdir()
    data = yaml.safe_load((SCREENING_DIR / "instruments" / "phq9.yml").read_text())
    data["scoring"]["bands"][2]["from"] = 4
    (d2 / "phq9.yml").write_text(yaml.safe_dump(data))
    with pytest.raises(
        ScreeningContentError,
        match=r"phq9.yml: scoring.bands: band 'moderate' does not start above",
    ):
        load_instruments(d2)


def test_condition_pointing_nowhere_is_an_error(tmp_path):
    d = _broken_copy(tmp_path, "asq.yml", lambda data: data.update(ask_when="phq9.19 > 0"))
    with pytest.raises(
        ScreeningContentError, match=r"asq.yml: ask_when: unknown question key 'phq9.19'"
    ):
        load_screening(instruments_dir=d)


def test_fit_sequence_unknown_step_is_an_error(tmp_path):
    data = yaml.safe_load((SCREENING_DIR / "fit.yml").read_text())
    data["sequence"].append("dast10")
    path = tmp_path / "fit.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScreeningContentError, match=r"fit.yml: sequence.16: 'dast10' is neither"):
        load_screening(fit_path=path)


# --- flow --------------------------------------------------------------------------------


def fit_ok(**over):
    base = {
        "fit.age": 34,
        "fit.state": "TX",
        "fit.for_whom": "me",
        "fit.withdrawal_alcohol": False,
        "fit.withdrawal_meds": False,
        "fit.withdrawal_seizures": False,
        "fit.safe_housing": True,
        "fit.safe_at_home": True,
        "fit.device_private": True,
        "fit.hours": "yes",
    }
    base.update({f"fit.{k}": v for k, v in over.items()})
    return base


def run(answers, stop_after=None):
    """Keys asked, in order, answering from `answers` (missing answers: 0 / first option)."""
    got, asked = {}, []
    while True:
        q = next_question(got, LICENSED)
        if q is None:
            return asked, got
        asked.append(q.key)
        got[q.key] = answers[q.key] if q.key in answers else parse_answer(q.key, q.options[0].value)


def test_order_fit_sex_then_instruments():
    asked, _ = run({**fit_ok(), "sex": "male"})
    assert asked[:10] == list(fit_ok())
    assert asked[10] == "sex"
    # AUDIT-C 2 and 3 are not asked when the person never drinks; no ASQ when item 9 is 0.
    assert asked[11:] == [f"phq9.{n}" for n in range(1, 10)] + [
        f"gad7.{n}" for n in range(1, 8)
    ] + ["auditc.1", "nida.1"]


def test_auditc_follow_ups_when_drinking():
    asked, _ = run({**fit_ok(), "sex": "male", "auditc.1": 2})
    assert asked[-4:] == ["auditc.1", "auditc.2", "auditc.3", "nida.1"]


@pytest.mark.parametrize("item9", [1, 2, 3, SKIPPED])
def test_phq9_item9_triggers_asq(item9):
    assert run({**fit_ok(), "sex": "female", "phq9.9": 0})[0][-1] == "nida.1"
    no = {f"asq.{n}": 0 for n in range(1, 5)}
    asked, _ = run({**fit_ok(), "sex": "female", "phq9.9": item9, **no})
    assert asked[-4:] == ["asq.1", "asq.2", "asq.3", "asq.4"]  # all no: no acuity question


@pytest.mark.parametrize("positive", [1, 2, SKIPPED])  # yes, refused, skipped
def test_acuity_question_when_any_asq_positive(positive):
    no = {f"asq.{n}": 0 for n in range(1, 5)}
    asked, _ = run({**fit_ok(), "sex": "female", "phq9.9": 1, **no, "asq.3": positive})
    assert asked[-1] == "asq.5"


def test_stops_early_under_18_and_out_of_state():
    assert next_question({"fit.age": 17}, LICENSED) is None
    assert stop_reason({"fit.age": 17}, LICENSED) == "under_18"
    assert stop_reason({"fit.age": 18}, LICENSED) is None
    assert next_question({"fit.age": 40}, LICENSED).key == "fit.state"
    assert next_question({"fit.age": 40, "fit.state": "CA"}, LICENSED) is None
    assert stop_reason({"fit.age": 40, "fit.state": "CA"}, LICENSED) == "out_of_state"
    assert stop_reason({"fit.age": 40, "fit.state": "TX"}, LICENSED) is None
    assert stop_reason({"fit.age": 40, "fit.state": "CA"}, ["CA"]) is None


def test_skipped_questions_move_on():
    answers = {**fit_ok(), "sex": SKIPPED, "phq9.1": SKIPPED}
    assert next_question(answers, LICENSED).key == "phq9.2"


# --- scoring -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "total,band",
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands(total, band):
    sc = score_all(phq(*spread(total, 9, 3)))["phq9"]
    assert (sc["total"], sc["band"], sc["complete"]) == (total, band, True)
    assert sc["positive"] is (total >= 10)


@pytest.mark.parametrize(
    "total,band",
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands(total, band):
    sc = score_all(gad(*spread(total, 7, 3)))["gad7"]
    assert (sc["total"], sc["band"], sc["complete"]) == (total, band, True)


def test_incomplete_and_unanswered():
    sc = score_all({**phq(1, 1, 1, 1, 1, 1, 1, 1), "phq9.9": SKIPPED})["phq9"]
    assert sc["total"] == 8 and sc["complete"] is False
    sc = score_all({})["gad7"]
    assert (
        sc["total"] is None
        and sc["band"] is None
        and sc["positive"] is False
        and sc["complete"] is False
    )


@pytest.mark.parametrize(
    "sex,total,positive",
    [
        ("male", 3, False),
        ("male", 4, True),
        ("female", 2, False),
        ("female", 3, True),
        ("not_given", 2, False),
        ("not_given", 3, True),
        (None, 2, False),
        (None, 3, True),
        (SKIPPED, 3, True),
    ],
)
def test_auditc_cutoffs_by_sex(sex, total, positive):
    a, b, c = spread(total, 3, 4)
    answers = {"auditc.1": max(a, 1), "auditc.2": b, "auditc.3": c}
    answers["auditc.2"] -= max(a, 1) - a  # keep the total when auditc.1 was raised to 1
    if sex is not None:
        answers["sex"] = sex
    sc = score_all(answers)["auditc"]
    assert sc["total"] == total and sc["positive"] is positive and sc["complete"] is True


def test_auditc_all_zero_and_max():
    assert score_all({"auditc.1": 0})["auditc"] == {
        "total": 0,
        "band": "negative",
        "positive": False,
        "complete": True,
        "answered": 1,
        "asked": True,
    }
    sc = score_all({"auditc.1": 4, "auditc.2": 4, "auditc.3": 4, "sex": "male"})["auditc"]
    assert sc["total"] == 12 and sc["positive"] is True and sc["band"] == "positive"


@pytest.mark.parametrize("value,positive", [(0, False), (1, True), (4, True)])
def test_nida_any_use_positive(value, positive):
    sc = score_all({"nida.1": value})["nida"]
    assert sc["positive"] is positive and sc["band"] == ("use" if positive else "no_use")


@pytest.mark.parametrize(
    "asq,result",
    [
        ({}, "not_asked"),
        ({"phq9.9": 1, "asq.1": 0, "asq.2": 0, "asq.3": 0, "asq.4": 0}, "negative"),
        (
            {"phq9.9": 1, "asq.1": 1, "asq.2": 0, "asq.3": 0, "asq.4": 0, "asq.5": 0},
            "non_acute_positive",
        ),
        (
            {"phq9.9": 1, "asq.1": 0, "asq.2": 0, "asq.3": 0, "asq.4": 2, "asq.5": 0},
            "non_acute_positive",
        ),
        (
            {"phq9.9": 1, "asq.1": 0, "asq.2": SKIPPED, "asq.3": 0, "asq.4": 0, "asq.5": 0},
            "non_acute_positive",
        ),
        (
            {"phq9.9": 1, "asq.1": 1, "asq.2": 1, "asq.3": 1, "asq.4": 1, "asq.5": 1},
            "acute_positive",
        ),
        (
            {"phq9.9": 2, "asq.1": 0, "asq.2": 0, "asq.3": 1, "asq.4": 0, "asq.5": 2},
            "acute_positive",
        ),
        (
            {"phq9.9": 2, "asq.1": 1, "asq.2": 0, "asq.3": 0, "asq.4": 0, "asq.5": SKIPPED},
            "acute_positive",
        ),
    ],
)
def test_asq_results(asq, result):
    assert score_all(asq)["asq"]["result"] == result


def test_asq_refusal_is_recorded():
    sc = score_all({"phq9.9": 1, "asq.1": 2, "asq.2": 0, "asq.3": 0, "asq.4": 0, "asq.5": 0})["asq"]
    assert sc["refused"] is True and sc["positive"] is True


# --- recommendation ----------------------------------------------------------------------

MILD = {
    "sex": "female",
    **phq(1, 1, 1, 1, 0, 0, 0, 0, 0),
    **gad(1, 1, 0, 0, 0, 0, 0),
    "auditc.1": 0,
    "nida.1": 0,
}
MODERATE_DEP = {**MILD, **phq(2, 2, 2, 2, 1, 1, 0, 0, 0)}  # 10
ASQ_NEG = {"phq9.9": 1, "asq.1": 0, "asq.2": 0, "asq.3": 0, "asq.4": 0}
ASQ_NONACUTE = {"phq9.9": 1, "asq.1": 1, "asq.2": 0, "asq.3": 0, "asq.4": 0, "asq.5": 0}
ASQ_ACUTE = {**ASQ_NONACUTE, "asq.5": 1}


CASES = [
    # (name, answers, level, offer, review)
    ("acute ASQ", {**fit_ok(), **MODERATE_DEP, **ASQ_ACUTE}, "crisis", ["person"], True),
    (
        "acute ASQ by refusal",
        {**fit_ok(), **MILD, **ASQ_NONACUTE, "asq.5": 2},
        "crisis",
        ["person"],
        True,
    ),
    ("acute beats under 18", {**fit_ok(age=17), **ASQ_ACUTE}, "crisis", ["person"], True),
    (
        "non-acute ASQ",
        {**fit_ok(), **MODERATE_DEP, **ASQ_NONACUTE},
        "safety_review",
        ["person"],
        True,
    ),
    (
        "ASQ refusal = positive",
        {**fit_ok(), **MILD, **ASQ_NEG, "asq.2": 2, "asq.5": 0},
        "safety_review",
        ["person"],
        True,
    ),
    (
        "ASQ negative, mild",
        {**fit_ok(), **MILD, **ASQ_NEG},
        "lower_level",
        ["book", "person"],
        False,
    ),
    ("under 18", {"fit.age": 16}, "not_eligible", ["person"], False),
    ("out of state", {"fit.age": 30, "fit.state": "CA"}, "not_eligible", ["person"], False),
    (
        "withdrawal: alcohol",
        {**fit_ok(withdrawal_alcohol=True), **MODERATE_DEP},
        "withdrawal_management",
        ["person"],
        True,
    ),
    (
        "withdrawal: seizures beats unsafe",
        {**fit_ok(withdrawal_seizures=True, safe_housing=False), **MILD},
        "withdrawal_management",
        ["person"],
        True,
    ),
    (
        "no safe housing",
        {**fit_ok(safe_housing=False), **MODERATE_DEP},
        "higher_level",
        ["person"],
        True,
    ),
    ("cannot stay safe", {**fit_ok(safe_at_home=False), **MILD}, "higher_level", ["person"], True),
    (
        "moderate depression",
        {**fit_ok(), **MODERATE_DEP},
        "iop_fit",
        ["check_insurance", "book"],
        False,
    ),
    (
        "PHQ-9 9 is not enough",
        {**fit_ok(), **MILD, **phq(2, 2, 2, 2, 1, 0, 0, 0, 0)},
        "lower_level",
        ["book", "person"],
        False,
    ),
    (
        "moderate anxiety",
        {**fit_ok(), **MILD, **gad(2, 2, 2, 2, 2, 0, 0)},
        "iop_fit",
        ["check_insurance", "book"],
        False,
    ),
    (
        "AUDIT-C 3 woman",
        {**fit_ok(), **MILD, "auditc.1": 1, "auditc.2": 1, "auditc.3": 1},
        "iop_fit",
        ["check_insurance", "book"],
        False,
    ),
    (
        "AUDIT-C 3 man",
        {**fit_ok(), **MILD, "sex": "male", "auditc.1": 1, "auditc.2": 1, "auditc.3": 1},
        "lower_level",
        ["book", "person"],
        False,
    ),
    ("drug use", {**fit_ok(), **MILD, "nida.1": 1}, "iop_fit", ["check_insurance", "book"], False),
    (
        "hours not sure is fine",
        {**fit_ok(hours="not_sure"), **MODERATE_DEP},
        "iop_fit",
        ["check_insurance", "book"],
        False,
    ),
    ("no device", {**fit_ok(device_private=False), **MODERATE_DEP}, "iop_fit", ["person"], True),
    ("no hours", {**fit_ok(hours="no"), **MILD, "nida.1": 3}, "iop_fit", ["person"], True),
    ("mild only", {**fit_ok(), **MILD}, "lower_level", ["book", "person"], False),
    (
        "skipped withdrawal question",
        {**fit_ok(withdrawal_meds=SKIPPED), **MILD},
        "lower_level",
        ["book", "person"],
        True,
    ),
]


@pytest.mark.parametrize("name,answers,level,offer,review", CASES, ids=[c[0] for c in CASES])
def test_recommendation_rules(name, answers, level, offer, review):
    rec = recommend(answers, LICENSED)
    assert isinstance(rec, Recommendation)
    assert (rec.level, rec.offer, rec.coordinator_review) == (level, offer, review)
    assert "screening, not a diagnosis" in rec.text
    assert len(rec.text.split()) <= 60
    assert rec.reasons or level == "lower_level"
    for word in ("depression", "disorder", "alcoholic", "addict"):
        assert word not in rec.text.lower()


def test_recommendation_texts_and_reasons():
    rec = recommend({**fit_ok(), **MODERATE_DEP, **ASQ_NONACUTE}, LICENSED)
    assert (
        "988" in rec.text
        and "988lifeline.org" in rec.text
        and "clinician will talk with you before booking" in rec.text
    )
    rec = recommend({**fit_ok(withdrawal_meds=True), **MILD}, LICENSED)
    assert (
        "dangerous" in rec.text
        and "dependent on benzodiazepines or opioids (withdrawal risk)" in rec.reasons
    )
    rec = recommend({**fit_ok(), **MODERATE_DEP}, LICENSED)
    assert "IOP looks like a good fit" in rec.text
    assert "depression screen (PHQ-9): 10, moderate" in rec.reasons
    rec = recommend({**fit_ok(device_private=False, hours="no"), **MODERATE_DEP}, LICENSED)
    assert "camera" in rec.text and "9 hours a week" in rec.text and len(rec.text.split()) <= 60
    rec = recommend({**fit_ok(), **MILD}, LICENSED)
    assert (
        "lower level of care such as weekly outpatient" in rec.text
        and "assessment can confirm" in rec.text
    )
    rec = recommend({"fit.age": 16}, LICENSED)
    assert "18" in rec.text and rec.reasons == ["under 18"]
    rec = recommend({"fit.age": 30, "fit.state": "CA"}, LICENSED)
    assert "licensed" in rec.text and "CA" in rec.reasons[0]


def test_plain_python_and_nothing_logged():
    """No Rasa imports, and no logging or printing of answers anywhere in the package."""
    for path in SCREENING_DIR.rglob("*.py"):
        src = path.read_text()
        assert "import rasa" not in src and "from rasa" not in src, path
        assert "import logging" not in src and "getLogger" not in src, path
        if path.name != "__main__.py":
            assert "print(" not in src, path
