"""The devices pages: every device's state and rejects, and (for those the API lets) register,
correct and retire a device.

The registration rules live in server/services/devices.py (`_checked`); these pages only turn
a form into the service's DeviceCreate / DeviceUpdate, as the API turns JSON into them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import col, select

from dashboard.pages import PAGE_SIZE, Page, PageRefused, WatcherPage, page_for, render
from server.models.devices import Device, DeviceCreate, DevicePublic, DeviceUpdate
from server.models.places import Location
from server.services import devices, locations, security
from server.services.errors import Conflict, DomainError, NotFound

router = APIRouter(include_in_schema=False)

# Who may register, correct and retire devices: whoever the API lets (server/api/devices.py).
REGISTRARS = security.FACILITIES
RegistrarPage = Annotated[Page, Depends(page_for(*REGISTRARS))]
TYPES = ("reader", "scanner", "sensor", "light")
READER_ROLES = ("shelf", "gate", "handheld")
DONE = frozenset({"registered", "corrected", "retired"})


class BadAntennas(ValueError):
    """A line of the antenna map that is not `NUMBER = LOCATION CODE`."""


def antennas_from_text(text: str) -> dict[str, str]:
    """The antenna map typed one antenna a line, `1 = L00001042` (or `1: ...`, `1 ...`)."""
    mapped: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for mark in ("=", ":"):
            line = line.replace(mark, " ")
        parts = line.split()
        if len(parts) != 2:
            raise BadAntennas(str(number))
        mapped[parts[0]] = parts[1]
    return mapped


def antennas_as_text(antennas: dict[str, str] | None) -> str:
    """The antenna map as the form shows it, by antenna number."""
    ordered = sorted((antennas or {}).items(), key=lambda item: (len(item[0]), item[0]))
    return "\n".join(f"{antenna} = {code}" for antenna, code in ordered)


def _rooms(page: Page) -> list[Location]:
    found, _ = locations.list_locations(page.session, kind="room", limit=500)
    return found


def _room_names(page: Page, shown: list[DevicePublic]) -> dict[str, str]:
    rooms = {d.room for d in shown if d.room}
    return dict(page.session.exec(
        select(Location.code, Location.name).where(col(Location.code).in_(rooms))).all()) \
        if rooms else {}


def _done(page: Page) -> str | None:
    done = page.request.query_params.get("done")
    return done if done in DONE else None


def _list(page: Page, *, form: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> Response:
    rows = list(page.session.exec(select(Device).order_by(Device.id)))
    rejects, rejects_total = devices.list_rejects(page.session, limit=PAGE_SIZE)
    shown = devices.present(page.session, rows)
    return render(page, "devices.html", status=status, live=("device", "reject"),
                  devices=shown, room_names=_room_names(page, shown), rejects=rejects,
                  rejects_total=rejects_total, may_register=page.person.role in REGISTRARS,
                  rooms=_rooms(page), types=TYPES, reader_roles=READER_ROLES,
                  form=form or {"type": "reader"}, errors=errors or {}, done=_done(page),
                  retired=page.request.query_params.get("device", "")[:64])


@router.get("/devices")
def devices_page(page: WatcherPage) -> Response:
    """Every device with its state, what devices sent that could not be used, and (for
    facilities and admins) the form that registers a device."""
    return _list(page)


def _form_errors(page: Page, exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in exc.errors():
        where = str(problem["loc"][0]) if problem["loc"] else "form"
        errors.setdefault(where, page.t(f"device_form.invalid.{where}"))
    return errors


def _interval(text: str) -> int | str | None:
    """The report interval as typed: a number, or the text for validation to refuse."""
    text = text.strip()
    return int(text) if text.isdigit() else (text or None)


@router.post("/devices")
def register_device(page: RegistrarPage, id: Annotated[str, Form(max_length=200)] = "",
                    type: Annotated[str, Form(max_length=20)] = "",
                    role: Annotated[str, Form(max_length=20)] = "",
                    room: Annotated[str, Form(max_length=40)] = "",
                    antennas: Annotated[str, Form(max_length=20_000)] = "",
                    report_interval_s: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Register a device under the id it uses on the wire; back to the list, which has it."""
    typed = {"id": id, "type": type, "role": role, "room": room, "antennas": antennas,
             "report_interval_s": report_interval_s}
    try:
        mapped = antennas_from_text(antennas)
    except BadAntennas as exc:
        return _list(page, form=typed, status=422,
                     errors={"antennas": page.t("device_form.bad_line", line=str(exc))})
    try:
        data = DeviceCreate.model_validate({
            "id": id.strip(), "type": type, "role": role or None, "room": room or None,
            "antennas": mapped, "report_interval_s": _interval(report_interval_s)})
    except ValidationError as exc:
        return _list(page, form=typed, errors=_form_errors(page, exc), status=422)
    try:
        devices.register(page.session, data, actor=page.person.username)
    except DomainError as exc:
        page.session.rollback()
        return _list(page, form=typed, errors={exc.field or "id": page.say(exc)},
                     status=409 if isinstance(exc, Conflict) else 422)
    page.session.commit()
    return RedirectResponse(f"/devices/{data.id}?done=registered", status_code=303)


