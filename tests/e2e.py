"""Talking to the running servers over HTTP, as the website and integrations do."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, Iterable, List, TypeVar

import httpx

T = TypeVar("T")


def new_sender(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def say(stack, sender: str, text: str) -> List[Dict]:
    """One user message through the REST channel; returns the bot's messages."""
    response = httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook",
                          json={"sender": sender, "message": text}, timeout=60)
    assert 200 <= response.status_code < 300, response.text
    return response.json()


def texts(messages: List[Dict]) -> List[str]:
    return [m.get("text", "") for m in messages]


def tracker(stack, sender: str) -> Dict:
    response = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                         params={"token": stack.env["RASA_AUTH_TOKEN"]}, timeout=30)
    assert 200 <= response.status_code < 300, response.text
    return response.json()


def start_fallback_loop(stack, sender: str) -> List[Dict]:
    """Put a conversation inside the two-stage fallback loop, as a low-confidence message
    would, but deterministically (which words fall under the threshold changes per model)."""
    response = httpx.post(f"{stack.rasa_url}/conversations/{sender}/trigger_intent",
                          params={"token": stack.env["RASA_AUTH_TOKEN"]},
                          json={"name": "nlu_fallback"}, timeout=60)
    assert 200 <= response.status_code < 300, response.text
    body = response.json()
    assert body["tracker"]["active_loop"].get("name") == "action_two_stage_fallback"
    return body["messages"]


def parallel(fn: Callable[[T], object], items: Iterable[T], workers: int = 4) -> list:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))
