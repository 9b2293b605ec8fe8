"""The audit log's hash chain holds, and tampering is found and located."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import text
from sqlmodel import Session

from server.models.places import LocationCreate
from server.services import audit, locations
from tests.conftest import SCHEME


def _some_history(session: Session, first: int = 0) -> None:
    for n in range(first, first + 5):
        locations.create_location(session, LocationCreate(name=f"Room {n}", kind="room"),
                                  scheme=SCHEME, actor="alice")
    session.commit()


def test_an_untouched_chain_verifies(session):
    _some_history(session)
    checked, broken = audit.verify(session)
    assert (checked, broken) == (5, None)


def test_an_altered_entry_is_named(session, db):
    _some_history(session)
    with db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"))
    session.expire_all()
    checked, broken = audit.verify(session)
    assert checked == 2
    assert broken.entry_id == 3 and "altered" in broken.reason


def test_a_removed_entry_is_found(session, db):
    _some_history(session)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 2"))
    checked, broken = audit.verify(session)
    assert checked == 1
    assert broken.entry_id == 3 and "removed" in broken.reason


def test_the_command_line_reports_the_break(session, db, database_url):
    _some_history(session)
    env = {"ARCHIVE_TWIN_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "server.cli", "audit", "verify"], env=env,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "intact: 5 entries" in ok.stdout
    with db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET after = NULL WHERE id = 4"))
    bad = subprocess.run([sys.executable, "-m", "server.cli", "audit", "verify"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "BROKEN at entry 4" in bad.stdout


def test_an_anchor_kept_elsewhere_finds_the_newest_entries_cut_off(session, db, database_url):
    _some_history(session)
    env = {"ARCHIVE_TWIN_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}

    def verify(*extra):
        return subprocess.run([sys.executable, "-m", "server.cli", "audit", "verify", *extra],
                              env=env, capture_output=True, text=True, timeout=60)

    first = verify()
    anchor = next(line for line in first.stdout.splitlines() if line.startswith("head: "))[6:]
    assert anchor.startswith("5:")
    _some_history(session, first=5)  # the log goes on
    assert verify("--anchor", anchor).returncode == 0
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id >= 4"))
    assert verify().returncode == 0  # the chain alone cannot see a cut at its end
    cut = verify("--anchor", anchor)
    assert cut.returncode == 1 and "BROKEN at entry 5" in cut.stdout and "removed" in cut.stdout
    assert verify("--anchor", "5:nothex").returncode == 2


def test_the_api_reports_the_chain(client, auth, db):
    admin = auth("admin")
    assert client.get("/api/audit/verify", headers=admin).json()["intact"] is True
    with db.begin() as conn:
        conn.execute(text("UPDATE audit_log SET action = 'nothing' WHERE id = 1"))
    report = client.get("/api/audit/verify", headers=admin).json()
    assert report["intact"] is False and report["first_break"] == 1
    assert client.get("/api/audit/verify", headers=auth("archivist")).status_code == 403
