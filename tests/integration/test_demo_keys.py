"""The demo's keys cannot open real data: its database, its key, and `serve`'s refusals."""

from __future__ import annotations

from datetime import timedelta

import jwt
from sqlmodel import Session

from server.clock import now
from server.db import make_engine, migrate, session_scope
from server.services import people, security
from server.settings import DEMO_KEY_FILE
from tests.conftest import PASSWORD
from tests.integration.test_people_and_cli import cli

OLD_BUILT_IN_KEY = "demo-only-secret-key-not-for-real-data"


def test_a_token_forged_with_the_old_built_in_key_is_refused(client, auth, db, settings):
    admin = auth("admin")
    assert client.get("/api/users", headers=admin).status_code == 200
    with Session(db) as s:
        real = people.get_user(s, "admin-default")
        assert real is not None
        # a real session id, even: without our key the signature does not hold
        token = security.open_session(s, real, secret_key=settings.secret_key,
                                      ttl=timedelta(hours=1))
        s.commit()
    sid = jwt.decode(token, options={"verify_signature": False})["sid"]
    for key in (OLD_BUILT_IN_KEY, "change-me"):
        forged = jwt.encode({"sub": "admin-default", "role": "admin", "sid": sid,
                             "iat": now(), "exp": now() + timedelta(hours=1)}, key,
                            algorithm="HS256")
        answer = client.get("/api/users", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401
    # a token with our key but no session behind it is no better
    sessionless = jwt.encode({"sub": "admin-default", "role": "admin", "sid": "made-up",
                              "exp": now() + timedelta(hours=1)}, settings.secret_key,
                             algorithm="HS256")
    assert client.get("/api/users",
                      headers={"Authorization": f"Bearer {sessionless}"}).status_code == 401


def test_serve_refuses_placeholder_and_demo_keys_even_in_demo_mode(tmp_path):
    base = {"ARCHIVE_TWIN_DATA_DIR": str(tmp_path), "ARCHIVE_TWIN_DEMO": "1"}
    for key in ("change-me", OLD_BUILT_IN_KEY, "short"):
        refused = cli("serve", env={**base, "ARCHIVE_TWIN_SECRET_KEY": key})
        assert refused.returncode == 2 and "ARCHIVE_TWIN_SECRET_KEY" in refused.stderr, key
    demo_key = "a-demo-key-that-is-long-enough-0123456789"
    (tmp_path / DEMO_KEY_FILE).write_text(demo_key + "\n")
    refused = cli("serve", env={**base, "ARCHIVE_TWIN_SECRET_KEY": demo_key})
    assert refused.returncode == 2 and "demo's key" in refused.stderr


def test_the_demo_refuses_a_database_it_did_not_seed(tmp_path):
    data = tmp_path / "real"
    data.mkdir()
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        people.create_user(s, username="director", password=PASSWORD, role="admin")
    refused = cli("demo", "--port", "0",
                  env={"ARCHIVE_TWIN_DATABASE_URL": url, "ARCHIVE_TWIN_DATA_DIR": str(tmp_path)})
    assert refused.returncode == 2
    assert "holds data the demo did not seed" in refused.stderr
    assert "ARCHIVE_TWIN_DATA_DIR" in refused.stderr
    with Session(engine) as s:
        assert people.get_user(s, "admin") is None  # no demo login was added
    engine.dispose()
    assert not (tmp_path / DEMO_KEY_FILE).read_text().strip().startswith("demo-only")
