"""Shell routes: home page, language switch, health check, metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import func, select, text

from chudong.geo.models import Ward
from chudong.web import i18n
from chudong.web.deps import SessionDep
from chudong.web.metrics import authorise_scrape, scrape
from chudong.web.templating import render

router = APIRouter()


@router.get("/", include_in_schema=False)
def home(request: Request, session: SessionDep) -> Response:
    """Show the landing page of the province's proactive services."""
    settings = request.app.state.settings
    ward_count = session.scalar(
        select(func.count()).select_from(Ward).where(Ward.province_code == settings.province_code)
    )
    return render(request, "home.html", ward_count=ward_count or 0)


@router.get("/lang/{lang}", include_in_schema=False)
def switch_language(lang: str, request: Request) -> Response:
    """Remember the chosen language in a cookie and go back."""
    if lang not in i18n.LANGUAGES:
        lang = "vi"
    back = request.headers.get("referer") or "/"
    if not back.startswith(str(request.base_url)):
        back = "/"
    resp = RedirectResponse(back, status_code=303)
    resp.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return resp


@router.get("/healthz", tags=["operations"])
def healthz(request: Request) -> JSONResponse:
    """Report whether the web process can reach its database (200) or not (503)."""
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported, not raised
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", tags=["operations"], response_class=PlainTextResponse,
            responses={401: {"description": "no or wrong metrics token"}, 404: {"description": "production, no token"}})
def metrics(request: Request, session: SessionDep) -> Response:
    """Expose Prometheus metrics (bearer ``CHUDONG_METRICS_TOKEN`` or a signed-in operator)."""
    authorise_scrape(request, session)
    return Response(scrape(request.app.state), media_type="text/plain; version=0.0.4; charset=utf-8")
