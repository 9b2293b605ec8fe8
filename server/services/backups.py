"""Backups: the database and the copy store in one archive file with a SHA-256 manifest, and
the restore of such a file into an empty database.

SQLite is copied with its online backup API (consistent while the server writes); PostgreSQL
with `pg_dump` (custom format), which must be on PATH and restored with `pg_restore`. The
archive is a tar file: `manifest.json` first, then the database, then `copies/...` exactly as
the store lays them out. The manifest names every member with its SHA-256 and size, the row
count of every table and the audit log's head, so a restore can say what it restored and a
drill can compare.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from server.clock import now
from server.services.errors import Conflict, Invalid

FORMAT = 1
MANIFEST = "manifest.json"
PREFIX = "archive-twin-backup-"
SUFFIX = ".tar"


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore brought back."""

    database: str
    rows: dict[str, int]
    copies: int
    audit_head: list[Any] | None
    taken_at: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table (the Alembic version table aside)."""
    names = sorted(n for n in inspect(engine).get_table_names() if n != "alembic_version"
                   and not n.startswith("records_fts"))
    with engine.connect() as conn:
        return {name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                for name in names}


def _audit_head(engine: Engine) -> list[Any] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")).first()
    return [row[0], row[1]] if row else None


def _pg_dump(engine: Engine, url: str, target: Path) -> tuple[dict[str, int], list[Any] | None]:
    """pg_dump of one snapshot, and the row counts and audit head of that same snapshot."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
            conn.begin():
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        names = sorted(n for n in inspect(conn).get_table_names() if n != "alembic_version")
        counts = {name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                  for name in names}
        row = conn.execute(text("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")).first()
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                        f"--snapshot={snapshot}", f"--file={target}", _libpq_url(url)],
                       check=True, capture_output=True)
    return counts, ([row[0], row[1]] if row else None)


def _dump_database(engine: Engine, url: str,
                   into: Path) -> tuple[str, Path, dict[str, int], list[Any] | None]:
    if engine.dialect.name == "sqlite":
        target = into / "database.sqlite3"
        source_path = make_url(url).database or ""
        with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copy:
            source.backup(copy)  # the online backup API: a consistent copy while others write
        copy_engine = create_engine(f"sqlite:///{target}")  # counted in the copy itself
        counts, head = row_counts(copy_engine), _audit_head(copy_engine)
        copy_engine.dispose()
        return "sqlite", target, counts, head
    if engine.dialect.name == "postgresql":
        if shutil.which("pg_dump") is None:
            raise Invalid("pg_dump is not on PATH: install the PostgreSQL client of the "
                          "server's version (e.g. apt-get install postgresql-client)",
                          field="database")
        target = into / "database.pgdump"
        counts, head = _pg_dump(engine, url, target)
        return "postgresql", target, counts, head
    raise Invalid("backups of {name} databases are not supported",
                  name=engine.dialect.name,
                  field="database")


