"""Result documents: structured data for reuse, a Vietnamese PDF with a QR code, public verification.

The QR code carries ``{base_url}/verify/{token}``: the token is signed with the secret key
and names the result and a random nonce stored with it, so it cannot be guessed or forged,
and revoking the result turns every printed copy into "revoked" on the verification page.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import segno
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.dossiers.models import Dossier, DossierResult, ResultVerification, Unit
from chudong.kit import clock

TOKEN_SALT = "chudong.dossier-result"
# result kind and Vietnamese / English document titles per service (default: an approval decision)
RESULT_KINDS: dict[str, tuple[str, str, str]] = {
    "birth-registration": ("birth_certificate_extract", "TRÍCH LỤC KHAI SINH", "Birth certificate extract"),
    "death-registration": ("death_certificate_extract", "TRÍCH LỤC KHAI TỬ", "Death certificate extract"),
    "poor-household-confirmation": ("household_confirmation", "GIẤY XÁC NHẬN HỘ NGHÈO, HỘ CẬN NGHÈO",
                                    "Poor / near-poor household confirmation"),
    "school-admission": ("admission_decision", "THÔNG BÁO TRÚNG TUYỂN", "Admission decision"),
    "house-building-bundle": ("construction_bundle_confirmation", "XÁC NHẬN HỒ SƠ XÂY DỰNG LIÊN THÔNG",
                              "Construction bundle confirmation"),
}
RENEWAL = ("renewal_approval", "QUYẾT ĐỊNH CẤP ĐỔI / GIA HẠN", "Renewal approval")
DECISION = ("approval_decision", "QUYẾT ĐỊNH GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH", "Approval decision")


def result_kind(service_id: str) -> tuple[str, str, str]:
    """Return (kind, Vietnamese title, English title) of the result a service issues."""
    if service_id in RESULT_KINDS:
        return RESULT_KINDS[service_id]
    if service_id.endswith(("-renewal", "-reissue", "-expiry")):
        return RENEWAL
    return DECISION


def create_result(session: Session, d: Dossier, issued_by: str) -> DossierResult:
    """Store the result of an approved dossier as structured data with a fresh verification nonce."""
    result = new_result(session, d, issued_by)
    session.flush()
    return result


def new_result(session: Session, d: Dossier, issued_by: str) -> DossierResult:
    """Add the result of an approved dossier to the session without flushing (the caller flushes)."""
    kind, title_vi, title_en = result_kind(d.service_id)
    with session.no_autoflush:  # the unit lookup must not flush the caller's half-done step
        unit = session.get(Unit, d.handling_unit_code) if d.handling_unit_code else None
    data = {
        "title": {"vi": title_vi, "en": title_en},
        "service": d.title,
        "dossier_code": d.code,
        "subject_kind": d.subject_kind,
        "fields": {k: v.get("value") for k, v in (d.fields or {}).items()},
        "issued_on": clock.today().isoformat(),
        "unit": {"code": unit.code, "name": unit.name} if unit else None,
    }
    result = DossierResult(dossier_id=d.id, kind=kind, number=f"{d.code}/KQ", issued_at=clock.now(),
                           issued_by=issued_by, data=data, nonce=secrets.token_hex(16), revoked=False)
    session.add(result)
    return result


def verification_token(secret: str, result: DossierResult) -> str:
    """Return the signed token printed in the result's QR code."""
    return URLSafeSerializer(secret, salt=TOKEN_SALT).dumps({"r": result.id, "n": result.nonce})


def verification_url(base_url: str, secret: str, result: DossierResult) -> str:
    """Return the public verification address of a result."""
    return f"{base_url.rstrip('/')}/verify/{verification_token(secret, result)}"


@dataclass(frozen=True)
class Verification:
    """What the public verification page says about a token."""

    outcome: str  # genuine / revoked / unknown
    result: DossierResult | None
    dossier: Dossier | None


def verify_token(session: Session, secrets_: list[str], token: str) -> Verification:
    """Check a QR token against the stored result and log the verification."""
    found: DossierResult | None = None
    for secret in secrets_:
        try:
            value = URLSafeSerializer(secret, salt=TOKEN_SALT).loads(token)
        except BadSignature:
            continue
        if isinstance(value, dict) and isinstance(value.get("r"), int) and isinstance(value.get("n"), str):
            row = session.get(DossierResult, value["r"])
            if row is not None and hmac.compare_digest(row.nonce, value["n"]):
                found = row
        break
    outcome = "unknown" if found is None else ("revoked" if found.revoked else "genuine")
    session.add(ResultVerification(result_id=found.id if found else None, outcome=outcome, at=clock.now()))
    session.flush()
    dossier = session.get(Dossier, found.dossier_id) if found else None
    return Verification(outcome, found, dossier)


def result_of(session: Session, d: Dossier) -> DossierResult | None:
    """Return the dossier's result, if issued."""
    return session.scalar(select(DossierResult).where(DossierResult.dossier_id == d.id))


def qr_data_uri(url: str) -> str:
    """Return an SVG QR code of ``url`` as a data URI for HTML/PDF."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def render_result_html(d: Dossier, result: DossierResult, url: str, session: Session | None = None) -> str:
    """Return the result document as HTML (Vietnamese), ready for WeasyPrint.

    With a session, values are in words (dates, sex, wards and households by name) and the signer is the
    officer by name and unit; without one they are printed as stored.
    """
    from chudong.dossiers.labels import field_label
    from chudong.web import i18n
    from chudong.web.templating import HumanValues, environment, long_date

    raw = result.data.get("fields") or {}
    token = i18n.set_language("vi")  # an official document is Vietnamese whatever the reader's page language
    try:
        human = HumanValues(session, {k: {"value": v} for k, v in raw.items()}) if session is not None else None
        fields = [(field_label(k), human.value(k, v) if human else v) for k, v in raw.items() if v not in (None, "")]
        issued_on = long_date(result.data.get("issued_on"), "vi") if human else result.data.get("issued_on")
        signer = human.officer(result.issued_by) if human else result.issued_by
        return environment().get_template("dossiers/result_pdf.html").render(
            dossier=d, result=result, data=result.data, fields=fields, qr=qr_data_uri(url), url=url,
            issued_on=issued_on, signer=signer,
        )
    finally:
        i18n.reset_language(token)


_pdf_tools = threading.local()


def _weasyprint_tools() -> tuple[Any, Any]:
    """Return this thread's URL fetcher and font configuration, made once per thread.

    A default fetcher builds an SSL context for every document (a sixth of the rendering
    time) and would fetch remote resources; the result document needs none (its QR code is
    a data URI), so only ``data:`` URLs are allowed.
    """
    tools = getattr(_pdf_tools, "value", None)
    if tools is None:
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import URLFetcher

        tools = _pdf_tools.value = (URLFetcher(allowed_protocols=("data",)), FontConfiguration())
    return tools


def render_result_pdf(d: Dossier, result: DossierResult, url: str, session: Session | None = None) -> bytes:
    """Return the result document as PDF bytes (values in words when a session is given)."""
    from weasyprint import HTML

    fetcher, fonts = _weasyprint_tools()
    return HTML(string=render_result_html(d, result, url, session), url_fetcher=fetcher).write_pdf(font_config=fonts)


def png_qr_base64(url: str) -> str:
    """Return a PNG QR code of ``url`` in base64 (for channels that cannot show SVG)."""
    import io

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=4)
    return base64.b64encode(buf.getvalue()).decode()
