"""Settings in one module (bot.config): defaults, parsing, validation naming the variable,
secrets masked in the printout."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot import config
from bot.config import ENV_NAMES, ConfigError, Settings, check, check_or_exit, settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def clean(monkeypatch):
    """No setting in the environment (whatever .env or the shell put there)."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_match_env_example(clean):
    s = settings()
    assert s == Settings() == settings({})
    assert (s.app_env, s.database_url, s.program_profile, s.phi_encryption_key) == (
        "production",  # unset: fail closed
        "",
        None,
        "",
    )
    assert (
        s.clearinghouse_url,
        s.clearinghouse_timeout,
        s.clearinghouse_max_concurrency,
        s.clearinghouse_retries,
    ) == ("", 10.0, 5, 2)
    assert (
        s.calcom_api_key,
        s.calcom_event_type_id,
        s.calcom_base_url,
        s.calcom_timeout,
        s.calcom_fallback_email,
    ) == ("", None, "https://api.cal.com", 10.0, "")
    assert (s.booking_code_prefix, s.web_port, s.web_base_url) == (
        "APT",
        8000,
        "http://localhost:8000",
    )
    assert (s.rasa_port, s.action_port, s.clearinghouse_sandbox_port) == (5005, 5055, 8089)
    assert (s.action_host, s.action_server_token) == ("127.0.0.1", "")
    assert s.rasa_telemetry_enabled is False


