"""Couples in the coordinator console, on the real website server (make run's :8000) with the
real Rasa and action servers feeding its queue. The couple is made in the stack's database
with bot.couples (the Rasa flows are not wired to it yet): both partners on a partner's page
with the private flag for staff, the link between the partners' pages, the cohort form
(persisted, audited, CSRF and Origin checked), the list of couples, and nothing without a
session. Every read of the couple's private data is audited (`opened_couple`)."""

from __future__ import annotations

import html
import re
import secrets
from types import SimpleNamespace
from typing import List, Tuple

import httpx
import pytest
from sqlalchemy import func, select

from bot import couples
from bot.console.accounts import add_coordinator
from bot.store import audit as audit_store
from bot.store import session
from tests.e2e import new_sender, say
from tests.test_couples import screened

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
FLAG = "Private flag: see alone before joint sessions"


def staff(stack, role="coordinator", name="Alex"):
    """A new account signed in: (client with the console's cookies, coordinator id, csrf)."""
    email = f"{secrets.token_hex(4)}@example.org"
    person = add_coordinator(email, name, PASSWORD, role=role, db_url=stack.env["DATABASE_URL"])
    client = httpx.Client(base_url=stack.web_url, follow_redirects=False, timeout=30)
    form = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    signed = client.post(
        "/console/login", data={"csrf": token, "email": email, "password": PASSWORD}
    )
    assert signed.status_code == 303, (signed.status_code, signed.text[:300])
    csrf = re.search(r'data-csrf="([^"]+)"', client.get("/console/").text).group(1)
    return client, person.id, csrf


def escalation_of(client, conversation_id) -> int:
    rows = [
        i
        for i in client.get("/console/queue.json").json()
        if i["conversation_id"] == conversation_id
    ]
    assert rows, conversation_id
    return rows[0]["id"]


def safety_check(db, conversation_id, replies: List[str]):
    """A finished relationship-safety check, answered in order (the gate: "I'm alone")."""
    answers = {couples.SAFETY.gate_key: "private"}
    for reply in replies:
        q = couples.safety_question(answers)
        answers[q.key] = couples.parse_safety_answer(q.key, reply)
    assert couples.safety_question(answers) is None
    couples.save_safety_check(conversation_id, answers, db_url=db)


def couple(db, a: str, b: str) -> int:
    invitation = couples.create_invitation(a, db_url=db)
    joined = couples.accept_invitation(b, code=invitation.code, db_url=db)
    assert joined.outcome == couples.JOINED
    return joined.couple_id


def audit_rows(db, action, conversations=(), coordinator_id=None) -> List[Tuple]:
    """(conversation id, coordinator id) of the audit entries of `action`, for these
    conversations (or without one) and, when given, this coordinator."""
    entry = audit_store.AuditEntry
    with session(db) as s:
        query = select(entry.conversation_id, entry.coordinator_id).where(entry.action == action)
        if conversations:
            query = query.where(entry.conversation_id.in_(list(conversations)))
        if coordinator_id is not None:
            query = query.where(entry.coordinator_id == coordinator_id)
        return sorted(s.execute(query).all(), key=repr)


def audit_count(db) -> int:
    with session(db) as s:
        return s.execute(select(func.count(audit_store.AuditEntry.id))).scalar()


def page_text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


@pytest.fixture()
def flagged(stack):
    """Two partners who both asked for a person, linked; both fit IOP; B's relationship-safety
    check is positive; Alex, a coordinator, signed in."""
    db = stack.env["DATABASE_URL"]
    alex, me, csrf = staff(stack)
    a, b = new_sender("pa"), new_sender("pb")
    say(stack, a, "/request_human")
    say(stack, b, "/request_human")
    couple_id = couple(db, a, b)
    screened(db, a, "iop_fit")
    screened(db, b, "iop_fit")
    safety_check(db, a, ["no"] * 6)
    safety_check(db, b, ["no", "no", "yes", "no", "no", "no"])  # threatened
    return SimpleNamespace(
        db=db,
        couple_id=couple_id,
        a=a,
        b=b,
        page_a=escalation_of(alex, a),
        page_b=escalation_of(alex, b),
        alex=alex,
        me=me,
        csrf=csrf,
    )


