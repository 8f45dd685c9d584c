"""Insurance as a dependent on someone else's plan (issue 15, couples): the sandbox family
over real HTTP, the request (policyholder in `subscriber`, patient in `dependents`), reading
the 271 (the dependent's benefits, relation, dependent-level AAA errors), and the coverage
flow's questions and one correction, on the engine the action server runs."""

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import bot.flows.coverage as coverage_flow
from bot import consent, handoff
from bot.coverage import (
    CoverageRequest,
    CoverageResult,
    EligibilityClient,
    build_payload,
    check_coverage,
    interpret,
    match_payer,
)
from bot.coverage.records import checks_for
from bot.coverage.wording import CANNOT_MATCH, CORRECTIONS, correction, render
from bot.flows.coverage import CoverageFlow
from bot.flows.engine import Context, Engine
from bot.profile import load_profile
from stand_ins.clearinghouse import MEMBERS, PATH, start_sandbox

PROFILE = load_profile()
UHC = match_payer("uhc")[0]
FIX = Path(__file__).parent / "fixtures" / "stedi"
MORGAN = {"memberId": "SBX2001", "firstName": "Morgan", "lastName": "Blake"}
RILEY = {"firstName": "Riley", "lastName": "Blake", "dateOfBirth": "19880923"}


@pytest.fixture(scope="module")
def sandbox():
    server, url = start_sandbox(port=0)
    yield server, url
    server.shutdown()
    server.server_close()


@pytest.fixture()
def client(sandbox):
    server, url = sandbox
    server.reset()
    c = EligibilityClient(url, api_key="k", provider_npi="1999999984", provider_name="IOP")
    yield c
    c.close()


def post(sandbox, body):
    response = httpx.post(sandbox[1] + PATH, json=body, headers={"Authorization": "k"})
    assert response.status_code == 200, response.text
    return response.json()


def entry(resp, code, network, level, time_q):
    [found] = [
        e
        for e in resp["benefitsInformation"]
        if e["code"] == code
        and e.get("inPlanNetworkIndicatorCode") == network
        and e.get("coverageLevelCode") == level
        and e.get("timeQualifierCode") == time_q
        and "MH" in e["serviceTypeCodes"]
    ]
    return found["benefitAmount"]


def family_request(first="Riley", last="Blake", born=date(1988, 9, 23), **kw):
    """Riley (or who is given) as a dependent on Morgan Blake's plan; `kw` overrides."""
    person = dict(
        payer=UHC,
        plan_type="ppo",
        member_id="SBX2001",
        first_name="Morgan",
        last_name="Blake",
        dob=date(1986, 5, 12),
        relation="spouse",
        patient_first_name=first,
        patient_last_name=last,
        patient_dob=born,
    )
    person.update(kw)
    return CoverageRequest(**person)


# --- the sandbox family, in Stedi's format ------------------------------------------------------


@pytest.mark.parametrize(
    "dependent, relation, code, deductible_left",
    [
        (RILEY, "Spouse", "01", "1500"),
        (
            {"firstName": "avery", "lastName": "BLAKE", "dateOfBirth": "20150308"},
            "Child",
            "19",
            "200",
        ),
    ],
)
def test_a_family_member_gets_their_own_benefits_named_with_their_relation(
    sandbox, dependent, relation, code, deductible_left
):
    resp = post(
        sandbox,
        {"subscriber": {**MORGAN, "dateOfBirth": "19860512"}, "dependents": [dependent]},
    )
    [dep] = resp["dependents"]
    assert (dep["relationToSubscriber"], dep["relationToSubscriberCode"]) == (relation, code)
    assert dep["firstName"] == dependent["firstName"].upper() and dep["insuredIndicator"] == "N"
    assert dep["entityIdentifier"] == "Dependent" and "aaaErrors" not in dep
    assert resp["subscriber"]["memberId"] == "SBX2001" and "errors" not in resp
    # their own individual figures; the family's totals come as FAM entries beside them
    assert entry(resp, "C", "Y", "IND", "29") == deductible_left
    assert entry(resp, "C", "Y", "FAM", "23") == "3000"
    assert entry(resp, "C", "Y", "FAM", "29") == "1100"


