"""One append-only audit log for the whole system (was the console's `console_audit`), and
the Part 2 labels encrypted.

- `audit_log`: the console's entries, plus who decrypted which record, deletions and consent
  changes (an actor that is not a coordinator: the person, a command, the retention job).
  The rows of `console_audit` are copied over, ids kept, and `console_audit` is dropped.
- The database refuses UPDATE and DELETE on `audit_log` (and TRUNCATE on PostgreSQL):
  triggers, so even a hand-typed statement cannot rewrite the past.
- `screenings.level` and `escalations.reason` become Text: they now hold Fernet tokens
  (EncryptedLabel). Existing plain labels stay readable; `python -m bot.store.migrate`
  (make run, the Docker image) encrypts them, since a script cannot import the key handling.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

REFUSAL = "audit_log is append-only"

POSTGRES_TRIGGERS = f"""
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_log_no_{op_name.lower()} BEFORE {op_name} ON audit_log
        BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {op_name} refused'); END"""
    for op_name in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),  # UTCDateTime: naive UTC
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("record", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinators.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_coordinator_id"), "audit_log", ["coordinator_id"])
    op.create_index(op.f("ix_audit_log_conversation_id"), "audit_log", ["conversation_id"])
    op.execute(
        "INSERT INTO audit_log (id, at, actor, coordinator_id, action, conversation_id) "
        "SELECT id, at, 'coordinator', coordinator_id, action, conversation_id "
        "FROM console_audit"
    )
    _restart_ids("audit_log")
    op.drop_index(op.f("ix_console_audit_conversation_id"), table_name="console_audit")
    op.drop_index(op.f("ix_console_audit_coordinator_id"), table_name="console_audit")
    op.drop_table("console_audit")

    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        op.execute(POSTGRES_TRIGGERS)
    elif dialect == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)

    if dialect == "sqlite" and op.get_context().as_sql:
        # --sql cannot copy a SQLite table it cannot read; SQLite does not enforce VARCHAR
        # lengths, so a token fits the old column all the same.
        return
    with op.batch_alter_table("screenings") as batch:
        batch.alter_column("level", type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("escalations") as batch:
        batch.alter_column("reason", type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    bind = op.get_bind()
    for table, column in (("screenings", "level"), ("escalations", "reason")):
        encrypted = bind.execute(
            sa.text(f"SELECT COUNT(*) FROM {table} WHERE {column} LIKE 'gAAAAA%'")
        ).scalar()
        if encrypted:
            raise RuntimeError(
                f"{table}.{column} holds {encrypted} encrypted labels: downgrading below 0008 "
                "would leave them unreadable to the older code."
            )
    with op.batch_alter_table("escalations") as batch:
        batch.alter_column("reason", type_=sa.String(length=64), existing_nullable=False)
    with op.batch_alter_table("screenings") as batch:
        batch.alter_column("level", type_=sa.String(length=32), existing_nullable=False)

    op.create_table(
        "console_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinators.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_console_audit_coordinator_id"), "console_audit", ["coordinator_id"])
    op.create_index(op.f("ix_console_audit_conversation_id"), "console_audit", ["conversation_id"])
    # The console's own entries go back; the others (person, command, retention) had no
    # place before 0008.
    op.execute(
        "INSERT INTO console_audit (id, at, coordinator_id, action, conversation_id) "
        "SELECT id, at, coordinator_id, action, conversation_id FROM audit_log "
        "WHERE coordinator_id IS NOT NULL"
    )
    _restart_ids("console_audit")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    elif op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
    op.drop_index(op.f("ix_audit_log_conversation_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_coordinator_id"), table_name="audit_log")
    op.drop_table("audit_log")


def _restart_ids(table: str) -> None:
    """PostgreSQL: the id sequence after the copied ids (SQLite takes max(id) + 1 itself)."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
        )
