"""Console presence: until when a session counts as a coordinator online (an open console).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        # UTCDateTime: naive UTC
        batch.add_column(sa.Column("online_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("online_until")
