"""Schema migrations (bot/store/migrations): an empty SQLite file and an empty PostgreSQL
database upgraded to head hold exactly the models' schema; upgrading twice does nothing;
downgrading to base leaves no app table; concurrent upgrades of one database both succeed;
a database made by create_all before migrations is adopted.

The models' EncryptedJSON (and UTCDateTime) columns are TypeDecorators: the migrations store
them as their plain types (Text, DateTime) and Alembic compares a TypeDecorator by the type it
compiles to, so they need no special handling and a real type change is still reported.

PostgreSQL: 127.0.0.1:5432 as in tests/test_e2e_production.py; each test gets its own
scratch database (created and dropped here), so the shared `test` database is not touched.
"""

from __future__ import annotations

import re
import shutil
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, inspect, select
from sqlalchemy.pool import NullPool

from bot.store import Base, Escalation, import_models, migrate
from tests.conftest import scratch_postgres

import_models()
APP_TABLES = set(Base.metadata.tables)


@pytest.fixture()
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture()
def postgres_url():
    with scratch_postgres("migrations") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request):
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


def head() -> str:
    return ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()


def state(url: str):
    """(tables, current revision, differences between the database and the models)."""
    eng = create_engine(url, future=True, poolclass=NullPool)
    try:
        with eng.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, Base.metadata)
            return set(inspect(conn).get_table_names()), context.get_current_revision(), diffs
    finally:
        eng.dispose()


def test_one_head_and_scripts_do_not_import_app_code():
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    assert len(script.get_heads()) == 1, "two migrations revise the same one: merge them"
    for path in (migrate.MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(bot|actions)\b", source, re.M), path.name


def test_upgrade_of_an_empty_database_matches_the_models(empty_url):
    migrate.upgrade(empty_url)
    tables, revision, diffs = state(empty_url)
    assert tables == APP_TABLES | {"alembic_version"}
    assert revision == head()
    assert diffs == []


def test_upgrading_twice_is_a_no_op(empty_url):
    migrate.upgrade(empty_url)
    before = state(empty_url)
    migrate.upgrade(empty_url)
    assert state(empty_url) == before


def test_downgrade_to_base_leaves_no_tables(empty_url):
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")
    tables, revision, _ = state(empty_url)
    assert tables <= {"alembic_version"}  # Alembic keeps its (now empty) version table
    assert revision is None


def test_concurrent_upgrades_of_one_database_both_succeed(empty_url):
    """The action server, the Rasa server and the website start at once on a new database."""
    errors = []
    start = threading.Barrier(3)

    def run():
        try:
            start.wait()
            migrate.upgrade(empty_url)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    tables, revision, diffs = state(empty_url)
    assert (tables, revision, diffs) == (APP_TABLES | {"alembic_version"}, head(), [])


# The tables `create_all` made before migrations existed (0001_baseline adopts them), and
# the columns later migrations added to them.
LEGACY_TABLES = {
    "escalations",
    "consents",
    "flow_drafts",
    "screenings",
    "coverage_checks",
    "intake_bookings",
    "slot_claims",
    "callbacks",
}
LATER_COLUMNS = {
    ("escalations", "claimed_by"),
    ("escalations", "claimed_at"),
    ("escalations", "person_typing_until"),
}


def test_a_database_made_by_create_all_is_adopted_with_its_rows(sqlite_url):
    legacy = create_engine(sqlite_url, future=True)
    # As before migrations: some of the tables of that time (here all but one) made by
    # create_all, with a row. Later migrations' tables and columns did not exist yet.
    before = MetaData()
    for name, table in Base.metadata.tables.items():
        if name not in LEGACY_TABLES or name == "callbacks":
            continue
        if any(t == name for t, _ in LATER_COLUMNS):
            columns = [c.copy() for c in table.columns if (name, c.name) not in LATER_COLUMNS]
            Table(name, before, *columns)
        else:
            table.to_metadata(before)
    before.create_all(legacy)
    with legacy.begin() as conn:
        conn.execute(
            Escalation.__table__.insert().values(
                conversation_id="c1",
                priority=1,
                kind="crisis",
                reason="suicidal",
                status="open",
                created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
            )
        )
    legacy.dispose()

    migrate.upgrade(sqlite_url)
    tables, revision, diffs = state(sqlite_url)
    assert (tables, revision, diffs) == (APP_TABLES | {"alembic_version"}, head(), [])
    eng = create_engine(sqlite_url, future=True)
    with eng.connect() as conn:
        assert conn.execute(select(Escalation.__table__.c.reason)).scalars().all() == ["suicidal"]
    eng.dispose()


def test_engine_upgrades_a_new_database_on_first_use(db_url):
    from bot.store import engine, session

    engine(db_url)
    tables, revision, diffs = state(db_url)
    assert (tables, revision, diffs) == (APP_TABLES | {"alembic_version"}, head(), [])
    with session(db_url) as s:
        s.add(Escalation(conversation_id="c2", priority=2, kind="request", reason="asked"))


def test_cli_upgrades_database_url(sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert migrate.main([]) == 0
    assert "head" in capsys.readouterr().out
    assert state(sqlite_url)[1] == head()
    assert migrate.main(["current"]) == 0
    assert head() in capsys.readouterr().out


def test_offline_sql_renders_the_whole_schema(sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    assert migrate.main(["upgrade", "head", "--sql"]) == 0
    sql = capsys.readouterr().out
    for table in APP_TABLES:
        assert f"CREATE TABLE {table}" in sql
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists() or state(sqlite_url)[1] is None


def test_check_fails_when_a_model_changes_without_a_migration(capsys):
    assert migrate.main(["check"]) == 0
    table = Table("handoff_probe", Base.metadata, Column("id", Integer, primary_key=True))
    try:
        with pytest.raises(SystemExit) as exc:
            migrate.main(["check"])
        assert exc.value.code != 0
        out = capsys.readouterr().out
        assert "FAILED: New upgrade operations detected" in out and "handoff_probe" in out
    finally:
        Base.metadata.remove(table)


def test_autogenerate_writes_plain_types_and_no_app_imports(tmp_path, monkeypatch):
    """A new table with an EncryptedJSON column: the script says sa.Text(), imports no app code."""
    from bot.store.crypto import EncryptedJSON

    previous = head()
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS", scripts)
    table = Table(
        "handoff_probe",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("note", EncryptedJSON, nullable=False),
    )
    try:
        assert migrate.main(["revision", "--autogenerate", "-m", "probe", "--rev-id", "9999"]) == 0
    finally:
        Base.metadata.remove(table)
    script = (scripts / "versions" / "9999_probe.py").read_text()
    assert "op.create_table('handoff_probe'" in script
    assert "sa.Column('note', sa.Text(), nullable=False)" in script
    assert "down_revision: Union[str, Sequence[str], None] = " + repr(previous) in script
    assert not re.search(r"^\s*(from|import)\s+(bot|actions)\b", script, re.M)
