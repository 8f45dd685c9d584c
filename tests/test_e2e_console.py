"""The coordinator console on the real website server (make run's :8000), with the real Rasa
and action servers feeding its queue: doors, sign-in, the live queue, claiming, audit."""

import json
import re
import secrets
import threading
import time

import httpx
import pytest

from bot.console.accounts import MAX_FAILED_LOGINS, add_coordinator
from bot.handoff import coordinators_online
from bot.profile import load_profile
from tests.e2e import new_sender, say

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
PROFILE = load_profile()


def account(stack, role="coordinator", name="Alex"):
    email = f"{secrets.token_hex(4)}@example.org"
    add_coordinator(email, name, PASSWORD, role=role, db_url=stack.env["DATABASE_URL"])
    return email


def signed_in(stack, email, password=PASSWORD):
    """A client with the console's cookies, as a browser would keep them."""
    client = httpx.Client(base_url=stack.web_url, follow_redirects=False, timeout=30)
    if stack.env.get("APP_ENV") == "production":
        # Production cookies are Secure (HTTPS behind the proxy); this test talks plain HTTP
        # to the app itself, so it keeps them as the browser would over HTTPS.
        def keep(response):
            for header in response.headers.get_list("set-cookie"):
                name, _, value = header.split(";")[0].partition("=")
                client.cookies.set(name, value, path="/console")

        client.event_hooks["response"] = [keep]
    form = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    client.last = client.post(
        "/console/login", data={"csrf": token, "email": email, "password": password}
    )
    return client


def csrf_of(client):
    return re.search(r'data-csrf="([^"]+)"', client.get("/console/").text).group(1)


def test_every_console_door_needs_a_session(stack):
    anonymous = httpx.Client(base_url=stack.web_url, follow_redirects=False, timeout=30)
    page = anonymous.get("/console/")
    assert page.status_code == 303 and page.headers["location"] == "/console/login"
    for path in ("/console/queue.json", "/console/events"):
        assert anonymous.get(path).status_code == 401
    assert anonymous.post("/console/claim/1").status_code == 401
    assert anonymous.get("/console/audit").status_code == 303
    # Someone else's cookie value, made up: still nothing.
    anonymous.cookies.set("iop_console", "made-up", path="/console")
    assert anonymous.get("/console/queue.json").status_code == 401


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(stack):
    client = signed_in(stack, account(stack))
    assert client.last.status_code == 303
    cookie = [c for c in client.last.headers.get_list("set-cookie") if "iop_console=" in c][0]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"):
        assert flag in cookie
    assert client.get("/console/queue.json").status_code == 200
    client.post("/console/logout", data={"csrf": csrf_of(client)})
    assert client.get("/console/queue.json").status_code == 401


def test_wrong_passwords_lock_the_account(stack):
    email = account(stack)
    for _ in range(MAX_FAILED_LOGINS):
        assert signed_in(stack, email, "not the password").last.status_code == 401
    locked = signed_in(stack, email)
    assert locked.last.status_code == 401 and "locked" in locked.last.text


def test_cross_site_and_tokenless_requests_are_refused(stack):
    client = signed_in(stack, account(stack))
    csrf = csrf_of(client)
    say(stack, sender := new_sender(), "/request_human")
    item = [i for i in client.get("/console/queue.json").json() if i["conversation_id"] == sender]
    target = f"/console/claim/{item[0]['id']}"
    assert client.post(target).status_code == 403  # no token
    assert client.post(target, headers={"X-CSRF-Token": "forged"}).status_code == 403
    evil = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    assert client.post(target, headers=evil).status_code == 403
    # A login form posted from elsewhere, without the form's own token:
    outsider = httpx.Client(base_url=stack.web_url, timeout=30)
    refused = outsider.post("/console/login", data={"email": "a@b.org", "password": PASSWORD})
    assert refused.status_code == 403
    # Requests are capped in size.
    assert client.post(target, content=b"x" * 200_000).status_code == 413


