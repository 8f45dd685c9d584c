"""Texts through Twilio's Messages API, a sender of the outbox worker.

POST {TWILIO_API_URL}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded From/To/Body,
HTTP Basic auth (account SID, auth token). The payload: {"to": "+15550100142", "text": …}.
Outcomes: 2xx sent; 429, 5xx, timeouts and connection errors retried; any other 4xx
failed, with Twilio's error code in the reason ("HTTP 400 21614": not a mobile number;
21610: the person replied STOP). Never the number or the text.
"""

from __future__ import annotations

from typing import Any, Dict

import httpx

from bot.config import settings
from bot.notify.outcome import Outcome

TIMEOUT = httpx.Timeout(10.0)


def _twilio_code(response: httpx.Response) -> str:
    """Twilio's error code from its JSON error body, or "" when there is none."""
    try:
        body = response.json()
    except ValueError:
        return ""
    code = body.get("code") if isinstance(body, dict) else None
    return str(code) if isinstance(code, int) else ""


def send_sms(payload: Dict[str, Any], client: httpx.Client) -> Outcome:

    conf = settings()
    sid, token = conf.twilio_account_sid, conf.twilio_auth_token
    if not (sid and token and conf.twilio_from):
        return Outcome(sent=False, reason="Twilio is not configured")
    url = f"{conf.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
    form = {"From": conf.twilio_from, "To": payload["to"], "Body": payload["text"]}
    try:
        response = client.post(url, data=form, auth=(sid, token), timeout=TIMEOUT)
    except httpx.HTTPError as exc:  # timeouts, refused connections, broken responses
        return Outcome(sent=False, retry=True, reason=type(exc).__name__)
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(sent=True)
    if code == 429 or code >= 500:
        return Outcome(sent=False, retry=True, reason=f"HTTP {code}")
    return Outcome(sent=False, reason=f"HTTP {code} {_twilio_code(response)}".rstrip())
