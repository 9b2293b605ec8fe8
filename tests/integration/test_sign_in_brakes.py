"""Sign-in brakes: a few failures are free, then 429 with a Retry-After that grows."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlmodel import Session

from server.app import create_app
from server.services import people
from tests.conftest import PASSWORD


def _try(client: TestClient, username: str, password: str):
    return client.post("/api/auth/token", data={"username": username, "password": password})


def test_guessing_one_password_is_braked_and_the_block_grows(db, settings, auth):
    settings = settings.model_copy(update={"sign_in_free_failures": 3,
                                           "sign_in_first_block_s": 1.0})
    with Session(db) as s:
        people.create_user(s, username="sun", password=PASSWORD, role="staff")
        s.commit()
    with TestClient(create_app(settings)) as client:
        for _ in range(3):
            assert _try(client, "sun", "wrong-guess").status_code == 401
        assert _try(client, "sun", "wrong-guess").status_code == 401  # this one starts a block
        braked = _try(client, "sun", PASSWORD)  # even the right password waits
        assert braked.status_code == 429
        assert int(braked.headers["Retry-After"]) == 1
        assert "try again" in braked.json()["detail"]
        time.sleep(1.1)
        assert _try(client, "sun", "wrong-again").status_code == 401
        longer = _try(client, "sun", "wrong-again")
        assert longer.status_code == 429 and int(longer.headers["Retry-After"]) == 2
        time.sleep(2.1)
        assert _try(client, "sun", PASSWORD).status_code == 200  # and the count starts again
        assert _try(client, "sun", "wrong").status_code == 401
        assert _try(client, "sun", PASSWORD).status_code == 200

        trail = client.get("/api/audit", headers=auth("admin"),
                           params={"entity": "user", "entity_id": "sun"}).json()["items"]
        braking = [e for e in trail if e["action"] == "sign_in_braked"]
        assert [e["after"]["retry_after_s"] for e in braking] == [2, 1]
        assert braking[0]["after"]["address"] == "testclient"


def test_one_address_guessing_many_usernames_is_braked(db, settings):
    settings = settings.model_copy(update={"sign_in_free_failures_per_address": 4})
    with TestClient(create_app(settings)) as client:
        for n in range(4):
            assert _try(client, f"user{n}", "guess").status_code == 401
        assert _try(client, "user9", "guess").status_code == 401
        braked = _try(client, "someone-else", "guess")
        assert braked.status_code == 429 and int(braked.headers["Retry-After"]) >= 1


def test_the_dashboard_form_is_braked_as_well(db, settings):
    settings = settings.model_copy(update={"sign_in_free_failures": 2})
    with TestClient(create_app(settings)) as client:
        for _ in range(3):
            page = client.post("/signin", data={"username": "zhou", "password": "x" * 9})
            assert page.status_code == 401
        page = client.post("/signin", data={"username": "zhou", "password": "x" * 9})
        assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
        assert "Too many failed sign-ins" in page.text


def test_failures_counted_at_once_by_many_workers_are_all_counted(db):
    import threading

    from server.db import writing
    from server.models.sessions import SignInThrottle
    from server.services import security

    writer = writing(db)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def fail() -> None:
        try:
            start.wait()
            with Session(writer) as s:
                security.note_failure(s, username="same-name", address="10.0.0.9")
                s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(db) as s:
        assert s.get(SignInThrottle, "user:same-name").failures == 8
        assert s.get(SignInThrottle, "addr:10.0.0.9").failures == 8