def test_a_request_for_a_person_reaches_the_live_queue_crisis_first(stack):
    client = signed_in(stack, account(stack))
    with client.stream("GET", "/console/events") as events:
        lines = events.iter_lines()
        first = next(line for line in lines if line.startswith("data: "))
        asker, in_danger = new_sender(), new_sender()
        asked = time.monotonic()
        say(stack, asker, "can I talk to a real person please")
        say(stack, in_danger, "i want to kill myself")
        snapshot = []
        while not {asker, in_danger} <= {i["conversation_id"] for i in snapshot}:
            line = next(lines)
            if line.startswith("data: "):
                snapshot = json.loads(line[6:])
        seen_after = time.monotonic() - asked
    assert first.startswith("data: [")
    order = [i["conversation_id"] for i in snapshot]
    assert order.index(in_danger) < order.index(asker)  # crisis first
    crisis = snapshot[order.index(in_danger)]
    assert crisis["kind"] == "crisis" and crisis["label"].startswith("Crisis")
    assert seen_after < 30  # two bot turns plus the queue's poll


def test_two_coordinators_claiming_at_once_one_wins(stack):
    alex = signed_in(stack, account(stack, name="Alex"))
    sam = signed_in(stack, account(stack, name="Sam"))
    say(stack, sender := new_sender(), "/request_human")
    item = [i for i in alex.get("/console/queue.json").json() if i["conversation_id"] == sender][0]
    results, tokens = {}, {"alex": csrf_of(alex), "sam": csrf_of(sam)}
    start = threading.Barrier(2)

    def take(name, client):
        start.wait()
        results[name] = client.post(
            f"/console/claim/{item['id']}", headers={"X-CSRF-Token": tokens[name]}
        ).json()

    threads = [threading.Thread(target=take, args=a) for a in (("alex", alex), ("sam", sam))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["won"] for r in results.values()) == [False, True]
    winner = "Alex" if results["alex"]["won"] else "Sam"
    assert {r["holder"] for r in results.values()} == {winner}
    row = [i for i in sam.get("/console/queue.json").json() if i["conversation_id"] == sender][0]
    assert row["claimed_by"] == winner


def test_admins_read_the_audit_trail_others_cannot(stack):
    admin = signed_in(stack, account(stack, role="admin", name="Robin"))
    coordinator = signed_in(stack, account(stack))
    say(stack, sender := new_sender(), "/request_human")
    item = [
        i for i in coordinator.get("/console/queue.json").json() if i["conversation_id"] == sender
    ]
    coordinator.post(
        f"/console/claim/{item[0]['id']}", headers={"X-CSRF-Token": csrf_of(coordinator)}
    )
    assert coordinator.get("/console/audit").status_code == 403
    trail = admin.get("/console/audit")
    assert trail.status_code == 200 and sender in trail.text and "claimed" in trail.text


def transcript(client, escalation_id):
    """The console's transcript stream, first snapshot's lines."""
    with client.stream("GET", f"/console/conversation/{escalation_id}/events") as events:
        for line in events.iter_lines():
            if line.startswith("data: "):
                return json.loads(line[6:])["lines"]
    return []


