"""Partners enrolling together: two linked conversations, invitations (hashes only), failed
join attempts and each person's relationship-safety check (encrypted).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "couples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cohort", sa.String(length=64), nullable=True),
        sa.Column("track", sa.String(length=32), nullable=True),
        sa.Column("booking_code", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),  # UTCDateTime: naive UTC
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "couple_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("couple_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["couple_id"], ["couples.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id"),  # one couple per conversation
    )
    op.create_index("ix_couple_partners_couple_id", "couple_partners", ["couple_id"])
    op.create_table(
        "couple_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inviter_conversation_id", sa.String(length=128), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),  # HMAC-SHA256
        sa.Column("code_hash", sa.String(length=64), nullable=False),  # HMAC-SHA256
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("couple_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["couple_id"], ["couples.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(
        "ix_couple_invitations_inviter_conversation_id",
        "couple_invitations",
        ["inviter_conversation_id"],
    )
    op.create_table(
        "couple_join_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("by_code", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_couple_join_attempts_at", "couple_join_attempts", ["at"])
    op.create_index(
        "ix_couple_join_attempts_conversation_id", "couple_join_attempts", ["conversation_id"]
    )
    op.create_table(
        "relationship_safety_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),  # Fernet token
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_relationship_safety_checks_conversation_id",
        "relationship_safety_checks",
        ["conversation_id"],
    )


def downgrade() -> None:
    op.drop_table("relationship_safety_checks")
    op.drop_table("couple_join_attempts")
    op.drop_table("couple_invitations")
    op.drop_table("couple_partners")
    op.drop_table("couples")
