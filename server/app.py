"""create_app(settings): the FastAPI app; its lifespan starts the device link and jobs."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session

from server.api import (
    admin,
    auth,
    climate,
    copies,
    devices,
    holdings,
    imports,
    labels,
    loans,
    places,
    scan,
    statistics,
)
from server.db import make_engine, writing
from server.leader import Duty, Leadership
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
    app.state.signed_in = {}  # token -> (until, user); see server.api.deps.current_user

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        code = next((c for kind, c in STATUS_OF.items() if isinstance(exc, kind)), 400)
        body = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        return JSONResponse(status_code=code, content=body)

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
                   loans.router):
        app.include_router(router)
    app.include_router(statistics.router)
    from dashboard import pages  # the pages, /events and /static (only app.py imports dashboard)

    pages.install(app)
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
    if settings.jobs_enabled:
        jobs = Jobs(settings, engine)
        duties.append(Duty("the scheduled jobs", jobs.start, jobs.stop))
    leadership = Leadership(engine, duties)
    leadership.start()
    app.state.leadership = leadership
    return leadership


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and several workers: settings from the environment."""
    return create_app(Settings())
