"""The crisis answer lives twice: in the clinic's profile (crisis.acute_text, what actions
say) and in domain.yml (utter_crisis, what the Rasa server sends on its own when nothing
else answers). This check fails, naming both keys, when they differ.

Usage: python scripts/check_crisis_text.py   (run by `make validate`)
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def mismatch(domain_path: Path = ROOT / "domain.yml") -> str:
    """'' when domain.yml's utter_crisis says exactly the profile's crisis text."""
    from bot.profile import load_profile

    profile_text = load_profile().crisis_text
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8"))
    variants = (domain.get("responses") or {}).get("utter_crisis") or []
    texts = [v.get("text", "") for v in variants]
    if texts == [profile_text]:
        return ""
    return (
        f"{domain_path.name}: responses.utter_crisis must be exactly the profile's "
        f"crisis.acute_text as rendered:\n  {profile_text}\nbut it is:\n  {texts}\n"
        "Copy the text into domain.yml and retrain (make run does), so the Rasa server "
        "sends the same words when it answers alone."
    )


if __name__ == "__main__":
    problem = mismatch()
    if problem:
        print(problem, file=sys.stderr)
        sys.exit(1)
    print("Crisis text OK: domain.yml utter_crisis matches the profile.")
