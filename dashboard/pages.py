"""The pages people use: sign-in, overview, find, shelve, loans, alarms, devices, live stream."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session
from starlette.responses import StreamingResponse

from dashboard import i18n, room_map, shelving, sign_in, stream, tallies
from dashboard.shelving import shelve_scan
from labels.identifiers import InvalidIdentifier, cannot_be_a_code, identify
from labels.typefaces import REGULAR_FONT
from server.clock import now
from server.models.alarms import Alarm
from server.models.loans import LoanCreate
from server.models.people import Role, User
from server.models.places import LightRequest, Location
from server.services import (
    alarms,
    boxes,
    lights,
    loans,
    locations,
    people,
    records,
    scan,
    security,
    translations,
)
from server.services.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from server.services.scan import ScanOutcome
from server.services.translations import Message

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.add_extension("jinja2.ext.i18n")


@pass_context
def _gettext(context: Any, key: str, **values: Any) -> str:
    """{{ _("key") }} and {% trans %}: the page's own translator, so the page's language."""
    return context["t"](key, **values)


@pass_context
def _ngettext(context: Any, key: str, _plural: str, count: int, **values: Any) -> str:
    """ngettext("key", "key", n): gettext's two ids are both the key; the catalog has the forms."""
    return context["t"].n(key, count, **values)


# Newstyle callables of our own (not install_gettext_callables, whose wrapper %-formats):
# they format the catalog's {placeholders} with the values the template passes.
templates.env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext)
templates.env.newstyle_gettext = True  # type: ignore[attr-defined]

# A register code in a hint ("WS", "D30", "X013"): capitals, maybe digits, standing alone;
# not a standard's name ("DA/T 22"), which is a word.
_REGISTER_CODE = re.compile(r"(?<![A-Za-z0-9/])[A-Z]{1,3}[0-9]*(?![A-Za-z0-9/])")


def _codes(text: str) -> Markup:
    """A hint with the register codes it gives as examples shown as codes, the rest as words."""
    escaped = str(Markup.escape(text))
    return Markup(_REGISTER_CODE.sub(lambda m: f"<code>{m[0]}</code>", escaped))


templates.env.filters["codes"] = _codes
router = APIRouter(include_in_schema=False)

ANYONE = security.ANYONE
WATCHERS = security.WATCHERS
MOVERS = security.MOVERS
ARCHIVISTS = security.ARCHIVISTS
ADMINS = security.ADMINS
LANG_COOKIE = "lang"
PAGE_SIZE = 50
LIVE_KINDS = ("box", "alarm", "climate", "device", "reject")


