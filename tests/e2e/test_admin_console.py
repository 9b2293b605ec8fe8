"""The admin console in the browser: people, the audit log and devices, as an admin, an
archivist, warehouse staff and a borrower would use (or be refused) them."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, func, select

from server.clock import now
from server.models.audit import AuditEntry
from server.models.holdings import RecordCreate
from server.services import audit, devices, news, people, records
from tests.e2e.conftest import CHROMIUM, PASSWORD, sign_in

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
)


def _audited(live_server, *, entity: str, entity_id: str) -> int:
    with Session(live_server.engine) as session:
        return session.exec(select(func.count()).select_from(AuditEntry)
                            .where(AuditEntry.entity == entity)
                            .where(AuditEntry.entity_id == entity_id)).one()


def _person(live_server, username: str, role: str, **extra) -> None:
    with Session(live_server.engine) as session:
        people.create_user(session, username=username, password=PASSWORD, role=role, **extra)
        session.commit()


def _signs_in(open_page, username: str, password: str) -> bool:
    page = open_page()
    page.goto("/signin")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#password").press("Enter")
    page.wait_for_load_state()
    return "/signin" not in page.url


def test_an_admin_adds_changes_resets_and_disables_a_person(open_page, live_server):
    admin = open_page("ann")
    admin.goto("/users")
    form = admin.locator("#add-user")
    form.locator("#username").fill("wen.li")
    form.locator("#full_name").fill("李文")
    form.locator("#email").fill("wen.li@example.org")
    form.locator("#role").select_option("staff")
    form.locator("#password").fill("first-password-1")
    form.locator("#add-user-button").click()
    admin.wait_for_url("**/users/wen.li?done=added")
    assert "can sign in now" in admin.locator("#done").inner_text()
    assert admin.locator("#clearance").input_value() == "internal"  # the role's default

    # the same username again: refused next to the field, what was typed kept
    admin.goto("/users")
    admin.locator("#username").fill("wen.li")
    admin.locator("#full_name").fill("Another Wen")
    admin.locator("#password").fill("first-password-1")
    with admin.expect_response(lambda r: r.request.method == "POST") as posted:
        admin.locator("#add-user-button").click()
    assert posted.value.status == 409
    assert "already exists" in admin.locator("#username-error").inner_text()
    assert admin.locator("#username").get_attribute("aria-invalid") == "true"
    assert admin.locator("#full_name").input_value() == "Another Wen"

    # the person signs in; role and clearance change
    person = open_page()
    sign_in(person, "wen.li", "first-password-1")
    admin.goto("/users/wen.li")
    admin.locator("#role").select_option("archivist")
    admin.locator("#clearance").select_option("secret")
    admin.locator("#change-user-button").click()
    admin.wait_for_url("**/users/wen.li?done=changed")
    assert admin.locator("#role").input_value() == "archivist"
    assert admin.locator("#clearance").input_value() == "secret"
    changes = _audited(live_server, entity="user", entity_id="wen.li")
    admin.reload()  # a reload after the POST repeats nothing
    assert admin.locator("#clearance").input_value() == "secret"
    assert _audited(live_server, entity="user", entity_id="wen.li") == changes
    admin.goto("/users")
    row = admin.locator("tr[data-user='wen.li']")
    assert "Archivist" in row.inner_text() and "Secret" in row.inner_text()
    assert row.locator("td").nth(6).locator("time[datetime]").count() == 1  # last sign-in

    # a password too short is refused next to its field; a good one ends their sessions
    admin.goto("/users/wen.li")
    admin.locator("#password").fill("short")
    with admin.expect_response(lambda r: r.request.method == "POST") as posted:
        admin.locator("#reset-password-button").click()
    assert posted.value.status == 422
    assert "8 characters" in admin.locator("#password-error").inner_text()
    admin.locator("#password").fill("second-password-2")
    admin.locator("#reset-password-button").click()
    admin.wait_for_url("**/users/wen.li?done=password")
    assert admin.locator("#live-sessions").inner_text() == "0"
    person.goto("/find")
    assert "/signin" in person.url  # the old session ended at once
    assert not _signs_in(open_page, "wen.li", "first-password-1")
    assert _signs_in(open_page, "wen.li", "second-password-2")

    # disabled: cannot sign in; enabled again: can
    admin.locator("#disable-user").click()
    admin.wait_for_url("**/users/wen.li?done=disabled")
    assert admin.locator("#standing").inner_text() == "Disabled"
    assert not _signs_in(open_page, "wen.li", "second-password-2")
    admin.locator("#enable-user").click()
    admin.wait_for_url("**/users/wen.li?done=enabled")
    assert _signs_in(open_page, "wen.li", "second-password-2")


def test_the_audit_log_filters_by_actor_and_verify_shows_the_head(open_page, live_server):
    _person(live_server, "ada", "archivist")  # actor "system"
    with Session(live_server.engine) as session:
        people.create_user(session, username="kim", password=PASSWORD, role="staff",
                           actor="ann")
        records.create_record(session, RecordCreate(
            reference_code="WS·2024·Y·0099", title="Personnel files", year=2024, fonds="X001",
            classification="secret"), actor="ann")
        session.commit()
    admin = open_page("ann")
    admin.goto("/audit")
    admin.locator("#actor").fill("ann")
    admin.locator("#audit-filter-button").click()
    admin.wait_for_url("**/audit?actor=ann*")
    actors = admin.locator("#audit-list tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.actor)")
    assert actors and set(actors) == {"ann"}
    assert admin.locator("#actor").input_value() == "ann"  # the filter stays filled in

    admin.locator("#verify-chain").click()
    admin.wait_for_url("**verify=1*")
    with Session(live_server.engine) as session:
        head = audit.head(session)
    assert head is not None
    check = admin.locator("#chain-check")
    assert "The chain holds" in check.inner_text()
    assert str(head[0]) in admin.locator("#chain-head").inner_text()
    assert head[1] in admin.locator("#chain-head").inner_text()
    assert admin.locator("#chain-head time[datetime]").count() == 1

    response = admin.goto("/audit?since=yesterday")
    assert response is not None and response.status == 422
    assert "YYYY-MM-DD" in admin.locator("#since-error").inner_text()
    assert admin.locator("#since").get_attribute("aria-invalid") == "true"

    # an archivist reads the log (not the secret record's entries: counted as hidden) and
    # may not verify it, as the API has it
    archivist = open_page("ada")
    answer = archivist.goto("/audit?entity=record")
    assert answer is not None and answer.status == 200
    assert "1 matching entries are left out" in archivist.locator("#audit-hidden").inner_text()
    assert "WS·2024·Y·0099" not in archivist.locator("main").inner_text()
    assert archivist.locator("#verify-chain").count() == 0
    archivist.goto("/audit?verify=1")
    assert archivist.locator("#chain-check").count() == 0
    nav = archivist.locator("#console-nav")
    assert nav.locator("a[href='/audit']").count() == 1
    assert nav.locator("a[href='/users']").count() == 0
    assert archivist.goto("/users").status == 403


def test_an_admin_registers_corrects_and_retires_a_device(open_page, live_server):
    places = live_server.archive.places
    admin = open_page("ann")
    admin.goto("/devices")
    form = admin.locator("#register-device")
    form.locator("#id").fill("shelf-r1-u01")
    form.locator("#type").select_option("reader")
    form.locator("#role").select_option("shelf")
    form.locator("#room").select_option(places["Room 1"])
    form.locator("#antennas").fill("antenna one is slot 1")
    with admin.expect_response(lambda r: r.request.method == "POST") as posted:
        form.locator("#register-device-button").click()
    assert posted.value.status == 422
    assert "Line 1" in admin.locator("#antennas-error").inner_text()
    assert admin.locator("#id").input_value() == "shelf-r1-u01"  # kept
    assert admin.locator("#role").input_value() == "shelf"

    admin.locator("#antennas").fill("1 = L99999999")  # no such location: the service says so
    with admin.expect_response(lambda r: r.request.method == "POST") as posted:
        admin.locator("#register-device-button").click()
    assert posted.value.status == 422
    assert "L99999999" in admin.locator("#antennas-error").inner_text()

    admin.locator("#antennas").fill(f"1 = {places['Slot 1']}")
    admin.locator("#register-device-button").click()
    admin.wait_for_url("**/devices/shelf-r1-u01?done=registered")
    assert places["Slot 1"] in admin.locator("#antenna-map").inner_text()
    admin.reload()  # no second registration (it would be refused as a duplicate)
    assert admin.locator("#done").is_visible()

    admin.locator("#antennas").fill(f"1 = {places['Slot 1']}\n2 = {places['Slot 2']}")
    admin.locator("#correct-device-button").click()
    admin.wait_for_url("**/devices/shelf-r1-u01?done=corrected")
    assert places["Slot 2"] in admin.locator("#antenna-map").inner_text()
    with Session(live_server.engine) as session:
        assert devices.get(session, "shelf-r1-u01").antennas == {
            "1": places["Slot 1"], "2": places["Slot 2"]}
        devices.mark_state(session, devices.get(session, "shelf-r1-u01"), "online", at=now())
        session.commit()
        since = news.latest(session)

    admin.locator("#retire-device").click()
    admin.wait_for_url("**/devices/shelf-r1-u01/retire")
    assert "Retire shelf-r1-u01?" in admin.locator("#retire-confirm").inner_text()
    admin.locator("#retire-confirm-button").click()
    admin.wait_for_url("**/devices?done=retired*")
    assert "shelf-r1-u01 is retired" in admin.locator("#done").inner_text()
    assert admin.locator("#device-list a[href='/devices/shelf-r1-u01']").count() == 0
    with Session(live_server.engine) as session:
        told = [n.news() for n in news.after(session, since)]
        assert any(isinstance(n, news.DeviceChanged) and n.id == "shelf-r1-u01"
                   and n.state == "offline" for n in told)
        retired = session.exec(select(AuditEntry).where(AuditEntry.entity == "device")
                               .where(AuditEntry.action == "delete")
                               .order_by(col(AuditEntry.id).desc())).first()
        assert retired is not None and retired.actor == "ann"
    admin.reload()
    assert admin.goto("/devices/shelf-r1-u01").status == 404


@pytest.mark.parametrize("who", ["sam", "bo"])
def test_staff_and_borrowers_get_no_console(open_page, live_server, who):
    _person(live_server, "bo", "borrower")
    page = open_page(who)
    for path in ("/users", "/users/ann", "/audit", "/audit?verify=1"):
        answer = page.goto(path)
        assert answer is not None and answer.status in (403, 404), path
    if who == "sam":  # staff see the devices, but may not register, correct or retire one
        page.goto("/devices")
        assert page.locator("#register-device").count() == 0
    assert page.locator("#console-nav").count() == 0
    assert page.locator("a[href='/users'], a[href='/audit']").count() == 0
    # a form posted by hand is refused too, and changes nothing
    status = page.evaluate("""async () => (await fetch('/users/ann/disable',
        {method: 'POST', redirect: 'manual'})).status""")
    assert status == 403
    with Session(live_server.engine) as session:
        ann = people.get_user(session, "ann")
        assert ann is not None and not ann.disabled
