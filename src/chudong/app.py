"""The ASGI application: shell middleware, error handling and every feature's routes."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pathlib import Path
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from chudong.config import Settings, get_settings
from chudong.db import get_engine, pending_migrations, session_factory, unavailable
from chudong.features import feature_modules, load_models
from chudong.kit.errors import ChudongError
from chudong.web import i18n
from chudong.web.metrics import LATENCY, REQUESTS

log = logging.getLogger("chudong.web")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    ),
}
# /docs serves its own copy of Swagger UI (scripts/vendor-assets.sh); Swagger UI sets inline styles.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>chudong API</title><link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css"></head>
<body><main id="swagger-ui"></main>
<script src="/static/swagger-ui/swagger-ui-bundle.js"></script><script src="/static/docs.js"></script></body></html>
"""


class MigrationsPending(RuntimeError):
    """The database schema is older than the code."""


class ShellMiddleware(BaseHTTPMiddleware):
    """Language, security headers and request metrics for every request."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        lang = request.query_params.get("lang") or request.cookies.get("lang")
        if not lang:
            accept = request.headers.get("accept-language", "")
            lang = "en" if accept.lower().startswith("en") else request.app.state.settings.language
        token = i18n.set_language(lang)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            i18n._lang.reset(token)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        LATENCY.labels(request.method, path).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path == "/docs":
            response.headers["Content-Security-Policy"] = DOCS_CSP
        if request.url.scheme == "https":
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response


ERROR_TITLES = {400: "Bad request", 401: "Please sign in", 403: "Not allowed", 404: "Not found",
                409: "Conflict", 413: "Too large", 422: "Please check the form", 429: "Too many attempts",
                503: "Temporarily unavailable"}


def wants_html(request: Request) -> bool:
    """Return True for browser page requests (errors then render a page, not JSON)."""
    if request.url.path.startswith(("/api/", "/healthz", "/metrics", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status_code: int, message: str) -> Response:
    """Render the error page in the user's language."""
    from chudong.web.templating import render

    title = i18n.gettext(ERROR_TITLES.get(status_code, "Error"))
    return render(request, "error.html", status_code=status_code, title=title, message=message)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ChudongError)
    async def domain_error(request: Request, exc: ChudongError) -> Response:
        audience = getattr(exc, "audience", None)
        if audience is not None and wants_html(request):  # SignInRequired on a page
            from fastapi.responses import RedirectResponse

            return RedirectResponse("/signin" if audience == "citizen" else "/staff/signin", status_code=303)
        if wants_html(request):
            return error_page(request, exc.status_code, i18n.gettext(exc.message))
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_html(request):
            return error_page(request, exc.status_code, i18n.gettext(str(exc.detail)))
        return JSONResponse({"error": "http_error", "detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def database_unavailable(request: Request, exc: DBAPIError) -> Response:
        # the database is down, restarting, read-only or full: the request's transaction was
        # rolled back, so the client may retry; any other database error stays a 500 (a bug)
        fault = unavailable(exc)
        if fault is None:
            raise exc
        log.warning("database %s during %s %s: %s", fault.kind, request.method, request.url.path, fault.reason)
        message = f"{fault.message}: the request was not completed; please retry in {fault.retry_after} seconds"
        headers = {"Retry-After": str(fault.retry_after)}
        if wants_html(request):
            response = error_page(request, 503, message)
            response.headers.update(headers)
            return response
        return JSONResponse({"error": "database_unavailable", "detail": message, "kind": fault.kind},
                            status_code=503, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()
        ]
        if wants_html(request):  # the page's language, never Pydantic's English
            return error_page(request, 422, " ".join(dict.fromkeys(i18n.validation_messages(exc.errors()).values())))
        return JSONResponse({"error": "invalid", "detail": errors}, status_code=422)


def create_app(settings: Settings | None = None, engine: Engine | None = None,
               check_migrations: bool = True) -> FastAPI:
    """Build the application for ``settings`` (and ``engine``, when a test supplies one)."""
    settings = settings or get_settings()
    engine = engine or get_engine(settings.effective_database_url)
    load_models()
    if check_migrations:
        pending = pending_migrations(engine)
        if pending:
            raise MigrationsPending(
                f"the database is not migrated (missing {', '.join(pending)}); run `chudong db upgrade`"
            )
    app = FastAPI(
        title="chudong",
        version="0.1.0",
        description="Proactive public administration: life events to pre-filled dossiers, "
        "notices, deadline-tracked processing and the public service-quality index.",
        docs_url=None, redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = session_factory(engine)
    app.add_middleware(ShellMiddleware)
    _error_handlers(app)
    static = Path(__file__).parent / "web" / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/docs", include_in_schema=False)
    def api_reference() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    for module in feature_modules("routes"):
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
    from chudong.web.routes import router as shell_router

    app.include_router(shell_router)
    _document_error_body(app)
    return app


def _document_error_body(app: FastAPI) -> None:
    """Make the OpenAPI schema describe the error body the app really sends ({error, detail, field})."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema.setdefault("components", {}).setdefault("schemas", {})["HTTPValidationError"] = {
                "type": "object", "title": "Error", "required": ["error", "detail"],
                "properties": {"error": {"type": "string"}, "detail": {}, "field": {"type": "string"}},
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
