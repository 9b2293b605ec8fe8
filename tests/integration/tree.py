"""A small shelving tree built through the API, as an archivist would."""

from __future__ import annotations


def build_tree(client, headers, *, slot_capacity: int = 2) -> dict[str, str]:
    """Room › Unit 03 › A › Section 2 › Shelf 4 › Slot 1, Slot 2; returns name → code."""
    codes: dict[str, str] = {}
    parent = None
    for name, kind in (
        ("Room 1", "room"),
        ("Unit 03", "unit"),
        ("A", "side"),
        ("Section 2", "section"),
        ("Shelf 4", "shelf"),
    ):
        answer = client.post(
            "/api/locations", headers=headers, json={"name": name, "kind": kind, "parent": parent}
        )
        assert answer.status_code == 201, answer.text
        parent = codes[kind] = answer.json()["code"]
    for slot in ("Slot 1", "Slot 2"):
        answer = client.post(
            "/api/locations",
            headers=headers,
            json={
                "name": slot,
                "kind": "slot",
                "parent": codes["shelf"],
                "capacity": slot_capacity,
            },
        )
        assert answer.status_code == 201, answer.text
        codes[slot] = answer.json()["code"]
    return codes