def test_the_policyholder_alone_gets_the_policyholders_benefits(sandbox):
    resp = post(sandbox, {"subscriber": {**MORGAN, "dateOfBirth": "19860512"}})
    assert "dependents" not in resp and entry(resp, "C", "Y", "IND", "29") == "900"


def test_a_domestic_partner_is_a_life_partner(sandbox):
    resp = post(
        sandbox,
        {
            "subscriber": {"memberId": "SBX2002", "firstName": "Dana", "lastName": "Okafor"},
            "dependents": [{"firstName": "Casey", "lastName": "Lin", "dateOfBirth": "19841102"}],
        },
    )
    [dep] = resp["dependents"]
    assert (dep["relationToSubscriber"], dep["relationToSubscriberCode"]) == ("Life Partner", "53")


@pytest.mark.parametrize(
    "member, dependent, code",
    [
        ("SBX2001", {**RILEY, "dateOfBirth": "19880924"}, "71"),  # the name on file, another DOB
        ("SBX2001", {**RILEY, "firstName": "Rylee"}, "65"),  # a DOB on file, another name
        ("SBX2001", {**RILEY, "firstName": "Sam", "dateOfBirth": "19700101"}, "67"),
        ("SBX2001", {"firstName": "Riley", "lastName": "Blake"}, "58"),  # no DOB
        ("SBX2001", {"lastName": "Blake", "dateOfBirth": "19880923"}, "65"),  # no first name
        ("SBX1001", RILEY, "67"),  # nobody on file besides the policyholder
    ],
)
def test_a_dependent_not_on_file_gets_a_dependent_level_aaa_error(sandbox, member, dependent, code):
    person = MEMBERS[member]
    resp = post(
        sandbox,
        {
            "subscriber": {
                "memberId": member,
                "firstName": person["first"],
                "lastName": person["last"],
                "dateOfBirth": person["dob"],
            },
            "dependents": [dependent],
        },
    )
    [err] = resp["errors"]
    assert (err["code"], err["location"], err["field"]) == (code, "Loop 2100D", "AAA")
    assert resp["dependents"][0]["aaaErrors"] == [err]
    assert "aaaErrors" not in resp["subscriber"] and "benefitsInformation" not in resp


def test_the_policyholders_details_are_still_checked_with_a_dependent(sandbox):
    resp = post(
        sandbox, {"subscriber": {**MORGAN, "dateOfBirth": "19860513"}, "dependents": [RILEY]}
    )
    assert [(e["code"], e["location"]) for e in resp["errors"]] == [("71", "Loop 2100C")]
    assert resp["subscriber"]["aaaErrors"] and "dependents" not in resp
    resp = post(sandbox, {"subscriber": {**MORGAN, "lastName": "Black"}, "dependents": [RILEY]})
    assert [e["code"] for e in resp["errors"]] == ["73"]


def test_one_dependent_per_check(sandbox):
    body = {"subscriber": MORGAN, "dependents": [RILEY, RILEY]}
    response = httpx.post(sandbox[1] + PATH, json=body, headers={"Authorization": "k"})
    assert response.status_code == 400


# --- the request and its reading -----------------------------------------------------------------


def test_the_request_names_the_policyholder_and_the_dependent(client):
    payload = build_payload(family_request(), client)
    assert payload["subscriber"] == {
        "memberId": "SBX2001",
        "firstName": "Morgan",
        "lastName": "Blake",
        "dateOfBirth": "19860512",
    }
    # The relation is not sent: with the member ID, name and birth date (X12's primary search)
    # the 270 TR3 prohibits the 2100D INS segment; the 271 names it back.
    assert payload["dependents"] == [RILEY]
    assert "individualRelationshipCode" not in json.dumps(payload)
    own = build_payload(family_request(relation="self"), client)
    assert "dependents" not in own and own["subscriber"]["firstName"] == "Morgan"


