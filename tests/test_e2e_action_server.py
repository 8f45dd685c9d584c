"""The action server is closed and its errors never leak (issue 16, items 2 and 6), against
the real servers: forged calls without the token are refused before any action runs, it
listens on loopback only, a failing action gets the safe reply and a log line without PHI,
and an `/intent{json}` message with a crafted crisis reason does not break the
conversation."""

import socket

import httpx
import pytest

from bot.handoff import for_conversation
from bot.profile import load_profile
from bot.safety.policy import known_reasons
from tests.e2e import new_sender, say, texts

pytestmark = pytest.mark.e2e
PROFILE = load_profile()
CANARY_NAME, CANARY_ID = "Quillon Marchetti", "QM55120"


def call(stack, body, token=None, path="/webhook"):
    headers = {} if token is None else {"Authorization": token}
    return httpx.post(f"{stack.action_url}{path}", json=body, headers=headers, timeout=30)


def forged(sender: str, action: str) -> dict:
    """What Rasa would send to run `action` in `sender`'s conversation."""
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.2",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": {},
            "latest_message": {"text": "", "intent": {}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": "intake_form"},
            "latest_action_name": "action_listen",
        },
    }


def test_forged_calls_are_refused_and_tell_nothing(stack):
    victim = new_sender("victim")
    said = texts(say(stack, victim, "/book_appointment"))
    pending = said[-1]  # the question waiting in the victim's conversation
    good = f"Bearer {stack.env['ACTION_SERVER_TOKEN']}"
    body = forged(victim, "action_ask_intake_answer")
    for token in (None, "Bearer wrong-token-0123456789", good + "x", good[:-1], "bearer x"):
        refused = call(stack, body, token)
        assert refused.status_code == 401, (token, refused.text)
        assert victim not in refused.text and pending[:30] not in refused.text
    assert httpx.get(f"{stack.action_url}/actions", timeout=10).status_code == 401
    assert httpx.get(f"{stack.action_url}/health", timeout=10).status_code == 200  # liveness
    # What the token protects: with it, the same call reads the victim's pending question.
    allowed = call(stack, body, good)
    assert allowed.status_code == 200
    assert [r["text"] for r in allowed.json()["responses"]] == [pending]


def _outward_address():
    """This machine's address on its network (not loopback), if it has one."""
    for somewhere in ("203.0.113.1", "10.255.255.255"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect((somewhere, 9))  # no packet is sent: this only picks a route
            except OSError:
                continue
            address = s.getsockname()[0]
        if not address.startswith("127."):
            return address
    return None


@pytest.mark.parametrize("server", ["ACTION_PORT", "RASA_PORT"])
def test_it_listens_on_loopback_only(stack, server):
    """The action server, and Rasa (reached from outside only through the proxy)."""
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    port = int(stack.env[server])
    with pytest.raises(OSError):
        socket.create_connection((address, port), timeout=3).close()
    socket.create_connection(("127.0.0.1", port), timeout=3).close()


def _actions_log(stack) -> str:
    proc = next(p for p in stack.processes if p.name == "action server")
    return proc.log_path.read_text(errors="replace")


def test_a_malformed_call_is_answered_without_the_request(stack):
    body = {"next_action": "action_welcome", "tracker": f"{CANARY_NAME} {CANARY_ID}"}
    failed = call(stack, body, f"Bearer {stack.env['ACTION_SERVER_TOKEN']}")
    assert failed.status_code == 500
    assert CANARY_ID not in failed.text and "request_body" not in failed.text
    log = _actions_log(stack)
    assert "POST /webhook failed: TypeError at interfaces.py:" in log
    assert CANARY_ID not in log


def test_a_failing_action_gets_the_safe_reply_and_a_log_line_without_phi(stack):
    db_url = stack.env["DATABASE_URL"]
    # Every action that reads or writes the app database now fails.
    stack.restart_actions({"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/unreachable"})
    try:
        sender = new_sender("broken")
        say(stack, sender, f"hi, I'm {CANARY_NAME}, my member id is {CANARY_ID}")
        said = texts(say(stack, sender, "/book_appointment"))
    finally:
        stack.restart_actions({"DATABASE_URL": db_url})
    assert said == [PROFILE.fallback.error], said
    assert "action action_start_flow failed: OperationalError at " in _actions_log(stack)
    for proc in stack.processes:  # Rasa logs an action server's error answer in full
        log = proc.log_path.read_text(errors="replace")
        assert CANARY_ID not in log and "Marchetti" not in log, proc.name
    # The conversation goes on: the flow starts once the database is back.
    assert texts(say(stack, sender, "/book_appointment")) != [PROFILE.fallback.error]


def test_a_long_injected_crisis_reason_does_not_break_the_conversation(stack):
    sender = new_sender("inject")
    reason = "a" * 200  # escalations.reason is String(64)
    said = texts(
        say(stack, sender, f'/crisis{{"crisis_level": "acute", "crisis_reason": "{reason}"}}')
    )
    # 988/911 first, then the offer that says the escalation was recorded.
    assert said == [PROFILE.crisis_text, PROFILE.crisis_followup], said
    reasons = [e.reason for e in for_conversation(sender, stack.env["DATABASE_URL"])]
    assert reasons == ["unspecified"] and set(reasons) <= known_reasons()
    assert texts(say(stack, sender, "how big are the groups"))[0] == PROFILE.answer("group_size")
