"""Parsers of setting values: (variable name, stripped non-empty text) -> value.

Each raises `ConfigError` naming the variable and what it expects, e.g.
"CLEARINGHOUSE_TIMEOUT must be a number of seconds, got 'abc'".
"""

from __future__ import annotations

import ipaddress
import math
import re
from pathlib import Path
from typing import Callable, Collection, Tuple
from urllib.parse import urlsplit

APP_ENVS = ("development", "staging", "production")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def as_text(name: str, raw: str) -> str:
    return raw


def as_path(name: str, raw: str) -> Path:
    return Path(raw)


def as_port(name: str, raw: str) -> int:
    if raw.isdigit() and 1 <= int(raw) <= 65535:
        return int(raw)
    raise ConfigError(f"{name} must be a port number (1-65535), got {raw!r}")


def whole(minimum: int, what: str) -> Callable[[str, str], int]:
    """A parser of whole numbers of at least `minimum`, described as `what` when it fails."""

    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name} must be {what}, got {raw!r}")
        return value

    return parse


def as_seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def as_http_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {raw!r}")
    return raw


def is_https_or_loopback(url: str) -> bool:
    """Empty (a default applies), https://, or http:// to this machine (a local stand-in)."""
    parts = urlsplit(url)
    if not url or parts.scheme == "https":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def as_sslmode(name: str, raw: str) -> str:
    if raw not in SSLMODES:
        raise ConfigError(f"{name} must be one of {', '.join(SSLMODES)}, got {raw!r}")
    return raw


def as_redis_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
        raise ConfigError(f"{name} must be a redis:// or rediss:// URL, got {mask_url(raw)!r}")
    return raw


def mask_url(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:***@host/db (also when malformed)"""
    head, at, host = url.rpartition("@")
    if not at:
        return url
    scheme, slashes, userinfo = head.partition("//")
    if not slashes:
        scheme, userinfo = "", head
    if ":" not in userinfo:
        return url
    return f"{scheme}{slashes}{userinfo.split(':', 1)[0]}:***@{host}"


def as_database_url(name: str, raw: str) -> str:
    if not re.match(r"^[A-Za-z][A-Za-z0-9+]*://", raw):
        raise ConfigError(
            f"{name} must be a database URL such as "
            f"postgresql://user:password@host:5432/dbname, got {mask_url(raw)!r}"
        )
    return raw


def as_app_env(name: str, raw: str) -> str:
    if raw not in APP_ENVS:
        raise ConfigError(f"{name} must be one of {', '.join(APP_ENVS)}, got {raw!r}")
    return raw


def as_secret_token(name: str, raw: str) -> str:
    # Sent in an HTTP header: no spaces; long enough that guessing is hopeless. The value is
    # never echoed (it is a secret).
    if len(raw) < 16 or re.search(r"\s", raw):
        raise ConfigError(f"{name} must be at least 16 characters without spaces")
    return raw


def as_host(name: str, raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]+", raw):
        raise ConfigError(f"{name} must be an IP address or host name, got {raw!r}")
    return raw


def as_npi(name: str, raw: str) -> str:
    if not re.fullmatch(r"\d{10}", raw):
        raise ConfigError(f"{name} must be the program's 10-digit NPI, got {raw!r}")
    return raw


def as_event_type(name: str, raw: str) -> int:
    if not raw.isdigit():
        raise ConfigError(f"{name} must be the numeric id of the Cal.com event type, got {raw!r}")
    return int(raw)


def as_email(name: str, raw: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", raw):
        raise ConfigError(f"{name} must be an email address, got {raw!r}")
    return raw


def as_code_prefix(name: str, raw: str) -> str:
    # Codes are normalised by dropping everything but letters and digits (core.normalise_code),
    # so a prefix with anything else could never be found again.
    if not re.fullmatch(r"[A-Za-z0-9]{1,10}", raw):
        raise ConfigError(f"{name} must be 1 to 10 letters or digits, got {raw!r}")
    return raw


RateLimits = Tuple[Tuple[str, int, float], ...]  # (limit, how many, window in seconds)
_WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def as_rate_limits(known: Collection[str]) -> Callable[[str, str], RateLimits]:
    """A parser of "name=count/window" items (comma-separated; window 90s, 15m, 1h, 1d or
    seconds) whose names must be in `known`."""

    def parse(name: str, raw: str) -> RateLimits:
        limits = []
        for item in re.split(r"[,\s]+", raw.strip()):
            found = re.fullmatch(r"([a-z_]+)=(\d+)/(\d+(?:\.\d+)?)([smhd]?)", item)
            if not found:
                raise ConfigError(
                    f"{name}: {item!r} is not name=count/window "
                    "(for example coverage_checks_per_conversation=4/1d)"
                )
            limit, count, amount, unit = found.groups()
            if limit not in known:
                raise ConfigError(
                    f"{name}: unknown limit {limit!r} (known: {', '.join(sorted(known))})"
                )
            seconds = float(amount) * _WINDOW_UNITS[unit or "s"]
            if int(count) < 1 or seconds <= 0:
                raise ConfigError(f"{name}: {limit} needs a count of 1 or more and a window")
            limits.append((limit, int(count), seconds))
        return tuple(limits)

    return parse


def as_flag(name: str, raw: str) -> bool:
    value = raw.lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")
