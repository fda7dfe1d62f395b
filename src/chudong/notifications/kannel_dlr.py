"""Kannel's delivery reports (``dlr-url`` callbacks): verified, then applied like any receipt."""

from __future__ import annotations

from sqlalchemy.orm import Session

from chudong.adapters.sms.kannel import PROGRESS, ReportError, parse_report
from chudong.kit.errors import Unauthorized, Unprocessable
from chudong.notifications.dispatch import apply_receipt
from chudong.notifications.signing import receipt_key


def apply_kannel_report(session: Session, secret_key: str, provider: str, message_id: str | None,
                        kannel_type: str | None, signature: str | None) -> dict[str, object]:
    """Apply one report; a repeated report changes nothing (the receipt says ``duplicate``).

    A wrong signature is refused (401), an unreadable type is a 422; reports of progress
    (queued on / accepted by the SMSC) are acknowledged and change nothing.
    """
    try:
        report = parse_report(receipt_key(secret_key, provider), message_id, kannel_type, signature)
    except ReportError as exc:
        if str(exc).startswith("sig:"):
            raise Unauthorized(f"Kannel delivery report for {provider!r}: {exc}") from None
        raise Unprocessable(f"Kannel delivery report for {provider!r}: {exc}") from None
    if report.status == PROGRESS:
        return {"outcome": "progress", "kannel_type": report.kannel_type}
    result = apply_receipt(session, provider, {"message_id": report.message_id, "status": report.status,
                                               "error_code": f"kannel_{report.kannel_type}"
                                               if report.status != "delivered" else None,
                                               "kannel_type": report.kannel_type})
    return {"outcome": result.outcome, "notification_id": result.notification_id, "status": result.status,
            "kannel_type": report.kannel_type}
