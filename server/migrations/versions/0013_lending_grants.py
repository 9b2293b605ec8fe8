"""time-limited download access: the records a download request grants

Revision ID: 0013
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "download_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("borrower", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["lending_requests.id"]),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_download_grants_request_id", "download_grants", ["request_id"])
    op.create_index("ix_download_grants_record_id", "download_grants", ["record_id"])
    op.create_index("ix_download_grants_borrower", "download_grants", ["borrower"])


def downgrade() -> None:
    op.drop_index("ix_download_grants_borrower", table_name="download_grants")
    op.drop_index("ix_download_grants_record_id", table_name="download_grants")
    op.drop_index("ix_download_grants_request_id", table_name="download_grants")
    op.drop_table("download_grants")
