"""The Rasa server's doors, through the real servers (development configuration; the
production refusals are in tests/test_e2e_production.py): the API token on no command line,
the REST channel's refusals, message and body caps, and socket.io session ids that only the
server hands out."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Optional

import httpx
import pytest
import socketio

from channels.limits import MAX_MESSAGE_CHARS, TOO_LONG
from channels.socketio import SESSION_ENDED
from tests.e2e import new_sender, on_no_command_line, say, texts, tracker

pytestmark = pytest.mark.e2e
TOKEN = re.compile(r"^[0-9a-f]{32}\.[0-9a-f]{32}$")


def webhook(stack) -> str:
    return f"{stack.rasa_url}/webhooks/rest/webhook"


def user_texts(stack, sender: str) -> List[str]:
    return [e.get("text") for e in tracker(stack, sender)["events"] if e["event"] == "user"]


def test_the_api_token_is_on_no_command_line(stack):
    token = stack.env["RASA_AUTH_TOKEN"]
    rasa = next(p for p in stack.processes if p.name == "rasa server")
    assert "scripts.rasa_server" in rasa.args
    on_no_command_line(token.encode())
    # …and the API still takes it, from the environment.
    status = f"{stack.rasa_url}/status"
    assert httpx.get(status, timeout=30).status_code == 401
    assert httpx.get(status, params={"token": token}, timeout=30).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"message": "how many people are in a group?"},
        {"sender": None, "message": "hi"},
        {"sender": "", "message": "hi"},
        {"sender": "   ", "message": "hi"},
        {"sender": 42, "message": "hi"},
        {"sender": ["a"], "message": "hi"},
        {"sender": "a\x00b", "message": "hi"},
        {"sender": "s" * 129, "message": "hi"},
    ],
)
def test_rest_refuses_a_request_without_a_valid_sender(stack, body):
    before = len(user_texts(stack, "default"))
    answer = httpx.post(webhook(stack), json=body, timeout=30)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("sender is required")
    assert len(user_texts(stack, "default")) == before  # nothing lands in "default"


@pytest.mark.parametrize(
    "content, error",
    [
        (b"{not json", "send a JSON object"),
        (b"", "send a JSON object"),
        (b'["me", "hi"]', "send a JSON object"),
        (b'"hi"', "send a JSON object"),
        (b'{"sender": "x", "message": "\xff\xfe"}', "send a JSON object"),
        (b'{"sender": "x"}', "message is required"),
        (b'{"sender": "x", "message": 3}', "message is required"),
        (b'{"sender": "x", "message": {"text": "hi"}}', "message is required"),
        (b'{"sender": "x", "message": "hi", "metadata": "{}"}', "metadata must be"),
    ],
)
def test_rest_refuses_malformed_requests_with_a_clear_400(stack, content, error):
    answer = httpx.post(
        webhook(stack), content=content, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(error)


def test_a_too_long_message_gets_a_kind_reply_and_nothing_else(stack):
    sender = new_sender("long")
    say(stack, sender, "hi")
    events = tracker(stack, sender)["events"]
    assert say(stack, sender, "a" * (MAX_MESSAGE_CHARS + 1)) == [
        {"recipient_id": sender, "text": TOO_LONG}
    ]
    assert "988" in TOO_LONG
    assert tracker(stack, sender)["events"] == events  # nothing happened to the conversation
    # 50 KB of text: under the body cap, still only the kind reply.
    assert texts(say(stack, sender, "b" * 50_000)) == [TOO_LONG]
    assert tracker(stack, sender)["events"] == events
    # At the cap it is read as usual.
    say(stack, sender, "c" * MAX_MESSAGE_CHARS)
    assert user_texts(stack, sender)[-1] == "c" * MAX_MESSAGE_CHARS


def test_a_too_long_message_that_speaks_of_crisis_still_gets_the_crisis_answer(stack):
    """Crisis detection wins over the length limit: the part that speaks of it goes on."""
    sender = new_sender("longcrisis")
    story = "Things have been really hard with work and my family lately. " * 50
    replies = texts(say(stack, sender, story + "Honestly I want to kill myself tonight."))
    assert TOO_LONG not in replies
    assert any("988" in r for r in replies) and any("911" in r for r in replies)
    read = user_texts(stack, sender)[-1]
    assert "kill myself" in read and len(read) <= MAX_MESSAGE_CHARS


def test_a_body_over_the_cap_is_refused_before_it_is_read(stack):
    sender = new_sender("big")
    body = json.dumps({"sender": sender, "message": "x" * 100_000})
    answer = httpx.post(webhook(stack), content=body, timeout=30)
    assert answer.status_code == 413
    # The HTTP API too (same server), even with its token.
    parse = httpx.post(
        f"{stack.rasa_url}/model/parse",
        params={"token": stack.env["RASA_AUTH_TOKEN"]},
        content=json.dumps({"text": "x" * 100_000}),
        timeout=30,
    )
    assert parse.status_code == 413
    assert "capped at" in " ".join(texts(say(stack, sender, "how many people are in a group?")))


def test_control_characters_and_broken_unicode_are_not_stored(stack):
    sender = new_sender("ctl")
    # Raw JSON: a NUL, a bell and an unpaired surrogate, all valid JSON escapes.
    body = f'{{"sender": "{sender}", "message": "how\\u0000 much\\u0007 is it\\ud800?"}}'
    answer = httpx.post(webhook(stack), content=body, timeout=60)
    assert answer.status_code == 200 and answer.json()
    assert user_texts(stack, sender) == ["how much is it??"]


def test_rest_cannot_claim_another_channel(stack):
    sender = new_sender("chan")
    body = {"sender": sender, "message": "hi", "input_channel": "socketio"}
    assert httpx.post(webhook(stack), json=body, timeout=60).status_code == 200
    assert tracker(stack, sender)["latest_input_channel"] == "rest"


class Chat:
    """A socket.io client speaking the widget's events (web/static/widget.js)."""

    def __init__(self, url: str):
        self.url = url
        self.client = socketio.AsyncClient()
        self.received: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", lambda data: self.received.put_nowait(data))
        self.token = ""

    async def open(self, session_id: Any = None) -> str:
        confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda token: confirmed.set_result(token))
        await self.client.connect(self.url, transports=["polling"])
        await self.client.emit("session_request", {"session_id": session_id})
        self.token = await asyncio.wait_for(confirmed, 10)
        return self.token

    @property
    def conversation_id(self) -> str:
        return self.token.split(".")[0]

    async def say(self, text: Any, session_id: Optional[str] = None) -> None:
        data = {"message": text, "session_id": session_id or self.token}
        await self.client.emit("user_uttered", data)

    async def texts(self, wait: float = 30, quiet: float = 2.0) -> List[str]:
        """What the bot says until it has been quiet for `quiet` seconds."""
        said = [(await asyncio.wait_for(self.received.get(), wait)).get("text", "")]
        while True:
            try:
                said.append((await asyncio.wait_for(self.received.get(), quiet)).get("text"))
            except asyncio.TimeoutError:
                return said

    async def silent_for(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.received.get(), seconds)
        except asyncio.TimeoutError:
            return True
        return False

    async def close(self) -> None:
        await self.client.disconnect()