def test_a_coordinator_takes_over_talks_and_hands_back(stack):
    alex = signed_in(stack, account(stack, name="Alex"))
    csrf = csrf_of(alex)
    person = new_sender()
    say(stack, person, "/request_human")
    item = [i for i in alex.get("/console/queue.json").json() if i["conversation_id"] == person][0]
    base = f"/console/conversation/{item['id']}"
    headers = {"X-CSRF-Token": csrf}
    # Before claiming, the coordinator can read (transcript and intake summary) but not write.
    page = alex.get(base)
    assert page.status_code == 200 and "Intake summary" in page.text and "not given" in page.text
    assert alex.post(base + "/message", json={"text": "hi"}, headers=headers).status_code == 409

    claimed = alex.post(f"/console/claim/{item['id']}", headers=headers).json()
    assert claimed == {"won": True, "holder": "Alex", "joined": True}
    # The assistant is paused: the person's message gets no bot reply, but is in the console.
    assert say(stack, person, "are you a real person?") == []
    sent = alex.post(
        base + "/message", json={"text": "Yes, I'm Alex. How can I help?"}, headers=headers
    )
    assert sent.status_code == 200
    # Crisis language while a person holds the chat is flagged to them.
    assert say(stack, person, "honestly i want to kill myself") == []
    lines = transcript(alex, item["id"])
    said = [(x["who"], x["text"]) for x in lines]
    assert (
        "coordinator",
        "Alex from our intake team has joined the chat. The assistant is paused while you talk.",
    ) in said
    assert ("person", "are you a real person?") in said
    assert ("coordinator", "Yes, I'm Alex. How can I help?") in said
    flagged = [x for x in lines if x["text"] == "honestly i want to kill myself"]
    assert flagged and flagged[0]["crisis"] == "acute"

    # Someone else cannot write into Alex's conversation; an empty or huge message is refused.
    sam = signed_in(stack, account(stack, name="Sam"))
    assert (
        sam.post(
            base + "/message", json={"text": "hi"}, headers={"X-CSRF-Token": csrf_of(sam)}
        ).status_code
        == 409
    )
    assert alex.post(base + "/message", json={"text": " "}, headers=headers).status_code == 400
    assert (
        alex.post(base + "/message", json=["not", "an object"], headers=headers).status_code == 400
    )
    assert (
        alex.post(base + "/message", json={"text": "x" * 3000}, headers=headers).status_code == 413
    )

    back = alex.post(base + "/return", headers=headers).json()
    assert back == {"status": "returned", "told": True}
    answer = say(stack, person, "how many people are in a group?")
    assert answer and "capped at" in answer[0]["text"]  # the assistant answers again
    assert person not in [i["conversation_id"] for i in alex.get("/console/queue.json").json()]


def test_a_conversation_never_escalated_cannot_be_opened(stack):
    alex = signed_in(stack, account(stack))
    assert alex.get("/console/conversation/987654").status_code == 404
    anonymous = httpx.Client(base_url=stack.web_url, follow_redirects=False, timeout=30)
    assert anonymous.get("/console/conversation/1").status_code == 303
    assert anonymous.get("/console/conversation/1/events").status_code == 401


def test_with_the_console_open_a_request_is_told_someone_can_join(stack):

    client = signed_in(stack, account(stack))
    with client.stream("GET", "/console/events") as events:
        lines = events.iter_lines()  # kept: a dropped iterator closes the stream
        next(line for line in lines if line.startswith("data: "))
        assert coordinators_online(stack.env["DATABASE_URL"]) >= 1
        sender = new_sender()
        assert [m["text"] for m in say(stack, sender, "/request_human")] == [PROFILE.contact_text]
    # The page closed: nobody is counted online any more.
    for _ in range(100):
        if coordinators_online(stack.env["DATABASE_URL"]) == 0:
            break
        time.sleep(0.2)
    assert coordinators_online(stack.env["DATABASE_URL"]) == 0


