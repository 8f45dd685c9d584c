"""Joint intake assessments of linked partners: who chose the time, until the other
partner confirms it (status: linked -> proposed -> booked).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("couples") as batch:
        batch.add_column(sa.Column("booking_proposed_by", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("couples") as batch:
        batch.drop_column("booking_proposed_by")
