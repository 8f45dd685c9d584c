"""Settings from the environment, in one place: typed, documented, validated.

`.env` (python-dotenv) fills in what the real environment does not set; every variable is
documented in `.env.example`, and `Settings` below has one field per variable, in the same
order. An empty value means "use the default", as in `.env.example`.

    settings()        the settings read from the environment now (cheap: call it per use,
                      so a test's monkeypatch.setenv is seen at once)
    check()           settings() plus the start-up rules (the PHI key and the action
                      server's token outside development)
    python -m bot.config
                      validate and print the settings, secrets masked; exit 2 when invalid

A bad value raises `ConfigError` (a ValueError) naming the variable, e.g.
"CLEARINGHOUSE_TIMEOUT must be a number of seconds, got 'abc'"; the parsers of single values
are in `bot/config/parsers.py`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from dotenv import load_dotenv

from .parsers import (
    APP_ENVS,
    ConfigError,
    as_app_env,
    as_code_prefix,
    as_database_url,
    as_email,
    as_event_type,
    as_flag,
    as_host,
    as_http_url,
    as_npi,
    as_path,
    as_port,
    as_rate_limits,
    as_redis_url,
    as_seconds,
    as_secret_token,
    as_sslmode,
    as_text,
    is_https_or_loopback,
    mask_url,
    whole,
)

ROOT = Path(__file__).resolve().parents[2]  # the project folder, above bot/config/
load_dotenv(ROOT / ".env")  # never overrides variables already set

# How to make a PHI_ENCRYPTION_KEY, as start-up errors say it.
GENERATE_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
# How to make an ACTION_SERVER_TOKEN (scripts/init_env.py does the same for .env).
GENERATE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


# Rate limits and lockouts (bot/limits.py): name -> (how many, in how many seconds).
# RATE_LIMITS overrides any of them, e.g. "coverage_checks_per_conversation=2/1h".
RATE_LIMIT_DEFAULTS: Dict[str, Tuple[int, float]] = {
    # Messages a conversation / a client address may send (the channels call
    # bot.limits.allow_message); a person typing stays far below.
    "messages_per_conversation": (30, 60.0),
    "messages_per_address": (120, 60.0),
    # Insurance checks: each is a clearinghouse call under the clinic's NPI. The overall cap
    # bounds what any number of new conversations can spend.
    "coverage_checks_per_conversation": (4, 86400.0),
    "coverage_checks_per_address": (10, 86400.0),
    "coverage_checks_overall": (200, 3600.0),
    # Failed booking look-ups (code plus birth date, phone or email); the per-booking count
    # locks that booking, even for the right details, until its window ends.
    "booking_proof_failures_per_conversation": (5, 3600.0),
    "booking_proof_failures_per_address": (20, 3600.0),
    "booking_proof_failures_per_booking": (5, 86400.0),
    # Failed console sign-ins from one address (each account also locks after 5 in a row).
    "console_login_failures_per_address": (20, 900.0),
}


def _var(
    env: str,
    default: Any,
    doc: str,
    parse: Callable[[str, str], Any] = as_text,
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
    rasa_port: int = _var("RASA_PORT", 5005, "port of the Rasa server (REST + socket.io)", as_port)
    action_port: int = _var("ACTION_PORT", 5055, "port of the action server", as_port)
    rasa_host: str = _var(
        "RASA_HOST",
        "127.0.0.1",
        "interface the Rasa server listens on (0.0.0.0 only behind the proxy or in a container)",
        as_host,
    )
    action_host: str = _var(
        "ACTION_HOST",
        "127.0.0.1",
        "interface the action server listens on (0.0.0.0 only on a private container network)",
        as_host,
    )
    action_server_token: str = _var(
        "ACTION_SERVER_TOKEN",
        "",
        "secret Rasa sends the action server on every call (generated on first run)",
        as_secret_token,
        secret=True,
    )
    rasa_cors: str = _var(
        "RASA_CORS", "*", "browser origins allowed for the chat widget ('*' for development only)"
    )
    rest_channel_token: str = _var(
        "REST_CHANNEL_TOKEN",
        "",
        "Bearer token for the REST channel; empty: REST open in development, off elsewhere",
        secret=True,
    )
    web_port: int = _var(
        "WEB_PORT", 8000, "port of the demo website (it also serves the .ics links)", as_port
    )
    web_public_url: str = _var(
        "WEB_PUBLIC_URL",
        "",
        "public address of the website for .ics links; empty: http://localhost:$WEB_PORT",
        as_http_url,
    )
    rasa_public_url: str = _var(
        "RASA_PUBLIC_URL",
        "",
        "Rasa URL the widget connects to; empty: http://localhost:$RASA_PORT",
        as_http_url,
    )
    rasa_api_url: str = _var(
        "RASA_API_URL",
        "",
        "Rasa HTTP API address the console uses (any replica); empty: http://127.0.0.1:$RASA_PORT",
        as_http_url,
    )
    socketio_redis_url: str = _var(
        "SOCKETIO_REDIS_URL",
        "",
        "Redis shared by the Rasa replicas' socket.io servers; empty: one Rasa process",
        as_redis_url,
    )
    alert_email: str = _var(
        "ALERT_EMAIL",
        "",
        "the intake team's mailbox, told of each escalation by email (a link, never PHI)",
        as_email,
    )
    alert_webhook_url: str = _var(
        "ALERT_WEBHOOK_URL",
        "",
        "Slack-compatible webhook told of each escalation (a link, never PHI); empty: none",
        as_http_url,
        secret=True,
    )
    # --- Notifications (bot.notify): empty SMTP_HOST / TWILIO_ACCOUNT_SID: make run starts
    # the local stand-ins (stand_ins.smtp keeps mail under var/mail, stand_ins.twilio texts
    # under var/sms) ---
    smtp_host: str = _var("SMTP_HOST", "", "SMTP server for email; empty: the local stand-in")
    smtp_port: int = _var("SMTP_PORT", 587, "SMTP port", as_port)
    smtp_user: str = _var("SMTP_USER", "", "SMTP user (empty: no authentication)")
    smtp_password: str = _var("SMTP_PASSWORD", "", "SMTP password", secret=True)
    smtp_starttls: bool = _var(
        "SMTP_STARTTLS",
        True,
        "upgrade the SMTP connection with STARTTLS (on in production)",
        as_flag,
    )
    mail_from: str = _var(
        "MAIL_FROM", "intake@example.org", "sender address of the emails", as_email
    )
    twilio_account_sid: str = _var(
        "TWILIO_ACCOUNT_SID", "", "Twilio account SID for texts; empty: the local stand-in"
    )
    twilio_auth_token: str = _var("TWILIO_AUTH_TOKEN", "", "Twilio auth token", secret=True)
    twilio_from: str = _var("TWILIO_FROM", "", "the number texts come from (E.164, +1…)")
    twilio_api_url: str = _var(
        "TWILIO_API_URL",
        "https://api.twilio.com",
        "Twilio's API (the stand-in in development)",
        as_http_url,
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
        "TRACKER_DB_PORT", 5432, "PostgreSQL port of the tracker store", as_port
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
    tracker_db_sslmode: str = _var(
        "TRACKER_DB_SSLMODE",
        "prefer",
        "libpq sslmode of the tracker store (verify-full in production)",
        as_sslmode,
    )
    redis_host: str = _var("REDIS_HOST", "127.0.0.1", "Redis host of the lock store")
    redis_port: int = _var("REDIS_PORT", 6379, "Redis port of the lock store", as_port)
    redis_db: int = _var(
        "REDIS_DB",
        0,
        "Redis database number of the lock store",
        whole(0, "a database number (0 or more)"),
    )
    redis_password: str = _var(
        "REDIS_PASSWORD", "", "password of the lock store's Redis (empty: none)", secret=True
    )

    # --- App database, content, privacy ---
    database_url: str = _var(
        "DATABASE_URL", "", "app database URL; empty: SQLite at var/app.db", as_database_url
    )
    program_profile: Optional[Path] = _var(
        "PROGRAM_PROFILE",
        None,
        "the clinic's program profile; empty: bot/profile/program.yml",
        as_path,
    )
    rasa_telemetry_enabled: bool = _var(
        "RASA_TELEMETRY_ENABLED", False, "Rasa's telemetry (stays off)", as_flag
    )

    # --- PHI encryption at rest (bot/store/crypto.py) ---
    # Unset means production: a forgotten setting must never weaken anything (fail closed).
    app_env: str = _var(
        "APP_ENV",
        "production",
        "production (the default) or staging: keys required; development: a key under var/",
        as_app_env,
        blank_ok=False,
    )
    phi_encryption_key: str = _var(
        "PHI_ENCRYPTION_KEY",
        "",
        "Fernet key(s), comma-separated for rotation (the first encrypts)",
        secret=True,
    )
    signing_secret: str = _var(
        "SIGNING_SECRET",
        "",
        "what signed links and stored hashes derive from; empty: the last PHI_ENCRYPTION_KEY",
        secret=True,
    )

    # --- Insurance eligibility (bot/coverage/client.py) ---
    clearinghouse_url: str = _var(
        "CLEARINGHOUSE_URL", "", "Stedi eligibility API; empty: the bundled sandbox", as_http_url
    )
    clearinghouse_sandbox_port: int = _var(
        "CLEARINGHOUSE_SANDBOX_PORT",
        8089,
        "port of the bundled sandbox when CLEARINGHOUSE_URL is empty",
        as_port,
    )
    clearinghouse_api_key: str = _var(
        "CLEARINGHOUSE_API_KEY", "", "Stedi API key, sent as the Authorization header", secret=True
    )
    provider_npi: str = _var("PROVIDER_NPI", "", "the program's 10-digit NPI", as_npi)
    provider_name: str = _var("PROVIDER_NAME", "", "the organisation name registered with the NPI")
    clearinghouse_timeout: float = _var(
        "CLEARINGHOUSE_TIMEOUT", 10.0, "seconds to wait for one eligibility answer", as_seconds
    )
    clearinghouse_max_concurrency: int = _var(
        "CLEARINGHOUSE_MAX_CONCURRENCY",
        5,
        "eligibility checks in flight at once per process",
        whole(1, "a whole number of at least 1"),
    )
    clearinghouse_retries: int = _var(
        "CLEARINGHOUSE_RETRIES",
        2,
        "retries after payer-unavailable, HTTP 429 or 5xx",
        whole(0, "a whole number (0 or more)"),
    )

    # --- Scheduling intake assessments (bot/scheduling) ---
    calcom_api_key: str = _var(
        "CALCOM_API_KEY", "", "Cal.com API v2 key; empty: the built-in scheduler", secret=True
    )
    calcom_event_type_id: Optional[int] = _var(
        "CALCOM_EVENT_TYPE_ID",
        None,
        "numeric id of the intake-assessment event type (required with a key)",
        as_event_type,
    )
    calcom_base_url: str = _var(
        "CALCOM_BASE_URL",
        "https://api.cal.com",
        "Cal.com API, or a local stand-in (python -m stand_ins.calcom)",
        as_http_url,
    )
    calcom_timeout: float = _var(
        "CALCOM_TIMEOUT", 10.0, "seconds to wait for one Cal.com answer", as_seconds
    )
    calcom_fallback_email: str = _var(
        "CALCOM_FALLBACK_EMAIL",
        "",
        "attendee email sent to Cal.com when the person gave none",
        as_email,
    )
    booking_code_prefix: str = _var(
        "BOOKING_CODE_PREFIX",
        "APT",
        "confirmation codes look like APT-7KQ2M-8XDPR (neutral: texts and emails show them)",
        as_code_prefix,
    )

    # --- Rate limits and lockouts (bot/limits.py) ---
    rate_limits: Tuple[Tuple[str, int, float], ...] = _var(
        "RATE_LIMITS",
        (),
        "limits to change, e.g. coverage_checks_per_conversation=2/1h (comma-separated); "
        "empty: the defaults",
        as_rate_limits(RATE_LIMIT_DEFAULTS),
    )
    rate_limit_redis_url: str = _var(
        "RATE_LIMIT_REDIS_URL",
        "",
        "Redis keeping the rate-limit counts of every process; empty: the app database",
        as_redis_url,
        secret=True,
    )

    def __post_init__(self) -> None:
        if self.app_env != "development":
            # PHI (names, member IDs, birth dates) travels to these: TLS outside development,
            # except to a stand-in on this machine (the sandbox `scripts/stack.py` starts).
            for env, url in (
                ("CLEARINGHOUSE_URL", self.clearinghouse_url),
                ("CALCOM_BASE_URL", self.calcom_base_url),
            ):
                if not is_https_or_loopback(url):
                    raise ConfigError(
                        f"{env} must be an https:// URL when APP_ENV is {self.app_env} "
                        f"(http:// only in development or to this machine), got {url!r}"
                    )
        if self.calcom_api_key and self.calcom_event_type_id is None:
            raise ConfigError(
                "CALCOM_EVENT_TYPE_ID is required when CALCOM_API_KEY is set "
                "(the numeric id of the intake-assessment event type)"
            )

    def rate_limit(self, name: str) -> Tuple[int, float]:
        """(how many, window in seconds) of the limit `name` (RATE_LIMIT_DEFAULTS' names)."""
        for limit, count, seconds in self.rate_limits:
            if limit == name:
                return count, seconds
        return RATE_LIMIT_DEFAULTS[name]

    @property
    def web_base_url(self) -> str:
        """Where the website is reached from outside (the .ics links)."""
        return self.web_public_url or f"http://localhost:{self.web_port}"

    @property
    def phi_keys(self) -> List[str]:
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
                shown = mask_url(value)
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
    kwargs: Dict[str, Any] = {}
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
    PHI_ENCRYPTION_KEY, every key in it a valid Fernet key, and an ACTION_SERVER_TOKEN."""
    s = settings(environ)
    if not s.phi_keys and s.app_env != "development":
        raise ConfigError(
            f"PHI_ENCRYPTION_KEY is not set and APP_ENV is {s.app_env}: outside development every "
            "screening, coverage check and booking is encrypted with it. Generate one with "
            f"`{GENERATE_KEY}`."
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
    if not s.action_server_token and s.app_env != "development":
        raise ConfigError(
            f"ACTION_SERVER_TOKEN is not set and APP_ENV is {s.app_env}: the action server "
            "answers only calls that carry it (Rasa sends it, see endpoints.yml). Generate one "
            f"with `{GENERATE_TOKEN}`."
        )
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
