"""climate profiles per room, roll-ups, alarm acknowledgement

Revision ID: 0009
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(n: int):
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "climate_profiles",
        sa.Column("name", _text(40), nullable=False),
        sa.Column("temperature_min", sa.Float(), nullable=False),
        sa.Column("temperature_max", sa.Float(), nullable=False),
        sa.Column("humidity_min", sa.Float(), nullable=False),
        sa.Column("humidity_max", sa.Float(), nullable=False),
        sa.Column("swing_temperature_c", sa.Float(), nullable=False),
        sa.Column("swing_humidity_pct", sa.Float(), nullable=False),
        sa.Column("hold_s", sa.Integer(), nullable=False),
        sa.Column("hysteresis_temperature_c", sa.Float(), nullable=False),
        sa.Column("hysteresis_humidity_pct", sa.Float(), nullable=False),
        sa.Column("escalate_s", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "room_climates",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("profile", _text(40), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("room_id"),
    )
    op.create_table(
        "climate_rollups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("period", _text(5), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("temperature_min", sa.Float(), nullable=False),
        sa.Column("temperature_max", sa.Float(), nullable=False),
        sa.Column("temperature_mean", sa.Float(), nullable=False),
        sa.Column("humidity_min", sa.Float(), nullable=False),
        sa.Column("humidity_max", sa.Float(), nullable=False),
        sa.Column("humidity_mean", sa.Float(), nullable=False),
        sa.Column("seconds_in_band", sa.Float(), nullable=False),
        sa.Column("seconds_mould", sa.Float(), nullable=False),
        sa.Column("seconds_known", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id", "period", "start", name="uq_climate_rollup"),
    )
    op.create_index("ix_climate_samples_room_ts", "climate_samples", ["room_id", "ts"])
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=_text(10), type_=_text(20),
                              existing_nullable=False)
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", _text(100), nullable=True))
        batch_op.add_column(sa.Column("acknowledge_note", _text(1000), nullable=True))
        batch_op.add_column(sa.Column("clear_note", _text(1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_column("clear_note")
        batch_op.drop_column("acknowledge_note")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
        batch_op.alter_column("state", existing_type=_text(20), type_=_text(10),
                              existing_nullable=False)
    op.drop_index("ix_climate_samples_room_ts", table_name="climate_samples")
    op.drop_table("climate_rollups")
    op.drop_table("room_climates")
    op.drop_table("climate_profiles")
