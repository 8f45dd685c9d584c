"""The channels' rules without servers: signed chat session ids, text cleaning, who may use
REST, which Origins the widget may come from, and the Rasa entry point that keeps the API
token off the command line. Through the servers: tests/test_e2e_channels.py."""

import sys

import pytest
from cryptography.fernet import Fernet

from bot import chat_sessions
from bot.config import ConfigError, Settings
from channels.limits import MAX_MESSAGE_CHARS, clean_text, failure, too_long
from channels.rest import refusal, valid_sender
from channels.socketio import allowed_origins, origin_allowed


@pytest.fixture()
def key(monkeypatch):
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", Fernet.generate_key().decode())


def test_a_signed_session_id_names_its_conversation(key):
    conversation = chat_sessions.new_id()
    token = chat_sessions.sign(conversation)
    assert chat_sessions.conversation_of(token) == conversation
    assert chat_sessions.new_id() != conversation


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # one character of the signature
        lambda t: ("f" if t[0] != "f" else "e") + t[1:],  # another conversation, same signature
        lambda t: t.split(".")[0],  # the bare conversation id
        lambda t: t.split(".")[0] + ".",
        lambda t: "." + t.split(".")[1],
        lambda t: t + "." + t.split(".")[1],
        lambda t: t.upper(),
        lambda t: t + "é",
        lambda t: t + "\ud800",
        lambda t: "x" * 200,
        lambda t: "",
        lambda t: None,
        lambda t: 42,
        lambda t: {"session_id": t},
    ],
)
def test_a_session_id_the_server_did_not_sign_names_nothing(key, forge):
    token = chat_sessions.sign(chat_sessions.new_id())
    assert chat_sessions.conversation_of(forge(token)) is None


def test_a_session_id_signed_under_another_key_names_nothing(key, monkeypatch):
    token = chat_sessions.sign(chat_sessions.new_id())
    monkeypatch.setenv("PHI_ENCRYPTION_KEY", Fernet.generate_key().decode())
    assert chat_sessions.conversation_of(token) is None


@pytest.mark.parametrize(
    "given, kept",
    [
        ("how much is it?", "how much is it?"),
        ("a\x00b\x07c\x1bd\x7fe\x85f", "abcdef"),
        ("line one\r\nline two\rthree\tfour", "line one\nline two\nthree\tfour"),
        ("broken \ud800 half", "broken ? half"),
        ("emoji 😀 and ZWJ 👩\u200d👩\u200d👧 stay, so do أهلا and 中文", None),
        # Button payloads pass; an escaped lone surrogate in their JSON does not.
        ("/faq_cost", None),
        ('/crisis{"crisis_level": "acute"}', None),
        ('/faq_team{"x": "\\ud83d"}', '/faq_team{"x": "?"}'),
        # Anything else starting with "/" is read as words (Rasa would log it whole).
        ("/book_appointment{}{}", "book_appointment{}{}"),
        ("// my name is Sam", "my name is Sam"),
        ("/faq_start_time[1,2,3]", "faq_start_time[1,2,3]"),
    ],
)
def test_clean_text(given, kept):
    assert clean_text(given) == (given if kept is None else kept)


def test_too_long_counts_characters():
    assert not too_long("😀" * MAX_MESSAGE_CHARS)
    assert too_long("a" * (MAX_MESSAGE_CHARS + 1))


@pytest.mark.parametrize(
    "sender, ok",
    [
        ("t-1234", True),
        ("Zoë's phone", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("   ", False),
        ("a\nb", False),
        ("a\x00b", False),
        ("a\u200bb", False),  # invisible
        ("\ud800", False),
        (None, False),
        (42, False),
        (["a"], False),
    ],
)
def test_valid_sender(sender, ok):
    assert valid_sender(sender) is ok


def status(refused):
    return None if refused is None else refused.status


def test_rest_is_open_in_development_only_without_a_token():
    assert status(refusal(Settings(app_env="development"), "")) is None
    for env in ("production", "staging"):
        refused = refusal(Settings(app_env=env), "Bearer anything")
        assert status(refused) == 403 and b"REST_CHANNEL_TOKEN" in refused.body


@pytest.mark.parametrize("env", ["development", "production"])
def test_rest_with_a_token_needs_it_everywhere(env):
    config = Settings(app_env=env, rest_channel_token="s3cret-token")
    assert status(refusal(config, "Bearer s3cret-token")) is None
    for header in ("", "Bearer", "Bearer s3cret-tokeN", "s3cret-token", "Bearer s3cret-token "):
        refused = refusal(config, header)
        assert status(refused) == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert status(refusal(config, "Bearer é\ud800")) == 401  # any header is only compared


def test_origins_are_not_checked_in_development(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("RASA_CORS", "*")
    assert allowed_origins() is None
    assert origin_allowed("https://evil.example", None)


@pytest.mark.parametrize("cors", ["*", "https://clinic.example.org, *"])
def test_outside_development_any_origin_stops_the_start(monkeypatch, cors):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("RASA_CORS", cors)
    with pytest.raises(ConfigError, match="RASA_CORS"):
        allowed_origins()


def test_outside_development_only_the_sites_origins_connect(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("RASA_CORS", "https://Clinic.example.org/, https://www.clinic.example.org")
    allowed = allowed_origins()
    assert allowed == {"https://clinic.example.org", "https://www.clinic.example.org"}
    assert origin_allowed("https://clinic.example.org", allowed)
    assert origin_allowed("https://WWW.clinic.example.org", allowed)
    assert origin_allowed(None, allowed)  # not a browser: Origin proves nothing there
    for origin in (
        "https://evil.example",
        "http://clinic.example.org",
        "https://clinic.example.org.evil.example",
        "https://clinic.example.org:8443",
        "null",
    ):
        assert not origin_allowed(origin, allowed), origin


def test_rasa_gets_the_api_token_from_the_environment(monkeypatch):
    import rasa.__main__

    from scripts import rasa_server

    seen = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.append(list(sys.argv)))
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("RASA_AUTH_TOKEN", "-from-the-env")  # a dash: not read as an option
    monkeypatch.setattr(sys, "argv", ["rasa_server", "--enable-api", "--port", "5005"])
    rasa_server.main()
    from bot import api_tokens

    assert seen == [
        [
            "rasa",
            "run",
            "--enable-api",
            "--port",
            "5005",
            "--auth-token=-from-the-env",
            f"--jwt-secret={api_tokens.secret()}",
            "--jwt-method=HS256",
        ]
    ]

    for given in (["--auth-token", "x"], ["--auth-token=x"], ["-t", "x"]):
        monkeypatch.setattr(sys, "argv", ["rasa_server", *given])
        with pytest.raises(SystemExit, match="never on the command line"):
            rasa_server.main()


def test_a_failure_is_logged_by_its_types_only():
    try:
        try:
            "Jane Doe 04/04/2004".encode("ascii", "strict").decode("utf-16")
        except UnicodeDecodeError as exc:
            raise RuntimeError("failed on Jane Doe 04/04/2004") from exc
    except RuntimeError as exc:
        assert failure(exc) == "RuntimeError (from UnicodeDecodeError)"
    assert failure(KeyError("Jane")) == "KeyError"
