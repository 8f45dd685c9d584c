"""PHI encryption at rest: the key rules and the column type."""

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from bot.config import ROOT
from bot.store import crypto


@pytest.fixture()
def fresh(monkeypatch):
    crypto.cipher.cache_clear()
    yield monkeypatch
    crypto.cipher.cache_clear()


def test_outside_development_a_missing_key_stops_with_a_clear_error(fresh):
    fresh.setenv("APP_ENV", "production")
    fresh.setenv("PHI_ENCRYPTION_KEY", "")
    with pytest.raises(crypto.MissingKeyError, match="PHI_ENCRYPTION_KEY is not set"):
        crypto.check_key()


def test_a_malformed_key_is_named(fresh):
    fresh.setenv("PHI_ENCRYPTION_KEY", "not-a-key")
    with pytest.raises(crypto.MissingKeyError, match="not a valid Fernet key"):
        crypto.check_key()


def test_keys_rotate_old_tokens_still_decrypt(fresh):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    fresh.setenv("PHI_ENCRYPTION_KEY", old)
    token = crypto.encrypt({"member_id": "AB123"})
    crypto.cipher.cache_clear()
    fresh.setenv("PHI_ENCRYPTION_KEY", f"{new},{old}")
    assert crypto.decrypt(token) == {"member_id": "AB123"}
    assert "AB123" not in token


def test_the_action_server_refuses_to_start_without_a_key_in_production():
    env = {"APP_ENV": "production", "PHI_ENCRYPTION_KEY": "", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", "import actions"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "PHI_ENCRYPTION_KEY is not set" in result.stderr


def test_with_app_env_unset_no_key_is_generated(fresh, tmp_path):
    # Fail closed: a forgotten APP_ENV is production, never a key quietly made on disk.
    fresh.delenv("APP_ENV", raising=False)
    fresh.setenv("PHI_ENCRYPTION_KEY", "")
    fresh.setattr(crypto, "DEV_KEY_PATH", tmp_path / "phi-dev.key")
    with pytest.raises(crypto.MissingKeyError, match="PHI_ENCRYPTION_KEY is not set"):
        crypto.check_key()
    assert not (tmp_path / "phi-dev.key").exists()
    fresh.setenv("APP_ENV", "development")
    crypto.check_key()
    assert (tmp_path / "phi-dev.key").exists()  # only when development is said explicitly
