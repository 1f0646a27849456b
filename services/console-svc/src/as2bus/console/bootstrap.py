"""Composition root of console-svc: settings → database and accounts, the other services'
clients, the bus (Send File; the audit trail's consumers) → pages, sign-in, users API, static
files, ops routes."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from as2bus.console.accounts import Accounts
from as2bus.console.adapters.audit_trail import AuditTrail
from as2bus.console.adapters.backends import BackendError, Backends
from as2bus.console.adapters.repository import Repository
from as2bus.console.adapters.sending import Sender
from as2bus.console.adapters.shown_once import ShownOnce
from as2bus.console.domain.proxy import TrustedProxy
from as2bus.console.domain.roles import Action, may
from as2bus.console.domain.sessions import Throttle
from as2bus.console.entrypoints import (
    admin_pages,
    api,
    cert_pages,
    config_pages,
    message_pages,
    pages,
    signin,
    tracklog_pages,
)
from as2bus.console.entrypoints import bus as bus_entrypoints
from as2bus.console.entrypoints.browser_headers import BrowserHeaders
from as2bus.console.entrypoints.guard import Forbidden, SignInRequired, signed_in
from as2bus.console.settings import ConsoleSettings
from as2bus.console.user_admin import UserAdmin
from as2bus.console.wiring import Components, wiring
from as2bus.contracts.documents import documents_bucket
from as2bus.shared.bus import open_bus
from as2bus.shared.bus.connection import inbox_prefix, new_broker
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.chassis import api_tokens, bus_check, database_check
from as2bus.shared.db import create_engine, session_factory, upgrade_database_async
from as2bus.shared.tracing import fastapi_telemetry
from as2bus.shared.web import BodySizeLimit, add_error_handlers, add_ops_routes, include_scoped

log = logging.getLogger("as2bus.console")

MIGRATIONS = "as2bus.console:migrations"
STATIC = Path(__file__).parent / "static"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Complete(Protocol):
    """The console's components, completed with the parts only its lifespan connects."""

    def __call__(
        self, *, sender: Sender, documents: DocumentStore, backends: Backends
    ) -> Components: ...


def create_app(settings: ConsoleSettings) -> FastAPI:
    app, _ = assemble(settings)
    return app


def assemble(settings: ConsoleSettings) -> tuple[FastAPI, Complete]:
    """The console app, and how its components are completed with what the lifespan connects
    (the sender and the object store over NATS, the other services' clients): the lifespan
    completes and installs them; tests that drive the app without it install them completed
    with stand-ins."""
    tokens = api_tokens(settings)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    repository = Repository(sessions)
    trail = AuditTrail(sessions)
    broker = new_broker(settings.nats_url, name="console-svc")
    bus_entrypoints.register_consumers(
        broker, lambda: trail, inbox_prefix=inbox_prefix(settings.nats_url)
    )
    backend_token = settings.backend_token.get_secret_value() if settings.backend_token else None
    urls = {"tracklog": settings.tracklog_url, "config": settings.config_url,
            "cert": settings.cert_url, "outbound": settings.outbound_url,
            "notify": settings.notify_url}  # fmt: skip
    state: dict[str, object] = {}
    accounts = Accounts(
        repository,
        session_lifetime=timedelta(hours=settings.session_hours),
        idle_limit=timedelta(minutes=settings.session_idle_minutes),
        throttle=Throttle(
            settings.sign_in_attempts, timedelta(minutes=settings.sign_in_window_minutes)
        ),
        address_throttle=Throttle(
            settings.sign_in_address_attempts, timedelta(minutes=settings.sign_in_window_minutes)
        ),
        clock=utc_now,
        trail=trail,
        # Replicas must agree on the CSRF tokens of proxy-signed-in users: derived from a
        # secret they share.
        csrf_key=hashlib.sha256(f"console-csrf:{backend_token}".encode()).digest()
        if backend_token
        else b"",
    )
    user_admin = UserAdmin(accounts, repository, trail, utc_now)
    shown_once = ShownOnce(sessions, utc_now)
    proxy = (
        TrustedProxy.parse(
            settings.trusted_proxies,
            settings.group_roles,
            settings.sso_default_role,
            user_header=settings.user_header,
            groups_header=settings.groups_header,
        )
        if settings.trusted_proxies
        else None
    )

    def complete(*, sender: Sender, documents: DocumentStore, backends: Backends) -> Components:
        return Components(
            accounts=accounts,
            user_admin=user_admin,
            audit_trail=trail,
            shown_once=shown_once,
            proxy=proxy,
            sender=sender,
            documents=documents,
            backends=backends,
            sso_sign_out_url=settings.sso_sign_out_url,
            cookie_secure=settings.cookie_secure,
            session_seconds=int(settings.session_hours * 3600),
            max_upload_bytes=settings.max_upload_bytes,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await upgrade_database_async(MIGRATIONS, settings.database_url)
        bus = await open_bus(
            settings.nats_url, name="console-svc", streams=settings.events, broker=broker
        )
        documents = DocumentStore(
            await documents_bucket(bus.js, replicas=settings.events.replicas), bus.js
        )
        backends = Backends(urls, backend_token)
        sender = Sender(bus.client, documents, backends.outbound)
        components = complete(sender=sender, documents=documents, backends=backends)
        with wiring.installed(app, components):
            await broker.start()  # the audit trail's consumers
            state.update(bus=bus)
            await repository.drop_expired_sessions(utc_now())
            log.info("console-svc ready on http://%s:%s", settings.http_host, settings.http_port)
            try:
                yield
            finally:
                await backends.aclose()
                await bus.close()
                await engine.dispose()

    app = FastAPI(
        telemetry=fastapi_telemetry(),
        # An HTML app: no API docs or OpenAPI document (they would list every route to anyone
        # not signed in); the users API the CLI calls is described in docs/console.md.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        title="as2bus console-svc",
        version="1",
        summary="The operators' web console, and the users API for the CLI.",
        lifespan=lifespan,
    )
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.include_router(tracklog_pages.router)
    app.include_router(message_pages.router)  # after /tracklog/live and /tracklog.csv
    app.include_router(config_pages.router)
    app.include_router(cert_pages.router)
    app.include_router(admin_pages.router)
    include_scoped(app, api.routers, tokens)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    add_error_handlers(app)
    _add_page_errors(app)
    add_ops_routes(app, {"database": database_check(engine, MIGRATIONS), "nats": bus_check(state)})
    # Uploads may be large (Send File); anything bigger than that is refused before reading.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes + 1024 * 1024)
    app.add_middleware(BrowserHeaders)  # outermost: on every answer, a refusal's too
    return app, complete


def _add_page_errors(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, err: SignInRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(err.next_path, safe='/')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, err: Forbidden) -> Response:
        return await _problem(request, 403, "Not allowed", str(err))

    @app.exception_handler(BackendError)
    async def backend_down(request: Request, err: BackendError) -> Response:
        return await _problem(request, 503, "A service is not answering", str(err))


async def _problem(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    context: dict[str, object] = {"title": title, "detail": detail}
    try:  # a signed-in user keeps the console's header: its navigation and Sign out
        who = await signed_in(request)
    except Exception:  # not signed in, or the sign-in itself is what failed: no header
        who = None
    if who is not None:
        context.update(
            user=who.user, csrf=who.session.csrf, may_send=may(who.user.role, Action.SEND)
        )
    return pages.templates.TemplateResponse(request, "problem.html", context, status_code=status)
