"""A person's e-mail for loan reminders: set over the API and the command line, shown to
admins and to the person themself."""

from __future__ import annotations

from sqlmodel import Session, select

from server.models.audit import AuditEntry
from tests.integration.test_people_and_cli import cli


def test_an_admin_sets_and_clears_an_email_and_only_admin_and_self_see_it(client, auth, db):
    admin, borrower, staff = auth("admin"), auth("borrower"), auth("staff")
    name = "borrower-default"
    set_ = client.patch(f"/api/users/{name}", headers=admin, json={"email": "li.wei@example.org"})
    assert set_.status_code == 200, set_.text
    assert set_.json()["email"] == "li.wei@example.org"
    assert client.get(f"/api/users/{name}", headers=borrower).json()["email"] == "li.wei@example.org"
    assert client.get("/api/auth/me", headers=borrower).json()["email"] == "li.wei@example.org"
    assert client.get(f"/api/users/{name}", headers=admin).json()["email"] == "li.wei@example.org"
    other = client.get(f"/api/users/{name}", headers=staff)
    assert other.status_code == 403 and "only an admin" in other.json()["detail"]
    assert client.patch(f"/api/users/{name}", headers=borrower,
                        json={"email": "x@example.org"}).status_code == 403

    bad = client.patch(f"/api/users/{name}", headers=admin, json={"email": "not an address"})
    assert bad.status_code == 422 and bad.json()["field"] == "email"
    assert "not an e-mail address" in bad.json()["detail"]
    assert client.get(f"/api/users/{name}", headers=admin).json()["email"] == "li.wei@example.org"

    cleared = client.patch(f"/api/users/{name}", headers=admin, json={"email": ""})
    assert cleared.status_code == 200 and cleared.json()["email"] is None
    kept = client.patch(f"/api/users/{name}", headers=admin, json={"role": "borrower"})
    assert kept.json()["email"] is None
    with Session(db) as s:
        changes = [(e.before or {}).get("email") for e in s.exec(
            select(AuditEntry).where(AuditEntry.entity == "user", AuditEntry.entity_id == name,
                                     AuditEntry.action == "update"))]
    assert changes[:2] == [None, "li.wei@example.org"]

    made = client.post("/api/users", headers=admin, json={
        "username": "zhao.min", "password": "a-long-password", "role": "borrower",
        "email": "zhao.min@example.org"})
    assert made.status_code == 201 and made.json()["email"] == "zhao.min@example.org"


def test_users_add_email_and_users_email_from_the_command_line(tmp_path):
    from server.db import make_engine
    from server.services import people
    from server.settings import Settings

    env = {"ARCHIVE_TWIN_DATA_DIR": str(tmp_path)}
    assert cli("init", env=env).returncode == 0
    added = cli("users", "add", "qian", "--role", "borrower", "--email", "qian@example.org",
                env=env, stdin="first-password\n")
    assert added.returncode == 0, added.stderr
    engine = make_engine(Settings(data_dir=tmp_path).db_url)
    with Session(engine) as s:
        assert people.get_user(s, "qian").email == "qian@example.org"
    changed = cli("users", "email", "qian", "qian.new@example.org", env=env)
    assert changed.returncode == 0 and "qian.new@example.org" in changed.stdout
    bad = cli("users", "email", "qian", "nonsense", env=env)
    assert bad.returncode == 2 and "not an e-mail address" in bad.stderr
    with Session(engine) as s:
        assert people.get_user(s, "qian").email == "qian.new@example.org"
    cleared = cli("users", "email", "qian", env=env)
    assert cleared.returncode == 0 and "no e-mail address" in cleared.stdout
    with Session(engine) as s:
        assert people.get_user(s, "qian").email is None
    engine.dispose()