def test_hand_back_changes_nothing_when_the_chat_server_cannot_be_told(stack, tmp_path):
    """A console whose Rasa server is down: the claim stands, but returning the chat to the
    assistant is refused (502) and the conversation stays held, never "returned" while the
    assistant is still paused."""
    import subprocess
    import sys

    from scripts.stack import free_port as _free_port

    port = _free_port()
    env = {**stack.env, "WEB_PORT": str(port), "RASA_PORT": str(_free_port())}  # nothing there
    web = subprocess.Popen(
        [sys.executable, "scripts/web.py", "--port", str(port)],
        env=env,
        stdout=(tmp_path / "web.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        email = account(stack)
        client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
        client.post(
            "/console/login", data={"csrf": token.group(1), "email": email, "password": PASSWORD}
        )
        headers = {"X-CSRF-Token": csrf_of(client)}
        say(stack, person := new_sender(), "/request_human")
        item = [
            i for i in client.get("/console/queue.json").json() if i["conversation_id"] == person
        ]
        claimed = client.post(f"/console/claim/{item[0]['id']}", headers=headers).json()
        assert claimed["won"] and claimed["joined"] is False  # the join notice could not go out
        back = client.post(f"/console/conversation/{item[0]['id']}/return", headers=headers)
        assert back.status_code == 502
        row = [
            i for i in client.get("/console/queue.json").json() if i["conversation_id"] == person
        ]
        assert row and row[0]["claimed_by"] == "Alex"
        # An admin's release is refused the same way: the claim stands.
        admin = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        token = re.search(r'name="csrf" value="([^"]+)"', admin.get("/console/login").text)
        admin.post(
            "/console/login",
            data={
                "csrf": token.group(1),
                "email": account(stack, role="admin", name="Robin"),
                "password": PASSWORD,
            },
        )
        released = admin.post(
            f"/console/release/{item[0]['id']}", headers={"X-CSRF-Token": csrf_of(admin)}
        )
        assert released.status_code == 502
        row = [
            i for i in client.get("/console/queue.json").json() if i["conversation_id"] == person
        ]
        assert row and row[0]["claimed_by"] == "Alex"
    finally:
        web.terminate()
        web.wait(timeout=30)


# --- notes, typing, release ------------------------------------------------------------------


def queue_row(client, conversation_id):
    rows = client.get("/console/queue.json").json()
    found = [i for i in rows if i["conversation_id"] == conversation_id]
    return found[0] if found else None


def held_conversation(stack, holder="Alex"):
    """A person who asked for a person, claimed by a new coordinator: (client, csrf, id,
    conversation id)."""
    client = signed_in(stack, account(stack, name=holder))
    csrf = csrf_of(client)
    say(stack, person := new_sender(), "/request_human")
    escalation = queue_row(client, person)["id"]
    claimed = client.post(f"/console/claim/{escalation}", headers={"X-CSRF-Token": csrf})
    assert claimed.json()["won"]
    return client, csrf, escalation, person


def test_private_notes_are_for_the_team_only(stack):
    from tests.e2e import tracker

    alex, csrf, escalation, person = held_conversation(stack)
    notes = f"/console/conversation/{escalation}/notes"
    text = "Sister <b>Quintessa</b> is her support; call after 6pm"
    # Doors: a session, the CSRF token, our Origin, a conversation handed to the team.
    anonymous = httpx.Client(base_url=stack.web_url, timeout=30)
    assert anonymous.post(notes, json={"text": text}).status_code == 401
    assert alex.post(notes, json={"text": text}).status_code == 403
    assert alex.post(notes, json={"text": text}, headers={"X-CSRF-Token": "x"}).status_code == 403
    evil = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    assert alex.post(notes, json={"text": text}, headers=evil).status_code == 403
    headers = {"X-CSRF-Token": csrf}
    assert (
        alex.post("/console/conversation/987654/notes", json={"text": text}, headers=headers)
    ).status_code == 404
    empty = alex.post(notes, json={"text": "   "}, headers=headers)
    assert empty.status_code == 400 and empty.json() == {"error": "write a note first"}
    assert alex.post(notes, json=["not", "an object"], headers=headers).status_code == 400
    assert alex.post(notes, json={"text": "x" * 2001}, headers=headers).status_code == 413

    # Anyone who can read the conversation may note on it, not only the holder.
    sam = signed_in(stack, account(stack, name="Sam"))
    written = sam.post(notes, json={"text": text}, headers={"X-CSRF-Token": csrf_of(sam)})
    assert written.status_code == 201
    assert written.json()["author"] == "Sam" and written.json()["text"] == text
    alex.post(notes, json={"text": "Second note"}, headers=headers)
    page = alex.get(f"/console/conversation/{escalation}").text
    assert "Sister &lt;b&gt;Quintessa&lt;/b&gt;" in page and "<b>Quintessa" not in page
    assert page.index("Quintessa") < page.index("Second note")  # newest last

    # Never to the person, never in the transcript; audited without the text.
    events = json.dumps(tracker(stack, person)["events"])
    assert "Quintessa" not in events and "Second note" not in events
    assert not [x for x in transcript(alex, escalation) if "Quintessa" in x["text"]]
    trail = signed_in(stack, account(stack, role="admin", name="Robin")).get("/console/audit")
    assert "wrote_note" in trail.text and "Quintessa" not in trail.text


@pytest.mark.parametrize(
    "content, content_type, status",
    [
        (b"session_id=abc", "application/x-www-form-urlencoded", 400),
        (b"{not json", "application/json", 400),
        (b'["session_id"]', "application/json", 400),
        (b"{}", "application/json", 400),
        (b'{"session_id": 42}', "application/json", 400),
        (b'{"session_id": ""}', "application/json", 400),
        (json.dumps({"session_id": "x" * 129}).encode(), "application/json", 400),
        (json.dumps({"session_id": "x" * 600}).encode(), "application/json", 413),
        (b'{"session_id": "nobody-holds-this"}', "application/json", 204),
    ],
)
def test_the_widgets_typing_route_refuses_bad_bodies(stack, content, content_type, status):
    answer = httpx.post(
        f"{stack.web_url}/chat/typing",
        content=content,
        headers={"Content-Type": content_type},
        timeout=30,
    )
    assert answer.status_code == status


def test_typing_is_passed_both_ways_while_a_coordinator_holds_the_chat(stack):
    alex, csrf, escalation, person = held_conversation(stack)
    base = f"/console/conversation/{escalation}"
    headers = {"X-CSRF-Token": csrf}
    # The coordinator's side: the holder only, a boolean only; the Rasa server passes it on.
    sam = signed_in(stack, account(stack, name="Sam"))
    refused = sam.post(
        base + "/typing", json={"typing": True}, headers={"X-CSRF-Token": csrf_of(sam)}
    )
    assert refused.status_code == 409
    assert alex.post(base + "/typing", json={"typing": True}).status_code == 403  # no token
    assert alex.post(base + "/typing", json={"typing": "yes"}, headers=headers).status_code == 400
    sent = alex.post(base + "/typing", json={"typing": True}, headers=headers)
    assert (sent.status_code, sent.json()) == (202, {"forwarded": True})

    # The person's side reaches the console's event stream, and goes quiet by itself.
    with alex.stream("GET", base + "/events") as events:
        snapshots = (json.loads(x[6:]) for x in events.iter_lines() if x.startswith("data: "))
        assert next(snapshots)["typing"] is False
        started = time.monotonic()
        typing = httpx.post(f"{stack.web_url}/chat/typing", json={"session_id": person})
        assert typing.status_code == 204
        assert next(snapshots)["typing"] is True
        assert time.monotonic() - started < 5
        assert next(snapshots)["typing"] is False  # no refresh for 5 s
        assert time.monotonic() - started < 10


def test_an_admin_releases_an_abandoned_claim(stack):
    alex, csrf, escalation, person = held_conversation(stack)
    target = f"/console/release/{escalation}"
    sam = signed_in(stack, account(stack, name="Sam"))
    assert sam.post(target, headers={"X-CSRF-Token": csrf_of(sam)}).status_code == 403
    robin = signed_in(stack, account(stack, role="admin", name="Robin"))
    robin_csrf = csrf_of(robin)
    assert robin.post(target).status_code == 403  # no token
    evil = {"X-CSRF-Token": robin_csrf, "Origin": "https://evil.example"}
    assert robin.post(target, headers=evil).status_code == 403
    headers = {"X-CSRF-Token": robin_csrf}
    assert robin.post("/console/release/987654", headers=headers).status_code == 404
    assert queue_row(robin, person)["claimed_by"] == "Alex"

    released = robin.post(target, headers=headers)
    assert released.json() == {"status": "released", "told": True}
    assert queue_row(robin, person)["claimed_by"] is None  # open again, for anyone to claim
    assert robin.post(target, headers=headers).status_code == 409  # nobody holds it now
    # The former holder can't write any more; the assistant answers the person again.
    sent = alex.post(
        f"/console/conversation/{escalation}/message",
        json={"text": "hi"},
        headers={"X-CSRF-Token": csrf},
    )
    assert sent.status_code == 409
    answer = say(stack, person, "how many people are in a group?")
    assert answer and "capped at" in answer[0]["text"]
    assert "released" in robin.get("/console/audit").text
    # Claimed again later, the assistant is paused again.
    again = sam.post(f"/console/claim/{escalation}", headers={"X-CSRF-Token": csrf_of(sam)})
    assert again.json()["won"] is True
    assert say(stack, person, "hello?") == []
