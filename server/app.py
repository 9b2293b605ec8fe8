"""create_app(settings): the FastAPI app; its lifespan starts the device link and jobs."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.api import (
    admin,
    auth,
    climate,
    copies,
    description,
    devices,
    holdings,
    imports,
    labels,
    lending,
    loans,
    places,
    scan,
    statistics,
    stocktakes,
)
from server.api.errors import document_errors, validation_body
from server.api.guards import NoControlCharacters, SecurityHeaders
from server.db import make_engine, writing
from server.leader import Duty, Leadership
from server.services import register_terms, translations
from server.services.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from server.services.live import Feed
from server.settings import Settings

log = logging.getLogger(__name__)

STATUS_OF = {NotFound: 404, Conflict: 409, Invalid: 422, Forbidden: 403}

DESCRIPTION = """
The archive room's digital twin: where every box is, what moved, who has it on loan,
and how the rooms' climate is.

Sign in with `POST /api/auth/token` (OAuth2 password form) and send the token as
`Authorization: Bearer …`. Codes follow the identifiers of the contract: boxes
`B00000123`, locations `L00001042`, their QR URLs and RFID EPCs, and records'
reference codes such as `WS·2024·Y·0001`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for these settings (read from the environment when not given)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.feed.start()
        if settings.devices_enabled:
            from server.device_link import start_device_link

            app.state.broker_link = start_device_link(settings, app.state.writer, app.state.scheme)
        leadership = _lead(settings, app)
        yield
        if leadership is not None:
            leadership.stop()
        if app.state.broker_link is not None:
            app.state.broker_link.stop()
        app.state.feed.stop()
        app.state.engine.dispose()

    app = FastAPI(
        title="archive-twin",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.db_url)
    app.state.writer = writing(app.state.engine)  # same pool; for work that writes
    app.state.scheme = settings.code_scheme
    app.state.broker_link = None
    app.state.feed = Feed(app.state.engine)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        code = next((c for kind, c in STATUS_OF.items() if isinstance(exc, kind)), 400)
        # `detail` in the caller's language (Accept-Language), English by default
        language = translations.language_of(request.headers.get("accept-language"))
        body = {"detail": translations.say(exc, language), "field": exc.field}
        return JSONResponse(status_code=code, content=body,
                            headers={"Content-Language": language, "Vary": "Accept-Language"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 304 or exc.status_code < 400:
            return Response(status_code=exc.status_code, headers=exc.headers)
        return JSONResponse(status_code=exc.status_code, headers=exc.headers,
                            content={"detail": exc.detail, "field": None})

    @app.exception_handler(RequestValidationError)
    async def not_valid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A register term (保管期限, 密级, 开放标识 ...) no form matches: say which forms it
        # takes, in the caller's language; anything else in the one validation shape.
        for error in exc.errors():
            term = (error.get("ctx") or {}).get("error")
            if isinstance(term, register_terms.TermError):
                language = register_terms.language_of(request.headers.get("accept-language"))
                return JSONResponse(status_code=422,
                                    content={"detail": term.message(language), "field": term.field})
        return JSONResponse(status_code=422, content=validation_body(list(exc.errors())))

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        """The state of the database and of the broker link."""
        try:
            with Session(app.state.engine) as session:
                session.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # the answer must say what is wrong, not fail
            log.warning("health check: database unreachable: %s", exc)
            database = f"error: {type(exc).__name__}"
        link = app.state.broker_link
        broker = "disabled" if link is None else ("connected" if link.connected else "disconnected")
        healthy = database == "ok" and broker != "disconnected"
        return JSONResponse(
            status_code=200 if database == "ok" else 503,
            content={"status": "ok" if healthy else "degraded", "database": database,
                     "broker": broker},
        )

    for router in (auth.router, scan.router, places.router, holdings.box_router,
                   holdings.record_router, devices.router, devices.alarm_router, admin.router,
                   labels.router):
        app.include_router(router)
    for router in (copies.record_router, copies.router, imports.router, climate.router,
                   climate.room_router, climate.box_router, climate.alarm_router, loans.router,
                   lending.router):
        app.include_router(router)
    app.include_router(stocktakes.router)
    for router in (description.fonds_router, description.check_router,
                   description.package_router, description.forms_router):  # DA/T 18, 22, 48, 70
        app.include_router(router)
    app.include_router(statistics.router)
    from dashboard import pages  # the pages, /events and /static (only app.py imports dashboard)

    pages.install(app)

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    # outermost last: headers go on every answer, the 422 for control characters included
    app.add_middleware(NoControlCharacters, templates=lambda: list(app.openapi()["paths"]))
    app.add_middleware(SecurityHeaders)
    return app


def _lead(settings: Settings, app: FastAPI) -> Leadership | None:
    """Try to lead the workers: the leader publishes the outbox to MQTT and runs the jobs."""
    if not settings.devices_enabled:
        return None
    from server.jobs import Jobs
    from server.publisher import TwinPublisher

    engine = app.state.writer  # the jobs and the publisher's cursor write
    publisher = TwinPublisher(engine, app.state.broker_link.link, root=settings.mqtt_topic_root)
    duties = [Duty("the twin publisher", publisher.start, publisher.stop)]
    if settings.smtp_url and settings.alarm_mail_to:
        from server.alarm_mail import AlarmMailer

        mailer = AlarmMailer(settings, engine)
        duties.append(Duty("the alarm mail", mailer.start, mailer.stop))
    if settings.jobs_enabled:
        jobs = Jobs(settings, engine)
        duties.append(Duty("the scheduled jobs", jobs.start, jobs.stop))
    leadership = Leadership(engine, duties)
    leadership.start()
    app.state.leadership = leadership
    return leadership


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and several workers: settings from the environment.

    Like `archive-twin serve`, it refuses a placeholder or demo secret key.
    """
    settings = Settings()
    settings.check_safe_to_serve()
    return create_app(settings)
