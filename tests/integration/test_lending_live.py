"""Lending on a running server with a real broker and a real SMTP server: a checked-out box
passes the gate without an alarm; overdue reminders go out in stages, each once, on MQTT and
by e-mail."""

from __future__ import annotations

import email
import socket
import threading
import time
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from server import jobs
from server.clock import now
from server.models.lending import LoanReminder
from server.models.loans import Loan
from server.models.people import User
from tests.integration import test_twin_over_mqtt as twin_over_mqtt
from tests.integration.test_twin_over_mqtt import Device, _ts

# The running server, its tree and devices, and sign-in: the same fixtures as the twin's tests.
archive = twin_over_mqtt.archive
auth_for = twin_over_mqtt.auth_for
live_settings = twin_over_mqtt.live_settings


class Inbox:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self._cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._cond:
            self.messages.append(parsed)
            self._cond.notify_all()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


def _borrower(client, auth_for, email_address=None):
    headers = auth_for(client, "borrower")
    if email_address:
        with Session(client.app.state.writer) as s:
            user = s.exec(select(User).where(User.username == "borrower-mqtt")).one()
            user.email = email_address
            s.commit()
    return headers


def test_a_box_checked_out_on_a_request_passes_the_gate_without_an_alarm(
        archive, mqtt_url, topic_root, auth_for):
    client, admin, codes, lent = archive
    borrower = _borrower(client, auth_for)
    kept = client.post("/api/boxes", headers=admin, json={}).json()
    for box in (lent, kept):
        assert client.post(f"/api/boxes/{box['code']}/move", headers=admin,
                           json={"to": codes["Slot 1"]}).status_code == 200
    made = client.post("/api/requests", headers=borrower, json={
        "boxes": [lent["code"]], "purpose": "编研 research", "mode": "take_away"})
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    assert client.post(f"/api/requests/{rid}/approve", headers=admin, json={}).status_code == 200
    twins = Device(mqtt_url, topic_root, listen=f"twin/boxes/{lent['code']}")
    alarms = Device(mqtt_url, topic_root, listen="alarms/+")
    requests_heard = Device(mqtt_url, topic_root, listen=f"requests/{rid}")
    gate = Device(mqtt_url, topic_root)
    try:
        out = client.post(f"/api/boxes/{lent['code']}/checkout", headers=admin,
                          json={"request": rid})
        assert out.status_code == 201, out.text
        twins.wait_for(lambda h: any(doc["status"] == "on_loan" for _, doc in h))
        requests_heard.wait_for(lambda h: any(doc["state"] == "checked_out" for _, doc in h))
        gate.send("readers/gate-1/reads", {"ts": _ts(), "seq": 1, "reads": [
            {"epc": lent["epc"], "antenna": 1, "rssi": -50.0, "count": 2}]})
        gate.send("readers/gate-1/reads", {"ts": _ts(), "seq": 2, "reads": [
            {"epc": kept["epc"], "antenna": 1, "rssi": -50.0, "count": 2}]})
        alarms.wait_for(lambda h: len(h) >= 1)
        time.sleep(0.5)  # the lent box's read came first: an alarm for it would be here by now
        assert [alarm["subject"] for _, alarm in alarms.heard] == [kept["code"]]
    finally:
        for device in (twins, alarms, requests_heard, gate):
            device.close()


def _due(client, loan_id: int, days_ago: int) -> None:
    with Session(client.app.state.writer) as s:
        loan = s.get(Loan, loan_id)
        loan.due_on = now().date() - timedelta(days=days_ago)
        s.commit()


