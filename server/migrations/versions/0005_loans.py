"""loans: who has a box, since when, due back when

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("box_id", sa.Integer(), nullable=False),
        sa.Column("borrower", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("lent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lent_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("taken_from_id", sa.Integer(), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(["box_id"], ["boxes.id"]),
        sa.ForeignKeyConstraint(["taken_from_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loans_box_id"), ["box_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_borrower"), ["borrower"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_lent_at"), ["lent_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_returned_at"), ["returned_at"], unique=False)


def downgrade() -> None:
    op.drop_table("loans")
