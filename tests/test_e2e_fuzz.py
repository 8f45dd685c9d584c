"""Hostile messages through the real servers (scripts/fuzz.py): 500 in the e2e suite, 10,000
with `make fuzz`. Seeded, so a failure is reproduced by running the same seed again."""

import pytest

from scripts.fuzz import DEFAULT_SEED, log_sizes, logged_errors, report, run, still_answers

pytestmark = pytest.mark.e2e
COUNT = 500


def test_hostile_messages_cause_no_server_error(stack):
    token = stack.env.get("REST_CHANNEL_TOKEN", "")
    before = log_sizes(stack.log_dir)
    outcome = run(stack.rasa_url, COUNT, seed=DEFAULT_SEED, token=token)
    print("\n" + report(outcome, logged_errors(stack.log_dir, before)))
    assert outcome.sent == COUNT
    assert outcome.server_errors == []  # no 5xx, every request answered
    assert outcome.unexpected == []  # 400 / 413 / the kind reply exactly where expected
    assert set(outcome.statuses) == {200, 400, 413}
    assert still_answers(stack.rasa_url, token)
