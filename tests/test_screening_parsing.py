"""Free-text answers to the screening questions: the phrasing table must be >= 90% right."""

from __future__ import annotations

import pytest

from bot.screening import NotUnderstood, parse_answer
from scripts.screening_parser_accuracy import DEFAULT_SET, evaluate


def test_phrasing_table_accuracy():
    ok, total, misses = evaluate(DEFAULT_SET)
    print(f"\nparser accuracy: {ok}/{total} = {100 * ok / total:.1f}%")
    for m in misses:
        print("  miss:", m)
    assert total >= 80
    assert ok / total >= 0.90


@pytest.mark.parametrize(
    "key,text",
    [
        ("phq9.1", "how many days a week is the program?"),
        ("phq9.1", "What time do the groups start in the evening"),
        ("gad7.2", "can my partner join the same group as me"),
        ("auditc.2", "does insurance cover this?"),
        ("fit.age", "is there an age limit for the program?"),
        ("phq9.1", ""),
        ("phq9.1", "   "),
    ],
)
def test_questions_are_not_answers(key, text):
    with pytest.raises(NotUnderstood) as exc:
        parse_answer(key, text)
    assert str(exc.value)  # a kind explanation of what to answer


def test_clean_answer_with_question_mark_is_accepted():
    assert parse_answer("phq9.1", "Several days?") == 1
    assert parse_answer("fit.age", "34?") == 34


def test_drinks_map_to_bands():
    assert [parse_answer("auditc.2", str(n)) for n in range(1, 13)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        3,
        4,
        4,
        4,
    ]


def test_yes_no_refusal_only_counts_for_asq():
    assert parse_answer("asq.1", "I'd rather not say") == 2
    with pytest.raises(NotUnderstood):
        parse_answer("fit.safe_at_home", "I'd rather not say")
    with pytest.raises(NotUnderstood):
        parse_answer("fit.safe_at_home", "I don't know")


def test_types():
    assert parse_answer("fit.safe_housing", "Yes") is True
    assert parse_answer("fit.safe_housing", "No") is False
    assert parse_answer("fit.state", "oklahoma") == "OK"
    assert isinstance(parse_answer("phq9.1", "Nearly every day"), int)


def test_unknown_key():
    with pytest.raises(KeyError):
        parse_answer("phq9.10", "yes")
