"""Archival description (DA/T 18-2022): fonds, 档号 templates, registers imported, and the
four-property checks (DA/T 70-2018) run over them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from server.models.columns import Json, Timestamp

CheckStage = Literal["filing", "transfer", "preservation"]
CheckResult = Literal["pass", "fail", "not_checked"]
CheckProperty = Literal["authenticity", "integrity", "usability", "security"]


class Fonds(SQLModel, table=True):
    """全宗: the records of one body, the top level of description."""

    __tablename__ = "fonds"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True, index=True, description="全宗号")
    name: str = Field(max_length=200, description="全宗名称")
    archive_code: str | None = Field(default=None, max_length=20, description="档案馆代码")
    note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=Timestamp)


class FondsCreate(SQLModel):
    model_config = {"extra": "forbid"}
    code: str = Field(min_length=1, max_length=20, regex=r"^[0-9A-Za-z]+$",
                      schema_extra={"examples": ["X013"]})
    name: str = Field(min_length=1, max_length=200, schema_extra={"examples": ["某市档案局"]})
    archive_code: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=2000)


class ReferenceTemplate(SQLModel, table=True):
    """How the 档号 of one fonds and category are formed (DA/T 13-2022)."""

    __tablename__ = "reference_templates"
    __table_args__ = (UniqueConstraint("fonds", "category", name="uq_template_fonds_category"),)

    id: int | None = Field(default=None, primary_key=True)
    fonds: str = Field(max_length=20, description="全宗号 ('' for any fonds)")
    category: str = Field(max_length=2, description="门类 code")
    pattern: str = Field(max_length=100)
    item_digits: int = 4


class ReferenceTemplateCreate(SQLModel):
    model_config = {"extra": "forbid"}
    category: str = Field(min_length=2, max_length=2, schema_extra={"examples": ["WS"]})
    pattern: str = Field(
        default="{fonds}-{category}·{year}·{retention}-{item}", max_length=100,
        description="parts: {fonds} {category} {year} {retention} {org} {item}",
    )
    item_digits: int = Field(default=4, ge=2, le=6)

    @field_validator("pattern")
    @classmethod
    def _names_the_parts(cls, value: str) -> str:
        for part in ("{category}", "{year}", "{retention}", "{item}"):
            if part not in value:
                raise ValueError(f"a 档号 template names {part}")
        return value


class ReferenceTemplatePublic(SQLModel):
    fonds: str
    category: str
    pattern: str
    item_digits: int


class CheckLink(SQLModel):
    id: int
    stage: str
    passed: bool
    finished_at: datetime
    url: str
    report_url: str


class FondsPublic(SQLModel):
    code: str
    name: str
    archive_code: str | None
    note: str | None
    records: int = 0
    templates: list[ReferenceTemplatePublic] = Field(default_factory=list)
    last_check: CheckLink | None = Field(default=None, description="the newest check of this fonds")
    checks_url: str = ""


class RegisterImportPublic(SQLModel):
    id: int
    file_name: str | None
    sha256: str
    rows: int
    records: list[str]
    by: str
    at: datetime
    checks: list[CheckLink] = Field(default_factory=list)


class RegisterImport(SQLModel, table=True):
    """One register imported (归档登记): what it held, so a check can count against it."""

    __tablename__ = "register_imports"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str | None = Field(default=None, max_length=255)
    sha256: str = Field(max_length=64)
    rows: int
    references: list[str] = Field(default_factory=list, sa_type=Json)
    by_user: str = Field(max_length=100)
    at: datetime = Field(sa_type=Timestamp)


class FourPropertyCheck(SQLModel, table=True):
    """One DA/T 70 four-property check over a scope, with every item's result."""

    __tablename__ = "four_property_checks"

    id: int | None = Field(default=None, primary_key=True)
    stage: str = Field(max_length=12)
    scope: dict[str, Any] = Field(default_factory=dict, sa_type=Json)
    state: str = Field(default="done", max_length=10)
    items: list[dict[str, Any]] = Field(default_factory=list, sa_type=Json)
    records: int = 0
    copies: int = 0
    by_user: str = Field(max_length=100)
    started_at: datetime = Field(sa_type=Timestamp)
    finished_at: datetime = Field(sa_type=Timestamp, index=True)


class CheckScope(SQLModel):
    model_config = {"extra": "forbid"}
    fonds: str | None = None
    year: int | None = Field(default=None, ge=1000, le=2999)
    import_: int | None = Field(default=None, alias="import")
    records: list[str] | None = None


class CheckRequest(SQLModel):
    model_config = {"extra": "forbid"}
    stage: CheckStage = "filing"
    scope: CheckScope = Field(default_factory=CheckScope)


class CheckFailure(SQLModel):
    record: str | None
    copy_: int | None = Field(default=None, alias="copy")
    reason: str


class CheckItem(SQLModel):
    property: CheckProperty
    item: str
    result: CheckResult
    why: str | None = Field(default=None, description="for not_checked: why not")
    failures: list[CheckFailure] = Field(default_factory=list)


class CheckPublic(SQLModel):
    id: int
    stage: CheckStage
    state: str
    scope: dict[str, Any]
    records: int
    copies: int
    by: str
    started_at: datetime
    finished_at: datetime
    passed: bool
    items: list[CheckItem]
    report_url: str
