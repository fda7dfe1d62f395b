"""Rendering helpers shared by the portal pages: CSRF for anonymous forms, labels, badges."""

from __future__ import annotations

import datetime as dt
import secrets

from fastapi import Request
from fastapi.responses import HTMLResponse

from chudong.kit import clock
from chudong.web.i18n import current_language, gettext as _
from chudong.web.templating import render

ANON_CSRF_COOKIE = "chudong_csrf"

STATUS_LABELS = {
    "detected": "Detected",
    "offered": "Waiting for your confirmation",
    "confirmed": "Confirmed, waiting for processing",
    "in_processing": "In processing",
    "supplement_requested": "Supplement requested",
    "approved": "Approved",
    "rejected": "Rejected",
    "result_issued": "Result issued",
    "closed": "Closed",
    "declined": "Declined",
    "expired": "Expired",
    "acted_on": "Done",
}
EVENT_LABELS = {
    "detected": "Detected from the registries", "offered": "Offered to the citizen", "opened": "Opened",
    "confirmed": "Confirmed by the citizen", "declined": "Declined by the citizen", "claimed": "Taken into processing",
    "approved": "Approved", "rejected": "Rejected", "result_issued": "Result issued", "closed": "Closed",
    "supplement_requested": "Supplement requested", "supplement_supplied": "Supplement provided",
    "linked_opened": "Linked procedure opened", "escalated": "Escalated to the unit head", "expired": "Expired",
    "acted_on": "Done", "attachment_added": "Document attached", "field_corrected": "Correction sent to the source agency",
    "rated": "Rated", "post_audit_selected": "Selected for post-check", "post_audit_recorded": "Post-check recorded",
}
DEADLINE_BADGES = {"on_time": ("ok", "On time"), "due_soon": ("warn", "Due soon"), "overdue": ("bad", "Overdue")}


def status_label(status: str) -> str:
    """Return the translated label of a dossier status."""
    return _(STATUS_LABELS.get(status, status))


def event_label(kind: str) -> str:
    """Return the translated label of a timeline event."""
    return _(EVENT_LABELS.get(kind, kind.replace("_", " ")))


def title_of(d) -> str:
    """Return a dossier's title in the current language."""
    title = d.title or {}
    return title.get(current_language()) or title.get("vi") or d.service_id


def fmt_date(value: dt.date | dt.datetime | str | None) -> str:
    """Return a date as dd/mm/yyyy (Vietnamese convention), or an empty string."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.astimezone(clock.VN_TZ)
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def page(request: Request, template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """Render a portal page; anonymous forms get a double-submit CSRF cookie."""
    token = getattr(request.state, "csrf_token", "")
    new_cookie = None
    if not token:
        token = request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(24)
        new_cookie = token if token != request.cookies.get(ANON_CSRF_COOKIE) else None
        request.state.csrf_token = token
    helpers = {"status_label": status_label, "title_of": title_of, "fmt_date": fmt_date, "event_label": event_label,
               "badges": DEADLINE_BADGES}
    response = render(request, template, status_code=status_code, **helpers, **context)
    if new_cookie:
        response.set_cookie(ANON_CSRF_COOKIE, new_cookie, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
    return response
