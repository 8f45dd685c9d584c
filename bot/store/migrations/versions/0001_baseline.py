"""Baseline: the schema as `create_all` made it before migrations existed.

Escalations, consents, flow drafts, screenings, coverage checks, intake bookings, slot
claims and call-backs. EncryptedJSON columns are stored as Text (Fernet tokens) and
UTCDateTime columns as naive DateTime: plain types here, so this script never imports app
code.

A database created by `create_all` (before this migration) is adopted: a table that already
exists is left as it is, a missing one is created, and the version is recorded.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from typing import Any, Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = (
    "escalations",
    "consents",
    "flow_drafts",
    "screenings",
    "coverage_checks",
    "intake_bookings",
    "slot_claims",
    "callbacks",
)


def _create(existing: set, name: str, *columns: Any, indexes: Sequence[str] = ()) -> None:
    """Create table `name` with an index on each of `indexes`, unless it already exists."""
    if name in existing:
        return
    op.create_table(name, *columns)
    for column in indexes:
        op.create_index(op.f(f"ix_{name}_{column}"), name, [column], unique=False)


def upgrade() -> None:
    existing: set = set()
    if not op.get_context().as_sql:  # --sql renders the whole schema
        existing.update(sa.inspect(op.get_bind()).get_table_names())
    _create(
        existing,
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=["conversation_id"],
    )
    _create(
        existing,
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=["conversation_id"],
    )
    _create(
        existing,
        "flow_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("question_key", sa.String(length=64), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),  # EncryptedJSON
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=["conversation_id"],
    )
    _create(
        existing,
        "screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=True),
        sa.Column("consent_version", sa.String(length=32), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),  # EncryptedJSON
        sa.Column("scores", sa.Text(), nullable=False),  # EncryptedJSON
        sa.Column("reasons", sa.Text(), nullable=False),  # EncryptedJSON
        sa.Column("recommendation", sa.Text(), nullable=False),  # EncryptedJSON
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("coordinator_review", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=["conversation_id", "person_id"],
    )
    _create(
        existing,
        "coverage_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payer_id", sa.String(length=32), nullable=False),
        sa.Column("plan_type", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("aaa_code", sa.String(length=4), nullable=True),
        sa.Column("request", sa.Text(), nullable=False),  # EncryptedJSON
        sa.Column("result", sa.Text(), nullable=False),  # EncryptedJSON
        sa.PrimaryKeyConstraint("id"),
        indexes=["conversation_id"],
    )
    _create(
        existing,
        "intake_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("external_uid", sa.String(length=128), nullable=True),
        sa.Column("start", sa.DateTime(), nullable=False),  # UTCDateTime: naive UTC
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("contact_consent", sa.JSON(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),  # EncryptedJSON
        sa.Column("phone", sa.Text(), nullable=True),  # EncryptedJSON
        sa.Column("email", sa.Text(), nullable=True),  # EncryptedJSON
        sa.Column("dob", sa.Text(), nullable=True),  # EncryptedJSON
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        indexes=["conversation_id", "external_uid", "start"],
    )
    _create(
        existing,
        "slot_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar", sa.String(length=32), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["intake_bookings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calendar", "cell", name="uq_slot_claims_calendar_cell"),
        indexes=["booking_id"],
    )
    _create(
        existing,
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),  # UTCDateTime: naive UTC
        sa.Column("contact", sa.Text(), nullable=False),  # EncryptedJSON
        sa.Column("best_times", sa.Text(), nullable=False),  # EncryptedJSON
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        indexes=["conversation_id"],
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; slot_claims before the bookings it references.
    for name in reversed(TABLES):
        op.drop_table(name)
