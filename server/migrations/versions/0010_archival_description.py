"""archival description: fonds, 档号 templates, registers, four-property checks, the fifth 密级

Revision ID: 0010
Revises: 0006

Records gain the DA/T 18 file-level items (开放标识, 著录层级, 门类, 件号, 日期, 责任者, 文号, 页数,
备注, 保密期限). The classification `top_secret` (绝密) joins the four levels: on SQLite the
FTS5 triggers of 0004 spell each classification as an access token, so they are recreated
here knowing the fifth (`#t#` / `accesstopsecret`); the tables' rows need no rebuild, as no
record could be top_secret before.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM_ACCESS = {"public": "#p#", "internal": "#i#", "confidential": "#c#", "secret": "#s#",
                  "top_secret": "#t#"}
GRAM_ACCESS = {name: f"access{name.replace('_', '')}" for name in TRIGRAM_ACCESS}
Text = sqlmodel.sql.sqltypes.AutoString


def _revision_0004(trigram, gram):
    # Revision files are not a package; load 0004 by path and let it spell the triggers
    # with the access tokens given.
    path = Path(__file__).with_name("0004_search_bigrams_and_access.py")
    spec = importlib.util.spec_from_file_location("revision_0004_for_0010", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.TRIGRAM_ACCESS = trigram
    module.GRAM_ACCESS = gram
    return module


def _recreate_triggers(trigram: dict[str, str], gram: dict[str, str]) -> None:
    base = _revision_0004(trigram, gram)
    for trigger in base.TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute(f"CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN {base._add('new')}END")
    op.execute(f"CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN {base._remove('old')}END")
    op.execute("CREATE TRIGGER records_fts_update AFTER UPDATE OF reference_code, title, description, "
               f"extra, classification ON records BEGIN {base._remove('old')}{base._add('new')}END")


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("classification_term", Text(length=20), nullable=True))
        batch_op.add_column(sa.Column("access", Text(length=12), nullable=False,
                                      server_default="unreviewed"))
        batch_op.add_column(sa.Column("level", Text(length=10), nullable=False,
                                      server_default="file"))
        batch_op.add_column(sa.Column("category", Text(length=2), nullable=True))
        batch_op.add_column(sa.Column("item", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("creator", Text(length=200), nullable=True))
        batch_op.add_column(sa.Column("document_number", Text(length=100), nullable=True))
        batch_op.add_column(sa.Column("pages", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note", Text(length=2000), nullable=True))
    # The 案卷 a file is in. SQLite takes the reference inline with ADD COLUMN (no table
    # rebuild, so the search triggers stay); PostgreSQL as a named constraint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE records ADD COLUMN volume_id INTEGER REFERENCES records (id)")
    else:
        op.add_column("records", sa.Column("volume_id", sa.Integer(), nullable=True))
        op.create_foreign_key("records_volume_id_fkey", "records", "records", ["volume_id"], ["id"])
    op.create_index("ix_records_volume_id", "records", ["volume_id"], unique=False)

    op.create_table(
        "fonds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", Text(length=20), nullable=False),
        sa.Column("name", Text(length=200), nullable=False),
        sa.Column("archive_code", Text(length=20), nullable=True),
        sa.Column("note", Text(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fonds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fonds_code"), ["code"], unique=True)
    op.create_table(
        "reference_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fonds", Text(length=20), nullable=False),
        sa.Column("category", Text(length=2), nullable=False),
        sa.Column("pattern", Text(length=100), nullable=False),
        sa.Column("item_digits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fonds", "category", name="uq_template_fonds_category"),
    )
    op.create_table(
        "register_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", Text(length=255), nullable=True),
        sa.Column("sha256", Text(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("references", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("by_user", Text(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "four_property_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage", Text(length=12), nullable=False),
        sa.Column("scope", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("state", Text(length=10), nullable=False),
        sa.Column("items", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("by_user", Text(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("four_property_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_four_property_checks_finished_at"), ["finished_at"],
                              unique=False)
    if op.get_bind().dialect.name == "sqlite":
        _recreate_triggers(TRIGRAM_ACCESS, GRAM_ACCESS)


def downgrade() -> None:
    op.drop_table("four_property_checks")
    op.drop_table("register_imports")
    op.drop_table("reference_templates")
    op.drop_table("fonds")
    op.drop_index("ix_records_volume_id", table_name="records")
    with op.batch_alter_table("records", schema=None) as batch_op:
        for name in ("volume_id", "note", "pages", "document_number", "creator", "date", "item", "category",
                     "level", "access", "classification_term"):
            batch_op.drop_column(name)
    if op.get_bind().dialect.name == "sqlite":
        # Last: dropping the columns rebuilt the table, and its triggers went with it.
        four = {k: v for k, v in TRIGRAM_ACCESS.items() if k != "top_secret"}
        _recreate_triggers(four, {name: f"access{name}" for name in four})
