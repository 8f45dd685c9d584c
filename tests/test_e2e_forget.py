"""Deleting a person's data through the real servers (bot.privacy.forget): a canary books an
assessment in the chat and reschedules it in a later conversation; the command, given only
the booking code, leaves no trace of them in the app database's files or the tracker
store's, neither in the bytes nor in any decrypted row. An admin does the same from the
console. The notification worker's retention pass runs without error on the same stack."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from bot.store import Base, session
from bot.store.crypto import EncryptedJSON, cipher
from tests.e2e import new_sender, say, texts
from tests.test_e2e_console import PASSWORD, account, csrf_of, queue_row, signed_in

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"confirmation code is ([A-Z0-9]+(?:-[A-Z0-9]+)+)")
NAME, PHONE, EMAIL = "Zephyrine Quillfeather", "(512) 555-0187", "zephyrine.q@example.com"
NEEDLES = ["Zephyrine", "Quillfeather", "555-0187", "5125550187", "zephyrine.q"]


def files(stack):
    app = Path(stack.env["DATABASE_URL"].removeprefix("sqlite:///"))
    tracker = Path(stack.env["TRACKER_SQLITE_PATH"])
    return [p for base in (app, tracker) for p in base.parent.glob(base.name + "*")]


def raw_bytes(stack):
    return b"".join(p.read_bytes() for p in files(stack))


def decrypted(stack):
    """Every encrypted value of the app database and every tracker event, decrypted."""
    out = []
    with session(stack.env["DATABASE_URL"]) as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.c if isinstance(c.type, EncryptedJSON)]
            if columns:
                out += [repr(v) for row in s.execute(select(*columns)).all() for v in row]
    eng = sa.create_engine(f"sqlite:///{stack.env['TRACKER_SQLITE_PATH']}")
    with eng.connect() as conn:
        for sender, data in conn.execute(sa.text("SELECT sender_id, data FROM events")):
            out.append(f"{sender} {cipher().decrypt(data.encode()).decode()}")
    eng.dispose()
    return "\n".join(out)


def events_of(stack, sender):
    eng = sa.create_engine(f"sqlite:///{stack.env['TRACKER_SQLITE_PATH']}")
    with eng.connect() as conn:
        found = conn.execute(
            sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :s"), {"s": sender}
        ).scalar()
    eng.dispose()
    return found


def book_and_reschedule(stack):
    """(code, the booking conversation, the later one)."""
    booker, later = new_sender("canary"), new_sender("canary-later")
    say(stack, booker, "/book_appointment")
    say(stack, booker, "I agree")
    times = say(stack, booker, "Central")[-1]["buttons"]
    for text in [times[0]["payload"], NAME, PHONE, EMAIL, "Text and email"]:
        say(stack, booker, text)
    done = texts(say(stack, booker, "yes"))
    code = next(CODE.search(t).group(1) for t in done if CODE.search(t))
    say(stack, later, "I need to reschedule my appointment")
    say(stack, later, f"my code is {code}")
    offered = say(stack, later, EMAIL)
    new_time = next(b for b in offered[-1]["buttons"] if b["title"] != times[0]["title"])
    say(stack, later, new_time["title"])
    assert code in " ".join(texts(say(stack, later, "yes")))
    return code, booker, later


def forget_command(stack, *args):
    return subprocess.run(
        [sys.executable, "-m", "bot.privacy.forget", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_canary_deleted_by_booking_code_leaves_no_trace(stack):
    code, booker, later = book_and_reschedule(stack)
    # Before: the code is in the files in plain (intake_bookings.code, the outbox's keys),
    # both conversations in the tracker's, the canary in decrypted rows; so the test can fail.
    assert code.encode() in raw_bytes(stack)
    assert booker.encode() in raw_bytes(stack) and later.encode() in raw_bytes(stack)
    assert all(n in decrypted(stack) for n in ("Quillfeather", "zephyrine.q", code))

    shown = forget_command(stack, "--booking-code", code)
    assert shown.returncode == 0, shown.stderr
    assert f"Found 2 conversation(s) by booking code: {', '.join(sorted([booker, later]))}" in (
        shown.stdout
    )
    assert "Nothing deleted yet" in shown.stdout and code.encode() in raw_bytes(stack)

    done = forget_command(stack, "--booking-code", code, "--yes")
    assert done.returncode == 0, done.stderr
    assert "Database files compacted" in done.stdout

    data, plain = raw_bytes(stack), decrypted(stack)
    for needle in [code, code.replace("-", ""), *NEEDLES]:
        assert needle.encode() not in data, needle
        assert needle.lower() not in plain.lower(), needle
    tracker_file = Path(stack.env["TRACKER_SQLITE_PATH"]).read_bytes()
    assert booker.encode() not in tracker_file and later.encode() not in tracker_file
    # The app database names the two conversations only in the audit log, with no content.
    with session(stack.env["DATABASE_URL"]) as s:
        for table in Base.metadata.sorted_tables:
            if "conversation_id" in table.c and table.name != "audit_log":
                where = table.c.conversation_id.in_([booker, later])
                assert not s.execute(select(table).where(where)).first(), table.name
        trail = s.execute(
            sa.text("SELECT action, detail FROM audit_log WHERE conversation_id = :c"),
            {"c": booker},
        ).all()
    assert ("deleted_person" in [a for a, _ in trail]) and code not in repr(trail)
    # The retention pass the notification worker ran at start found its stores.
    log = (Path(stack.log_dir) / "notify.log").read_text()
    assert "retention pass: deleted 0 unfinished drafts" in log
    assert "retention pass failed" not in log and "retention pass skipped" not in log


def test_an_admin_deletes_a_person_from_the_console(stack):
    person = new_sender("canary-console")
    say(stack, person, f"my name is {NAME}, text me at {PHONE}")
    say(stack, person, "/request_human")
    alex = signed_in(stack, account(stack, name="Alex"))
    robin = signed_in(stack, account(stack, role="admin", name="Robin"))
    escalation = queue_row(robin, person)["id"]
    target = f"/console/forget/{escalation}"
    headers = {"X-CSRF-Token": csrf_of(robin)}
    # Doors: an admin only, with the CSRF token and our Origin; not while someone holds it.
    assert alex.post(target, headers={"X-CSRF-Token": csrf_of(alex)}).status_code == 403
    assert robin.post(target).status_code == 403
    evil = {**headers, "Origin": "https://evil.example"}
    assert robin.post(target, headers=evil).status_code == 403
    assert robin.post("/console/forget/987654", headers=headers).status_code == 404
    alex_csrf = {"X-CSRF-Token": csrf_of(alex)}
    assert alex.post(f"/console/claim/{escalation}", headers=alex_csrf).json()["won"]
    held = robin.post(target, headers=headers)
    assert held.status_code == 409 and "release it first" in held.json()["error"]
    alex.post(f"/console/conversation/{escalation}/return", headers=alex_csrf)

    page = robin.get(f"/console/conversation/{escalation}").text
    assert "Delete this person&#39;s data" in page or "Delete this person's data" in page
    assert events_of(stack, person) > 0
    deleted = robin.post(target, headers=headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["conversations"] == 1 and deleted.json()["tracker_events"] > 0
    assert events_of(stack, person) == 0 and queue_row(robin, person) is None
    assert robin.get(f"/console/conversation/{escalation}").status_code == 404
    assert "Quillfeather" not in decrypted(stack)
    trail = robin.get("/console/audit").text
    assert "deleted_person" in trail and "searched_for_person" in trail
    assert "Quillfeather" not in trail and "555-0187" not in trail
    assert PASSWORD not in trail


def test_the_transcript_a_coordinator_reads_is_audited(stack):
    person = new_sender("audited")
    say(stack, person, "/request_human")
    robin = signed_in(stack, account(stack, role="admin", name="Robin"))
    escalation = queue_row(robin, person)["id"]
    with robin.stream("GET", f"/console/conversation/{escalation}/events") as events:
        next(line for line in events.iter_lines() if line.startswith("data: "))
    rows = [
        line
        for line in robin.get("/console/audit").text.splitlines()
        if person in line and "decrypted" in line
    ]
    assert rows and "events" in rows[0]
