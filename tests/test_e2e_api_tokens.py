"""Rasa's HTTP API on scoped tokens, through the real servers: a token for one conversation
reads and changes that conversation and nothing else; expired, foreign and unsigned tokens
are refused; the JWT key is on no command line; the console takes a conversation over, end
to end, with no static API token at all."""

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import httpx
import jwt
import pytest

from tests.e2e import api_token, new_sender, on_no_command_line, say
from tests.test_e2e_channels import Chat, run_async

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


def jwt_secret(stack) -> str:
    from bot import api_tokens

    keys = ("SIGNING_SECRET", "PHI_ENCRYPTION_KEY", "APP_ENV")
    with mock.patch.dict(os.environ, {k: stack.env.get(k, "") for k in keys}):
        return api_tokens.secret()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_jwt_key_is_on_no_command_line(stack):
    secret = jwt_secret(stack).encode()
    on_no_command_line(secret)
    # …and Rasa has it: a token signed with it is taken.
    status = httpx.get(f"{stack.rasa_url}/status", headers=bearer(api_token(stack)), timeout=30)
    assert status.status_code == 200


def test_a_conversation_token_reaches_its_conversation_and_no_other(stack):
    mine, theirs = new_sender("jwt-a"), new_sender("jwt-b")
    say(stack, mine, "how many people are in a group?")
    say(stack, theirs, "how long is the program?")
    admin = bearer(api_token(stack))
    url = f"{stack.rasa_url}/conversations/{{}}/{{}}".format
    before = httpx.get(url(theirs, "tracker"), headers=admin, timeout=30).json()
    token = bearer(api_token(stack, mine))

    own = httpx.get(url(mine, "tracker"), headers=token, timeout=30)
    assert own.status_code == 200 and own.json()["sender_id"] == mine
    appended = httpx.post(
        url(mine, "tracker/events"), json=[{"event": "pause"}], headers=token, timeout=30
    )
    assert appended.status_code == 200 and appended.json()["paused"] is True

    # The other conversation: not read, not changed, not run, not said into.
    attempts = [
        ("GET", "tracker", None),
        ("POST", "tracker/events", [{"event": "pause"}]),
        ("PUT", "tracker/events", []),
        ("POST", "execute", {"name": "action_coordinator_message"}),
        ("POST", "trigger_intent", {"name": "greet"}),
        ("POST", "messages", {"text": "hi", "sender": "user"}),
        ("POST", "predict", None),
        ("GET", "story", None),
    ]
    for method, tail, body in attempts:
        answer = httpx.request(method, url(theirs, tail), json=body, headers=token, timeout=30)
        assert answer.status_code == 403, (method, tail, answer.status_code)
        assert "events" not in answer.json(), (method, tail)
    # Routes of no conversation are for admins only.
    assert httpx.get(f"{stack.rasa_url}/status", headers=token).status_code == 403
    parse = httpx.post(f"{stack.rasa_url}/model/parse", json={"text": "hi"}, headers=token)
    assert parse.status_code == 403
    after = httpx.get(url(theirs, "tracker"), headers=admin, timeout=30).json()
    assert after["events"] == before["events"] and not after.get("paused")


def test_expired_foreign_and_unsigned_tokens_are_refused(stack):
    person = new_sender("jwt-x")
    say(stack, person, "how many people are in a group?")
    tracker = f"{stack.rasa_url}/conversations/{person}/tracker"
    user = {"username": person, "role": "user"}
    soon = int(time.time()) + 120
    good = api_token(stack, person)
    assert httpx.get(tracker, headers=bearer(good), timeout=30).status_code == 200
    refused = {
        # Past `exp` by more than Rasa's three minutes of allowed clock skew.
        "expired": api_token(stack, person, ttl=60, now=time.time() - 600),
        "expired admin": api_token(stack, ttl=60, now=time.time() - 600),
        "another key": jwt.encode({"user": user, "exp": soon}, "k" * 64, algorithm="HS256"),
        "a key's prefix": jwt.encode(
            {"user": user, "exp": soon}, jwt_secret(stack)[:32], algorithm="HS256"
        ),
        "tampered": good[: good.rindex(".")] + "." + "A" * 43,
        "the static token as a JWT": stack.env["RASA_AUTH_TOKEN"],
        "garbage": "x.y.z",
    }
    for name, token in refused.items():
        answer = httpx.get(tracker, headers=bearer(token), timeout=30)
        assert answer.status_code == 401, (name, answer.status_code)
        assert "events" not in answer.text, name
    # Other algorithms than HS256, "none" included: PyJWT raises an error sanic-jwt does not
    # catch (Rasa answered 500); channels/socketio.py makes it a 401 too.
    for algorithm, key in (("none", None), ("HS512", jwt_secret(stack))):
        token = jwt.encode({"user": user, "exp": soon}, key, algorithm=algorithm)
        answer = httpx.get(tracker, headers=bearer(token), timeout=30)
        assert answer.status_code == 401, (algorithm, answer.status_code)
        assert "events" not in answer.text, algorithm