def run_async(coroutine) -> Any:
    """asyncio.run in a thread of its own (the browser tests keep a loop in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_socketio_session_ids_are_handed_out_and_signed_by_the_server(stack):
    async def scenario() -> str:
        person = Chat(stack.rasa_url)
        token = await person.open()
        assert TOKEN.match(token), token
        await person.say("how many people are in a group?")
        assert any("capped at" in t for t in await person.texts())

        # An id the client chose, the person's bare conversation id, a forged signature:
        # each gets a new conversation of its own, never the person's.
        for chosen in ["my-own-id", person.conversation_id, person.conversation_id + ".0" * 16]:
            other = Chat(stack.rasa_url)
            assert await other.open(chosen) not in (chosen, token)
            assert other.conversation_id != person.conversation_id
            await other.close()

        # Messages need a signed token: an unsigned id reaches no conversation.
        intruder = Chat(stack.rasa_url)
        await intruder.open()
        await intruder.say("my name is Mallory", session_id=person.conversation_id)
        assert await intruder.texts() == [SESSION_ENDED]
        assert await person.silent_for(2)
        await intruder.close()

        # The person's own token resumes the conversation (a reload), on a new socket.
        await person.close()
        again = Chat(stack.rasa_url)
        assert await again.open(token) == token
        await again.say("how long is the program")
        assert await again.texts()
        await again.close()
        return person.conversation_id

    conversation = run_async(scenario())
    assert user_texts(stack, conversation) == [
        "how many people are in a group?",
        "how long is the program",
    ]
    assert user_texts(stack, "my-own-id") == []


def test_socketio_caps_and_odd_messages(stack):
    async def scenario() -> str:
        chat = Chat(stack.rasa_url)
        await chat.open()
        await chat.say("x" * (MAX_MESSAGE_CHARS + 1))
        assert await chat.texts() == [TOO_LONG]
        for odd in [None, 42, {"text": "hi"}, ["hi"]]:
            await chat.say(odd)
        await chat.client.emit("user_uttered", "not a dict")
        await chat.client.emit("session_request", "not a dict either")
        assert await chat.silent_for(3)  # ignored, and the socket still works:
        await chat.say("how many people are in a group?")
        assert any("capped at" in t for t in await chat.texts())
        await chat.close()
        return chat.conversation_id

    conversation = run_async(scenario())
    assert user_texts(stack, conversation) == ["how many people are in a group?"]


def test_a_socketio_packet_over_the_cap_is_refused(stack):
    async def scenario() -> None:
        chat = Chat(stack.rasa_url)
        await chat.open()
        await chat.say("y" * 100_000)  # the server drops this socket's oversized POST
        assert await chat.silent_for(3)
        await chat.close()
        fresh = Chat(stack.rasa_url)
        await fresh.open()
        await fresh.say("how many people are in a group?")
        assert any("capped at" in t for t in await fresh.texts())
        await fresh.close()

    run_async(scenario())
