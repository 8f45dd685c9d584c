"""What people read uses US spelling (issue 12): the clinic's content files, the domain's
responses and the flows' own sentences."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BRITISH = re.compile(
    r"\b\w*(authoris|organis|recognis|behaviour|colour|favour|apologis|prioritis|"
    r"labelled|cancelled|travelled|counsell|enrolment|programme|judgement|practise)\w*",
    re.IGNORECASE,
)
USER_FACING = [
    "domain.yml",
    "bot/profile/program.yml",
    "bot/consent/consent.yml",
    "bot/screening/recommend.yml",
    "bot/screening/fit.yml",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bot/screening/instruments").glob("*.yml")),
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bot/flows").glob("*.py")),
    "bot/coverage/wording.py",
    "actions/safety.py",
]


@pytest.mark.parametrize("path", USER_FACING)
def test_user_facing_text_uses_us_spelling(path):
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    found = [
        f"{path}:{n}: {m.group(0)}"
        for n, line in enumerate(lines, 1)
        if not line.lstrip().startswith("#")  # comments are for the clinic's staff
        for m in BRITISH.finditer(line)
    ]
    assert found == []
