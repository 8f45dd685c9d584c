"""The canary: a name, member ID, birth date, phone and email that only this test uses go
through consent, the screening, the insurance check and a booking on the real servers, and are
then looked for in every byte the stack keeps: the SQLite tracker store and app database
(with their journals) and every file of the log directory. None may hold them. A Rasa restart
in the middle of the booking shows the encrypted tracker is read back: the booking finishes.

tests/test_e2e_production.py runs the same canary on PostgreSQL (`canary_conversation`,
`canary_in`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

from tests.e2e import ScreeningUser, iop_fit_answer, new_sender, say, texts, tracker

NAME, FIRST, LAST = "Zebediah Quartermaine", "Zebediah", "Quartermaine"
MEMBER_ID = "ZQ99871X"  # unknown to the sandbox: the insurer "couldn't find" it, twice
BIRTH_DATE = "07/13/1961"
PHONE = "(512) 555-0187"
EMAIL = "zebediah.quartermaine@example.org"
# Every form the canary can take once parsed (case is ignored when searching).
CANARY = [
    FIRST,
    LAST,
    MEMBER_ID,
    "5550187",
    "555-0187",
    "07/13/1961",
    "1961-07-13",
    "19610713",
    "13/07/1961",
]


def canary_in(blob: bytes) -> List[str]:
    lowered = blob.lower()
    return [c for c in CANARY if c.lower().encode() in lowered]


def canary_conversation(
    stack, sender: str, before_confirming: Optional[Callable[[], None]] = None
) -> List[str]:
    """Consent and the screening, an insurance check and a booking, with the canary; returns
    what the bot said to the final "yes". `before_confirming` runs when the summary (which
    echoes the name, phone and email) waits for that "yes"."""
    person = ScreeningUser(stack, sender, iop_fit_answer)
    person.start()  # consent
    assert "/check_insurance" in str(person.run_to_end())
    for text in ["/check_insurance", "Aetna", "PPO", MEMBER_ID, "my own", FIRST, LAST]:
        said = texts(say(stack, sender, text))
    assert "date of birth" in said[-1], said
    assert "couldn't find that member ID" in " ".join(texts(say(stack, sender, BIRTH_DATE))), said
    assert "verify your benefits" in " ".join(texts(say(stack, sender, MEMBER_ID)))
    offered = say(stack, sender, "/book_appointment")
    if "next open times" not in texts(offered)[-1]:
        offered = say(stack, sender, "Central")  # the time zone, unless the screening gave it
    times = offered[-1]["buttons"]
    for text in [times[0]["payload"], NAME, PHONE, EMAIL, "Text and email"]:
        said = texts(say(stack, sender, text))
    assert said[-1].startswith("Please check") and NAME in said[-1], said
    if before_confirming:
        before_confirming()
    return texts(say(stack, sender, "yes"))


def files_under(*paths: Path) -> Dict[Path, bytes]:
    """Each file, and for a database its journals (`-journal`, `-wal`), by path."""
    found: Dict[Path, bytes] = {}
    for path in paths:
        candidates = path.rglob("*") if path.is_dir() else path.parent.glob(path.name + "*")
        found.update({p: p.read_bytes() for p in candidates if p.is_file()})
    return found


@pytest.mark.e2e
def test_the_canary_is_in_no_byte_the_stack_keeps_and_survives_a_restart(stack):
    sender = new_sender("canary")
    tracker_db = Path(stack.env["TRACKER_SQLITE_PATH"])
    app_db = Path(stack.env["DATABASE_URL"].removeprefix("sqlite:///"))

    def restart_rasa() -> None:
        stack.restart("rasa server")

    said = canary_conversation(stack, sender, before_confirming=restart_rasa)
    # After the restart the booking form went on from the stored (encrypted) tracker.
    assert said[0].startswith("You're booked!"), said
    events = tracker(stack, sender)["events"]
    typed = [e.get("text") for e in events if e["event"] == "user"]
    assert NAME in typed and MEMBER_ID in typed and BIRTH_DATE in typed  # read back decrypted

    kept = files_under(tracker_db, app_db, stack.log_dir)
    assert tracker_db in kept and app_db in kept and any(p.suffix == ".log" for p in kept)
    leaks = {str(path): canary_in(blob) for path, blob in kept.items() if canary_in(blob)}
    assert leaks == {}

    # Every event of every conversation: a Fernet token, no intent or action label.
    with sqlite3.connect(tracker_db) as conn:
        rows = conn.execute(
            "select count(*), sum(data like 'gAAAAA%'), count(intent_name), count(action_name),"
            " sum(sender_id = ?) from events",
            (sender,),
        ).fetchone()
    total, encrypted, intents, actions, ours = rows
    assert ours > 100 and encrypted == total and intents == actions == 0, rows


def test_debug_logging_is_refused_outside_development(monkeypatch):
    """At DEBUG Rasa logs each message's text: the stack starts it so only in development."""
    from scripts.stack import environment

    monkeypatch.setenv("RASA_AUTH_TOKEN", "x")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(SystemExit, match="LOG_LEVEL=DEBUG"):
        environment()
    monkeypatch.setenv("APP_ENV", "development")
    assert environment()["LOG_LEVEL"] == "DEBUG"
    monkeypatch.setenv("LOG_LEVEL", "")
    assert environment()["LOG_LEVEL"] == "INFO"  # the stack's normal level
