"""The production configuration for real: PostgreSQL tracker store and app database, Redis
lock store (endpoints.production.yml), APP_ENV=production with a real PHI key. A booking
and an insurance check go through it; what lands in PostgreSQL is encrypted."""

import socket

import psycopg2
import pytest
from cryptography.fernet import Fernet

from tests.e2e import new_sender, say, texts
from tests.test_e2e_booking import book, code_in

pytestmark = pytest.mark.e2e
DATABASE = "iop_e2e_production"


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def prod_stack(tmp_path_factory):
    if not (_reachable(5432) and _reachable(6379)):
        pytest.skip(
            "PostgreSQL (5432) and Redis (6379) are needed for the production configuration"
        )
    from scripts.stack import Stack, scratch_environment

    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="test")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cur.execute(f"CREATE DATABASE {DATABASE}")
    state = tmp_path_factory.mktemp("prod")
    env = scratch_environment(
        state,
        {
            "RASA_ENDPOINTS": "endpoints.production.yml",
            "TRACKER_DB_HOST": "127.0.0.1",
            "TRACKER_DB_PORT": "5432",
            "TRACKER_DB_NAME": DATABASE,
            "TRACKER_DB_USER": "postgres",
            "TRACKER_DB_PASSWORD": "",
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": "6379",
            "REDIS_DB": "3",
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{DATABASE}",
            "APP_ENV": "production",
            "PHI_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        },
    )
    running = Stack(env, log_dir=state / "log").start()
    yield running
    running.stop()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    admin.close()


def rows(sql, *args):
    with (
        psycopg2.connect(host="127.0.0.1", user="postgres", dbname=DATABASE) as conn,
        conn.cursor() as cur,
    ):
        cur.execute(sql, args)
        return cur.fetchall()


def test_booking_on_postgres_is_encrypted_at_rest(prod_stack):
    sender = new_sender("prod")
    _, said = book(prod_stack, sender)
    code = code_in(said)
    [(name, phone, email)] = rows(
        "select name, phone, email from intake_bookings where code = %s", code
    )
    for stored, plain in ((name, "Jamie"), (phone, "0142"), (email, "jamie.rivera")):
        assert plain not in stored and stored.startswith("gAAAAA")
    # The conversation itself lives in the PostgreSQL tracker store.
    assert rows("select count(*) from events where sender_id = %s", sender)[0][0] > 10


def test_insurance_check_on_postgres(prod_stack):
    sender = new_sender("prod")
    for text in [
        "/check_insurance",
        "I agree",
        "Aetna",
        "PPO",
        "AETNA12345",
        "my own",
        "Jane",
        "Doe",
    ]:
        say(prod_stack, sender, text)
    said = " ".join(texts(say(prod_stack, sender, "04/04/2004")))
    assert "active" in said and "estimate, not a guarantee of payment" in said
    [(status, summary)] = rows(
        "select status, request from coverage_checks where conversation_id = %s", sender
    )
    assert status == "active" and "AETNA12345" not in summary
