"""Settings from the environment, in one place: typed, documented, validated.

`.env` (python-dotenv) fills in what the real environment does not set; every variable is
documented in `.env.example`, and `Settings` below has one field per variable, in the same
order. An empty value means "use the default", as in `.env.example`.

    settings()        the settings read from the environment now (cheap: call it per use,
                      so a test's monkeypatch.setenv is seen at once)
    check()           settings() plus the start-up rules (the PHI key outside development)
    python -m bot.config
                      validate and print the settings, secrets masked; exit 2 when invalid

A bad value raises `ConfigError` (a ValueError) naming the variable, e.g.
"CLEARINGHOUSE_TIMEOUT must be a number of seconds, got 'abc'".
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
load_dotenv(ROOT / ".env")  # never overrides variables already set

APP_ENVS = ("development", "staging", "production")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


# --- parsers: (variable name, stripped non-empty text) -> value ------------------------------


def _text(name: str, raw: str) -> str:
    return raw


def _path(name: str, raw: str) -> Path:
    return Path(raw)


def _port(name: str, raw: str) -> int:
    if raw.isdigit() and 1 <= int(raw) <= 65535:
        return int(raw)
    raise ConfigError(f"{name} must be a port number (1-65535), got {raw!r}")


def _whole(minimum: int, what: str) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise ConfigError(f"{name} must be {what}, got {raw!r}")
        return value

    return parse


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _http_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {raw!r}")
    return raw


def _mask_url(url: str) -> str:
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


def _database_url(name: str, raw: str) -> str:
    if not re.match(r"^[A-Za-z][A-Za-z0-9+]*://", raw):
        raise ConfigError(
            f"{name} must be a database URL such as "
            f"postgresql://user:password@host:5432/dbname, got {_mask_url(raw)!r}"
        )
    return raw


def _app_env(name: str, raw: str) -> str:
    if raw not in APP_ENVS:
        raise ConfigError(f"{name} must be one of {', '.join(APP_ENVS)}, got {raw!r}")
    return raw


def _npi(name: str, raw: str) -> str:
    if not re.fullmatch(r"\d{10}", raw):
        raise ConfigError(f"{name} must be the program's 10-digit NPI, got {raw!r}")
    return raw


def _event_type(name: str, raw: str) -> int:
    if not raw.isdigit():
        raise ConfigError(f"{name} must be the numeric id of the Cal.com event type, got {raw!r}")
    return int(raw)


def _email(name: str, raw: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", raw):
        raise ConfigError(f"{name} must be an email address, got {raw!r}")
    return raw


def _code_prefix(name: str, raw: str) -> str:
    # Codes are normalised by dropping everything but letters and digits (core.normalise_code),
    # so a prefix with anything else could never be found again.
    if not re.fullmatch(r"[A-Za-z0-9]{1,10}", raw):
        raise ConfigError(f"{name} must be 1 to 10 letters or digits, got {raw!r}")
    return raw


def _flag(name: str, raw: str) -> bool:
    value = raw.lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _var(
    env: str,
    default: Any,
    doc: str,
    parse: Callable[[str, str], Any] = _text,
    secret: bool = False,
    blank_ok: bool = True,
) -> Any:
    """A field read from the environment variable `env`; empty or unset gives `default`
    (or an error when not `blank_ok`: an empty value is then refused rather than guessed)."""
    return field(
        default=default,
        metadata={"env": env, "doc": doc, "parse": parse, "secret": secret, "blank_ok": blank_ok},
    )


@dataclass(frozen=True)
class Settings:
    # --- Rasa server, action server, website (read by scripts/stack.py and endpoints*.yml) ---
    rasa_auth_token: str = _var(
        "RASA_AUTH_TOKEN", "", "token for Rasa's HTTP API (generated on first run)", secret=True
    )
    rasa_port: int = _var("RASA_PORT", 5005, "port of the Rasa server (REST + socket.io)", _port)
    action_port: int = _var("ACTION_PORT", 5055, "port of the action server", _port)
    rasa_cors: str = _var(
        "RASA_CORS", "*", "browser origins allowed for the chat widget ('*' for development only)"
    )
    web_port: int = _var(
        "WEB_PORT", 8000, "port of the demo website (it also serves the .ics links)", _port
    )
    web_public_url: str = _var(
        "WEB_PUBLIC_URL",
        "",
        "public address of the website for .ics links; empty: http://localhost:$WEB_PORT",
        _http_url,
    )
    rasa_public_url: str = _var(
        "RASA_PUBLIC_URL",
        "",
        "Rasa URL the widget connects to; empty: http://localhost:$RASA_PORT",
        _http_url,
    )
    rasa_endpoints: str = _var(
        "RASA_ENDPOINTS",
        "endpoints.yml",
        "endpoints.yml (SQLite tracker store) or endpoints.production.yml",
    )
    tracker_sqlite_path: str = _var(
        "TRACKER_SQLITE_PATH", "var/tracker.db", "SQLite tracker store file used by endpoints.yml"
    )

    # --- Production tracker store and lock store (endpoints.production.yml) ---
    tracker_db_host: str = _var(
        "TRACKER_DB_HOST", "127.0.0.1", "PostgreSQL host of the tracker store"
    )
    tracker_db_port: int = _var(
        "TRACKER_DB_PORT", 5432, "PostgreSQL port of the tracker store", _port
    )
    tracker_db_name: str = _var(
        "TRACKER_DB_NAME", "test", "PostgreSQL database of the tracker store"
    )
    tracker_db_user: str = _var(
        "TRACKER_DB_USER", "postgres", "PostgreSQL user of the tracker store"
    )
    tracker_db_password: str = _var(
        "TRACKER_DB_PASSWORD", "", "PostgreSQL password of the tracker store", secret=True
    )
    redis_host: str = _var("REDIS_HOST", "127.0.0.1", "Redis host of the lock store")
    redis_port: int = _var("REDIS_PORT", 6379, "Redis port of the lock store", _port)
    redis_db: int = _var(
        "REDIS_DB",
        0,
        "Redis database number of the lock store",
        _whole(0, "a database number (0 or more)"),
    )

    # --- App database, content, privacy ---
    database_url: str = _var(
        "DATABASE_URL", "", "app database URL; empty: SQLite at var/app.db", _database_url
    )
    program_profile: Optional[Path] = _var(
        "PROGRAM_PROFILE",
        None,
        "the clinic's program profile; empty: bot/profile/program.yml",
        _path,
    )
    rasa_telemetry_enabled: bool = _var(
        "RASA_TELEMETRY_ENABLED", False, "Rasa's telemetry (stays off)", _flag
    )

    # --- PHI encryption at rest (bot/store/crypto.py) ---
    app_env: str = _var(
        "APP_ENV",
        "development",
        "development (a key is generated under var/), staging or production (key required)",
        _app_env,
        blank_ok=False,
    )
    phi_encryption_key: str = _var(
        "PHI_ENCRYPTION_KEY",
        "",
        "Fernet key(s), comma-separated for rotation (the first encrypts)",
        secret=True,
    )

    # --- Insurance eligibility (bot/coverage/client.py) ---
    clearinghouse_url: str = _var(
        "CLEARINGHOUSE_URL", "", "Stedi eligibility API; empty: the bundled sandbox", _http_url
    )
    clearinghouse_sandbox_port: int = _var(
        "CLEARINGHOUSE_SANDBOX_PORT",
        8089,
        "port of the bundled sandbox when CLEARINGHOUSE_URL is empty",
        _port,
    )
    clearinghouse_api_key: str = _var(
        "CLEARINGHOUSE_API_KEY", "", "Stedi API key, sent as the Authorization header", secret=True
    )
    provider_npi: str = _var("PROVIDER_NPI", "", "the program's 10-digit NPI", _npi)
    provider_name: str = _var("PROVIDER_NAME", "", "the organisation name registered with the NPI")
    clearinghouse_timeout: float = _var(
        "CLEARINGHOUSE_TIMEOUT", 10.0, "seconds to wait for one eligibility answer", _seconds
    )
    clearinghouse_max_concurrency: int = _var(
        "CLEARINGHOUSE_MAX_CONCURRENCY",
        5,
        "eligibility checks in flight at once per process",
        _whole(1, "a whole number of at least 1"),
    )
    clearinghouse_retries: int = _var(
        "CLEARINGHOUSE_RETRIES",
        2,
        "retries after payer-unavailable, HTTP 429 or 5xx",
        _whole(0, "a whole number (0 or more)"),
    )

    # --- Scheduling intake assessments (bot/scheduling) ---
    calcom_api_key: str = _var(
        "CALCOM_API_KEY", "", "Cal.com API v2 key; empty: the built-in scheduler", secret=True
    )
    calcom_event_type_id: Optional[int] = _var(
        "CALCOM_EVENT_TYPE_ID",
        None,
        "numeric id of the intake-assessment event type (required with a key)",
        _event_type,
    )
    calcom_base_url: str = _var(
        "CALCOM_BASE_URL",
        "https://api.cal.com",
        "Cal.com API, or a local stand-in (python -m stand_ins.calcom)",
        _http_url,
    )
    calcom_timeout: float = _var(
        "CALCOM_TIMEOUT", 10.0, "seconds to wait for one Cal.com answer", _seconds
    )
    calcom_fallback_email: str = _var(
        "CALCOM_FALLBACK_EMAIL",
        "",
        "attendee email sent to Cal.com when the person gave none",
        _email,
    )
    booking_code_prefix: str = _var(
        "BOOKING_CODE_PREFIX", "IOP", "confirmation codes look like IOP-7KQ2M", _code_prefix
    )

    def __post_init__(self) -> None:
        if self.calcom_api_key and self.calcom_event_type_id is None:
            raise ConfigError(
                "CALCOM_EVENT_TYPE_ID is required when CALCOM_API_KEY is set "
                "(the numeric id of the intake-assessment event type)"
            )

    @property
    def web_base_url(self) -> str:
        """Where the website is reached from outside (the .ics links)."""
        return self.web_public_url or f"http://localhost:{self.web_port}"

    @property
    def phi_keys(self) -> list:
        """PHI_ENCRYPTION_KEY split for rotation (the first encrypts); empty when not set."""
        return [k.strip() for k in self.phi_encryption_key.split(",") if k.strip()]

    def describe(self) -> str:
        """One line per variable, as `VARIABLE  value  # what it is`; secrets masked."""
        lines = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["secret"]:
                shown = "*** (set)" if value else "(not set)"
            elif value is None or value == "":
                shown = "(not set)"
            elif f.metadata["env"] == "DATABASE_URL":
                shown = _mask_url(value)
            elif isinstance(value, bool):
                shown = str(value).lower()
            else:
                shown = str(value)
            lines.append(f"{f.metadata['env']:<30} {shown:<28} # {f.metadata['doc']}")
        return "\n".join(lines)


ENV_NAMES: Tuple[str, ...] = tuple(f.metadata["env"] for f in fields(Settings))


def settings(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """The settings in `environ` (default: os.environ, with .env loaded at import), read at
    call time. Raises ConfigError naming the first bad variable."""
    env = os.environ if environ is None else environ
    return _parse(tuple(env.get(name) for name in ENV_NAMES))


@lru_cache(maxsize=32)
def _parse(values: Tuple[Optional[str], ...]) -> Settings:
    kwargs = {}
    for f, raw in zip(fields(Settings), values, strict=True):
        meta = f.metadata
        text = (raw or "").strip()
        if text:
            kwargs[f.name] = meta["parse"](meta["env"], text)
        elif raw is not None and not meta["blank_ok"]:
            raise ConfigError(
                f"{meta['env']} is set but empty: leave it out for the default "
                f"({f.default}) or set it to one of {', '.join(APP_ENVS)}"
            )
    return Settings(**kwargs)


def check(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """settings() plus what start-up needs (without side effects): outside development a
    PHI_ENCRYPTION_KEY, and every key in it a valid Fernet key."""
    s = settings(environ)
    if not s.phi_keys and s.app_env != "development":
        raise ConfigError(
            f"PHI_ENCRYPTION_KEY is not set and APP_ENV is {s.app_env}: outside development every "
            "screening, coverage check and booking is encrypted with it. Generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
        )
    if s.phi_keys:
        from cryptography.fernet import Fernet

        try:
            for key in s.phi_keys:
                Fernet(key.encode())
        except (ValueError, TypeError):
            raise ConfigError(
                "PHI_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64 "
                "bytes; several are separated by commas)."
            ) from None
    return s


def check_or_exit(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """check() for start-up scripts: on a bad setting, say which and exit with status 2."""
    try:
        return check(environ)
    except ConfigError as exc:
        print(f"Cannot start, a setting is not valid: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def database_url() -> str:
    """The app database (escalations, later intakes and bookings)."""
    url = settings().database_url
    if url:
        return url
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    return f"sqlite:///{var / 'app.db'}"


def main() -> int:
    try:
        s = check()
    except ConfigError as exc:
        print(f"Configuration is not valid: {exc}", file=sys.stderr)
        return 2
    print(s.describe())
    print("\nConfiguration is valid.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
