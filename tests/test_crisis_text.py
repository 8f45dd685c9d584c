"""The crisis answer the Rasa server sends alone (domain.yml utter_crisis) says exactly what
the clinic's profile says (crisis.acute_text)."""

from scripts.check_crisis_text import mismatch


def test_the_domain_crisis_response_matches_the_profile():
    assert mismatch() == ""


def test_a_different_domain_text_is_named(tmp_path):
    domain = tmp_path / "domain.yml"
    domain.write_text('responses:\n  utter_crisis:\n    - text: "Call someone."\n')
    problem = mismatch(domain)
    assert "responses.utter_crisis" in problem and "crisis.acute_text" in problem
