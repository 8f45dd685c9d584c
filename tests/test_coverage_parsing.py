"""Coverage answers: payers, plan types, member IDs, names, dates of birth, relations."""

from datetime import date

import pytest

from bot.coverage import (
    match_payer,
    parse_dob,
    parse_member_id,
    parse_name,
    parse_plan_type,
    parse_relation,
)
from bot.coverage.payers import PayerFileError, load
from bot.dialog import NotUnderstood, Question
from bot.flows.coverage import CoverageFlow

TODAY = date(2026, 5, 1)


@pytest.mark.parametrize(
    "text, names",
    [
        ("blue cross", {"Anthem Blue Cross", "Blue Cross and Blue Shield of Texas"}),
        ("BCBS", {"Anthem Blue Cross", "Blue Cross and Blue Shield of Texas"}),
        ("BCBS of Texas", {"Blue Cross and Blue Shield of Texas"}),
        ("Blue Cross & Blue Shield of Texas", {"Blue Cross and Blue Shield of Texas"}),
        ("UHC", {"UnitedHealthcare"}),
        ("united", {"UnitedHealthcare"}),
        ("united healthcare", {"UnitedHealthcare"}),
        ("United Health Care", {"UnitedHealthcare"}),
        ("Anthem", {"Anthem Blue Cross"}),
        ("Aetna", {"Aetna"}),
        ("it's aetna ppo", {"Aetna"}),
        ("Cigna", {"Cigna"}),
        ("Humana", {"Humana"}),
        ("Kaiser", {"Kaiser Permanente"}),
        ("Tricare", {"TRICARE East", "TRICARE West"}),
        ("humana military", {"TRICARE East"}),
        ("tricare west", {"TRICARE West"}),
    ],
)
def test_payer_aliases(text, names):
    assert {p.name for p in match_payer(text)} == names


def test_unknown_payer_and_aetna_mock_id():
    assert match_payer("Acme Mutual Insurance") == []
    assert match_payer("") == []
    assert match_payer("aetna")[0].payer_id == "60054"
    with pytest.raises(NotUnderstood):  # an empty answer to "which insurer?"
        CoverageFlow().parse(Question("coverage.insurer", "Which insurer?"), "   ", {}, None)


def test_payer_file_errors_name_the_key(tmp_path):
    bad = tmp_path / "p.yml"
    bad.write_text("payers:\n  - name: X\n    payer_id: 12345\n")
    with pytest.raises(PayerFileError, match=r"payers\[0\] \(X\)\.payer_id"):
        load(bad)
    bad.write_text("payers:\n  - name: X\n    payer_id: '12345'\n    family: nope\n")
    with pytest.raises(PayerFileError, match=r"family"):
        load(bad)
    bad.write_text("payers:\n  - name: X\n    payer_id: '12345'\n    alias: [x]\n")
    with pytest.raises(PayerFileError, match=r"payers\[0\]\.alias: unknown key"):
        load(bad)
    bad.write_text("payers:\n  - name: X\n    payer_id: '1'\n  - name: Y\n    payer_id: '1'\n")
    with pytest.raises(PayerFileError, match="payer_id"):
        load(bad)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("PPO", "ppo"),
        ("it's a ppo plan", "ppo"),
        ("preferred provider organization", "ppo"),
        ("HMO", "hmo"),
        ("epo", "epo"),
        ("POS", "pos"),
        ("point of service", "pos"),
        ("Medicaid", "medicaid"),
        ("medi-cal", "medicaid"),
        ("STAR", "medicaid"),
        ("chip", "medicaid"),
        ("TRICARE Select", "tricare"),
        ("Medicare", "medicare"),
        ("Medicare Advantage PPO", "medicare"),
        ("not sure", "not_sure"),
        ("I don't know", "not_sure"),
        ("idk", "not_sure"),
        ("self-pay", "self_pay"),
        ("self pay", "self_pay"),
        ("no insurance", "self_pay"),
        ("I don't have insurance", "self_pay"),
        ("uninsured", "self_pay"),
    ],
)
def test_plan_type(text, expected):
    assert parse_plan_type(text) == expected


@pytest.mark.parametrize("text", ["", "blue", "gold"])
def test_plan_type_not_understood(text):
    with pytest.raises(NotUnderstood):
        parse_plan_type(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("AETNA12345", "AETNA12345"),
        ("aetna12345", "AETNA12345"),
        ("W123-456 789", "W123456789"),
        ("my member id is xyz 998877", "XYZ998877"),
        ("ID: 12345", "12345"),
        ("Member ID # U1234-5678-01", "U1234567801"),
    ],
)
def test_member_id(text, expected):
    assert parse_member_id(text) == expected