def test_a_spouse_on_the_family_plan_gets_the_spouses_in_network_ppo_benefits(client, sandbox):
    r = check_coverage(family_request(), client)
    assert (r.status, r.patient_relation, r.reason) == ("active", "spouse", None)
    i = r.in_network
    # Riley's own figures: not Morgan's ($900 left) nor the family's ($3,000 / $1,100 left)
    assert (i.deductible, i.deductible_remaining) == (Decimal(1500), Decimal(1500))
    assert (i.oop_max, i.oop_remaining) == (Decimal(5000), Decimal(5000))
    assert i.copay.low == 25 and i.coinsurance.low == 20 and r.prior_auth_required is False
    assert not r.needs_followup
    [first, *_] = render(r)
    assert first == (
        "Good news: your coverage on the UnitedHealthcare PPO plan is active. For outpatient "
        "mental health and substance use care in network: deductible $1,500 ($1,500 left to "
        "meet), then $25 copay per visit and 20% coinsurance; out-of-pocket maximum $5,000 "
        "($5,000 left)."
    )
    assert sandbox[0].requests["SBX2001"] == 1


def test_a_child_and_a_domestic_partner_are_read_as_such(client):
    child = check_coverage(
        family_request("Avery", "Blake", date(2015, 3, 8), relation="child"), client
    )
    assert child.patient_relation == "child" and child.in_network.deductible_remaining == 200
    partner = check_coverage(
        CoverageRequest(
            UHC,
            "ppo",
            "SBX2002",
            "Dana",
            "Okafor",
            date(1983, 2, 14),
            relation="spouse",
            patient_first_name="Casey",
            patient_last_name="Lin",
            patient_dob=date(1984, 11, 2),
        ),
        client,
    )
    assert partner.status == "active" and partner.patient_relation == "partner"
    assert partner.in_network.deductible_remaining == 650 and partner.prior_auth_required


def test_the_policyholder_checking_their_own_plan_is_not_a_dependent(client):
    r = check_coverage(family_request(relation="self"), client)
    assert r.status == "active" and r.patient_relation is None
    assert r.in_network.deductible_remaining == 900
    assert render(r)[0].startswith("Good news: your UnitedHealthcare PPO plan is active.")


@pytest.mark.parametrize(
    "request_kw, field, code",
    [
        (dict(born=date(1988, 9, 24)), "patient_dob", "71"),
        (dict(first="Rylee"), "patient_name", "65"),
        (dict(first="Sam", born=date(1970, 1, 1)), "patient", "67"),
    ],
)
def test_a_dependents_mismatch_is_about_the_patient_not_the_policyholder(
    client, request_kw, field, code
):
    r = check_coverage(family_request(**request_kw), client)
    assert (r.status, r.error_field, r.aaa_code) == ("error", field, code)
    assert correction(r) == CORRECTIONS[field]
    final = " ".join(render(r))
    assert CANNOT_MATCH[field] in final and "coordinator" in final
    assert "policyholder" not in final


def test_the_policyholders_own_mismatch_in_a_dependent_check_is_the_policyholders(client):
    r = check_coverage(family_request(dob=date(1986, 5, 13)), client)
    assert (r.error_field, r.aaa_code) == ("dob", "71")
    assert "policyholder" in correction(r)


# --- reading Stedi's own dependent example -------------------------------------------------------


def stedi_dependent_example():
    return json.loads((FIX / "eligibility_dependent_example.json").read_text())


def test_stedis_dependent_example_is_the_spouses_coverage():
    r = interpret(
        stedi_dependent_example(),
        payer_name="UnitedHealthcare",
        plan_type="ppo",
        dependent=("Jane", "Doe"),
    )
    assert (r.status, r.patient_relation, r.reason) == ("active", "spouse", None)
    assert r.in_network.copay.high == 0 and r.in_network.coinsurance.low == 20
    assert r.out_of_network.coinsurance.low == 40
    assert render(r)[0].startswith(
        "Good news: your coverage on the UnitedHealthcare PPO plan is active."
    )
    data = json.loads(json.dumps(r.to_dict()))
    assert CoverageResult.from_dict(data) == r