def _device(page: Page, device_id: str) -> DevicePublic:
    try:
        return devices.present(page.session, [devices.get(page.session, device_id)])[0]
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc


def _one(page: Page, device: DevicePublic, *, form: dict[str, str] | None = None,
         errors: dict[str, str] | None = None, status: int = 200,
         confirming: bool = False) -> Response:
    shown = form or {"role": device.role or "", "room": device.room or "",
                     "antennas": antennas_as_text(device.antennas),
                     "report_interval_s": str(device.report_interval_s or "")}
    return render(page, "device.html", status=status, live=("device",), device=device,
                  room_names=_room_names(page, [device]), rooms=_rooms(page),
                  reader_roles=READER_ROLES, form=shown, errors=errors or {},
                  may_register=page.person.role in REGISTRARS, done=_done(page),
                  confirming=confirming)


@router.get("/devices/{device_id}")
def device_page(device_id: str, page: WatcherPage) -> Response:
    """One device: its state, its registration and (for facilities and admins) its correction."""
    return _one(page, _device(page, device_id))


@router.post("/devices/{device_id}")
def correct_device(device_id: str, page: RegistrarPage,
                   role: Annotated[str, Form(max_length=20)] = "",
                   room: Annotated[str, Form(max_length=40)] = "",
                   antennas: Annotated[str, Form(max_length=20_000)] = "",
                   report_interval_s: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Correct a device's role, room, antenna map (the whole map) and report interval."""
    device = _device(page, device_id)
    typed = {"role": role, "room": room, "antennas": antennas,
             "report_interval_s": report_interval_s}
    try:
        mapped = antennas_from_text(antennas)
    except BadAntennas as exc:
        return _one(page, device, form=typed, status=422,
                    errors={"antennas": page.t("device_form.bad_line", line=str(exc))})
    change: dict[str, Any] = {"role": role or None, "room": room or None, "antennas": mapped,
                              "report_interval_s": _interval(report_interval_s)}
    try:
        data = DeviceUpdate.model_validate(change)
    except ValidationError as exc:
        return _one(page, device, form=typed, errors=_form_errors(page, exc), status=422)
    try:
        devices.correct(page.session, device_id, data, actor=page.person.username)
    except DomainError as exc:
        page.session.rollback()
        return _one(page, _device(page, device_id), form=typed,
                    errors={exc.field or "form": page.say(exc)}, status=422)
    page.session.commit()
    return RedirectResponse(f"/devices/{device_id}?done=corrected", status_code=303)


@router.get("/devices/{device_id}/retire")
def retire_device_page(device_id: str, page: RegistrarPage) -> Response:
    """The confirmation step before a device leaves the registry."""
    return _one(page, _device(page, device_id), confirming=True)


@router.post("/devices/{device_id}/retire")
def retire_device(device_id: str, page: RegistrarPage) -> Response:
    """Retire a device: announced offline if it was online, then out of the registry."""
    _device(page, device_id)
    devices.retire(page.session, device_id, actor=page.person.username)
    page.session.commit()
    return RedirectResponse(f"/devices?done=retired&device={device_id}", status_code=303)
