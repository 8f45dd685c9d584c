"""Console notes (private, encrypted) and "the person is typing" on held escalations.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "console_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),  # UTCDateTime: naive UTC
        sa.Column("text", sa.Text(), nullable=False),  # EncryptedJSON
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinators.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_console_notes_conversation_id"), "console_notes", ["conversation_id"])
    with op.batch_alter_table("escalations") as batch:
        # UTCDateTime: naive UTC
        batch.add_column(sa.Column("person_typing_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("person_typing_until")
    op.drop_index(op.f("ix_console_notes_conversation_id"), table_name="console_notes")
    op.drop_table("console_notes")
