"""Talking to the running servers over HTTP, as the website and integrations do."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Iterable, List, Optional, TypeVar
from unittest import mock

import httpx

T = TypeVar("T")


def new_sender(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def say(stack, sender: str, text: str, metadata: Optional[Dict] = None) -> List[Dict]:
    """One user message through the REST channel; returns the bot's messages."""
    token = stack.env.get("REST_CHANNEL_TOKEN")  # required outside development
    body: Dict = {"sender": sender, "message": text}
    if metadata is not None:
        body["metadata"] = metadata
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json=body,
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=60,
    )
    assert 200 <= response.status_code < 300, response.text
    return response.json()


def texts(messages: List[Dict]) -> List[str]:
    return [m.get("text", "") for m in messages]


def tracker(stack, sender: str) -> Dict:
    response = httpx.get(
        f"{stack.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.env["RASA_AUTH_TOKEN"]},
        timeout=30,
    )
    assert 200 <= response.status_code < 300, response.text
    return response.json()


def api_token(stack, conversation_id: Optional[str] = None, ttl: float = 300, **kw) -> str:
    """A JWT for Rasa's HTTP API (Authorization: Bearer …), signed with the key the stack's
    servers use (bot.api_tokens, from the stack's SIGNING_SECRET or PHI key): an admin's, or
    with `conversation_id` one scoped to that conversation, as the console's are. `kw` goes to
    bot.api_tokens.mint (e.g. `now` for one that has expired)."""
    from bot import api_tokens

    keys = ("SIGNING_SECRET", "PHI_ENCRYPTION_KEY", "APP_ENV")
    with mock.patch.dict(os.environ, {k: stack.env.get(k, "") for k in keys}):
        if conversation_id is None:
            return api_tokens.mint("admin", "admin", ttl, **kw)
        return api_tokens.mint(conversation_id, "user", ttl, **kw)


def start_fallback_loop(stack, sender: str) -> List[Dict]:
    """Put a conversation inside the two-stage fallback loop, as a low-confidence message
    would, but deterministically (which words fall under the threshold changes per model)."""
    response = httpx.post(
        f"{stack.rasa_url}/conversations/{sender}/trigger_intent",
        params={"token": stack.env["RASA_AUTH_TOKEN"]},
        json={"name": "nlu_fallback"},
        timeout=60,
    )
    assert 200 <= response.status_code < 300, response.text
    body = response.json()
    assert body["tracker"]["active_loop"].get("name") == "action_two_stage_fallback"
    return body["messages"]


def parallel(fn: Callable[[T], object], items: Iterable[T], workers: int = 4) -> list:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def buttons(message: Dict) -> List[str]:
    return [b["payload"] for b in message.get("buttons") or []]


class ScreeningUser:
    """A scripted person doing the screening through the REST channel.

    It computes the question it expects next from the same content the bot uses
    (bot.screening), checks the bot asked exactly that, and answers from `answers_for`
    (typed phrasings or a button's value). Counts turns; stops at the recommendation.
    """

    def __init__(self, stack, sender: str, answers_for: Callable[[str], str]):
        from bot.profile import load_profile

        self.stack, self.sender, self.answers_for = stack, sender, answers_for
        self.states = load_profile().facts.licensed_states
        self.answers: Dict = {}
        self.turns = 0
        self.last: List[Dict] = []

    def send(self, text: str) -> List[Dict]:
        self.turns += 1
        self.last = say(self.stack, self.sender, text)
        return self.last

    def expected(self):
        from bot.screening import next_question

        return next_question(self.answers, self.states)

    def answer_current(self) -> List[Dict]:
        from bot.screening import parse_answer

        question = self.expected()
        asked = texts(self.last)
        assert question is not None and question.text in asked, (question, asked)
        text = self.answers_for(question.key)
        self.answers[question.key] = parse_answer(question.key, text)
        return self.send(text)

    def start(self) -> List[Dict]:
        from bot.consent import CONSENT

        said = texts(self.send("/start_screening"))
        assert said == [CONSENT.text, CONSENT.text_part2], said
        return self.send(CONSENT.agree)

    def run_to_end(self, limit: int = 60) -> List[Dict]:
        while self.expected() is not None and limit:
            self.answer_current()
            limit -= 1
        return self.last


IOP_FIT_ANSWERS = {
    "fit.age": "I'm 34",
    "fit.state": "I live in Texas",
    "fit.for_whom": "just me",
    "fit.withdrawal_alcohol": "no",
    "fit.withdrawal_meds": "nope",
    "fit.withdrawal_seizures": "No",
    "fit.safe_housing": "yes",
    "fit.safe_at_home": "yeah",
    "fit.device_private": "Yes",
    "fit.hours": "yes",
    "sex": "female",
    "phq9.9": "not at all",
}


def iop_fit_answer(key: str) -> str:
    """Moderately severe depression and mild anxiety, no substance use, safe at home."""
    if key in IOP_FIT_ANSWERS:
        return IOP_FIT_ANSWERS[key]
    if key.startswith("phq9."):
        return "more than half the days" if int(key.split(".")[1]) % 2 else "2"
    if key.startswith("gad7."):
        return "a few days"
    return "never"  # AUDIT-C frequency, the drug question


def on_no_command_line(secret: bytes) -> None:
    """No running process's command line holds `secret` (ps would show it to any user)."""
    from pathlib import Path

    seen = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes()
        except OSError:  # the process ended meanwhile
            continue
        seen += 1
        assert secret not in args, cmdline
    assert seen > 5  # the scan did see the servers