def test_every_variable_in_env_example_is_a_field_and_back():
    names = [
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert sorted(names) == sorted(ENV_NAMES) and len(names) == len(set(names))


def test_empty_or_blank_means_the_default():
    env = {name: "" for name in ENV_NAMES if name != "APP_ENV"}
    env.update(CLEARINGHOUSE_TIMEOUT="  ", WEB_PORT=" ")
    assert settings(env) == Settings()


def test_values_are_parsed_and_typed():
    s = settings(
        {
            "DATABASE_URL": " postgresql://app:pw@db:5432/intake ",
            "PROGRAM_PROFILE": "clinic.yml",
            "APP_ENV": "production",
            "CLEARINGHOUSE_URL": "https://healthcare.us.stedi.com/2024-04-01",
            "CLEARINGHOUSE_TIMEOUT": "7.5",
            "CLEARINGHOUSE_MAX_CONCURRENCY": "4",
            "CLEARINGHOUSE_RETRIES": "0",
            "PROVIDER_NPI": "1999999984",
            "CALCOM_API_KEY": "cal_test_x",
            "CALCOM_EVENT_TYPE_ID": "42",
            "CALCOM_TIMEOUT": "3",
            "CALCOM_FALLBACK_EMAIL": "intake@example.org",
            "BOOKING_CODE_PREFIX": "RIV",
            "WEB_PORT": "8080",
            "WEB_PUBLIC_URL": "https://iop.example.org/",
            "REDIS_DB": "3",
            "RASA_TELEMETRY_ENABLED": "TRUE",
        }
    )
    assert s.database_url == "postgresql://app:pw@db:5432/intake"
    assert s.program_profile == Path("clinic.yml")
    assert (s.clearinghouse_timeout, s.clearinghouse_max_concurrency, s.clearinghouse_retries) == (
        7.5,
        4,
        0,
    )
    assert (s.calcom_event_type_id, s.calcom_timeout) == (42, 3.0)
    assert (s.booking_code_prefix, s.web_port, s.redis_db) == ("RIV", 8080, 3)
    assert s.web_base_url == "https://iop.example.org/"
    assert s.rasa_telemetry_enabled is True


def test_read_at_call_time(clean):
    assert settings().clearinghouse_timeout == 10.0
    clean.setenv("CLEARINGHOUSE_TIMEOUT", "2")
    assert settings().clearinghouse_timeout == 2.0
    clean.setenv("DATABASE_URL", "sqlite:///elsewhere.db")
    assert config.database_url() == "sqlite:///elsewhere.db"
    clean.delenv("DATABASE_URL")
    assert config.database_url() == f"sqlite:///{ROOT / 'var' / 'app.db'}"


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().app_env = "production"  # type: ignore[misc]


@pytest.mark.parametrize(
    "name,value,says",
    [
        (
            "CLEARINGHOUSE_TIMEOUT",
            "abc",
            "CLEARINGHOUSE_TIMEOUT must be a number of seconds, got 'abc'",
        ),
        ("CLEARINGHOUSE_TIMEOUT", "0", "positive number of seconds"),
        ("CALCOM_TIMEOUT", "nan", "positive number of seconds"),
        ("CLEARINGHOUSE_MAX_CONCURRENCY", "0", "at least 1"),
        ("CLEARINGHOUSE_RETRIES", "two", "whole number"),
        ("CLEARINGHOUSE_RETRIES", "-1", "whole number"),
        ("CLEARINGHOUSE_URL", "healthcare.us.stedi.com", "http:// or https:// URL"),
        ("CALCOM_BASE_URL", "ftp://api.cal.com", "http:// or https:// URL"),
        ("WEB_PUBLIC_URL", "https://", "http:// or https:// URL"),
        ("RASA_PUBLIC_URL", "localhost:5005", "http:// or https:// URL"),
        ("DATABASE_URL", "var/app.db", "database URL"),
        ("APP_ENV", "prod", "one of development, staging, production, got 'prod'"),
        ("APP_ENV", "", "set but empty"),
        ("PROVIDER_NPI", "12345", "10-digit NPI"),
        ("CALCOM_EVENT_TYPE_ID", "intake", "numeric id"),
        ("CALCOM_FALLBACK_EMAIL", "nobody", "email address"),
        ("BOOKING_CODE_PREFIX", "IOP-", "letters or digits"),
        ("WEB_PORT", "80000", "port number"),
        ("RASA_PORT", "http", "port number"),
        ("ACTION_PORT", "5055.0", "port number"),
        ("CLEARINGHOUSE_SANDBOX_PORT", "0", "port number"),
        ("TRACKER_DB_PORT", "x", "port number"),
        ("REDIS_PORT", "-1", "port number"),
        ("REDIS_DB", "first", "database number"),
        ("RASA_TELEMETRY_ENABLED", "maybe", "true or false"),
    ],
)
def test_each_validation_error_names_its_variable(name, value, says):
    with pytest.raises(ConfigError) as err:
        settings({name: value})
    assert str(err.value).startswith(name) and says in str(err.value)
    assert isinstance(err.value, ValueError)  # callers that caught ValueError still do


def test_a_calcom_key_needs_an_event_type():
    with pytest.raises(
        ConfigError, match="CALCOM_EVENT_TYPE_ID is required when CALCOM_API_KEY is set"
    ):
        settings({"CALCOM_API_KEY": "cal_test_x", "CALCOM_EVENT_TYPE_ID": ""})
    assert (
        settings({"CALCOM_EVENT_TYPE_ID": "42"}).calcom_event_type_id == 42
    )  # unused without a key


def test_a_bad_database_url_does_not_echo_its_password():
    with pytest.raises(ConfigError) as err:
        settings({"DATABASE_URL": "postgres//app:hunter2@db/intake"})
    assert "DATABASE_URL" in str(err.value) and "hunter2" not in str(err.value)


def test_check_adds_the_start_up_rules():
    key = Fernet.generate_key().decode()
    assert check({"APP_ENV": "development"}).app_env == "development"  # a key is generated later
    with pytest.raises(
        ConfigError, match="^PHI_ENCRYPTION_KEY is not set and APP_ENV is production"
    ):
        check({"APP_ENV": "production", "PHI_ENCRYPTION_KEY": ""})
    with pytest.raises(ConfigError, match="^PHI_ENCRYPTION_KEY is not a valid Fernet key"):
        check({"PHI_ENCRYPTION_KEY": f"{key},not-a-key"})
    staging = {"APP_ENV": "staging", "PHI_ENCRYPTION_KEY": f" {key} , {key}"}
    with pytest.raises(ConfigError, match="^ACTION_SERVER_TOKEN is not set and APP_ENV is staging"):
        check(staging)
    assert check(dict(staging, ACTION_SERVER_TOKEN=TOKEN)).phi_keys == [key, key]


TOKEN = "act-Secret-0123456789"


def test_app_env_unset_is_production_and_needs_the_secrets():
    key = Fernet.generate_key().decode()
    with pytest.raises(
        ConfigError, match="^PHI_ENCRYPTION_KEY is not set and APP_ENV is production"
    ):
        check({})
    with pytest.raises(
        ConfigError, match="^ACTION_SERVER_TOKEN is not set and APP_ENV is production"
    ):
        check({"PHI_ENCRYPTION_KEY": key})
    assert check({"PHI_ENCRYPTION_KEY": key, "ACTION_SERVER_TOKEN": TOKEN}).app_env == "production"
    assert check({"APP_ENV": "development"}).action_server_token == ""  # make creates one


@pytest.mark.parametrize("token", ["short-1", "sixteen chars with spaces"])
def test_a_weak_action_server_token_is_refused_without_echoing_it(token):
    with pytest.raises(ConfigError, match="^ACTION_SERVER_TOKEN must be at least 16") as err:
        settings({"ACTION_SERVER_TOKEN": token})
    assert token not in str(err.value)


def test_check_or_exit_says_which_setting_and_exits_2(capsys):
    with pytest.raises(SystemExit) as stop:
        check_or_exit({"CLEARINGHOUSE_RETRIES": "lots"})
    assert stop.value.code == 2
    assert "CLEARINGHOUSE_RETRIES must be a whole number" in capsys.readouterr().err


SECRETS = {
    "RASA_AUTH_TOKEN": "tok-Secret-1",
    "ACTION_SERVER_TOKEN": TOKEN,
    "TRACKER_DB_PASSWORD": "pg-Secret-2",
    "PHI_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "CLEARINGHOUSE_API_KEY": "stedi-Secret-3",
    "CALCOM_API_KEY": "cal_live_Secret4",
    "DATABASE_URL": "postgresql://app:db-Secret-5@db:5432/intake",
}


def test_the_printout_masks_secrets():
    text = settings(dict(SECRETS, CALCOM_EVENT_TYPE_ID="42")).describe()
    for secret in SECRETS.values():
        assert secret not in text
    assert "db-Secret-5" not in text and "postgresql://app:***@db:5432/intake" in text
    lines = {line.split()[0]: line for line in text.splitlines()}
    assert list(lines) == list(ENV_NAMES)
    assert "*** (set)" in lines["CALCOM_API_KEY"] and "(not set)" in lines["CALCOM_FALLBACK_EMAIL"]
    assert "42" in lines["CALCOM_EVENT_TYPE_ID"] and "# numeric id" in lines["CALCOM_EVENT_TYPE_ID"]


def _run_module(extra):
    env = {name: "" for name in ENV_NAMES}  # set, so .env does not fill them in
    env.update({"APP_ENV": "development", "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "bot.config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_m_bot_config_validates_and_prints_masked():
    ok = _run_module(dict(SECRETS, CALCOM_EVENT_TYPE_ID="42", APP_ENV="production"))
    assert ok.returncode == 0, ok.stderr
    assert "Configuration is valid." in ok.stdout and "APP_ENV" in ok.stdout
    for secret in SECRETS.values():
        assert secret not in ok.stdout + ok.stderr
    bad = _run_module({"CLEARINGHOUSE_TIMEOUT": "abc"})
    assert bad.returncode == 2
    assert "CLEARINGHOUSE_TIMEOUT must be a number of seconds, got 'abc'" in bad.stderr


@pytest.mark.parametrize("env", ["CLEARINGHOUSE_URL", "CALCOM_BASE_URL"])
@pytest.mark.parametrize("app_env", ["production", "staging", None])
def test_http_partner_urls_are_refused_outside_development(env, app_env):
    given = {env: "http://eligibility.example.com/api"}
    if app_env:
        given["APP_ENV"] = app_env
    with pytest.raises(ConfigError, match=f"^{env} must be an https:// URL"):
        settings(given)
    # https, a stand-in on this machine, and any URL in development are fine.
    assert settings({**given, env: "https://eligibility.example.com/api"})
    for local in ("http://127.0.0.1:8089", "http://localhost:8089", "http://[::1]:8089"):
        assert getattr(settings({**given, env: local}), env.lower()) == local
    assert settings({**given, "APP_ENV": "development"})


def test_tls_settings_of_the_production_stores(clean):
    s = settings()
    assert (s.tracker_db_sslmode, s.redis_password) == ("prefer", "")
    assert settings({"TRACKER_DB_SSLMODE": "verify-full"}).tracker_db_sslmode == "verify-full"
    with pytest.raises(ConfigError, match="^TRACKER_DB_SSLMODE must be one of"):
        settings({"TRACKER_DB_SSLMODE": "on"})
    # What Rasa reads from endpoints.production.yml with them set.
    from rasa.core.utils import AvailableEndpoints

    for name in ("TRACKER_DB_HOST", "TRACKER_DB_PORT", "TRACKER_DB_NAME", "TRACKER_DB_USER"):
        clean.setenv(name, "x")
    for name in ("ACTION_ENDPOINT_URL", "ACTION_SERVER_TOKEN", "TRACKER_DB_PASSWORD"):
        clean.setenv(name, "x")
    clean.setenv("REDIS_HOST", "redis.internal")
    clean.setenv("REDIS_PORT", "6379")
    clean.setenv("REDIS_DB", "0")
    clean.setenv("TRACKER_DB_SSLMODE", "verify-full")
    clean.setenv("REDIS_PASSWORD", "redis-Secret-6")
    read = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.production.yml"))
    assert read.tracker_store.kwargs["query"] == {"sslmode": "verify-full"}
    assert read.lock_store.kwargs["password"] == "redis-Secret-6"
