"""Signing in, people, and the command line an operator types."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import jwt
import pytest

from server.clock import now
from server.services import people
from tests.conftest import PASSWORD


def cli(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], env={"PATH": "/usr/bin:/bin", **env},
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_sign_in_and_who_am_i(client, auth):
    headers = auth("archivist")
    me = client.get("/api/auth/me", headers=headers).json()
    assert me == {"username": "archivist-default", "full_name": None, "role": "archivist",
                  "clearance": "confidential", "active": True,
                  "disabled": False, "email": None}
    wrong = client.post("/api/auth/token", data={"username": "archivist-default", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong username or password"
    nobody = client.post("/api/auth/token", data={"username": "ghost", "password": PASSWORD})
    assert nobody.status_code == 401


def test_expired_or_forged_tokens_are_refused(client, auth, settings):
    auth("staff")
    expired = jwt.encode({"sub": "staff-default", "sid": "x", "exp": now() - timedelta(minutes=1)},
                         settings.secret_key, algorithm="HS256")
    answer = client.get("/api/boxes", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    forged = jwt.encode({"sub": "staff-default", "exp": now() + timedelta(minutes=5)},
                        "another-key-that-is-long-enough-000", algorithm="HS256")
    assert client.get("/api/boxes", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_a_disabled_account_is_refused_at_once(client, auth, session):
    headers = auth("staff")
    assert client.get("/api/boxes", headers=headers).status_code == 200
    person = people.get_user(session, "staff-default")
    person.active = False
    session.add(person)
    session.commit()
    answer = client.get("/api/boxes", headers=headers)
    assert answer.status_code == 401 and "disabled" in answer.json()["detail"]


def test_admins_add_people_and_nobody_else_may(client, auth):
    admin = auth("admin")
    body = {"username": "li.wei", "password": "a-long-password", "role": "borrower",
            "full_name": "李伟"}
    made = client.post("/api/users", headers=admin, json=body)
    assert made.status_code == 201 and made.json()["clearance"] == "public"
    again = client.post("/api/users", headers=admin, json=body)
    assert again.status_code == 409 and again.json()["field"] == "username"
    short = client.post("/api/users", headers=admin, json={**body, "username": "x2", "password": "short"})
    assert short.status_code == 422
    assert client.post("/api/users", headers=auth("archivist"), json=body).status_code == 403
    names = [u["username"] for u in client.get("/api/users", headers=admin).json()]
    assert "li.wei" in names
    signed = client.post("/api/auth/token", data={"username": "li.wei", "password": "a-long-password"})
    assert signed.status_code == 200


def test_init_users_add_and_labels_epc_from_the_command_line(tmp_path):
    env = {"ARCHIVE_TWIN_DATA_DIR": str(tmp_path)}
    first = cli("init", "--admin", "root", env=env, stdin="first-admin-password\n")
    assert first.returncode == 0, first.stderr
    assert "admin root created" in first.stdout
    again = cli("init", "--admin", "root", env=env, stdin="whatever-else\n")
    assert again.returncode == 0 and "exists already" in again.stdout
    added = cli("users", "add", "zhang", "--role", "staff", env=env, stdin="zhang-password\n")
    assert added.returncode == 0 and "added as staff" in added.stdout
    dup = cli("users", "add", "zhang", "--role", "staff", "--password", "zhang-password", env=env)
    assert dup.returncode == 2 and "already exists" in dup.stderr
    empty = cli("users", "add", "wang", "--role", "staff", env=env, stdin="")
    assert empty.returncode != 0 and "no password" in empty.stderr
    forms = cli("labels", "epc", "b00000123", env=env)
    assert forms.returncode == 0
    assert "urn:epc:id:giai:0614141.100000123" in forms.stdout and "kind         box" in forms.stdout
    bad = cli("labels", "epc", "not-a-code", env=env)
    assert bad.returncode == 2 and "error:" in bad.stderr


@pytest.mark.parametrize(("tag", "forms", "why"), [
    # GS1 EPC Tag Data Standard's own examples: valid tags, but not this archive's boxes/places
    ("urn:epc:id:giai:0614141.12345400",
     ("3414257BF400000000BC6038", "urn:epc:tag:giai-96:0.0614141.12345400",
      "(8004)061414112345400"), "not a box"),
    ("urn:epc:tag:giai-96:3.0614141.5678",
     ("3474257BF40000000000162E", "urn:epc:id:giai:0614141.5678"), "not a box"),
    ("3274257BF46072000000162E",
     ("urn:epc:id:sgln:0614141.12345.5678", "urn:epc:tag:sgln-96:3.0614141.12345.5678",
      "(414)0614141123452(254)5678"), "site 12345"),
    ("URN:EPC:ID:SGLN:0614141.12345.400",
     ("3214257BF460720000000190", "urn:epc:tag:sgln-96:0.0614141.12345.400"), "site 12345"),
    ("urn:epc:tag:giai-96:1.1234567.1", ("34344B5A1C00000000000001",), "another organisation"),
])
def test_labels_epc_prints_any_valid_tag_and_says_when_it_is_not_ours(tmp_path, tag, forms, why):
    shown = cli("labels", "epc", tag, env={"ARCHIVE_TWIN_DATA_DIR": str(tmp_path)})
    assert shown.returncode == 0, shown.stderr
    for form in forms:
        assert form in shown.stdout
    [verdict] = [line for line in shown.stdout.splitlines() if line.startswith("archive ")]
    assert "not one of this archive's" in verdict and why in verdict
    assert "kind " not in shown.stdout


def test_labels_epc_names_our_box_from_its_tag(tmp_path):
    shown = cli("labels", "epc", "3414257bf400000005f5e17b",
                env={"ARCHIVE_TWIN_DATA_DIR": str(tmp_path)})
    assert shown.returncode == 0, shown.stderr
    assert "kind         box" in shown.stdout and "code         B00000123" in shown.stdout
    assert "not one of" not in shown.stdout
    malformed = cli("labels", "epc", "3034257BF7194E4000001A85",
                    env={"ARCHIVE_TWIN_DATA_DIR": str(tmp_path)})
    assert malformed.returncode == 2 and "SGTIN-96" in malformed.stderr


def test_serve_refuses_a_placeholder_secret(tmp_path):
    answer = cli("serve", env={"ARCHIVE_TWIN_DATA_DIR": str(tmp_path)})
    assert answer.returncode == 2 and "ARCHIVE_TWIN_SECRET_KEY" in answer.stderr
    bad_prefix = cli("serve", env={"ARCHIVE_TWIN_DATA_DIR": str(tmp_path),
                                   "ARCHIVE_TWIN_EPC_COMPANY_PREFIX": "12ab"})
    assert bad_prefix.returncode == 2 and "company prefix" in bad_prefix.stderr


def test_health_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok", "broker": "disabled"}
    spec = client.get("/openapi.json").json()
    for path in ("/api/scan/{code}", "/api/locations", "/api/boxes/{code}/move", "/api/records",
                 "/api/devices", "/api/devices/rejects", "/api/alarms", "/api/auth/token"):
        assert path in spec["paths"], path


def test_devices_are_registered_and_listed_from_the_command_line(tmp_path):
    from server.db import make_engine, session_scope
    from server.models.places import LocationCreate
    from server.services import locations
    from server.services.codes import CodeScheme
    from server.settings import Settings

    env = {"ARCHIVE_TWIN_DATA_DIR": str(tmp_path)}
    assert cli("init", env=env).returncode == 0
    with session_scope(make_engine(Settings(data_dir=tmp_path).db_url)) as session:
        room = locations.create_location(session, LocationCreate(name="一号库房", kind="room"),
                                         scheme=CodeScheme(), actor="test").code
    added = cli("devices", "add", "gate-1", "--type", "reader", "--role", "gate", "--room", room,
                env=env)
    assert added.returncode == 0, added.stderr
    assert "device gate-1 registered as reader (gate)" in added.stdout
    assert cli("devices", "add", "scan-7", "--type", "scanner", env=env).returncode == 0
    again = cli("devices", "add", "gate-1", "--type", "reader", "--role", "gate", "--room", room,
                env=env)
    assert again.returncode == 2 and "already registered" in again.stderr
    roomless = cli("devices", "add", "th-1", "--type", "sensor", env=env)
    assert roomless.returncode == 2 and "(room)" in roomless.stderr
    badly = cli("devices", "add", "shelf-1", "--type", "reader", "--role", "shelf",
                "--antenna", "1:L00000001", env=env)
    assert badly.returncode == 2 and "NUMBER=LOCATION" in badly.stderr
    listed = cli("devices", "list", env=env)
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("gate-1") and room in lines[0] and lines[1].startswith("scan-7")
    assert lines[-1] == "2 devices"

    # an installer corrects the gate's room by name of code, then retires the scanner
    with session_scope(make_engine(Settings(data_dir=tmp_path).db_url)) as session:
        other = locations.create_location(session, LocationCreate(name="二号库房", kind="room"),
                                          scheme=CodeScheme(), actor="test").code
    moved = cli("devices", "correct", "gate-1", "--room", other, env=env)
    assert moved.returncode == 0, moved.stderr
    assert f"device gate-1 corrected: gate, {other}" in moved.stdout
    nothing = cli("devices", "correct", "gate-1", env=env)
    assert nothing.returncode == 2 and "nothing to correct" in nothing.stderr
    roomless = cli("devices", "correct", "gate-1", "--room", "", env=env)
    assert roomless.returncode == 2 and "(room)" in roomless.stderr
    assert cli("devices", "retire", "scan-7", env=env).returncode == 0
    gone = cli("devices", "retire", "scan-7", env=env)
    assert gone.returncode == 2 and "no device is registered" in gone.stderr
    listed = cli("devices", "list", env=env).stdout.splitlines()
    assert other in listed[0] and listed[-1] == "1 device"
