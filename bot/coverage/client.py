"""A small synchronous client for Stedi's Real-Time Eligibility Check JSON endpoint
(Change-Healthcare-compatible): POST {base}/change/medicalnetwork/eligibility/v3.

Retries with exponential backoff and jitter on AAA 42 (payer unavailable), HTTP 429
(honouring a small Retry-After) and 5xx; a semaphore caps concurrent requests. Logs carry
the payer ID, HTTP status, attempt, AAA codes and timing; never a name, member ID or date of
birth (request and response bodies are never logged).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any, Dict, Optional

import httpx

log = logging.getLogger("bot.coverage.client")

ELIGIBILITY_PATH = "/change/medicalnetwork/eligibility/v3"
DEFAULT_URL = "http://127.0.0.1:8089"  # the local sandbox: python -m stand_ins.clearinghouse
STEDI_URL = "https://healthcare.us.stedi.com/2024-04-01"
RETRY_AAA = frozenset({"42"})


class ClearinghouseError(RuntimeError):
    """The check could not be completed. `reason` is a short label safe to store and log:
    timeout, rate_limited, server_error, malformed_response, rejected, busy, network."""

    def __init__(self, reason: str, message: str, status_code: Optional[int] = None):
        super().__init__(message)
        self.reason = reason
        self.status_code = status_code


class EligibilityClient:
    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str = "",
        provider_npi: str = "",
        provider_name: str = "",
        timeout: float = 10.0,
        retries: int = 2,
        max_concurrency: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 4.0,
        max_retry_after: float = 5.0,
        queue_timeout: Optional[float] = None,
        transport: Optional[httpx.BaseTransport] = None,
    ):
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + ELIGIBILITY_PATH
        self.provider_npi = provider_npi
        self.provider_name = provider_name
        self.timeout = timeout
        self.retries = max(0, retries)
        self.max_concurrency = max_concurrency
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.queue_timeout = queue_timeout if queue_timeout is not None else max(30.0, 3 * timeout)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = api_key
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout), headers=headers, transport=transport
        )

    # -- lifecycle
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "EligibilityClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def provider(self) -> Dict[str, str]:
        return {"organizationName": self.provider_name, "npi": self.provider_npi}

    # -- the call
    def _delay(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * (2**attempt))
        return base + random.uniform(0, base)  # full jitter on top of the exponential step

    def _post_once(self, payload: Dict[str, Any]) -> httpx.Response:
        if not self._slots.acquire(timeout=self.queue_timeout):
            raise ClearinghouseError("busy", "Too many eligibility checks in progress.")
        try:
            return self._http.post(self.url, json=payload)
        finally:
            self._slots.release()

    def check(self, payload: Dict[str, Any]) -> Dict[str, Any]:
        """POST one eligibility request; the parsed JSON 271 response. AAA errors other than
        a persistent 42 come back in the response (`errors[]`) for interpret() to explain."""
        payer = payload.get("tradingPartnerServiceId", "?")
        stcs = ",".join((payload.get("encounter") or {}).get("serviceTypeCodes") or [])
        attempt = 0
        while True:
            started = time.monotonic()
            retry_after: Optional[float] = None
            try:
                resp = self._post_once(payload)
            except httpx.TimeoutException:
                log.warning(
                    "eligibility payer=%s stc=%s attempt=%d timeout after %.1fs",
                    payer,
                    stcs,
                    attempt + 1,
                    time.monotonic() - started,
                )
                raise ClearinghouseError(
                    "timeout", f"No answer from the clearinghouse within {self.timeout:g} s."
                ) from None
            except httpx.TransportError as exc:
                log.warning(
                    "eligibility payer=%s stc=%s attempt=%d network error %s",
                    payer,
                    stcs,
                    attempt + 1,
                    type(exc).__name__,
                )
                failure = ClearinghouseError(
                    "network", f"Could not reach the clearinghouse ({type(exc).__name__})."
                )
                if attempt < self.retries:
                    time.sleep(self._delay(attempt))
                    attempt += 1
                    continue
                raise failure from None
            elapsed = time.monotonic() - started
            code = resp.status_code
            if code == 429 or code >= 500:
                reason = "rate_limited" if code == 429 else "server_error"
                if code == 429:
                    retry_after = _retry_after(resp.headers.get("Retry-After"))
                log.warning(
                    "eligibility payer=%s stc=%s attempt=%d http=%d %.2fs",
                    payer,
                    stcs,
                    attempt + 1,
                    code,
                    elapsed,
                )
                if attempt < self.retries and (
                    retry_after is None or retry_after <= self.max_retry_after
                ):
                    time.sleep(retry_after if retry_after is not None else self._delay(attempt))
                    attempt += 1
                    continue
                raise ClearinghouseError(reason, f"The clearinghouse answered HTTP {code}.", code)
            if not 200 <= code < 300:
                log.warning(
                    "eligibility payer=%s stc=%s attempt=%d http=%d rejected",
                    payer,
                    stcs,
                    attempt + 1,
                    code,
                )
                raise ClearinghouseError(
                    "rejected", f"The clearinghouse rejected the request (HTTP {code}).", code
                )
            try:
                data = resp.json()
            except (json.JSONDecodeError, ValueError, UnicodeDecodeError):
                log.warning(
                    "eligibility payer=%s stc=%s attempt=%d http=%d malformed JSON",
                    payer,
                    stcs,
                    attempt + 1,
                    code,
                )
                raise ClearinghouseError(
                    "malformed_response", "The clearinghouse answered with malformed JSON.", code
                ) from None
            if not isinstance(data, dict):
                raise ClearinghouseError(
                    "malformed_response", "The clearinghouse answer is not a JSON object.", code
                )
            from .interpret import aaa_codes  # local: interpret is pure and imports nothing of ours

            codes = aaa_codes(data)
            log.info(
                "eligibility payer=%s stc=%s attempt=%d http=%d aaa=%s %.2fs",
                payer,
                stcs,
                attempt + 1,
                code,
                ",".join(codes) or "-",
                elapsed,
            )
            if RETRY_AAA & set(codes) and attempt < self.retries:
                time.sleep(self._delay(attempt))
                attempt += 1
                continue
            return data


def _retry_after(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: treat as "not small"; use our own backoff


def client_from_env() -> EligibilityClient:
    """The client configured from the environment (bot.config.settings(); .env included).
    A malformed CLEARINGHOUSE_* or PROVIDER_* value raises ConfigError (a ValueError) naming it."""
    from bot.config import settings

    config = settings()
    return EligibilityClient(
        base_url=config.clearinghouse_url or DEFAULT_URL,
        api_key=config.clearinghouse_api_key,
        provider_npi=config.provider_npi,
        provider_name=config.provider_name,
        timeout=config.clearinghouse_timeout,
        max_concurrency=config.clearinghouse_max_concurrency,
        retries=config.clearinghouse_retries,
    )
