"""The restore drill: back up a busy instance, restore it into a fresh one, and find the
audit chain intact with the same head, the same row counts and the same copies."""

from __future__ import annotations

import json
import tarfile
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from server.db import make_engine
from server.models.copies import ElectronicCopy
from server.services import audit, backups
from server.services.copies import CopyStore, hash_file
from tests.integration.test_copies import add_record, make_pdf, make_png, upload
from tests.integration.test_people_and_cli import cli


def _busy_archive(client, admin) -> list[str]:
    room = client.post("/api/locations", headers=admin,
                       json={"name": "库房一", "kind": "room", "parent": None}).json()["code"]
    shelves = [client.post("/api/locations", headers=admin, json={
        "name": f"S{n}", "kind": "shelf", "parent": room, "capacity": 50}).json()["code"]
        for n in range(2)]
    boxes = [client.post("/api/boxes", headers=admin, json={"home": shelves[0]}).json()["code"]
             for _ in range(6)]
    for n in range(8):
        add_record(client, admin, ref=f"WS·2024·Y·{n + 1:04d}")
    for n, data in enumerate((make_pdf("one"), make_pdf("two"), make_png())):
        assert upload(client, admin, f"WS·2024·Y·{n + 1:04d}", data,
                      name=f"copy-{n}.{'png' if n == 2 else 'pdf'}").status_code == 201
    return [*shelves, *boxes]


def _fresh_url(source_url: str, tmp_path: Path) -> str:
    if source_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'archive.sqlite3'}"
    name = f"at_drill_{uuid.uuid4().hex[:8]}"
    admin = make_engine(source_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(source_url).set(database=name).render_as_string(hide_password=False)


def _drop(url: str, source_url: str) -> None:
    if url.startswith("sqlite"):
        return
    admin = make_engine(source_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)"))
    admin.dispose()


def test_back_up_a_busy_instance_and_restore_it_into_a_fresh_one(client, auth, settings,
                                                                    database_url, tmp_path):
    admin = auth("admin")
    places = _busy_archive(client, admin)
    shelves, boxes = places[:2], places[2:]
    stop = threading.Event()
    moved = [0]

    def keep_moving() -> None:  # the instance stays busy while it is backed up
        n = 0
        while not stop.is_set():
            box, to = boxes[n % len(boxes)], shelves[n % 2]
            if client.post(f"/api/boxes/{box}/move", headers=admin, json={"to": to}).status_code == 200:
                moved[0] += 1
            n += 1

    mover = threading.Thread(target=keep_moving)
    mover.start()
    try:
        while moved[0] < 5:
            threading.Event().wait(0.05)
        env = {"ARCHIVE_TWIN_DATABASE_URL": database_url,
               "ARCHIVE_TWIN_DATA_DIR": str(settings.data_dir)}
        taken = cli("backup", "--to", str(tmp_path / "backups"), env=env)
    finally:
        stop.set()
        mover.join()
    assert taken.returncode == 0, taken.stderr
    archive = Path(taken.stdout.strip().splitlines()[-1])
    assert archive.is_file() and archive.parent == tmp_path / "backups"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names[0] == "manifest.json"
    assert sum(n.startswith("copies/") for n in names) == manifest["copies"] == 3
    assert all(len(m["sha256"]) == 64 for m in manifest["members"].values())
    assert manifest["rows"]["movements"] >= 5

    target = _fresh_url(database_url, tmp_path)
    try:
        fresh = {"ARCHIVE_TWIN_DATABASE_URL": target,
                 "ARCHIVE_TWIN_DATA_DIR": str(tmp_path / "restored")}
        done = cli("restore", str(archive), env=fresh)
        assert done.returncode == 0, done.stderr
        assert "restored the backup taken" in done.stdout and "3 electronic copies" in done.stdout
        assert f"audit head {manifest['audit_head'][0]}:" in done.stdout

        verified = cli("audit", "verify", "--anchor",
                       f"{manifest['audit_head'][0]}:{manifest['audit_head'][1]}", env=fresh)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert f"head: {manifest['audit_head'][0]}:{manifest['audit_head'][1]}" in verified.stdout

        engine = make_engine(target)
        assert backups.row_counts(engine) == manifest["rows"]
        with Session(engine) as session:
            assert audit.verify(session)[1] is None
            store = CopyStore(tmp_path / "restored" / "copies")
            restored = session.exec(select(ElectronicCopy)).all()
            assert len(restored) == 3
            for copy in restored:
                assert hash_file(store.path_of(copy.sha256)) == copy.sha256
        original = CopyStore(settings.copies_path)
        assert sorted(c.sha256 for c in restored) == sorted(
            p.name for p in original.root.rglob("*") if p.is_file() and "incoming" not in p.parts)
        engine.dispose()

        again = cli("restore", str(archive), env=fresh)
        assert again.returncode == 2 and "holds data" in again.stderr
    finally:
        _drop(target, database_url)


def test_a_damaged_backup_restores_nothing(client, auth, settings, database_url, tmp_path):
    admin = auth("admin")
    add_record(client, admin)
    assert upload(client, admin, "WS·2024·Y·0001", make_pdf()).status_code == 201
    env = {"ARCHIVE_TWIN_DATABASE_URL": database_url,
           "ARCHIVE_TWIN_DATA_DIR": str(settings.data_dir)}
    archive = Path(cli("backup", "--to", str(tmp_path), env=env).stdout.strip())
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as tar, tarfile.open(damaged, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("copies/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            import io
            out.addfile(member, io.BytesIO(data))
    target = _fresh_url(database_url, tmp_path)
    try:
        fresh = {"ARCHIVE_TWIN_DATABASE_URL": target,
                 "ARCHIVE_TWIN_DATA_DIR": str(tmp_path / "restored")}
        refused = cli("restore", str(damaged), env=fresh)
        assert refused.returncode == 2 and "does not match its SHA-256" in refused.stderr
        engine = make_engine(target)
        assert backups.holds_data(engine) == []
        engine.dispose()
    finally:
        _drop(target, database_url)


@pytest.mark.parametrize("keep", [2])
def test_the_backup_job_keeps_only_the_newest(settings, db, tmp_path, keep):
    from server.jobs import take_backup

    chosen = settings.model_copy(update={"backup_interval_hours": 1.0, "backup_keep": keep,
                                         "backup_dir": tmp_path / "kept"})
    for _ in range(4):
        take_backup(chosen, db)
    kept = sorted((tmp_path / "kept").glob("archive-twin-backup-*.tar"))
    assert len(kept) == keep
    quiet = settings.model_copy(update={"backup_interval_hours": 0, "backup_dir": tmp_path / "no"})
    take_backup(quiet, db)
    assert not (tmp_path / "no").exists()