@pytest.mark.parametrize(
    "text", ["", "1234", "A" * 10, "12345678901234567890X", "AB12$34", "no idea"]
)
def test_member_id_not_understood(text):
    with pytest.raises(NotUnderstood):
        parse_member_id(text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Jane", "Jane"),
        ("  Doe ", "Doe"),
        ("Mary-Jane", "Mary-Jane"),
        ("O'Neil", "O'Neil"),
        ("O’Brien", "O'Brien"),
        ("my name is José", "José"),
        ("van der Berg", "van der Berg"),
    ],
)
def test_name(text, expected):
    assert parse_name(text) == expected


@pytest.mark.parametrize("text", ["", "J4ne", "jane@example.com", "--", "x" * 40])
def test_name_not_understood(text):
    with pytest.raises(NotUnderstood):
        parse_name(text)


@pytest.mark.parametrize(
    "text",
    [
        "04/04/2004",
        "4/4/2004",
        "2004-04-04",
        "April 4 2004",
        "April 4th, 2004",
        "4 Apr 2004",
        "4 April 2004",
        "4.4.2004",
        "04-04-2004",
        "040404",
        "04042004",
        "20040404",
        "my date of birth is 04/04/2004",
        "born on April 4, 2004",
        "4/4/04",
    ],
)
def test_dob_formats(text):
    assert parse_dob(text, today=TODAY) == date(2004, 4, 4)


def test_dob_us_order_and_unambiguous_day_month():
    assert parse_dob("03/04/1990", today=TODAY) == date(1990, 3, 4)  # US: March 4
    assert parse_dob("31/12/1990", today=TODAY) == date(1990, 12, 31)  # only day/month fits
    assert parse_dob("12/31/90", today=TODAY) == date(1990, 12, 31)
    assert parse_dob("1/2/30", today=TODAY) == date(
        1930, 1, 2
    )  # two-digit years never land in the future


@pytest.mark.parametrize(
    "text, why",
    [
        ("02/30/1990", "doesn't exist"),
        ("02/29/2023", "doesn't exist"),
        ("13/13/1990", "doesn't exist"),
        ("04/04/2030", "future"),
        ("05/02/2026", "future"),
        ("05/01/2026", "today"),
        ("01/01/1900", "120 years"),
        ("hello", "couldn't read"),
        ("", "month/day/year"),
        ("2004", "couldn't read"),
    ],
)
def test_dob_invalid(text, why):
    with pytest.raises(NotUnderstood, match=why):
        parse_dob(text, today=TODAY)


def test_dob_leap_day_ok():
    assert parse_dob("02/29/2000", today=TODAY) == date(2000, 2, 29)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("me", "self"),
        ("myself", "self"),
        ("mine", "self"),
        ("I'm the policy holder", "self"),
        ("it's my plan", "self"),
        ("self", "self"),
        ("through my job", "self"),
        ("my wife's plan", "spouse"),
        ("husband", "spouse"),
        ("partner", "spouse"),
        ("I'm on my husband's plan", "spouse"),
        ("my spouse", "spouse"),
        ("my partner’s insurance", "spouse"),
        ("my mom's", "child"),
        ("dad's", "child"),
        ("parent's", "child"),
        ("my parents' plan", "child"),
        ("my mother", "child"),
        ("I'm on my father's insurance", "child"),
        ("stepdad's", "child"),
        # a partner on the other partner's plan (issue 15)
        ("my husband's", "spouse"),
        ("my partner's plan", "spouse"),
        ("my wife's insurance", "spouse"),
        ("spouse", "spouse"),
        ("My spouse's or partner's", "spouse"),
        ("my husbands plan", "spouse"),
        ("hubby's", "spouse"),
        ("my domestic partner's", "spouse"),
        ("civil partner", "spouse"),
        ("my significant other", "spouse"),
        ("I'm his wife", "spouse"),
        ("it's my husband's, I'm a dependent", "spouse"),
        ("my husband has it through work", "spouse"),
        ("I'm not the policyholder, my wife is", "spouse"),
        ("not mine, my husband's", "spouse"),
        # ... and one's own plan stays one's own
        ("just me", "self"),
        ("for myself", "self"),
        ("by myself", "self"),
        ("on my own", "self"),
        ("its mine", "self"),
        ("under my name", "self"),
        ("through my employer", "self"),
        ("mine, not my husband's", "self"),
        ("not my wife's, it's mine", "self"),
    ],
)
def test_relation(text, expected):
    assert parse_relation(text) == expected


@pytest.mark.parametrize(
    "text", ["", "banana", "the blue one", "not mine", "it's not me", "I'm not the policyholder"]
)
def test_relation_not_understood(text):
    with pytest.raises(NotUnderstood):
        parse_relation(text)


@pytest.mark.parametrize(
    "text, says",
    [
        ("I'm not sure", "policyholder is the person the plan is in the name of"),
        ("idk", "policyholder is the person the plan is in the name of"),
        ("I'm a dependent", "Whose plan are you a dependent on"),
    ],
)
def test_relation_unclear_answers_get_help_not_a_guess(text, says):
    with pytest.raises(NotUnderstood, match=says):
        parse_relation(text)
