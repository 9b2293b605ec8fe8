"""Sessions that end: sign-out, disabling and new passwords refuse the token at once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from server.app import create_app
from server.services import people
from tests.conftest import PASSWORD
from tests.integration.test_people_and_cli import cli


def _sign_in(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    answer = client.post("/api/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _person(db, username: str, role: str = "staff") -> None:
    with Session(db) as s:
        people.create_user(s, username=username, password=PASSWORD, role=role)
        s.commit()


def test_sign_out_refuses_the_token_at_once_in_every_worker(client, db, settings):
    _person(db, "wang")
    headers = _sign_in(client, "wang")
    other = _sign_in(client, "wang")  # a second sign-in of the same person lives on
    with TestClient(create_app(settings)) as second_worker:
        # the second worker has just served this token: it must not keep trusting it
        assert second_worker.get("/api/boxes", headers=headers).status_code == 200
        assert client.get("/api/boxes", headers=headers).status_code == 200
        assert client.post("/api/auth/signout", headers=headers).status_code == 204
        for worker in (client, second_worker):
            answer = worker.get("/api/boxes", headers=headers)
            assert answer.status_code == 401 and "ended" in answer.json()["detail"]
        assert second_worker.get("/api/boxes", headers=other).status_code == 200
    assert client.post("/api/auth/signout", headers=headers).status_code == 401


def test_disabling_or_a_new_password_ends_every_session_at_once(client, db, auth):
    admin = auth("admin")
    _person(db, "li")
    first, second = _sign_in(client, "li"), _sign_in(client, "li")
    assert client.get("/api/boxes", headers=first).status_code == 200
    shown = client.get("/api/users/li", headers=admin).json()
    assert {k: shown[k] for k in ("username", "role", "clearance", "disabled")} == {
        "username": "li", "role": "staff", "clearance": "internal", "disabled": False}

    off = client.patch("/api/users/li", headers=admin, json={"disabled": True})
    assert off.status_code == 200 and off.json()["disabled"] is True
    for headers in (first, second):
        assert client.get("/api/boxes", headers=headers).status_code == 401
    refused = client.post("/api/auth/token", data={"username": "li", "password": PASSWORD})
    assert refused.status_code == 401

    assert client.patch("/api/users/li", headers=admin, json={"disabled": False}).status_code == 200
    again = _sign_in(client, "li")
    assert client.get("/api/boxes", headers=again).status_code == 200
    changed = client.patch("/api/users/li", headers=admin, json={"password": "a-new-password-1"})
    assert changed.status_code == 200
    assert client.get("/api/boxes", headers=again).status_code == 401
    assert client.post("/api/auth/token",
                       data={"username": "li", "password": PASSWORD}).status_code == 401
    _sign_in(client, "li", "a-new-password-1")

    promoted = client.patch("/api/users/li", headers=admin,
                            json={"role": "archivist", "clearance": "confidential"})
    assert promoted.json()["role"] == "archivist" and promoted.json()["clearance"] == "confidential"
    trail = client.get("/api/audit", headers=admin, params={"entity": "user", "entity_id": "li"})
    actions = [(e["action"], e["after"].get("sessions_ended")) for e in trail.json()["items"]]
    assert ("update", 2) in actions and ("update", 1) in actions
    assert client.patch("/api/users/li", headers=auth("archivist"),
                        json={"disabled": True}).status_code == 403
    missing = client.patch("/api/users/nobody", headers=admin, json={"disabled": True})
    assert missing.status_code == 404 and missing.json()["field"] == "username"
    assert client.get("/api/users/nobody", headers=admin).status_code == 404
    short = client.patch("/api/users/li", headers=admin, json={"password": "short"})
    assert short.status_code == 422


def test_dashboard_sign_out_ends_the_session(client, db):
    _person(db, "zhao")
    page = client.post("/signin", data={"username": "zhao", "password": PASSWORD, "next": "/"},
                       follow_redirects=False)
    assert page.status_code == 303
    cookie = client.cookies.get("archive_twin_session")
    bearer = {"Authorization": f"Bearer {cookie}"}
    assert client.get("/api/boxes", headers=bearer).status_code == 200
    assert client.post("/signout", follow_redirects=False).status_code == 303
    # the cookie's token was stolen before sign-out: it is now worthless
    assert client.get("/api/boxes", headers=bearer).status_code == 401
    client.cookies.set("archive_twin_session", cookie)
    assert client.get("/find", follow_redirects=False).status_code == 303


def test_users_disable_enable_and_password_from_the_command_line(tmp_path):
    env = {"ARCHIVE_TWIN_DATA_DIR": str(tmp_path)}
    assert cli("init", env=env).returncode == 0
    assert cli("users", "add", "qian", "--role", "staff", env=env,
               stdin="first-password\n").returncode == 0
    from server.db import make_engine
    from server.services import security
    from server.settings import Settings

    engine = make_engine(Settings(data_dir=tmp_path).db_url)
    with Session(engine) as s:
        user = people.get_user(s, "qian")
        assert user is not None
        token = security.open_session(s, user, secret_key="k" * 32,
                                      ttl=__import__("datetime").timedelta(hours=1))
        s.commit()
    off = cli("users", "disable", "qian", env=env)
    assert off.returncode == 0 and "disabled" in off.stdout
    with Session(engine) as s:
        assert security.user_for_token(s, token, secret_key="k" * 32) is None
    assert cli("users", "enable", "qian", env=env).returncode == 0
    new = cli("users", "password", "qian", env=env, stdin="second-password\n")
    assert new.returncode == 0 and "new password" in new.stdout
    with Session(engine) as s:
        assert people.authenticate(s, username="qian", password="second-password") is not None
        assert people.authenticate(s, username="qian", password="first-password") is None
    nobody = cli("users", "disable", "ghost", env=env)
    assert nobody.returncode == 2 and "ghost" in nobody.stderr
    engine.dispose()


def test_old_sessions_and_spent_failures_are_forgotten_by_the_job(client, db, settings):
    from datetime import timedelta

    from sqlmodel import select

    from server.clock import now
    from server.jobs import forget_old_sign_ins
    from server.models.sessions import SignInSession, SignInThrottle

    _person(db, "he")
    kept = _sign_in(client, "he")
    ended = _sign_in(client, "he")
    assert client.post("/api/auth/signout", headers=ended).status_code == 204
    assert client.post("/api/auth/token", data={"username": "he", "password": "wrong-one"}
                       ).status_code == 401
    with Session(db) as s:
        for row in s.exec(select(SignInSession)).all():
            if row.ended_at is not None:
                row.ended_at = now() - timedelta(days=2)
                s.add(row)
        for row in s.exec(select(SignInThrottle)).all():
            row.last_failure_at = now() - timedelta(days=2)
            s.add(row)
        s.commit()
    forget_old_sign_ins(settings, db)
    with Session(db) as s:
        assert len(s.exec(select(SignInSession)).all()) == 1
        assert s.exec(select(SignInThrottle)).all() == []
    assert client.get("/api/boxes", headers=kept).status_code == 200
