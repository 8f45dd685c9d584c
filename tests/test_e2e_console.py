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
    """The console's transcript stream, first snapshot."""
    with client.stream("GET", f"/console/conversation/{escalation_id}/events") as events:
        for line in events.iter_lines():
            if line.startswith("data: "):
                return json.loads(line[6:])
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
    finally:
        web.terminate()
        web.wait(timeout=30)
