"""Paged listing: one page of a query and the total it would give."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")

MAX_PAGE = 500


def page(
    session: Session, query: SelectOfScalar[T], *, limit: int = 50, offset: int = 0
) -> tuple[list[T], int]:
    """Return (rows of this page, total rows) for a select."""
    limit = max(1, min(limit, MAX_PAGE))
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    rows = session.exec(query.offset(max(0, offset)).limit(limit)).all()
    return list(rows), int(total)


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with LIKE's wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


