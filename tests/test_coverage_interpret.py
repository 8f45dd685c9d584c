"""The interpreter on Stedi's published example responses (tests/fixtures/stedi) and the
plain-English bubbles."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.coverage import CoverageResult, interpret
from bot.coverage.wording import ESTIMATE, correction, render

FIX = Path(__file__).parent / "fixtures" / "stedi"


def load(name):
    return json.loads((FIX / name).read_text())


def words_ok(result):
    msgs = render(result)
    assert msgs and all(len(m.split()) <= 60 for m in msgs), msgs
    return msgs


def test_stedi_mental_health_example():
    r = interpret(load("eligibility_mh_example.json"), payer_name="Cigna", plan_type="ppo")
    assert r.status == "active" and r.plan_name == "Open Access Plus"
    assert r.has_bh_benefits
    i, o = r.in_network, r.out_of_network
    assert i.deductible == 0  # behavioural-health deductible does not apply (BH entries say 0)
    assert i.copay.low == i.copay.high == Decimal("20")
    assert i.coinsurance.high == 0
    assert i.oop_max == Decimal("3000")  # individual, not family (6000)
    assert o.deductible == Decimal("7500") and o.oop_max == Decimal("15000")
    assert o.coinsurance.low == Decimal("50")  # benefitPercent "0.5" is a fraction
    assert r.prior_auth_required is False
    assert r.carve_out is None
    msgs = words_ok(r)
    assert msgs[0].startswith("Good news: your Cigna PPO plan is active.")
    assert "$20 copay per visit" in msgs[0] and "$3,000" in msgs[0]
    assert msgs[-1].endswith(ESTIMATE)


@pytest.mark.parametrize(
    "code, field, reason",
    [
        ("71", "dob", "dob_mismatch"),
        ("72", "member_id", "member_id_invalid"),
        ("73", "name", "name_mismatch"),
        ("75", "member_id", "not_found"),
        ("76", "person", "duplicate"),
    ],
)
def test_aaa_field_errors(code, field, reason):
    r = interpret(load(f"aaa_{code}.json"))
    assert (r.status, r.error_field, r.aaa_code, r.reason) == ("error", field, code, reason)
    words_ok(r)


@pytest.mark.parametrize("code", ["42", "79"])
def test_aaa_unavailable(code):
    r = interpret(load(f"aaa_{code}.json"))
    assert r.status == "unavailable" and r.aaa_code == code and r.error_field is None
    assert r.needs_followup
    assert "coordinator" in "\n\n".join(render(r))


def test_aaa_in_subscriber_only():
    resp = {"subscriber": {"aaaErrors": [{"field": "AAA", "code": "72"}]}}
    assert interpret(resp).error_field == "member_id"


def test_carve_out():
    r = interpret(
        load("carve_out.json"), payer_name="Blue Cross and Blue Shield of Texas", plan_type="ppo"
    )
    assert r.status == "active" and r.carve_out == "Magellan" and r.needs_followup
    msgs = words_ok(r)
    assert "managed by Magellan" in msgs[0] and "coordinator will confirm" in msgs[0]


def _resp(*entries, status=None):
    return {"planStatus": status or [], "benefitsInformation": list(entries)}


def test_inactive():
    r = interpret(
        _resp({"code": "6", "name": "Inactive", "serviceTypeCodes": ["30"]}),
        payer_name="Aetna",
        plan_type="ppo",
    )
    assert r.status == "inactive"
    msgs = words_ok(r)
    assert "not active" in msgs[0] and msgs[-1].endswith(ESTIMATE)


def test_remaining_and_met_deductible():
    bh = ["MH"]
    r = interpret(
        _resp(
            {"code": "1", "serviceTypeCodes": ["30"]},
            {
                "code": "C",
                "serviceTypeCodes": bh,
                "coverageLevelCode": "IND",
                "timeQualifierCode": "23",
                "benefitAmount": "1500",
                "inPlanNetworkIndicatorCode": "Y",
            },
            {
                "code": "C",
                "serviceTypeCodes": bh,
                "coverageLevelCode": "IND",
                "timeQualifierCode": "29",
                "benefitAmount": "0",
                "inPlanNetworkIndicatorCode": "Y",
            },
            {
                "code": "G",
                "serviceTypeCodes": ["30"],
                "coverageLevelCode": "IND",
                "timeQualifierCode": "23",
                "benefitAmount": "5000",
                "inPlanNetworkIndicatorCode": "Y",
            },
            {
                "code": "G",
                "serviceTypeCodes": ["30"],
                "coverageLevelCode": "IND",
                "timeQualifierCode": "29",
                "benefitAmount": "3100",
                "inPlanNetworkIndicatorCode": "Y",
            },
            {
                "code": "A",
                "serviceTypeCodes": bh,
                "benefitPercent": "0.2",
                "authOrCertIndicator": "Y",
                "inPlanNetworkIndicatorCode": "Y",
            },
        ),
        payer_name="Aetna",
        plan_type="ppo",
    )
    assert r.in_network.deductible_remaining == 0 and r.in_network.oop_remaining == Decimal("3100")
    assert r.prior_auth_required is True and r.out_of_network is None
    text = "\n\n".join(render(r))
    assert (
        "deductible $1,500 (already met), then 20% coinsurance; "
        "out-of-pocket maximum $5,000 ($3,100 left)" in text
    )
    assert "Prior authorization is required; we handle it." in text


def test_out_of_network_only():
    r = interpret(
        _resp(
            {"code": "1", "serviceTypeCodes": ["30"]},
            {
                "code": "A",
                "serviceTypeCodes": ["MH"],
                "benefitPercent": "0.4",
                "inPlanNetworkIndicatorCode": "N",
            },
        ),
        payer_name="Aetna",
        plan_type="epo",
    )
    assert r.in_network is None and r.out_of_network.coinsurance.low == 40
    assert r.reason == "out_of_network_only"
    assert "out-of-network benefits" in words_ok(r)[0]


def test_active_without_bh_detail_needs_followup():
    r = interpret(
        _resp({"code": "1", "serviceTypeCodes": ["30"]}), payer_name="Aetna", plan_type="ppo"
    )
    assert r.status == "active" and not r.has_bh_benefits and r.needs_followup
    assert "coordinator" in "\n\n".join(render(r))


def test_garbage_is_not_active():
    assert interpret({}).status == "unavailable"
    assert interpret([]).status == "unavailable"  # type: ignore[arg-type]


def test_result_round_trip():
    r = interpret(load("eligibility_mh_example.json"), payer_name="Cigna", plan_type="ppo")
    data = json.loads(json.dumps(r.to_dict()))
    assert CoverageResult.from_dict(data) == r


@pytest.mark.parametrize("code", ["71", "72", "73", "75"])
def test_correction_asked_once_then_final_words(code):
    """A field the person can fix is asked again once (`correction`); the final answer, after
    the correction was used, ends the check and never asks to type anything again."""
    r = interpret(load(f"aaa_{code}.json"))
    assert "again" in correction(r) or "exactly" in correction(r)
    final = " ".join(render(r))
    assert "coordinator" in final
    assert "again" not in final and "type" not in final.lower()


def test_no_correction_for_what_cannot_be_fixed():
    assert correction(interpret(load("aaa_76.json"))) is None
    assert correction(interpret(load("aaa_42.json"))) is None