def test_an_answer_about_the_policyholder_is_not_read_as_the_dependents():
    """A payer that ignores `dependents` answers for the policyholder (Stedi warns of it)."""
    resp = stedi_dependent_example()
    del resp["dependents"]
    r = interpret(resp, payer_name="UnitedHealthcare", plan_type="ppo", dependent=("Jane", "Doe"))
    assert r.status == "active" and r.reason == "dependent_not_confirmed" and r.needs_followup
    [said] = render(r)
    assert said.startswith("The UnitedHealthcare PPO plan is active, but your insurer")
    assert "$" not in said and "coordinator" in said
    # ... but a dependent with their own member ID comes back as the subscriber: that is theirs
    resp["subscriber"].update(firstName="JANE", lastName="DOE")
    r = interpret(resp, payer_name="UnitedHealthcare", plan_type="ppo", dependent=("Jane", "Doe"))
    assert r.reason is None and not r.needs_followup


@pytest.mark.parametrize(
    "code, field, reason",
    [
        ("71", "patient_dob", "dob_mismatch"),
        ("58", "patient_dob", "dob_invalid"),
        ("65", "patient_name", "name_mismatch"),
        ("67", "patient", "not_found"),
        ("68", "person", "duplicate"),
    ],
)
def test_aaa_errors_in_the_dependents_loop(code, field, reason):
    err = {"field": "AAA", "code": code, "location": "Loop 2100D"}
    as_stedi_sends = {"errors": [err], "dependents": [{"firstName": "JANE", "aaaErrors": [err]}]}
    top_only = {"errors": [err]}
    nested_only = {"dependents": [{"aaaErrors": [dict(err, location=None)]}]}
    for resp in (as_stedi_sends, top_only, nested_only):
        r = interpret(resp)
        assert (r.status, r.error_field, r.reason, r.aaa_code) == ("error", field, reason, code)


def test_the_same_codes_in_the_subscribers_loop_stay_the_policyholders():
    err = {"field": "AAA", "code": "71", "location": "Loop 2100C"}
    r = interpret({"errors": [err], "subscriber": {"aaaErrors": [err]}})
    assert r.error_field == "dob"
    assert interpret({"errors": [{"code": "67"}]}).error_field == "member_id"


def test_a_fixable_dependent_error_comes_before_one_that_is_not():
    resp = {
        "errors": [
            {"code": "42", "location": "Loop 2100A"},
            {"code": "71", "location": "Loop 2100D"},
        ]
    }
    assert interpret(resp).error_field == "patient_dob"


def test_a_dependents_own_tier_comes_before_the_familys():
    def ded(level, amount):
        return {
            "code": "C",
            "serviceTypeCodes": ["MH"],
            "coverageLevelCode": level,
            "timeQualifierCode": "23",
            "benefitAmount": amount,
            "inPlanNetworkIndicatorCode": "Y",
        }

    resp = {
        "benefitsInformation": [
            {"code": "1", "serviceTypeCodes": ["30"]},
            ded("FAM", "6000"),
            ded("ESP", "4000"),
            ded("SPO", "2000"),
        ],
        "dependents": [{"relationToSubscriberCode": "01"}],
    }
    assert interpret(resp).in_network.deductible == 2000


def test_results_stored_before_the_relation_existed_still_load():
    data = interpret(stedi_dependent_example()).to_dict()
    del data["patient_relation"]
    assert CoverageResult.from_dict(data).patient_relation is None


# --- the coverage flow -------------------------------------------------------------------------


@pytest.fixture()
def engine(client, db_url, monkeypatch):
    monkeypatch.setattr(coverage_flow, "_client", lambda: client)
    return Engine({"coverage": CoverageFlow()})


def run(engine, db_url, answers, conversation="conv-dep"):
    ctx = Context(conversation, PROFILE, db_url=db_url)
    consent.record(conversation, db_url)
    engine.start("coverage", ctx)
    said = []
    for text in answers:
        asked = engine.current(ctx)[0]
        turn = engine.handle(text, "", 0.0, ctx)
        said.append((asked.key, [r.text for r in turn.say]))
    return ctx, said


