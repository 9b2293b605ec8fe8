"""Fixity: a tampered or missing stored copy is found, recorded on the copy and alarmed;
the run survives bad files, is safe to repeat, and clears once the bytes are restored."""

from __future__ import annotations

import pytest

from server import cli
from server.jobs import build_scheduler
from server.services.copies import CopyStore
from server.services.fixity import verify_copies
from tests.integration.test_copies import add_record, make_pdf, make_png, upload


@pytest.fixture
def three_copies(client, auth):
    admin = auth("admin")
    for n in (1, 2, 3):
        add_record(client, admin, ref=f"WS·2024·Y·000{n}")
    files = (make_pdf("one"), make_png(), make_pdf("three"))
    made = [upload(client, admin, f"WS·2024·Y·000{n}", data).json()
            for n, data in zip((1, 2, 3), files, strict=True)]
    return admin, made


def test_a_tampered_copy_raises_one_alarm_and_is_shown_on_the_copy(client, db, settings,
                                                                   three_copies):
    admin, (_, tampered, gone) = three_copies
    store = CopyStore(settings.copies_path)
    original = store.path_of(tampered["sha256"]).read_bytes()
    store.path_of(tampered["sha256"]).write_bytes(original[:-10] + b"0123456789")
    store.path_of(gone["sha256"]).unlink()

    report = verify_copies(db, store)
    assert report.files == 3 and report.ok == 1
    assert report.mismatched == [tampered["id"]] and report.missing == [gone["id"]]

    shown = client.get("/api/records/WS·2024·Y·0002/copies", headers=admin).json()["items"][0]
    assert shown["fixity"] == "mismatch" and "now hash to" in shown["fixity_detail"]
    listed = client.get("/api/copies", headers=admin, params={"fixity": "mismatch"}).json()
    assert [c["id"] for c in listed["items"]] == [tampered["id"]]
    alarms = client.get("/api/alarms", headers=admin,
                        params={"state": "active", "kind": "fixity_mismatch"}).json()
    assert alarms["total"] == 2
    assert {a["subject"] for a in alarms["items"]} == {
        f"copy {tampered['id']} of WS·2024·Y·0002", f"copy {gone['id']} of WS·2024·Y·0003"}

    verify_copies(db, store)  # running again changes nothing
    again = client.get("/api/alarms", headers=admin,
                       params={"state": "active", "kind": "fixity_mismatch"}).json()
    assert again["total"] == 2
    checks = client.get(f"/api/copies/{tampered['id']}/checks", headers=admin).json()
    assert [c["kind"] for c in checks] == ["ingest", "fixity"]  # one entry per change

    store.path_of(tampered["sha256"]).write_bytes(original)
    healed = verify_copies(db, store)
    assert healed.mismatched == [] and healed.missing == [gone["id"]]
    remaining = client.get("/api/alarms", headers=admin,
                           params={"state": "active", "kind": "fixity_mismatch"}).json()
    assert [a["subject"] for a in remaining["items"]] == [f"copy {gone['id']} of WS·2024·Y·0003"]
    assert client.get("/api/records/WS·2024·Y·0002/copies",
                      headers=admin).json()["items"][0]["fixity"] == "ok"


def test_one_unreadable_file_does_not_stop_the_run(db, settings, three_copies):
    _, (_, broken, _) = three_copies
    store = CopyStore(settings.copies_path)
    path = store.path_of(broken["sha256"])
    path.unlink()
    path.mkdir()  # a directory where the file should be: reading it fails
    (path / "x").write_bytes(b"x")
    report = verify_copies(db, store)
    assert report.files == 3 and report.ok == 2
    assert broken["id"] in report.missing or report.errors


def test_the_cli_and_the_scheduled_job_do_the_same(db, settings, three_copies, monkeypatch,
                                                   capsys):
    _, (tampered, _, _) = three_copies
    monkeypatch.setenv("ARCHIVE_TWIN_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("ARCHIVE_TWIN_DATA_DIR", str(settings.data_dir))
    assert cli.main(["copies", "verify"]) == 0
    assert "3 copies: 3 ok" in capsys.readouterr().out

    store = CopyStore(settings.copies_path)
    store.path_of(tampered["sha256"]).write_bytes(b"not the scan any more")
    assert cli.main(["copies", "verify"]) == 1
    captured = capsys.readouterr()
    assert f"copy {tampered['id']}: bytes no longer match" in captured.out
    assert "verifying [" in captured.err  # the progress bar

    scheduler = build_scheduler(settings, db)
    job = scheduler.get_job("fixity")
    assert job is not None
    job.func()  # one scheduled run, in this thread
    report = verify_copies(db, store)
    assert report.mismatched == [tampered["id"]]


def test_the_leader_runs_every_scheduled_job(settings):
    from server.db import make_engine
    from server.jobs import Jobs

    engine = make_engine(settings.db_url)
    jobs = Jobs(settings, engine)
    jobs.start()
    try:
        scheduler = jobs._scheduler
        assert scheduler is not None and scheduler.running
        assert {job.id for job in scheduler.get_jobs()} >= {
            "fixity", "silent-devices", "missing-boxes", "forget-old-news"}
    finally:
        jobs.stop()
        engine.dispose()
    assert jobs._scheduler is None


def test_an_archivist_runs_the_check_over_http_and_others_may_not(client, auth, settings,
                                                                   three_copies):
    _, (_, tampered, _) = three_copies
    store = CopyStore(settings.copies_path)
    path = store.path_of(tampered["sha256"])
    path.write_bytes(path.read_bytes()[:-1])
    answer = client.post("/api/copies/verify", headers=auth("archivist"))
    assert answer.status_code == 200
    report = answer.json()
    assert report["files"] == 3 and report["ok"] == 2 and report["mismatched"] == [tampered["id"]]
    assert client.post("/api/copies/verify", headers=auth("staff")).status_code == 403
    assert client.post("/api/copies/verify").status_code == 401
