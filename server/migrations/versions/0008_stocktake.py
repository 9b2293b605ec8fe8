"""stocktakes (counting a location subtree) and what each one saw

Revision ID: 0008
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "stocktakes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("device", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("moved", sa.Integer(), nullable=True),
        sa.Column("marked_missing", sa.Integer(), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.ForeignKeyConstraint(["scope_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stocktakes_scope_id", "stocktakes", ["scope_id"])
    op.create_index("ix_stocktakes_device", "stocktakes", ["device"])
    op.create_index("ix_stocktakes_state", "stocktakes", ["state"])
    op.create_table(
        "stocktake_sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stocktake_id", sa.Integer(), nullable=False),
        sa.Column("box_id", sa.Integer(), nullable=False),
        sa.Column("seen_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["box_id"], ["boxes.id"]),
        sa.ForeignKeyConstraint(["seen_id"], ["locations.id"]),
        sa.ForeignKeyConstraint(["stocktake_id"], ["stocktakes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stocktake_id", "box_id", name="uq_stocktake_sightings_box"),
    )
    op.create_index("ix_stocktake_sightings_stocktake_id", "stocktake_sightings",
                    ["stocktake_id"])


def downgrade() -> None:
    op.drop_index("ix_stocktake_sightings_stocktake_id", table_name="stocktake_sightings")
    op.drop_table("stocktake_sightings")
    op.drop_index("ix_stocktakes_state", table_name="stocktakes")
    op.drop_index("ix_stocktakes_device", table_name="stocktakes")
    op.drop_index("ix_stocktakes_scope_id", table_name="stocktakes")
    op.drop_table("stocktakes")