FAMILY = ["Cigna", "PPO", "SBX2001", "my wife's insurance", "Morgan", "Blake", "05/12/1986"]


def test_the_flow_checks_a_spouse_as_the_policyholders_dependent(engine, db_url):
    ctx, said = run(engine, db_url, FAMILY + ["Riley", "Blake", "09/23/1988"])
    keys = [k for k, _ in said]
    assert keys[3:] == [
        "coverage.relation",
        "coverage.subscriber_first",
        "coverage.subscriber_last",
        "coverage.subscriber_dob",
        "coverage.patient_first",
        "coverage.patient_last",
        "coverage.patient_dob",
    ]
    final = " ".join(said[-1][1])
    assert "your coverage on the Cigna PPO plan is active" in final
    assert "$1,500 left to meet" in final and "$900" not in final
    [check] = checks_for("conv-dep", db_url)
    assert check.status == "active" and check.result["patient_relation"] == "spouse"
    assert check.request["relation"] == "spouse"
    assert (check.request["first_name"], check.request["patient_first_name"]) == (
        "Morgan",
        "Riley",
    )
    assert handoff.for_conversation("conv-dep", db_url) == []


def test_a_wrong_dependent_birth_date_asks_for_the_patients_not_the_policyholders(engine, db_url):
    ctx, said = run(engine, db_url, FAMILY + ["Riley", "Blake", "09/24/1988"])
    assert said[-1][1][0] == CORRECTIONS["patient_dob"]
    assert engine.current(ctx)[0].key == "coverage.patient_dob"  # not subscriber_dob
    turn = engine.handle("09/23/1988", "", 0.0, ctx)
    assert "your coverage on the Cigna PPO plan is active" in " ".join(r.text for r in turn.say)
    assert [c.status for c in checks_for("conv-dep", db_url)] == ["error", "active"]


def test_a_second_wrong_dependent_birth_date_goes_to_a_coordinator(engine, db_url):
    ctx, said = run(engine, db_url, FAMILY + ["Riley", "Blake", "09/24/1988", "09/24/1988"])
    final = " ".join(said[-1][1])
    assert CANNOT_MATCH["patient_dob"] in final and "coordinator" in final
    assert engine.current(ctx) is None
    assert [c.status for c in checks_for("conv-dep", db_url)] == ["error", "error"]
    assert [e.kind for e in handoff.for_conversation("conv-dep", db_url)] == ["coverage_followup"]


@pytest.mark.parametrize("text", ["myself", "mine", "me", "my own"])
def test_my_own_plan_asks_no_dependent_questions(engine, db_url, text):
    ctx, said = run(
        engine, db_url, ["Cigna", "PPO", "SBX2001", text, "Morgan", "Blake", "05/12/1986"]
    )
    assert engine.current(ctx) is None  # checked: no questions about a dependent
    final = " ".join(said[-1][1])
    assert "Good news: your Cigna PPO plan is active" in final and "$900 left" in final
    [check] = checks_for("conv-dep", db_url)
    assert check.request["relation"] == "self" and "patient_first_name" not in check.request


def test_the_relation_buttons_read_as_their_relation():
    flow = CoverageFlow()
    question = flow.next_question(
        {
            "answers": {
                "coverage.insurer": {},
                "coverage.plan_type": "ppo",
                "coverage.member_id": "X",
            }
        },
        None,
    )
    assert question.key == "coverage.relation"
    read = {o.title: flow.parse(question, o.value, {}, None) for o in question.options}
    assert read == {
        "My own plan": "self",
        "My spouse's or partner's": "spouse",
        "My parent's": "child",
    }
    for title in read:  # a typed button title reads the same
        assert flow.parse(question, title, {}, None) == read[title]


def test_results_are_kept_whole(client):
    r = check_coverage(family_request(), client)
    assert CoverageResult.from_dict(copy.deepcopy(r.to_dict())) == r
