"""scripts/init_env.py: the .env `make` creates is development's, with fresh secrets; a
secret added to .env.example later is filled into an existing .env."""

from dotenv import dotenv_values

from bot.config import ROOT, check
from scripts.init_env import create, fill_missing


def test_a_new_env_is_for_development_with_fresh_secrets(tmp_path):
    target = tmp_path / ".env"
    create(target, ROOT / ".env.example")
    values = dotenv_values(target)
    assert values["APP_ENV"] == "development"  # .env.example itself says production
    tokens = {values["RASA_AUTH_TOKEN"], values["ACTION_SERVER_TOKEN"]}
    assert len(tokens) == 2 and all(len(t or "") >= 40 for t in tokens)
    assert target.stat().st_mode & 0o777 == 0o600
    check({k: v or "" for k, v in values.items()})  # valid as it stands
    assert dotenv_values(ROOT / ".env.example")["APP_ENV"] == "production"


def test_a_missing_secret_is_added_and_nothing_else_changes(tmp_path):
    target = tmp_path / ".env"
    target.write_text("APP_ENV=development\nRASA_AUTH_TOKEN=kept-as-it-was\nACTION_SERVER_TOKEN=\n")
    assert fill_missing(target) == ["ACTION_SERVER_TOKEN"]
    values = dotenv_values(target)
    assert (
        values["RASA_AUTH_TOKEN"] == "kept-as-it-was" and len(values["ACTION_SERVER_TOKEN"]) >= 40
    )
    assert fill_missing(target) == []  # idempotent
    target.write_text("RASA_AUTH_TOKEN=kept\n")  # made before the token existed
    assert fill_missing(target) == ["ACTION_SERVER_TOKEN"]
    assert list(dotenv_values(target)) == ["RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN"]
