"""Talking to the person's conversation through Rasa's HTTP API.

Each call carries a token for the one conversation it acts on (bot.api_tokens: role "user",
username = the conversation id, valid two minutes), minted per call, not RASA_AUTH_TOKEN: a
token seen in transit (a proxy's log) reads or changes that one conversation for two minutes,
and Rasa refuses it anything else.

A coordinator's words reach the person's widget as a bot message: a SlotSet event carries
the text, then `/execute` of `action_coordinator_message` says it on the conversation's
latest input channel (socket.io for the widget), from the Rasa process that holds the
socket. `pause`
keeps the assistant silent while a person holds the conversation; the person's messages are
still parsed (crisis detection included) and logged, so the console can show and flag them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import httpx

from bot import api_tokens
from bot.config import settings
from bot.couples import hide_invitations

TIMEOUT = httpx.Timeout(10.0)
TYPING_TIMEOUT = httpx.Timeout(3.0)
SLOT = "coordinator_message"  # domain.yml: set only through this API
ACTION = "action_coordinator_message"  # actions/handoff.py: says the slot's text


@dataclass(frozen=True)
class Line:
    """One message of the transcript."""

    who: str  # "person", "assistant" or "coordinator"
    text: str
    at: float  # Unix time
    crisis: Optional[str]  # the crisis level the detector gave a person's message


class RasaAPI:
    def __init__(self, base_url: Optional[str] = None, token: Optional[str] = None):
        """`token`: one static API token for every call (RASA_AUTH_TOKEN; tests). By default
        each call carries a token minted for its conversation."""
        s = settings()
        default = s.rasa_api_url or f"http://127.0.0.1:{s.rasa_port}"
        self.base_url = (base_url or default).rstrip("/")
        self.token = token

    def _url(self, conversation_id: str, tail: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/{tail}"

    def _bearer(self, conversation_id: str) -> Dict[str, str]:
        token = self.token or api_tokens.for_conversation(conversation_id)
        return {"Authorization": f"Bearer {token}"}

    def _auth(self, conversation_id: str) -> Dict[str, Any]:
        """How a call to Rasa's own API shows its credential: the static token as Rasa reads
        it (`?token=`), a minted one as a Bearer header."""
        if self.token:
            return {"params": {"token": self.token}}
        return {"headers": self._bearer(conversation_id)}

    def _post(self, conversation_id: str, tail: str, body: Any, **params: str) -> Any:
        auth = self._auth(conversation_id)
        response = httpx.post(
            self._url(conversation_id, tail),
            json=body,
            params={**auth.get("params", {}), **params},
            headers=auth.get("headers"),
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        return response.json()

    def append(self, conversation_id: str, events: List[Dict[str, Any]]) -> None:
        self._post(conversation_id, "tracker/events", events)

    def say(self, conversation_id: str, text: str) -> None:
        """Send `text` to the person's open channel, as the coordinator."""
        self.append(conversation_id, [{"event": "slot", "name": SLOT, "value": text}])
        self._post(conversation_id, "execute", {"name": ACTION}, output_channel="latest")

    def pause(self, conversation_id: str) -> None:
        self.append(conversation_id, [{"event": "pause"}])

    def resume(self, conversation_id: str) -> None:
        self.append(conversation_id, [{"event": "resume"}])

    def typing(self, conversation_id: str, typing: bool) -> None:
        """Show or hide "someone from the intake team is typing" in the person's widget (the
        socket.io channel's own route, channels/socketio.py). Short timeout: it is only a
        hint, and a late one is worse than none."""
        response = httpx.post(
            f"{self.base_url}/webhooks/socketio/typing",
            json={"sender": conversation_id, "typing": typing},
            headers=self._bearer(conversation_id),
            timeout=TYPING_TIMEOUT,
        )
        response.raise_for_status()

    def transcript(self, conversation_id: str) -> List[Line]:
        response = httpx.get(
            self._url(conversation_id, "tracker"), timeout=TIMEOUT, **self._auth(conversation_id)
        )
        response.raise_for_status()
        return lines(response.json().get("events") or [])


def lines(events: List[Dict[str, Any]]) -> List[Line]:
    """The person's and the bot's messages, in order; coordinator messages marked as such."""
    out, last_action = [], None
    for e in events:
        kind = e.get("event")
        if kind == "action":
            last_action = e.get("name")
        elif kind == "user" and e.get("text"):
            crisis = None
            for entity in (e.get("parse_data") or {}).get("entities") or []:
                if entity.get("entity") == "crisis_level":
                    crisis = str(entity.get("value"))
            text = str(e["text"])
            if text.startswith("/"):  # a button or the widget's opening "/greet", not typed
                text = f"[{text[1:].split('{')[0]}]"
            text = hide_invitations(text)
            out.append(Line("person", text, float(e.get("timestamp") or 0), crisis))
        elif kind == "bot" and e.get("text"):
            who = "coordinator" if last_action == ACTION else "assistant"
            text = hide_invitations(str(e["text"]))
            out.append(Line(who, text, float(e.get("timestamp") or 0), None))
    return out
