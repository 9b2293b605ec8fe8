"""Column types shared by the tables: aware timestamps and portable JSON."""

from __future__ import annotations

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB

Timestamp = DateTime(timezone=True)
Json = JSON().with_variant(JSONB(), "postgresql")