def install(app: FastAPI) -> None:
    """Mount the pages, their static files and their error pages on the app."""
    from dashboard import lending_pages  # it builds on this module's Page and render

    app.include_router(lending_pages.router)
    from dashboard import import_pages, record_pages  # before /records/{reference_code:path}

    app.include_router(record_pages.router)
    app.include_router(import_pages.router)
    app.include_router(router)
    from dashboard import (  # built on these pages
        climate_pages,
        room_plan,  # plan (issue 13)
        statistics_pages,
        stocktake_pages,
    )

    app.include_router(room_plan.router)
    app.include_router(stocktake_pages.router)
    app.include_router(climate_pages.router)
    app.include_router(statistics_pages.router)
    from dashboard import label_pages, report_pages  # labels and reports (issue 13)

    app.include_router(label_pages.router)
    app.include_router(report_pages.router)
    # admin console (issue 13)
    from dashboard import audit_pages, device_pages, people_pages

    app.include_router(people_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(device_pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(PageRefused, _refused)


class PageRefused(Exception):
    """The page cannot be shown: not signed in, a role that may not, or nothing there."""

    def __init__(self, why: str, *, message: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.message = message


# ---------------------------------------------------------------- request context


async def _session(request: Request) -> AsyncIterator[Session]:
    # async: no thread-pool hop just to open and close a session (see server/api/deps.py).
    # A form posted may write: its transaction begins IMMEDIATE (server.db.writing).
    state = request.app.state
    engine = state.engine if request.method in ("GET", "HEAD") else state.writer
    with Session(engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


@dataclass
class Page:
    """Who is asking, in which language, with a database session."""

    request: Request
    session: Session
    user: User | None
    lang: str
    t: Callable[..., str]

    def say(self, subject: DomainError | Message | Alarm) -> str:
        """A server message (a refusal, a scan outcome, an alarm) in the page's language."""
        if isinstance(subject, Alarm):
            subject = alarms.said_by(subject)
        return translations.say(subject, self.lang)

    def term(self, group: str, value: str | None) -> str:
        """A domain value in words."""
        return i18n.term(self.t, group, value)

    def place_name(self, kind: str, name: str) -> str:
        """A location's name with its kind, said once."""
        return i18n.place_name(self.t, kind, name)

    def when(self, value: datetime) -> str:
        """A date and time in the page's language and the archive's time zone."""
        return i18n.format_when(value, self.lang, _zone(self.request))

    def number(self, value: float) -> str:
        """A count or measure as the page's language groups its digits."""
        return i18n.format_number(value, self.lang)

    @property
    def person(self) -> User:
        """The signed-in person: every page behind page_for() has one, error pages may not."""
        if self.user is None:
            raise RuntimeError("this page has no signed-in person: is it behind page_for()?")
        return self.user


def _language(request: Request) -> str:
    return i18n.choose(
        request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def _viewer(request: Request, session: Session) -> User | None:
    secret = request.app.state.settings.secret_key
    return sign_in.user_from_token(session, request.cookies.get(sign_in.COOKIE), secret_key=secret)


def page_for(*roles: str) -> Callable[..., Page]:
    """A dependency: the signed-in person with one of these roles, or the page is refused."""

    def dependency(request: Request, session: SessionDep) -> Page:
        lang = _language(request)
        request.state.lang = lang
        if request.method == "POST" and not sign_in.same_origin(request):
            raise PageRefused("forbidden", message="cross-site form posts are refused")
        user = _viewer(request, session)
        if user is None:
            raise PageRefused("signin")
        request.state.user = user
        if user.role not in roles:
            raise PageRefused("forbidden")
        return Page(request, session, user, lang, i18n.translator(lang))

    return dependency


AnyonePage = Annotated[Page, Depends(page_for(*ANYONE))]
WatcherPage = Annotated[Page, Depends(page_for(*WATCHERS))]
MoverPage = Annotated[Page, Depends(page_for(*MOVERS))]


def _time(page: Page, value: datetime | None) -> Markup:
    """A <time>: machine ISO with the offset, text in the page's language and archive's zone."""
    if value is None:
        return Markup("—")
    return Markup('<time datetime="{}">{}</time>').format(
        i18n.moment(value, _zone(page.request)).isoformat(), page.when(value))


def _zone(request: Request) -> ZoneInfo:
    return i18n.zone(request.app.state.settings.timezone)


def _record_url(reference_code: str) -> str:
    return "/records/" + quote(reference_code, safe="")


def _nav(page: Page) -> list[tuple[str, str, str]]:
    items = [("/", "nav.overview", WATCHERS), ("/find", "nav.find", ANYONE),
             ("/shelve", "nav.shelve", MOVERS), ("/stocktakes", "nav.stocktakes", MOVERS),
             ("/loans", "nav.loans", ANYONE),
             # lending (issue 10)
             ("/desk", "nav.desk", MOVERS), ("/requests", "nav.requests", ANYONE),
             ("/my", "nav.my", ANYONE),
             ("/alarms", "nav.alarms", WATCHERS), ("/climate", "nav.climate", WATCHERS),
             ("/devices", "nav.devices", WATCHERS),
             ("/statistics", "nav.statistics", MOVERS),
             # labels and reports (issue 13)
             ("/labels", "nav.labels", MOVERS), ("/reports", "nav.reports", MOVERS),
             # records console (issue 13)
             ("/records/new", "nav.record_new", security.ARCHIVISTS),
             ("/import", "nav.import", security.ARCHIVISTS)]
    # admin console (issue 13): its own group in the header (CONSOLE_PAGES), for archivists
    # and admins only; warehouse staff and borrowers never see it.
    items += [("/audit", "nav.audit", ARCHIVISTS), ("/users", "nav.users", ADMINS)]
    role = page.user.role if page.user else None
    return [(href, page.t(key), key) for href, key, roles in items if role in roles]


# The nav entries shown as the console's group rather than the everyday one.
# (Labels and reports stay in the everyday group: warehouse staff print and read them too.)
CONSOLE_PAGES: frozenset[str] = frozenset({"/records/new", "/import", "/audit", "/users"})


def render(page: Page, name: str, *, status: int = 200, live: tuple[str, ...] = (),
           **context: Any) -> Response:
    """A template in the page's language; remembers a ?lang= choice in a cookie."""
    request = page.request
    js_texts = {key: page.t(key) for key in ("live.connected", "live.reconnecting")}
    response = templates.TemplateResponse(
        request, name,
        {
            "page": page, "t": page.t, "term": page.term, "place_name": page.place_name,
            "say": page.say,
            "lang": page.lang,
            "html_lang": i18n.HTML_LANG[page.lang], "languages": i18n.LANGUAGE_NAMES,
            "nav": _nav(page), "console_pages": CONSOLE_PAGES, "path": request.url.path,
            "when": lambda value: _time(page, value),
            "place_path": lambda path: i18n.place_path(page.t, path),
            "timezone": request.app.state.settings.timezone,
            "number": page.number,
            "record_url": _record_url, "live_kinds": " ".join(live), "js_texts": js_texts,
            "lang_url": lambda code: str(request.url.include_query_params(lang=code)),
            **context,
        },
        status_code=status,
    )
    _remember_language(request, response)
    return response


def _remember_language(request: Request, response: Response) -> None:
    chosen = i18n.normalise(request.query_params.get("lang"))
    if chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax", path="/")


def _bare_page(request: Request, session: Session) -> Page:
    lang = _language(request)
    return Page(request, session, getattr(request.state, "user", None), lang,
                i18n.translator(lang))


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageRefused)
    wants_json = request.url.path.startswith(("/shelve/scan", "/events")) or (
        "application/json" in request.headers.get("accept", "")
    )
    if exc.why == "signin":
        if wants_json:
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/signin?" + urlencode({"next": target}), status_code=303)
    status = 404 if exc.why == "not_found" else 403
    if wants_json:
        return JSONResponse({"detail": exc.message or exc.why}, status_code=status)
    with Session(request.app.state.engine) as session:
        page = _bare_page(request, session)
        return render(page, "refused.html", status=status, why=exc.why, message=exc.message)


# ---------------------------------------------------------------- sign-in


@router.get("/signin")
def signin_form(request: Request, session: SessionDep, next: str = "/") -> Response:
    """The sign-in form; straight on when already signed in."""
    if _viewer(request, session) is not None:
        return RedirectResponse(sign_in.safe_next(next), status_code=303)
    return render(_bare_page(request, session), "signin.html", next=sign_in.safe_next(next))


@router.post("/signin")
def signin(
    request: Request, session: SessionDep, username: Annotated[str, Form()],
    password: Annotated[str, Form()], next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and keep the API's token in an HttpOnly cookie."""
    page = _bare_page(request, session)
    if not sign_in.same_origin(request):
        raise PageRefused("forbidden", message="cross-site form posts are refused")
    settings = request.app.state.settings
    address = request.client.host if request.client else None
    name = username.strip()
    wait = security.refusal(session, username=name, address=address)
    user = None if wait else people.authenticate(session, username=name, password=password)
    if user is None:
        if not wait:  # the session of a POST is a writing one (server.api.deps)
            security.note_failure(session, username=name, address=address,
                                  brakes=settings.sign_in_brakes)
            session.commit()
        response = render(page, "signin.html", status=429 if wait else 401,
                          next=sign_in.safe_next(next), failed=True, username=username,
                          wait=wait)
        if wait:
            response.headers["Retry-After"] = str(wait)
        return response
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    security.note_success(session, username=user.username)
    token = sign_in.open_session(session, user, secret_key=settings.secret_key, ttl=ttl,
                                 client=address)
    session.commit()
    target = sign_in.safe_next(next)
    if target == "/" and user.role not in WATCHERS:
        target = "/find"
    response = RedirectResponse(target, status_code=303)
    sign_in.set_cookie(response, request, token, ttl=ttl)
    log.info("%s signed in to the dashboard", user.username)
    return response


@router.post("/signout")
def signout(page: AnyonePage) -> Response:
    """End the sign-in session (its token is refused at once) and forget the cookie."""
    request = page.request
    security.end_session_of_token(page.session, request.cookies.get(sign_in.COOKIE),
                                  secret_key=request.app.state.settings.secret_key)
    page.session.commit()
    response = RedirectResponse("/signin", status_code=303)
    sign_in.drop_cookie(response)
    return response


# ---------------------------------------------------------------- overview


@router.get("/")
def overview(page: AnyonePage) -> Response:
    """Counts, room maps, recent movements, open alarms and each room's climate, kept live."""
    from dashboard import climate_pages

    if page.person.role not in WATCHERS:
        return RedirectResponse("/find", status_code=303)
    session = page.session
    counts = tallies.box_counts(session)
    states = tallies.device_states(session)
    active, active_total = alarms.list_alarms(session, state="open", limit=5)
    drawings = [room_map.draw(room) for room in tallies.room_maps(session)]
    return render(
        page, "overview.html", live=LIVE_KINDS,
        box_counts=counts, box_total=sum(counts.values()),
        statuses=("on_shelf", "being_retrieved", "in_transit", "on_loan", "missing", "disposed"),
        record_total=tallies.record_count(session, clearance=page.person.clearance),
        device_states=states, device_total=sum(states.values()),
        alarms=active, alarm_total=active_total,
        moves=tallies.recent_movements(session), drawings=drawings,
        climate=climate_pages.room_lines(session, page.request.app.state.settings),
    )


# ---------------------------------------------------------------- find and details


@router.get("/find")
def find(page: AnyonePage, q: str = "", offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """One box for anything scannable or typed: opens what a code names, else searches records."""
    session, scheme = page.session, page.request.app.state.scheme
    text = q.strip()
    notice: str | None = None
    search = bool(text)
    # Words that cannot be a code (a phrase with spaces) are a search, and not worth a notice.
    if text and cannot_be_a_code(text) is None:
        try:
            named = scan.resolve(session, text, scheme=scheme, clearance=page.person.clearance)
        except Invalid as exc:
            notice = page.t("find.not_a_code", message=page.say(exc))
        except NotFound:
            if _names_a_code(text, scheme):
                notice, search = page.t("find.unknown_code", code=text), False
        else:
            return RedirectResponse(_detail_url(named.kind, named.code), status_code=303)
    found = records.Found([], 0, False)
    if search:
        found = records.search_records(
            session, clearance=page.person.clearance, q=text, limit=PAGE_SIZE, offset=offset
        )
    return render(
        page, "find.html", q=text, notice=notice, searched=search,
        results=records.present(session, found.rows), total=found.total,
        total_is_estimate=found.total_is_estimate, offset=offset, page_size=PAGE_SIZE,
    )


def _names_a_code(text: str, scheme) -> bool:
    """True when the text is a box or location code in one of its forms (registered or not)."""
    try:
        return identify(
            text, company_prefix=scheme.company_prefix, site_number=scheme.site_number
        ) is not None
    except InvalidIdentifier:
        return False


def _detail_url(kind: str, code: str) -> str:
    if kind == "record":
        return _record_url(code)
    return f"/{'boxes' if kind == 'box' else 'locations'}/{code}"


@router.get("/s/{code:path}")
def qr_landing(code: str, page: AnyonePage) -> Response:
    """Where a label's QR URL lands: the box or location page."""
    try:
        found = scan.resolve(page.session, code, scheme=page.request.app.state.scheme,
                             clearance=page.person.clearance)
    except DomainError as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    return RedirectResponse(_detail_url(found.kind, found.code), status_code=303)


@router.get("/boxes/{code}")
def box_page(code: str, page: AnyonePage, done: str | None = None) -> Response:
    """One box: where it is, its path, its records and where it has been."""
    return _box_page(page, code, done=done if done in BOX_DONE else None)


@router.post("/boxes/{code}/light")
def light_box(code: str, page: MoverPage) -> Response:
    """Light the shelf where the box is, for whoever goes to pick it."""
    link = page.request.app.state.broker_link
    if link is None or not link.connected:
        return _box_page(page, code, errors={"light": page.t("box.light_unreachable")},
                         status=503)
    try:
        lights.for_box(page.session, code, LightRequest())
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    except DomainError as exc:
        return _box_page(page, code, errors={"light": page.say(exc)}, status=409)
    page.session.commit()  # the command leaves through the outbox
    return _box_done(code, "light")


# What a box page says after a form of it succeeded: chosen by a key in the address (never text
# from it), so a reload shows the page again instead of posting again.
BOX_DONE = ("lent", "returned", "light")


def _box_done(code: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/boxes/{quote(code, safe='')}?done={done}", status_code=303)


def _done_notice(page: Page, done: str | None, box, loan) -> str | None:
    if done == "lent" and loan is not None:
        return page.t("box.lent", borrower=loan.borrower, due=loan.due_on.isoformat())
    if done == "returned":
        return page.t("box.returned")
    if done == "light" and box.location_path:
        return page.t("box.light_sent", path=box.location_path, seconds=LightRequest().seconds)
    return None


def _box_page(page: Page, code: str, *, done: str | None = None, status: int = 200,
              errors: dict[str, str] | None = None,
              lend_form: dict[str, str] | None = None) -> Response:
    session = page.session
    try:
        box = boxes.by_code(session, code)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    shown = boxes.present(session, [box], scheme=page.request.app.state.scheme,
                          clearance=page.person.clearance, role=page.person.role)[0]
    trail = []
    if box.location_id:
        here = session.get(Location, box.location_id)
        trail = tallies.ancestors(session, here) if here else []
    held = records.search_records(
        session, clearance=page.person.clearance, box=box.code, limit=200
    )
    moves, moves_total = boxes.history(session, box.code, limit=100)
    loan = loans.open_loan(session, box) if box.status == "on_loan" else None
    can_lend = page.person.role in MOVERS and box.status in loans.LENDABLE
    can_light = (page.person.role in MOVERS and box.location_id is not None
                 and page.request.app.state.broker_link is not None)
    return render(
        page, "box.html", status=status, live=("box",), box=shown, trail=trail,
        records=records.present(session, held.rows), records_total=held.total,
        moves=tallies.movement_lines(session, moves, role=page.person.role), moves_total=moves_total,
        notice=_done_notice(page, done, shown, loan), can_light=can_light, can_lend=can_lend,
        can_return=page.person.role in MOVERS and loan is not None,
        today=now().date().isoformat(),
        loan=loans.present(session, [loan])[0] if loan else None,
        lend_form=lend_form or {}, errors=errors or {},
        held_classes=sorted({r.classification for r in held.rows}),
    )


@router.get("/locations/{code}")
def location_page(code: str, page: AnyonePage,
                  offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """One location: its path, what is inside it and the boxes there."""
    session = page.session
    scheme = page.request.app.state.scheme
    try:
        place = locations.by_code(session, code)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    shown = locations.present(session, [place], scheme=scheme)[0]
    children, _ = locations.list_locations(session, parent=place.code, limit=500)
    inside = locations.present(session, children, scheme=scheme)
    within = tallies.boxes_within(session, place, children)
    held, held_total = boxes.list_boxes(session, location=place.code, limit=PAGE_SIZE,
                                        offset=offset)
    return render(
        page, "location.html", live=("box",), place=shown, trail=tallies.ancestors(session, place),
        children=inside, within=within, boxes=boxes.present(session, held, scheme=scheme,
                                                 clearance=page.person.clearance),
        boxes_total=held_total, offset=offset, page_size=PAGE_SIZE,
    )


@router.get("/records/{reference_code:path}")
def record_page(reference_code: str, page: AnyonePage) -> Response:
    """One record: its description, its box and where that box is."""
    try:
        record = records.by_reference(page.session, reference_code,
                                      clearance=page.person.clearance)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    return render(page, "record.html", live=("box",),
                  record=records.present(page.session, [record])[0],
                  can_describe=page.person.role in security.ARCHIVISTS)


# ---------------------------------------------------------------- shelve


class ShelveScan(BaseModel):
    code: str = Field(max_length=400)
    target: str | None = Field(default=None, max_length=20)
    mode: str = Field(default=scan.SHELVE, max_length=20)
    stocktake: int | None = Field(default=None, ge=1, le=2**63 - 1)


# Lending outcomes whose message names the borrower, the request or the due day.
_TELLING = frozenset({scan.PICKED, scan.CHECKED_OUT, scan.RETURNED, scan.RETURNED_AND_SHELVED})


# Refusals whose service message says something the short one does not (which slot is full of
# what, why a code is not one); the others' short words say it all.
_SPECIFIC = frozenset({scan.FULL, scan.UNKNOWN, scan.INVALID, scan.OTHER})


@dataclass(frozen=True)
class ShownScan:
    """One scan as the Shelve page shows it: the outcome, in the page's language."""

    outcome: ScanOutcome
    said: str
    detail: str | None

    def as_dict(self) -> dict:
        """The page script's JSON: the outcome's own fields, plus what to show."""
        return {**self.outcome.as_dict(), "said": self.said, "detail": self.detail}


def _shelve(page: Page, code: str, target: str | None, mode: str = scan.SHELVE,
            stocktake_id: int | None = None) -> ShownScan:
    from server.services.requests import Policy

    outcome = shelve_scan(
        page.session, code, target=target or None, scheme=page.request.app.state.scheme,
        clearance=page.person.clearance, user=page.person.username,
        mode=mode if mode in shelving.MODES else scan.SHELVE, stocktake_id=stocktake_id,
        policy=Policy.from_settings(page.request.app.state.settings),
    )
    return _said(page, outcome)


def _said(page: Page, outcome: ScanOutcome) -> ShownScan:
    counted = shelving.said_in_stocktake(page.t, outcome)
    if counted is not None:
        said = counted
    elif outcome.ok:
        said = page.t(f"scan.{outcome.action}", path=i18n.place_path(page.t, outcome.location_path),
                      box=outcome.box)
    else:
        said = page.t(f"scan.refused.{outcome.reason}")
    detail = (page.say(outcome.said) if outcome.reason in _SPECIFIC or outcome.action in _TELLING
              or outcome.reason in (scan.NO_REQUEST, scan.NOT_ON_LOAN) else None)
    return ShownScan(outcome, said, detail)


# The no-JavaScript Shelve form redirects after each scan; the scan's outcome rides along in
# a cookie that lives a minute, signed so the page only ever says what the server did.
LAST_SCAN_COOKIE = "last_scan"


def _scan_seal(page: Page, body: str) -> str:
    key = page.request.app.state.settings.secret_key.encode()
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _keep_last_scan(page: Page, response: Response, outcome: ScanOutcome) -> None:
    kept = {**outcome.as_dict(), "said": outcome.said.as_json()}  # said again in any language
    body = base64.urlsafe_b64encode(
        json.dumps(kept, ensure_ascii=False, default=str).encode()).decode()
    response.set_cookie(LAST_SCAN_COOKIE, f"{body}.{_scan_seal(page, body)}", max_age=60,
                        httponly=True, samesite="lax", path="/shelve")


def _last_scan(page: Page) -> ScanOutcome | None:
    kept = page.request.cookies.get(LAST_SCAN_COOKIE, "")
    body, _, seal = kept.rpartition(".")
    if not body or not hmac.compare_digest(seal, _scan_seal(page, body)):
        return None
    try:
        fields = json.loads(base64.urlsafe_b64decode(body.encode()))
        at = fields.get("at")
        return ScanOutcome(
            code=fields["code"], mode=fields["mode"], action=fields["action"],
            said=Message.from_json(fields["said"]), reason=fields.get("reason"), box=fields.get("box"),
            location=fields.get("location"), location_path=fields.get("location_path"),
            at=datetime.fromisoformat(at) if at else None, verdict=fields.get("verdict"),
            expected=fields.get("expected"), expected_path=fields.get("expected_path"),
            stocktake=fields.get("stocktake"))
    except (ValueError, KeyError, TypeError):
        return None


def _shelve_modes(page: Page, mode: str, stocktake_id: int | None) -> dict[str, Any]:
    counting = shelving.open_stocktakes(page.session)
    if mode == scan.STOCKTAKE and stocktake_id is None and counting:
        stocktake_id = counting[0][0]
    return {"mode": mode if mode in shelving.MODES else scan.SHELVE, "modes": shelving.MODES,
            "stocktakes": counting, "stocktake_id": stocktake_id}


@router.get("/shelve")
def shelve_page(page: MoverPage, mode: str = scan.SHELVE,
                stocktake: Annotated[int | None, Query(ge=1)] = None,
                target: Annotated[str, Query(max_length=20)] = "") -> Response:
    """Scan a location, then box, box, box (stocktake mode: counted where seen, not moved)."""
    place = None
    if target:
        try:
            place = locations.by_code(page.session, target)
        except NotFound:
            place = None
    last = _last_scan(page)
    response = render(page, "shelve.html", target=place.code if place else None,
                      target_path=place.path if place else None,
                      results=[_said(page, last)] if last else [], errors={}, typed="",
                      **_shelve_modes(page, mode, stocktake))
    if last is not None:
        response.delete_cookie(LAST_SCAN_COOKIE, path="/shelve")
    return response


@router.post("/shelve")
def shelve_form(page: MoverPage, code: Annotated[str, Form(max_length=400)],
                target: Annotated[str, Form(max_length=20)] = "",
                mode: Annotated[str, Form(max_length=20)] = scan.SHELVE,
                stocktake: Annotated[int | None, Form(ge=1)] = None) -> Response:
    """The same without JavaScript: one scan per form post, then back to the page (303) with
    the target kept; a refused scan shows the page again with the reason under the field."""
    shown = _shelve(page, code, target, mode, stocktake)
    if not shown.outcome.ok:
        return render(page, "shelve.html", target=shown.outcome.location,
                      target_path=shown.outcome.location_path, results=[shown],
                      errors={"code": shown.said + (f" ({shown.detail})" if shown.detail else "")},
                      typed=code, status=422 if shown.outcome.reason == scan.INVALID else 409,
                      **_shelve_modes(page, mode, stocktake))
    query = {"target": shown.outcome.location or "", "mode": mode}
    if stocktake is not None:
        query["stocktake"] = str(stocktake)
    response = RedirectResponse("/shelve?" + urlencode(query), status_code=303)
    _keep_last_scan(page, response, shown.outcome)
    return response


@router.post("/shelve/scan")
def shelve_json(page: MoverPage, body: ShelveScan) -> JSONResponse:
    """One scan from the page's script: the outcome (as the API says it) and what to show.

    Text that cannot be a code answers 422, as the API does, with the same body.
    """
    shown = _shelve(page, body.code, body.target, body.mode, body.stocktake)
    invalid = shown.outcome.reason == scan.INVALID
    return JSONResponse({**shown.as_dict(), **({"field": "code"} if invalid else {})},
                        status_code=422 if invalid else 200)


# ---------------------------------------------------------------- alarms and devices


@router.get("/loans")
def loans_page(page: AnyonePage, state: str = "open",
               offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    """Who has which box until when; a borrower sees their own loans."""
    wanted = state if state in ("open", "overdue", "returned") else None
    borrower = page.person.username if page.person.role == Role.BORROWER else None
    rows, total = loans.list_loans(page.session, state=wanted, borrower=borrower,
                                   limit=PAGE_SIZE, offset=offset)
    return render(page, "loans.html", loans=loans.present(page.session, rows), total=total,
                  state=wanted or "all", offset=offset, page_size=PAGE_SIZE)


@router.post("/boxes/{code}/loan")
def lend_box(code: str, page: MoverPage, borrower: Annotated[str, Form(max_length=100)],
             due_on: Annotated[str, Form(max_length=10)],
             purpose: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Lend the box from its page: who takes it and until when."""
    typed = {"borrower": borrower, "due_on": due_on, "purpose": purpose}
    try:
        # validated from the form's text, as the API's JSON is: a bad date is a 422 below
        data = LoanCreate.model_validate(
            {"borrower": borrower.strip(), "due_on": due_on, "purpose": purpose.strip() or None})
    except ValidationError:
        return _box_page(page, code, status=422, lend_form=typed,
                         errors={"due_on": page.t("box.loan_bad_input")})
    try:
        loans.lend(page.session, code, data, actor=page.person.username)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    except DomainError as exc:
        # The error goes next to the form, with what was typed kept (lending, issue 10).
        page.session.rollback()
        said = page.t("box.loan_unknown_borrower", name=borrower.strip()) \
            if exc.field == "borrower" and "nobody signs in" in exc.template else page.say(exc)
        return _box_page(page, code, status=422 if exc.field else 409, lend_form=typed,
                         errors={exc.field if exc.field in typed else "lend": said})
    page.session.commit()
    return _box_done(code, "lent")


@router.get("/people/borrowers")
def borrower_picker(page: MoverPage, q: Annotated[str, Query(max_length=100)] = "") -> JSONResponse:
    """The lend form's picker: people who may borrow (signed-in accounts still open) whose
    username or name holds the typed text, with their role and clearance."""
    people_found = people.find_people(page.session, q)
    return JSONResponse({"items": [
        {"username": p.username, "name": p.full_name or "", "role": p.role,
         "role_label": page.term("role", p.role), "clearance": p.clearance,
         "clearance_label": page.term("class", p.clearance),
         "may_see": people.clearance_levels(p.clearance)}
        for p in people_found
    ]}, headers={"Cache-Control": "no-store"})


@router.post("/boxes/{code}/return")
def return_box(code: str, page: MoverPage) -> Response:
    """Take the box back from its loan; it waits in transit until someone shelves it."""
    try:
        loans.give_back(page.session, code, to=None, actor=page.person.username)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    except DomainError as exc:
        page.session.rollback()
        return _box_page(page, code, errors={"return": page.say(exc)}, status=409)
    page.session.commit()
    return _box_done(code, "returned")


@router.get("/alarms")
def alarms_page(page: WatcherPage, state: str = "active",
                offset: Annotated[int, Query(ge=0)] = 0, notice: str | None = None,
                status: int = 200) -> Response:
    """Alarms, newest first: the open ones (active or acknowledged) to acknowledge and clear."""
    wanted = state if state in ("active", "cleared") else None
    rows, total = alarms.list_alarms(page.session, state="open" if wanted == "active" else wanted,
                                     limit=PAGE_SIZE, offset=offset)
    return render(page, "alarms.html", live=("alarm",), alarms=rows, total=total,
                  state=wanted or "all", offset=offset, page_size=PAGE_SIZE, notice=notice,
                  status=status)


@router.post("/alarms/{alarm_id}/acknowledge")
def acknowledge_alarm(alarm_id: int, page: WatcherPage, note: Annotated[str, Form()] = "",
                      back: Annotated[str, Form()] = "/alarms"):
    """A person says an alarm is being dealt with, and how; every open page hears of it."""
    try:
        alarms.acknowledge(page.session, alarm_id, actor=page.person.username, note=note)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    except DomainError as exc:
        page.session.rollback()
        return alarms_page(page, notice=page.say(exc), status=409 if isinstance(exc, Conflict) else 422)
    page.session.commit()
    return RedirectResponse(sign_in.safe_next(back), status_code=303)


@router.post("/alarms/{alarm_id}/clear")
def clear_alarm(alarm_id: int, page: WatcherPage, back: Annotated[str, Form()] = "/alarms",
                note: Annotated[str, Form()] = ""):
    """A person clears an alarm (critical ones: an archivist or admin, with a note)."""
    try:
        alarms.clear(page.session, alarm_id, actor=page.person.username, role=page.person.role,
                     note=note)
    except NotFound as exc:
        raise PageRefused("not_found", message=page.say(exc)) from exc
    except Conflict:
        page.session.rollback()  # already cleared by someone else: nothing to do
        return RedirectResponse(sign_in.safe_next(back), status_code=303)
    except DomainError as exc:
        page.session.rollback()
        return alarms_page(page, notice=page.say(exc),
                           status=403 if isinstance(exc, Forbidden) else 422)
    page.session.commit()
    return RedirectResponse(sign_in.safe_next(back), status_code=303)


# ---------------------------------------------------------------- live stream and fonts


@router.get("/events")
def events(request: Request) -> Response:
    """Server-sent events: every change on the live feed, as it happens."""
    # Checked with a short session of its own: a stream that lasts hours must not hold a
    # database connection.
    with Session(request.app.state.engine) as session:
        viewer = _viewer(request, session)
        if viewer is None:
            return JSONResponse({"detail": "sign in first"}, status_code=401)
    # A borrower's stream leaves out other borrowers' requests, reminders and holds.
    borrower = viewer.username if viewer.role == Role.BORROWER else None
    return StreamingResponse(
        stream.changes(request, request.app.state.feed, borrower=borrower),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/fonts/archive-sans-sc.ttf")
def chinese_font() -> FileResponse:
    """The labels' Noto Sans SC cut, so Chinese shows on machines without a CJK font."""
    return FileResponse(REGULAR_FONT, media_type="font/ttf",
                        headers={"Cache-Control": "public, max-age=604800"})

