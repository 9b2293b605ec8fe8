"""statistics: covering indexes for holdings by classification and for loans by month

Revision ID: 0012
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORDS = {
    "ix_records_stat_fonds": ["classification", "fonds", "year"],
    "ix_records_stat_series": ["classification", "series", "year"],
    "ix_records_stat_year": ["classification", "year"],
    "ix_records_stat_retention": ["classification", "retention", "year"],
    "ix_records_stat_box": ["classification", "box_id", "year"],
}


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        for name, columns in RECORDS.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index("ix_loans_stat_lent", ["lent_at", "borrower", "returned_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_stat_lent")
    with op.batch_alter_table("records", schema=None) as batch_op:
        for name in reversed(RECORDS):
            batch_op.drop_index(name)
