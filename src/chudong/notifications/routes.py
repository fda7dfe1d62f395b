"""Notifications API: signed delivery receipts, operator statistics and history, inbox, preview."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.identity.principal import operator_key
from chudong.kit.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from chudong.notifications import dispatch, service
from chudong.notifications.config import get_notify_settings
from chudong.notifications.models import Notification
from chudong.notifications.schemas import (
    EventRead,
    InboxMessageRead,
    NotificationRead,
    PreferencesWrite,
    PreviewRead,
    ReceiptResult,
    StatsRowRead,
)
from chudong.notifications.signing import HEADER
from chudong.notifications.templates import preview as render_preview
from chudong.web.deps import SessionDep
from chudong.web.templating import render

router = APIRouter(tags=["notifications"])
_PROVIDER = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# ids are 64-bit database keys: a larger number is a 422, not a driver overflow (500)
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# days far from now overflow when turned into a Vietnam-time datetime bound (0001-01-01 → 500)
StatsDay = Annotated[dt.date | None, Query(ge=dt.date(1900, 1, 1), le=dt.date(2199, 12, 31))]


def require_operator(request: Request, x_operator_key: Annotated[str | None, Header()] = None) -> None:
    """Let the request through only with the operator key in ``X-Operator-Key``."""
    if not x_operator_key:
        raise Unauthorized("send the operator key in the X-Operator-Key header")
    if not hmac.compare_digest(x_operator_key, operator_key(request.app.state.settings.secret_key)):
        raise Forbidden("wrong operator key")


Operator = Depends(require_operator)


@router.post("/api/v1/notifications/receipts/{provider}", response_model=ReceiptResult,
             responses={401: {"description": "missing or forged signature"},
                        404: {"description": "unknown message id (the receipt is kept)"}})
async def receive_receipt(provider: str, request: Request, session: SessionDep,
                          x_chudong_signature: Annotated[str | None, Header(alias=HEADER)] = None) -> JSONResponse:
    """Record a provider's signed delivery receipt and update the message's status."""
    if not _PROVIDER.match(provider):
        raise NotFound(f"no provider {provider!r}")
    body = await request.body()
    if len(body) > 16_384:
        raise Unprocessable("a receipt is at most 16 KiB")
    dispatch.verify_receipt(request.app.state.settings.secret_key, provider, body, x_chudong_signature)
    try:
        payload = json.loads(body)
    except ValueError:
        raise Unprocessable("the receipt body is not JSON") from None
    if not isinstance(payload, dict):
        raise Unprocessable("the receipt body must be a JSON object")
    result = dispatch.apply_receipt(session, provider, payload)
    out = ReceiptResult(outcome=result.outcome, notification_id=result.notification_id, status=result.status)
    if result.outcome == "unknown":
        # The receipt is stored (the session still commits): it is applied if the send is recorded later.
        return JSONResponse({"error": "not_found", "outcome": "unknown",
                             "detail": f"no message {payload.get('message_id')!r} from {provider}; the receipt is "
                                       "kept and will be applied if that message is recorded later"}, 404)
    return JSONResponse(out.model_dump())


@router.get("/api/v1/notifications/kannel/{provider}/dlr",
            responses={401: {"description": "missing or wrong signature"}, 422: {"description": "unreadable type"}})
def kannel_delivery_report(provider: Annotated[str, Path(pattern=_PROVIDER.pattern)], request: Request,
                           session: SessionDep, id: str | None = None, type: str | None = None,
                           sig: str | None = None) -> dict[str, object]:
    """Apply a Kannel delivery report (the signed ``dlr-url`` Kannel calls; a repeat changes nothing)."""
    from chudong.notifications.kannel_dlr import apply_kannel_report

    return apply_kannel_report(session, request.app.state.settings.secret_key, provider, id, type, sig)


@router.get("/api/v1/notifications/stats", response_model=list[StatsRowRead], dependencies=[Operator])
def get_stats(session: SessionDep, since: StatsDay = None, until: StatsDay = None) -> list[StatsRowRead]:
    """Return sent / delivered / failed notifications per day, channel and service."""
    return [StatsRowRead.model_validate(r) for r in service.stats(session, since, until)]


@router.get("/api/v1/notifications/failures", response_model=list[NotificationRead], dependencies=[Operator])
def get_failures(session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[NotificationRead]:
    """Return the latest technical failures for operators to handle."""
    return [NotificationRead.model_validate(n) for n in service.failures(session, limit)]


@router.get("/api/v1/notifications/templates/{template_id}/preview", response_model=PreviewRead)
def get_preview(template_id: str, channel: str = "sms", lang: str = "vi", unaccented: bool = False) -> PreviewRead:
    """Render a message template with its sample values (SMS: encoding and segments)."""
    r = render_preview(template_id, channel, lang, unaccented=unaccented)
    from chudong.notifications.templates import get_template

    return PreviewRead(template_id=template_id, version=get_template(template_id).version, channel=channel,
                       language=r.language, subject=r.subject, body=r.body,
                       sms_encoding=r.sms.encoding if r.sms else None, sms_segments=r.sms.segments if r.sms else None)


@router.get("/api/v1/notifications/inbox/{person_id}", response_model=list[InboxMessageRead], dependencies=[Operator])
def get_inbox(person_id: RowId, session: SessionDep) -> list[InboxMessageRead]:
    """Return a person's portal inbox (operator access until portal sign-in exists)."""
    return [InboxMessageRead.model_validate(m) for m in service.inbox_for(session, person_id)]


@router.put("/api/v1/notifications/preferences/{person_id}", dependencies=[Operator])
def put_preferences(person_id: RowId, body: PreferencesWrite, session: SessionDep) -> dict[str, object]:
    """Replace a person's contact preferences."""
    pref = service.set_preferences(session, person_id, channels=body.channels, language=body.language,
                                   quiet_start=body.quiet_start, quiet_end=body.quiet_end,
                                   opt_out_optional=body.opt_out_optional, sms_unaccented=body.sms_unaccented,
                                   push_tokens=body.push_tokens)
    return {"person_id": pref.person_id, "channels": pref.channels}


@router.get("/api/v1/notifications/{notification_id}", response_model=NotificationRead, dependencies=[Operator])
def get_notification(notification_id: RowId, session: SessionDep) -> NotificationRead:
    """Return one notification with its full history."""
    row, events = service.history(session, notification_id)
    out = NotificationRead.model_validate(row)
    out.history = [EventRead.model_validate(e) for e in events]
    return out


def viewer_allowed(request: Request, session: Session) -> bool:
    """Return True if this caller may read every test-mode message (sign-in codes included).

    Only in test mode outside production, and then only in the demo (``chudong demo`` sets
    ``app.state.demo_mode``: its synthetic citizens read their codes there) or for a
    signed-in operator. Anyone else would read other people's sign-in codes.
    """
    if get_notify_settings().mode != "test" or request.app.state.settings.env == "production":
        return False
    if getattr(request.app.state, "demo_mode", False):
        return True
    from chudong.portal.security import load_user

    user = load_user(request, session)
    return user is not None and user.role == "operator"


@router.get("/notifications/viewer", include_in_schema=False)
def viewer(request: Request, session: SessionDep) -> HTMLResponse:
    """Show the messages the fake providers 'sent' (test-mode demo or operators: nothing left the machine)."""
    if not viewer_allowed(request, session):
        raise NotFound("the message viewer exists only in the test-mode demo and for operators")
    rows = list(session.scalars(select(Notification).order_by(Notification.id.desc()).limit(200)))
    return render(request, "notifications_viewer.html", rows=rows)
