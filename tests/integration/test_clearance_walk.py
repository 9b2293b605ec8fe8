"""The role-and-clearance walk: every GET, as a borrower and as an archivist below a record's
level, and nothing of the record above leaks (title, reference code, counts, copies, audit)."""

from __future__ import annotations

import re
from urllib.parse import quote

from tests.integration.test_copies import make_pdf, upload

SECRET_REF = "JM·2024·Y·0777"
SECRET_TITLE = "Operation Nightjar dossier"
OPEN_REF = "WS·2024·Y·0001"


def _leaks(text: str, *, asked: bool = False) -> list[str]:
    """The secret record's marks found in a response body (plain, JSON-escaped or quoted).

    A request that named the secret reference code may hear it back ("no record … that you
    may see") and a search its words: that tells nothing the caller did not know. The whole
    title must never appear.
    """
    marks = [SECRET_TITLE, "dossier"]
    if not asked:
        marks += ["Nightjar", "nightjar", SECRET_REF, "Y·0777", "Y\\u00b70777", quote(SECRET_REF), "JM\\u00b72024"]
    return [m for m in marks if m in text]


def _archive(client, admin) -> dict[str, str]:
    room = client.post("/api/locations", headers=admin,
                       json={"name": "Room 1", "kind": "room", "parent": None}).json()["code"]
    shelf = client.post("/api/locations", headers=admin,
                        json={"name": "S1", "kind": "shelf", "parent": room,
                              "capacity": 5}).json()["code"]
    box = client.post("/api/boxes", headers=admin, json={"home": shelf}).json()["code"]
    assert client.post(f"/api/boxes/{box}/move", headers=admin, json={"to": shelf}).status_code == 200
    for ref, title, level in ((OPEN_REF, "Annual report, open", "public"),
                              (SECRET_REF, SECRET_TITLE, "secret")):
        made = client.post("/api/records", headers=admin, json={
            "reference_code": ref, "title": title, "classification": level, "box": box})
        assert made.status_code == 201, made.text
    open_copy = upload(client, admin, OPEN_REF, make_pdf("open")).json()
    secret_copy = upload(client, admin, SECRET_REF, make_pdf("nightjar"), name="nightjar.pdf").json()
    # the secret record is changed and downloaded: more audit entries about it
    assert client.patch(f"/api/records/{SECRET_REF}", headers=admin,
                        json={"title": SECRET_TITLE + " (revised)"}).status_code == 200
    assert client.get(secret_copy["download_url"], headers=admin).status_code == 200
    return {"room": room, "shelf": shelf, "box": box, "open_copy": str(open_copy["id"]),
            "secret_copy": str(secret_copy["id"])}


def _fill(path: str, ids: dict[str, str]) -> list[str]:
    """Concrete URLs for a GET route: every path parameter given what could leak most."""
    values = {"reference_code": [quote(SECRET_REF, safe=""), quote(OPEN_REF, safe="")],
              "copy_id": [ids["secret_copy"], ids["open_copy"]], "fmt": ["svg", "zpl"],
              "code": [ids["box"]] if path.startswith("/api/boxes") else
              [ids["shelf"], ids["room"]] if path.startswith("/api/locations") else
              [ids["box"], quote(SECRET_REF, safe="")]}
    urls = [path]
    for name in re.findall(r"{(\w+)}", path):
        urls = [u.replace("{" + name + "}", v) for u in urls for v in values.get(name, ["1"])]
    return urls