def panel_rows(page: str) -> List[Tuple[bool, str]]:
    """The couple panel's partner rows: (flagged, the row's text)."""
    panel = page[page.index('id="couple"') :]
    panel = panel[: panel.index("</section>")]
    body = panel[panel.index("<tbody>") : panel.index("</tbody>")]
    return [
        (bool(m.group(1)), " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split()))
        for m in re.finditer(r'<tr( class="flagged")?>(.*?)</tr>', body, re.S)
    ]


def test_a_partners_page_shows_both_partners_linked_and_the_private_flag(stack, flagged):
    f = flagged
    assert audit_rows(f.db, "opened_couple", (f.a, f.b)) == []
    page = f.alex.get(f"/console/conversation/{f.page_a}")
    assert page.status_code == 200
    text = page_text(page)
    # Linked, with a link to the other partner's conversation page, and back.
    assert f"Couple: linked with {f.b}" in text
    assert f'href="/console/conversation/{f.page_b}"' in page.text
    back = f.alex.get(f"/console/conversation/{f.page_b}")
    assert f"Couple: linked with {f.a}" in page_text(back)
    assert f'href="/console/conversation/{f.page_a}"' in back.text
    # The panel: both partners with their levels and checks; B's private flag, for staff.
    (a_flagged, a_row), (b_flagged, b_row) = panel_rows(page.text)
    assert not a_flagged and f.a in a_row and "Partner 1" in a_row
    assert "iop_fit" in a_row and "done: nothing raised" in a_row and FLAG not in a_row
    assert b_flagged and f.b in b_row and "Partner 2" in b_row
    assert "iop_fit" in b_row and FLAG in b_row
    assert "has your partner threatened to hurt you" in b_row  # the private answers
    assert "individual assessments first" in a_row and "individual assessments first" in b_row
    assert f"{FLAG} (a partner's relationship-safety check)" in text  # the panel's banner
    assert "Joint recommendation Not together for now: individual assessments first" in text
    assert "partner 2: relationship-safety check positive (see them alone)" in text
    assert "Joint booking none" in text and "Cohort not set" in text
    # Every read went through clinician_view: audited on both partners' conversations, for
    # this coordinator, once per page opened (A's page, then B's).
    assert audit_rows(f.db, "opened_couple", (f.a, f.b)) == sorted(
        [(f.a, f.me), (f.b, f.me)] * 2, key=repr
    )
    robin, _, _ = staff(stack, role="admin", name="Robin")
    trail = robin.get("/console/audit").text
    assert "opened_couple" in trail and f.b in trail


def test_a_partner_not_handed_to_the_team_is_shown_without_a_chat_link(stack):
    db = stack.env["DATABASE_URL"]
    alex, me, _ = staff(stack)
    a, b = new_sender("pa"), new_sender("pb")
    say(stack, a, "/request_human")  # only A asked for a person
    couple_id = couple(db, a, b)
    page = alex.get(f"/console/conversation/{escalation_of(alex, a)}")
    text = page_text(page)
    assert f"Couple: linked with {b} (not handed to the team: see the couple" in text
    assert f'href="/console/couple/{couple_id}"' in page.text
    assert "not finished" in text and "not done yet" in text
    assert "Not decided yet: waiting for both partners" in text
    assert FLAG not in text  # nobody is flagged
    # The couple's own page has both partners, B without a chat to open.
    own = alex.get(f"/console/couple/{couple_id}")
    assert own.status_code == 200
    assert f"{b} (not handed to the team: no chat to open)" in page_text(own)


def test_the_cohort_form_persists_is_audited_and_refuses_forgeries(stack, flagged):
    db, couple_id, a, b, alex, me, csrf = (
        flagged.db,
        flagged.couple_id,
        flagged.a,
        flagged.b,
        flagged.alex,
        flagged.me,
        flagged.csrf,
    )
    page_a = flagged.page_a
    target = f"/console/couple/{couple_id}/cohort"
    form = {"csrf": csrf, "cohort": "  March   evening A ", "track": "evening", "back": str(page_a)}

    def unchanged():
        shared = couples.shared_record(a, db)
        return shared.cohort is None and shared.track is None

    # Doors: the session's CSRF token and our Origin, as the console's other forms.
    assert alex.post(target, data={**form, "csrf": ""}).status_code == 403
    assert alex.post(target, data={**form, "csrf": "forged"}).status_code == 403
    evil = alex.post(target, data=form, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    assert alex.post(target, json=form).status_code == 403  # not the form: no token read
    sam, _, sam_csrf = staff(stack, name="Sam")
    assert sam.post(target, data=form).status_code == 403  # Alex's token is not Sam's
    assert unchanged() and audit_rows(db, "set_couple_cohort", (a, b)) == []

    # Refused values, said on the couple's page; nothing changes.
    bad = alex.post(target, data={**form, "track": "night"})
    assert bad.status_code == 400 and "unknown track" in bad.text and "night" in bad.text
    long = alex.post(target, data={**form, "cohort": "x" * 65})
    assert long.status_code == 400 and "at most 64 characters" in long.text
    assert alex.post("/console/couple/987654/cohort", data=form).status_code == 404
    assert unchanged() and audit_rows(db, "set_couple_cohort", (a, b)) == []

    # Saved: back to the partner's page, the same for both partners, audited on both.
    saved = alex.post(target, data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/console/conversation/{page_a}#couple"
    shared = couples.shared_record(b, db)
    assert (shared.cohort, shared.track) == ("March evening A", "evening")
    assert couples.shared_record(a, db) == shared
    assert audit_rows(db, "set_couple_cohort", (a, b)) == sorted([(a, me), (b, me)], key=repr)
    page = alex.get(f"/console/conversation/{flagged.page_a}").text
    assert '<dd class="cohort">March evening A</dd>' in page
    assert '<option value="evening" selected>' in page

    # Another coordinator changes it from the couple's page (no `back`); clearing works.
    moved = sam.post(
        target, data={"csrf": sam_csrf, "cohort": "April morning B", "track": "morning"}
    )
    assert moved.status_code == 303 and moved.headers["location"] == f"/console/couple/{couple_id}"
    assert couples.shared_record(a, db).track == "morning"
    cleared = sam.post(target, data={"csrf": sam_csrf, "cohort": "", "track": ""})
    assert cleared.status_code == 303
    shared = couples.shared_record(a, db)
    assert (shared.cohort, shared.track) == (None, None)
    assert len(audit_rows(db, "set_couple_cohort", (a, b))) == 6  # three changes, two partners each


def test_the_couples_list_shows_each_couple_with_its_status(stack):
    db = stack.env["DATABASE_URL"]
    alex, me, csrf = staff(stack)
    a, b = new_sender("pa"), new_sender("pb") + "<img src=x onerror=alert(1)>"
    say(stack, a, "/request_human")
    first = couple(db, a, b)
    c, d = new_sender("pc"), new_sender("pd")
    second = couple(db, c, d)
    couples.set_joint_booking(second, "K7Q2M9", db_url=db)
    alex.post(
        f"/console/couple/{second}/cohort",
        data={"csrf": csrf, "cohort": "May evening C", "track": "evening"},
    )

    listed = alex.get("/console/couples")
    assert listed.status_code == 200
    rows = {
        int(m.group(1)): m.group(2)
        for m in re.finditer(r'<tr data-id="(\d+)">(.*?)</tr>', listed.text, re.S)
    }
    assert {first, second} <= set(rows)
    assert list(rows).index(second) < list(rows).index(first)  # newest first
    one, two = rows[first], rows[second]
    assert "linked" in one and f'href="/console/couple/{first}"' in one
    assert f'href="/console/conversation/{escalation_of(alex, a)}"' in one  # A was handed over
    assert "&lt;img src=x onerror=alert(1)&gt;" in one and "<img" not in one  # shown as text
    assert "booked" in two and "K7Q2M9" in two and "May evening C" in two and "evening" in two
    assert "/console/conversation/" not in two  # neither of them was handed to the team
    # The list shows shared data only: no level, flag or answer, and no clinician_view read.
    assert FLAG not in listed.text and "iop_fit" not in listed.text
    assert audit_rows(db, "opened_couple", coordinator_id=me) == []
    assert audit_rows(db, "opened_couples", coordinator_id=me) == [(None, me)]

    unplaced = alex.get("/console/couples?show=unplaced").text
    assert f'<tr data-id="{first}">' in unplaced and f'<tr data-id="{second}">' not in unplaced
    booked = alex.get("/console/couples?show=booked").text
    assert f'<tr data-id="{second}">' in booked and f'<tr data-id="{first}">' not in booked
    assert alex.get("/console/couples?show=<script>").status_code == 200  # read as "all"
    assert alex.get("/console/couple/987654").status_code == 404
    assert 'href="/console/couples"' in alex.get("/console/").text  # in the header


def test_without_a_session_a_coordinator_gets_nothing(stack, flagged):
    db, couple_id, a, b, csrf = flagged.db, flagged.couple_id, flagged.a, flagged.b, flagged.csrf
    before = audit_count(db)
    anonymous = httpx.Client(base_url=stack.web_url, follow_redirects=False, timeout=30)
    forged = httpx.Client(base_url=stack.web_url, follow_redirects=False, timeout=30)
    forged.cookies.set("iop_console", "made-up", path="/console")
    for client in (anonymous, forged):
        for path in (
            "/console/couples",
            f"/console/couple/{couple_id}",
            f"/console/conversation/{flagged.page_a}",
        ):
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
            assert a not in answer.text and b not in answer.text and FLAG not in answer.text
        posted = client.post(
            f"/console/couple/{couple_id}/cohort",
            data={"csrf": csrf, "cohort": "Sneaky", "track": "morning"},
        )
        assert posted.status_code == 303 and posted.headers["location"] == "/console/login"
    shared = couples.shared_record(a, db)
    assert (shared.cohort, shared.track) == (None, None)
    assert audit_count(db) == before  # nothing was read or changed for anyone
