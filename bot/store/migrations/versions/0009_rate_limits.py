"""Rate-limit counts (bot/limits.py) when no Redis is configured: one row per open window,
keyed by an HMAC of the limit and who it counts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counts",
        sa.Column("bucket", sa.String(length=64), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("closes_at", sa.DateTime(), nullable=False),  # UTCDateTime: naive UTC
        sa.PrimaryKeyConstraint("bucket"),
    )
    op.create_index(op.f("ix_rate_limit_counts_closes_at"), "rate_limit_counts", ["closes_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_limit_counts_closes_at"), table_name="rate_limit_counts")
    op.drop_table("rate_limit_counts")
