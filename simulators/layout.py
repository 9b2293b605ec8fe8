"""The room's layout as the server knows it, loaded over its HTTP API like any client would."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)

PAGE = 500  # the API's largest page


class LayoutError(RuntimeError):
    """The layout could not be loaded (server unreachable, sign-in refused, ...)."""


@dataclass(frozen=True, slots=True)
class Place:
    """A location: room, unit, side, section, shelf or slot."""

    code: str
    kind: str
    parent: str | None
    epc: str
    path: str
    capacity: int | None = None


@dataclass(frozen=True, slots=True)
class BoxSpec:
    """A box as the server last knew it."""

    code: str
    epc: str
    location: str | None
    status: str


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A registered device under the id it uses on the wire."""

    id: str
    type: str
    role: str | None = None
    antennas: dict[int, str] = field(default_factory=dict)
    room: str | None = None
    report_interval_s: int | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    """Places, boxes and devices of the archive."""

    places: dict[str, Place]
    boxes: list[BoxSpec]
    devices: list[DeviceSpec]

    def of_type(self, type_: str, role: str | None = None) -> list[DeviceSpec]:
        """Devices of one type (and role), by id."""
        return sorted(
            (d for d in self.devices if d.type == type_ and (role is None or d.role == role)),
            key=lambda d: d.id,
        )


def _pages(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> Iterator[dict]:
    offset = 0
    while True:
        answer = client.get(path, params={**(params or {}), "limit": PAGE, "offset": offset})
        if answer.status_code != 200:
            raise LayoutError(f"GET {path} answered {answer.status_code}: {answer.text[:200]}")
        page = answer.json()
        yield from page["items"]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return


def sign_in(client: httpx.Client, username: str, password: str) -> None:
    """Get a bearer token and send it with every later request of this client."""
    answer = client.post("/api/auth/token", data={"username": username, "password": password})
    if answer.status_code != 200:
        raise LayoutError(f"sign-in as {username!r} refused ({answer.status_code}): "
                          f"{answer.text[:200]}")
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"


def load_layout(
    api_url: str, username: str, password: str, *, timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> Layout:
    """Sign in and read every location, box and device (GET /api/locations, boxes, devices)."""
    try:
        with httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout,
                          transport=transport) as client:
            sign_in(client, username, password)
            places = {
                p["code"]: Place(p["code"], p["kind"], p.get("parent"), p["epc"], p["path"],
                                 p.get("capacity"))
                for p in _pages(client, "/api/locations")
            }
            boxes = [
                BoxSpec(b["code"], b["epc"], b.get("location"), b["status"])
                for b in _pages(client, "/api/boxes")
                if b["status"] != "disposed"
            ]
            devices = [
                DeviceSpec(
                    id=d["id"], type=d["type"], role=d.get("role"),
                    antennas={int(a): code for a, code in (d.get("antennas") or {}).items()},
                    room=d.get("room"), report_interval_s=d.get("report_interval_s"),
                )
                for d in _pages(client, "/api/devices")
            ]
    except httpx.HTTPError as exc:
        raise LayoutError(f"could not read the layout from {api_url}: {exc}") from exc
    log.info("layout from %s: %d places, %d boxes, %d devices", api_url, len(places),
             len(boxes), len(devices))
    return Layout(places, boxes, devices)


def register_devices(api_url: str, username: str, password: str, specs: list[DeviceSpec], *,
                     timeout: float = 10.0) -> list[str]:
    """Register devices over the API (POST /api/devices); ids already registered are left be."""
    made = []
    try:
        with httpx.Client(base_url=api_url.rstrip("/"), timeout=timeout) as client:
            sign_in(client, username, password)
            for spec in specs:
                body: dict[str, Any] = {"id": spec.id, "type": spec.type}
                if spec.role:
                    body["role"] = spec.role
                if spec.antennas:
                    body["antennas"] = {str(a): code for a, code in spec.antennas.items()}
                if spec.room:
                    body["room"] = spec.room
                if spec.report_interval_s:
                    body["report_interval_s"] = spec.report_interval_s
                answer = client.post("/api/devices", json=body)
                if answer.status_code == 201:
                    made.append(spec.id)
                elif answer.status_code != 409:  # 409: registered already
                    raise LayoutError(f"could not register {spec.id} ({answer.status_code}): "
                                      f"{answer.text[:200]}")
    except httpx.HTTPError as exc:
        raise LayoutError(f"could not register devices at {api_url}: {exc}") from exc
    if made:
        log.info("registered %s", ", ".join(made))
    return made
