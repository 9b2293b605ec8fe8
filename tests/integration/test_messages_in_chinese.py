"""Server messages reach a Chinese page in Chinese: a scan refusal, a lend error, an alarm."""

from __future__ import annotations

from datetime import timedelta

from server.clock import now
from tests.integration import test_climate_alarms, test_lending
from tests.integration.test_lending_pages import ORIGIN, _sign_in

archive = test_lending.archive
room = test_climate_alarms.room
ingest = test_climate_alarms.ingest


def test_a_scan_refusal_reads_in_chinese_on_a_chinese_shelve_page(client, archive):
    _sign_in(client, "staff-default")
    client.get("/shelve", params={"lang": "zh"})  # the page's language, kept in a cookie
    slot = archive["codes"]["Slot 1"]
    client.post("/shelve/scan", headers=ORIGIN, json={"code": slot, "mode": "shelve"})
    shown = client.post("/shelve/scan", headers=ORIGIN,
                        json={"code": "B99999999", "target": slot, "mode": "shelve"}).json()
    assert shown["ok"] is False
    assert shown["detail"] == "B99999999 是档案盒编码，但没有以此登记的档案盒"
    english = client.post("/shelve/scan", headers=ORIGIN, params={"lang": "en"},
                          json={"code": "B99999999", "target": slot, "mode": "shelve"}).json()
    assert english["detail"] == "B99999999 is a box code, but no box is registered under it"


def test_a_lend_error_reads_in_chinese_next_to_the_form(client, archive):
    box = archive["boxes"][1][0]
    past = (now().date() - timedelta(days=2)).isoformat()
    _sign_in(client, "staff-default")
    client.get(f"/boxes/{box}", params={"lang": "zh"})
    refused = client.post(f"/boxes/{box}/loan", headers=ORIGIN, follow_redirects=False,
                          data={"borrower": "borrower-internal", "due_on": past})
    assert refused.status_code == 422
    assert (f'<p class="field-error" id="lend-error" role="alert">归还日期 {past} 已过；请填写今天或之后的日期</p>'
            in refused.text)
    assert 'value="borrower-internal"' in refused.text  # what was typed is kept


def test_a_climate_alarm_reads_in_chinese_on_the_alarms_page(client, auth, room, ingest):
    start = now() - timedelta(hours=2)
    test_climate_alarms.feed(ingest, start, 12, lambda m: (20.5, 68.0))
    staff = auth("staff")
    listed = client.get("/api/alarms", headers=staff).json()
    high = [a for a in listed["items"] if a["kind"] == "humidity_high"]
    assert high and high[0]["message"].startswith("Room 1: 68.0 %RH is above the band's")
    _sign_in(client, "staff-default")
    page = client.get("/alarms", params={"lang": "zh"}).text
    assert "Room 1：相对湿度 68.0 %，高于标准上限" in page
    assert "is above the band" not in page
    assert "is above the band" in client.get("/alarms", params={"lang": "en"}).text