def test_the_typing_route_takes_tokens_for_its_sender_only(stack):
    typing = f"{stack.rasa_url}/webhooks/socketio/typing"
    mine, theirs = new_sender("typ-a"), new_sender("typ-b")
    token = api_token(stack, mine)

    def post(body, headers=None):
        return httpx.post(typing, json=body, headers=headers or {}, timeout=30).status_code

    assert post({"sender": mine, "typing": True}) == 401
    assert post({"sender": mine, "typing": True}, bearer(token)) == 204
    assert post({"sender": theirs, "typing": True}, bearer(token)) == 403
    assert post({"sender": mine}, bearer(api_token(stack, mine, now=time.time() - 600))) == 401
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")  # the signature's end
    assert post({"sender": mine}, bearer(tampered)) == 401
    assert post({"sender": theirs}, bearer(api_token(stack))) == 204  # an admin's
    assert post({"sender": theirs}, bearer(stack.env["RASA_AUTH_TOKEN"])) == 204
    assert post({"typing": True}, bearer(token)) == 400


@pytest.fixture()
def tokenless_console(stack, tmp_path):
    """A second website (the console) with no RASA_AUTH_TOKEN at all: what it does to Rasa it
    can only do with the tokens it mints."""
    from scripts.stack import VENV_BIN, free_port

    port = str(free_port())
    env = {**stack.env, "RASA_AUTH_TOKEN": "", "WEB_PORT": port}
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(VENV_BIN / "python"), "scripts/web.py", "--port", port],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "web.log").read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    yield SimpleNamespace(web_url=url, env=env)
    process.terminate()
    process.wait(15)
    log.close()


def test_the_console_takes_over_with_tokens_it_mints(stack, tokenless_console):
    from tests.test_e2e_console import account, csrf_of, signed_in

    console = tokenless_console
    alex = signed_in(console, account(console, name="Alex"))
    headers = {"X-CSRF-Token": csrf_of(alex)}

    async def scenario() -> None:
        person = Chat(stack.rasa_url)
        typing: asyncio.Queue = asyncio.Queue()
        person.client.on("coordinator_typing", lambda data: typing.put_nowait(data))
        await person.open()
        await person.say("/request_human")
        await person.texts()
        queue = await asyncio.to_thread(alex.get, "/console/queue.json")
        item = next(i for i in queue.json() if i["conversation_id"] == person.conversation_id)
        base = f"/console/conversation/{item['id']}"

        claimed = await asyncio.to_thread(
            alex.post, f"/console/claim/{item['id']}", headers=headers
        )
        assert claimed.json() == {"won": True, "holder": "Alex", "joined": True}
        assert any("Alex from our intake team has joined" in t for t in await person.texts())
        sent = await asyncio.to_thread(
            alex.post, base + "/typing", json={"typing": True}, headers=headers
        )
        assert sent.json() == {"forwarded": True}
        assert await asyncio.wait_for(typing.get(), 10) == {"typing": True}
        sent = await asyncio.to_thread(
            alex.post, base + "/message", json={"text": "Hi, Alex here."}, headers=headers
        )
        assert sent.status_code == 200
        assert "Hi, Alex here." in await person.texts()
        await person.say("thanks, are you a real person?")  # paused: no bot reply
        assert await person.silent_for(4)

        lines = await asyncio.to_thread(transcript_of, alex, base)
        said = [(x["who"], x["text"]) for x in lines]
        assert ("coordinator", "Hi, Alex here.") in said
        assert ("person", "thanks, are you a real person?") in said
        back = await asyncio.to_thread(alex.post, base + "/return", headers=headers)
        assert back.json() == {"status": "returned", "told": True}
        await person.texts()  # the hand-back notice
        await person.say("how many people are in a group?")
        assert any("capped at" in t for t in await person.texts())
        await person.close()

    run_async(scenario())


def transcript_of(client, base: str) -> list:
    with client.stream("GET", base + "/events") as events:
        for line in events.iter_lines():
            if line.startswith("data: "):
                return json.loads(line[6:])["lines"]
    return []
