"""The consent text (bot/consent/consent.yml): it names who receives what and what deleting
removes, in the two bubbles the person reads before agreeing."""

import re

import pytest

from bot.consent import CONSENT, ConsentText, load_consent
from bot.content import ContentError

SAID = " ".join(f"{CONSENT.text} {CONSENT.text_part2}".split())


@pytest.mark.parametrize(
    "recipient",
    [
        r"insurance details go to our clearinghouse and your insurer",
        r"scheduling service",
        r"email and text message providers",
    ],
)
def test_the_consent_names_each_recipient(recipient):
    assert re.search(recipient, SAID), recipient


def test_the_consent_says_what_deleting_removes_and_what_stays():
    removes = re.search(r"delete them at any time: that removes ([^(]+)\(", SAID)
    assert removes, SAID
    for what in ("answers", "insurance checks", "bookings", "contact details", "this chat"):
        assert what in removes.group(1)
    assert "note that it was done" in SAID and "already sent" in SAID


def test_the_consent_is_checked_on_load(tmp_path):
    bad = tmp_path / "consent.yml"
    bad.write_text("version: v\ntext: x\ntext_part2: y\nagree: a\ndecline: d\n")
    with pytest.raises(ContentError, match="declined"):
        load_consent(bad)
    assert isinstance(CONSENT, ConsentText)