def test_nothing_above_clearance_leaks_from_any_get(client, auth):
    admin = auth("admin")
    ids = _archive(client, admin)
    people = {"borrower": auth("borrower"), "archivist": auth("archivist")}  # public, confidential
    queries = {"/api/records": [{"q": "Nightjar"}, {"q": SECRET_REF}, {"classification": "secret"},
                                {"box": ids["box"]}, {}],
               "/api/audit": [{}, {"entity": "record"}, {"entity": "copy"},
                              {"entity": "record", "entity_id": SECRET_REF}]}
    spec = client.get("/openapi.json").json()
    routes = [path for path, ops in spec["paths"].items() if "get" in ops
              and path.startswith("/api/")]
    walked = 0
    for who, headers in people.items():
        for route in routes:
            for url in _fill(route, ids):
                for params in queries.get(route, [{}]):
                    answer = client.get(url, headers=headers, params=params)
                    walked += 1
                    assert answer.status_code < 500, (who, url, answer.text)
                    asked = quote(SECRET_REF, safe="") in url or bool(params.get("q"))
                    if quote(SECRET_REF, safe="") in url:  # the secret record, by name:
                        # answered exactly as a record that does not exist (a route whose
                        # parameter is a location code refuses both as not a location: 422)
                        missing = client.get(url.replace(quote(SECRET_REF, safe=""),
                                                         quote("JM·2024·Y·0778", safe="")),
                                             headers=headers, params=params)
                        assert answer.status_code in (403, 404, 422), (who, url, answer.status_code)
                        assert answer.status_code == missing.status_code, (who, url)
                    found = _leaks(answer.text, asked=asked)
                    assert not found, (who, url, params, found)

        # above the clearance is answered exactly like something that does not exist
        for real, missing in ((f"/api/records/{quote(SECRET_REF, safe='')}",
                               f"/api/records/{quote('JM·2024·Y·0778', safe='')}"),
                              (f"/api/copies/{ids['secret_copy']}", "/api/copies/999999"),
                              (f"/api/copies/{ids['secret_copy']}/checks",
                               "/api/copies/999999/checks"),
                              (f"/api/scan/{quote(SECRET_REF, safe='')}",
                               f"/api/scan/{quote('JM·2024·Y·0778', safe='')}")):
            seen, absent = client.get(real, headers=headers), client.get(missing, headers=headers)
            assert seen.status_code == absent.status_code == 404, (who, real)
            assert set(seen.json()) == set(absent.json())

        # counts: only the open record is counted, in the box and in the search total
        box = client.get(f"/api/boxes/{ids['box']}", headers=headers).json()
        assert box["records"] == 1, who
        assert client.get("/api/records", headers=headers).json()["total"] == 1
        scanned = client.get(f"/api/scan/{ids['box']}", headers=headers).json()
        assert scanned["box"]["records"] == 1

    # the archivist reads the audit log: entries about the secret record are left out, counted
    log = client.get("/api/audit", headers=people["archivist"], params={"entity": "record"}).json()
    assert [e["entity_id"] for e in log["items"]] == [OPEN_REF]
    assert log["hidden"] == 2 and log["total"] == 1
    everything = client.get("/api/audit", headers=admin, params={"entity": "record"}).json()
    assert everything["hidden"] == 0 and everything["total"] == 3
    # borrowers see "staff", not who moved the box; staff see the name
    moves = client.get(f"/api/boxes/{ids['box']}/movements", headers=people["borrower"]).json()
    assert {m["by_user"] for m in moves["items"]} == {"staff"}
    moves = client.get(f"/api/boxes/{ids['box']}/movements", headers=people["archivist"]).json()
    assert {m["by_user"] for m in moves["items"]} == {"admin-default"}
    assert walked > 60


def test_the_box_page_and_find_page_leak_nothing_either(client, auth, db):
    from sqlmodel import Session

    from server.services import people
    from tests.conftest import PASSWORD

    ids = _archive(client, auth("admin"))
    with Session(db) as s:
        people.create_user(s, username="lower", password=PASSWORD, role="archivist")
        s.commit()
    assert client.post("/signin", data={"username": "lower", "password": PASSWORD},
                       follow_redirects=False).status_code == 303
    for url in (f"/boxes/{ids['box']}", "/find?q=Nightjar", f"/find?q={quote(SECRET_REF)}",
                f"/locations/{ids['shelf']}"):
        page = client.get(url)
        assert page.status_code in (200, 404), url
        found = _leaks(page.text, asked="q=" in url)
        assert not found, (url, found)
