"""outbox (news in commit order), device messages taken in (duplicates), 64-bit seq

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("data", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_position", "outbox", ["position"], unique=True)
    op.create_table(
        "news_cursors",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "device_messages",
        sa.Column("device", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device", "seq", "ts"),
    )
    op.create_index("ix_device_messages_taken_at", "device_messages", ["taken_at"])
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.alter_column("last_seq", existing_type=sa.Integer(), type_=sa.BigInteger(),
                              existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.alter_column("last_seq", existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=True)
    op.drop_table("device_messages")
    op.drop_table("news_cursors")
    op.drop_index("ix_outbox_position", table_name="outbox")
    op.drop_table("outbox")
