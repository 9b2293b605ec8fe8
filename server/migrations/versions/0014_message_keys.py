"""an alarm keeps its message's key and values, so a page says it in its own language

Revision ID: 0014_message_keys
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_message_keys"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null on the alarms already raised: they keep showing their English `message`.
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("wording", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("wording")
