"""climate samples and device read counters

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "climate_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sensor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=False),
        sa.Column("humidity_pct", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("climate_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_climate_samples_room_id"), ["room_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_climate_samples_sensor"), ["sensor"], unique=False)
        batch_op.create_index(batch_op.f("ix_climate_samples_ts"), ["ts"], unique=False)
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reads_total", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("reads_total")
    op.drop_table("climate_samples")