def test_overdue_reminders_in_stages_each_once_on_mqtt_and_by_email(
        archive, mqtt_url, topic_root, auth_for, live_settings, smtp):
    client, admin, codes, box = archive
    smtp_url, inbox = smtp
    _borrower(client, auth_for, "li.wei@example.org")
    assert client.post(f"/api/boxes/{box['code']}/move", headers=admin,
                       json={"to": codes["Slot 1"]}).status_code == 200
    loan = client.post(f"/api/boxes/{box['code']}/loan", headers=admin, json={
        "borrower": "borrower-mqtt", "due_on": now().date().isoformat()}).json()
    settings = live_settings.model_copy(update={"smtp_url": smtp_url,
                                                "loan_reminder_days": [0, 3, 7]})
    heard = Device(mqtt_url, topic_root, listen="loans/+/reminder")
    engine = client.app.state.engine
    try:
        # due today: stage 1, not overdue yet; run twice, sent once
        jobs.remind_overdue_loans(settings, engine)
        jobs.remind_overdue_loans(settings, engine)
        first = heard.wait_for(lambda h: len(h) >= 1)
        assert first[0][0] == f"{topic_root}/loans/{loan['id']}/reminder"
        doc = first[0][1]
        assert {k: doc[k] for k in ("id", "box", "borrower", "due_on", "stage")} == {
            "id": loan["id"], "box": box["code"], "borrower": "borrower-mqtt",
            "due_on": loan["due_on"], "stage": 1}
        assert "+00:00" in doc["ts"]
        assert client.get("/api/loans", headers=admin, params={"state": "overdue"}).json()["total"] == 0

        # two days late: still stage 1, nothing new; five days late: stage 2, once
        _due(client, loan["id"], 2)
        jobs.remind_overdue_loans(settings, engine)
        _due(client, loan["id"], 5)
        jobs.remind_overdue_loans(settings, engine)
        jobs.remind_overdue_loans(settings, engine)
        heard.wait_for(lambda h: len(h) >= 2)
        time.sleep(0.5)
        assert [d["stage"] for _, d in heard.heard] == [1, 2]
        # a week late after a missed run: stage 3 only
        _due(client, loan["id"], 9)
        jobs.remind_overdue_loans(settings, engine)
        heard.wait_for(lambda h: len(h) >= 3)
        time.sleep(0.3)
        assert [d["stage"] for _, d in heard.heard] == [1, 2, 3]
    finally:
        heard.close()
    with Session(engine) as s:
        rows = s.exec(select(LoanReminder).order_by(LoanReminder.stage)).all()
        marked = s.get(Loan, loan["id"])
    assert [r.stage for r in rows] == [1, 2, 3]
    assert all(r.emailed_at is not None for r in rows)
    assert marked is not None and marked.overdue_at is not None
    assert len(inbox.messages) == 3
    mail = inbox.messages[1]
    assert mail["To"] == "li.wei@example.org"
    assert box["code"] in mail["Subject"] and "催还通知" in mail["Subject"]
    body = mail.get_content()
    assert "已逾期 5 天" in body and "5 day(s) ago" in body
    assert client.get("/api/loans", headers=admin, params={"state": "overdue"}).json()["total"] == 1


def test_reminders_wait_for_a_mail_server_that_is_down(
        archive, auth_for, live_settings, smtp):
    client, admin, codes, box = archive
    smtp_url, inbox = smtp
    _borrower(client, auth_for, "li.wei@example.org")
    client.post(f"/api/boxes/{box['code']}/move", headers=admin, json={"to": codes["Slot 1"]})
    client.post(f"/api/boxes/{box['code']}/loan", headers=admin, json={
        "borrower": "borrower-mqtt", "due_on": now().date().isoformat()})
    down = live_settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{_free_port()}"})
    engine = client.app.state.engine
    jobs.remind_overdue_loans(down, engine)  # logged; the reminder itself is kept
    with Session(engine) as s:
        assert [r.emailed_at for r in s.exec(select(LoanReminder))] == [None]
    jobs.remind_overdue_loans(live_settings.model_copy(update={"smtp_url": smtp_url}), engine)
    assert len(inbox.messages) == 1
    with Session(engine) as s:
        assert all(r.emailed_at for r in s.exec(select(LoanReminder)))


def test_the_cli_runs_the_overdue_job_now(archive, auth_for, live_settings, smtp, monkeypatch,
                                          capsys):
    from server.cli import main

    client, admin, codes, box = archive
    smtp_url, inbox = smtp
    _borrower(client, auth_for, "li.wei@example.org")
    client.post(f"/api/boxes/{box['code']}/move", headers=admin, json={"to": codes["Slot 1"]})
    client.post(f"/api/boxes/{box['code']}/loan", headers=admin, json={
        "borrower": "borrower-mqtt", "due_on": now().date().isoformat()})
    monkeypatch.setenv("ARCHIVE_TWIN_DATABASE_URL", live_settings.db_url)
    monkeypatch.setenv("ARCHIVE_TWIN_SMTP_URL", smtp_url)
    assert main(["loans", "remind"]) == 0
    said = capsys.readouterr().out
    assert "0 loans marked overdue, 1 reminders recorded" in said and "1 reminders e-mailed" in said
    assert main(["loans", "remind"]) == 0
    assert "0 reminders recorded" in capsys.readouterr().out
    assert len(inbox.messages) == 1