def take(engine: Engine, url: str, copies_root: Path, to_dir: Path,
         on_progress: Callable[[str], None] | None = None) -> Path:
    """Write one backup archive into `to_dir`; returns its path."""
    to_dir.mkdir(parents=True, exist_ok=True)
    stamp = now().strftime("%Y%m%dT%H%M%S%fZ")
    final = to_dir / f"{PREFIX}{stamp}{SUFFIX}"
    with tempfile.TemporaryDirectory(dir=to_dir, prefix=".backup-") as scratch:
        work = Path(scratch)
        kind, dumped, counts, head = _dump_database(engine, url, work)
        if on_progress:
            on_progress(f"database dumped ({kind})")
        members: dict[str, dict[str, Any]] = {
            dumped.name: {"sha256": _sha256(dumped), "bytes": dumped.stat().st_size}}
        copies = []
        if copies_root.exists():
            for path in sorted(copies_root.rglob("*")):
                relative = path.relative_to(copies_root)
                if path.is_file() and relative.parts[0] != "incoming":
                    name = "copies/" + relative.as_posix()
                    members[name] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
                    copies.append((name, path))
        manifest = {"format": FORMAT, "taken_at": now().isoformat(), "database": kind,
                    "database_file": dumped.name, "rows": counts, "audit_head": head,
                    "copies": len(copies), "members": members}
        partial = work / "archive.tar"
        with tarfile.open(partial, "w") as tar:
            data = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(now().timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dumped, arcname=dumped.name)
            for name, path in copies:
                tar.add(path, arcname=name)
        if on_progress:
            on_progress(f"{len(copies)} copies added")
        os.replace(partial, final)  # whole or not at all
    return final


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of a backup archive."""
    try:
        with tarfile.open(archive, "r") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise Invalid("{archive} has no {MANIFEST}: not an archive-twin backup",
                              archive=archive, MANIFEST=MANIFEST,
                              field="archive")
            return json.loads(member.read())
    except (tarfile.TarError, KeyError, OSError, ValueError) as exc:
        raise Invalid("{archive} is not a readable archive-twin backup: {exc}",
                      archive=archive, exc=exc,
                      field="archive") from exc


def holds_data(engine: Engine) -> list[str]:
    """Tables of this database that hold rows (an empty, migrated database has none)."""
    if not inspect(engine).get_table_names():
        return []
    return [name for name, n in row_counts(engine).items() if n]


def restore(archive: Path, engine: Engine, url: str, copies_root: Path) -> Restored:
    """Restore a backup into this empty database and copy store; every member is checked
    against the manifest's SHA-256 first, and nothing is written when one does not match."""
    manifest = read_manifest(archive)
    if manifest.get("format") != FORMAT:
        raise Invalid("backup format {format} is not one this version reads",
                      format=manifest.get('format'),
                      field="archive")
    full = holds_data(engine)
    if full:
        raise Conflict("the configured database holds data ({choices}{more}); restore only into "
                       "an empty database (create a new one and point ARCHIVE_TWIN_DATABASE_URL "
                       "at it)",
                       choices=', '.join(full[:5]), more=' …' if len(full) > 5 else '',
                       field="database")
    if copies_root.exists() and any(p.is_file() for p in copies_root.rglob("*")
                                    if "incoming" not in p.relative_to(copies_root).parts):
        raise Conflict("the copy store {copies_root} is not empty; restore into an empty one",
                       copies_root=copies_root,
                       field="copies")
    kind = manifest["database"]
    if kind != engine.dialect.name:
        raise Invalid("this backup is of a {kind} database; the configured one is {name}",
                      kind=kind, name=engine.dialect.name, field="database")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        with tarfile.open(archive, "r") as tar:
            tar.extractall(work, filter="data")
        for name, facts in manifest["members"].items():
            path = work / name
            if not path.is_file() or _sha256(path) != facts["sha256"]:
                raise Invalid("{name} in {archive} does not match its SHA-256 in the manifest: "
                              "the backup is damaged; nothing was restored",
                              name=name, archive=archive, field="archive")
        dumped = work / manifest["database_file"]
        engine.dispose()
        if kind == "sqlite":
            target = make_url(url).database or ""
            with sqlite3.connect(dumped) as source, sqlite3.connect(target) as into:
                source.backup(into)
        else:
            if shutil.which("pg_restore") is None:
                raise Invalid("pg_restore is not on PATH: install the PostgreSQL client",
                              field="database")
            subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner",
                            "--no-privileges", "--single-transaction",
                            f"--dbname={_libpq_url(url)}", str(dumped)],
                           check=True, capture_output=True)
        copied = 0
        for name in manifest["members"]:
            if name.startswith("copies/"):
                destination = copies_root / name.removeprefix("copies/")
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(work / name, destination)
                copied += 1
    return Restored(database=kind, rows=row_counts(engine), copies=copied,
                    audit_head=_audit_head(engine), taken_at=manifest["taken_at"])


def latest(to_dir: Path) -> Path | None:
    """The newest backup archive in this directory, if there is one."""
    found = sorted(p for p in to_dir.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())
    return found[-1] if found else None


def trial(archive: Path) -> list[str]:
    """Try a restore of this archive without touching the live database: every member
    against its SHA-256, and the database restored into a scratch file (SQLite) or listed by
    pg_restore (PostgreSQL) with its rows counted against the manifest. Returns the problems
    found (none: it restores)."""
    try:
        manifest = read_manifest(archive)
    except Invalid as exc:
        return [exc.message]
    if manifest.get("format") != FORMAT:
        return [f"backup format {manifest.get('format')} is not one this version reads"]
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        with tarfile.open(archive, "r") as tar:
            tar.extractall(work, filter="data")
        for name, facts in manifest["members"].items():
            path = work / name
            if not path.is_file():
                problems.append(f"{name} is missing from {archive.name}")
            elif _sha256(path) != facts["sha256"]:
                problems.append(f"{name} in {archive.name} does not match its SHA-256")
        if problems:
            return problems
        dumped = work / manifest["database_file"]
        if manifest["database"] == "sqlite":
            restored = work / "restored.sqlite3"
            with sqlite3.connect(dumped) as source, sqlite3.connect(restored) as into:
                source.backup(into)
            engine = create_engine(f"sqlite:///{restored}")
            try:
                counts = row_counts(engine)
            finally:
                engine.dispose()
            for table, rows in (manifest.get("rows") or {}).items():
                if counts.get(table) != rows:
                    problems.append(f"table {table}: {counts.get(table)} rows restored, the "
                                    f"manifest says {rows}")
        elif shutil.which("pg_restore") is None:
            problems.append("pg_restore is not on PATH: the PostgreSQL dump could not be read")
        else:
            listed = subprocess.run(["pg_restore", "--list", str(dumped)], capture_output=True)
            if listed.returncode != 0:
                problems.append("pg_restore cannot read the dump: "
                                + listed.stderr.decode(errors="replace").strip()[:200])
    return problems


def prune(to_dir: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups in this directory; the removed ones."""
    found = sorted(p for p in to_dir.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())
    gone = found[:-keep] if keep > 0 else found
    for path in gone:
        path.unlink(missing_ok=True)
    return gone
