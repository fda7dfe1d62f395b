"""SMS through a real Kannel (bearerbox + smsbox) and kannel-extras' fake SMSC, delivery reports included.

message → Kannel sendsms → fake SMSC → Kannel's delivery report (dlr-url) → the notification delivered.
``scripts/services/kannel.sh`` starts Kannel (installing it if missing); CI=true fails when it cannot.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn

from chudong.adapters.sms.base import SmsMessage
from chudong.adapters.sms.kannel import DLR_MASK, KannelSms, ReportError, dlr_signature, parse_report
from chudong.notifications.models import DELIVERED, SENT, DeliveryReceipt
from chudong.notifications.providers import Providers
from chudong.notifications.signing import receipt_key
from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("CHUDONG_TEST_KANNEL_PORT", "13013"))
KEY = receipt_key("test-secret", "kannel")


def _open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def kannel_url() -> str:
    if not _open(PORT):
        subprocess.run([str(ROOT / "scripts/services/kannel.sh")], check=False, timeout=600)
    if not _open(PORT):
        skip_or_fail(f"Kannel sendsms not reachable on 127.0.0.1:{PORT} (scripts/services/kannel.sh)")
    return f"http://127.0.0.1:{PORT}"


def _kannel(url: str, dlr_url: str, key: bytes = KEY, password: str = "chudong-test") -> KannelSms:
    return KannelSms("kannel", url, "chudong", password, sender="CHUDONG", dlr_url=dlr_url, receipt_key=key)


def test_vietnamese_goes_as_ucs2_unaccented_as_gsm7():
    k = _kannel("http://127.0.0.1:1", "https://x.example/dlr")
    accented = k.query(SmsMessage("+84912345678", "Hồ sơ của bạn đã được tiếp nhận", "cd-1-sms"))
    plain = k.query(SmsMessage("+84912345678", "Ho so cua ban da duoc tiep nhan", "cd-2-sms"))
    assert (accented["coding"], plain["coding"]) == ("2", "0")
    assert accented["charset"] == "UTF-8" and accented["dlr-mask"] == str(DLR_MASK)
    report = urlsplit(accented["dlr-url"])
    q = parse_qs(report.query)
    assert q["id"] == ["cd-1-sms"] and q["sig"] == [dlr_signature(KEY, "cd-1-sms")]
    assert accented["dlr-url"].endswith("&type=%d")
    k.close()


def test_report_signature_and_type_are_checked():
    sig = dlr_signature(KEY, "cd-1-sms")
    assert parse_report(KEY, "cd-1-sms", "1", sig).status == "delivered"
    assert parse_report(KEY, "cd-1-sms", "16", sig).status == "failed"
    assert parse_report(KEY, "cd-1-sms", "8", sig).status == "progress"
    with pytest.raises(ReportError, match="^sig:"):
        parse_report(KEY, "cd-2-sms", "1", sig)
    with pytest.raises(ReportError, match="^type: 3"):
        parse_report(KEY, "cd-1-sms", "3", sig)
    with pytest.raises(ReportError, match="^sig:"):
        parse_report(KEY, "", "1", sig)
    with pytest.raises(ReportError, match="^sig:"):  # found by the fuzzer: a non-ASCII signature was a 500
        parse_report(KEY, "cd-1-sms", "1", "Îa¤uå")


def test_dlr_route_refuses_forged_and_applies_once(client, engine, session, clock):
    from tests.notifications.builders import CONTEXT, person
    from chudong.notifications.service import enqueue

    secret = client.app.state.settings.secret_key
    key = receipt_key(secret, "kannel")
    n = enqueue(session, event_key="dossier:9", step="started", person_id=person(session).id,
                template_id="dossier-started", context=CONTEXT)[0]
    n.status, n.channel, n.provider, n.provider_message_id = SENT, "sms", "kannel", "cd-9-sms"
    session.commit()
    url = "/api/v1/notifications/kannel/kannel/dlr"
    forged = client.get(url, params={"id": "cd-9-sms", "type": "1", "sig": dlr_signature(b"not the receipt key", "cd-9-sms")})
    assert forged.status_code == 401
    bad = client.get(url, params={"id": "cd-9-sms", "type": "7", "sig": dlr_signature(key, "cd-9-sms")})
    assert bad.status_code == 422 and "type: 7" in bad.text
    ok = {"id": "cd-9-sms", "sig": dlr_signature(key, "cd-9-sms")}
    assert client.get(url, params={**ok, "type": "8"}).json()["outcome"] == "progress"
    first = client.get(url, params={**ok, "type": "1"}).json()
    again = client.get(url, params={**ok, "type": "1"}).json()
    assert (first["outcome"], first["status"], again["outcome"]) == ("applied", DELIVERED, "duplicate")


@pytest.fixture
def served(engine, settings):
    """The app served over HTTP on a free port (Kannel calls its dlr-url)."""
    from chudong.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", settings
    server.should_exit = True
    t.join(10)


def test_message_through_kannel_and_fake_smsc_comes_back_delivered(kannel_url, served, engine, session):
    from chudong.db import session_factory
    from chudong.notifications.dispatch import dispatch_once
    from chudong.notifications.service import enqueue
    from tests.notifications.builders import CONTEXT, notify_settings, person

    base, settings = served
    key = receipt_key(settings.secret_key, "kannel")
    sms = _kannel(kannel_url, f"{base}/api/v1/notifications/kannel/kannel/dlr", key)
    providers = Providers(notify_settings(), sms=[sms])
    n = enqueue(session, event_key="dossier:1", step="started", person_id=person(session, phone="+84912000111").id,
                template_id="dossier-started", context=CONTEXT)[0]
    session.commit()
    try:
        assert dispatch_once(engine, providers, worker="w1") >= 1
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with session_factory(engine)() as s:
                row = s.get(type(n), n.id)
                if row.status == DELIVERED:
                    break
            time.sleep(0.1)
        assert (row.status, row.provider, row.channel) == (DELIVERED, "kannel", "sms"), row.last_error
        with session_factory(engine)() as s:
            receipts = s.query(DeliveryReceipt).filter_by(notification_id=n.id).all()
        assert [r.status for r in receipts] == ["delivered"] and receipts[0].payload["kannel_type"] == 1
    finally:
        providers.close()


def test_wrong_sendsms_password_is_a_provider_failure(kannel_url):
    k = _kannel(kannel_url, "http://127.0.0.1:1/dlr", password="wrong")
    [r] = k.send_batch([SmsMessage("+84912000111", "Xin chào", "cd-77-sms")])
    k.close()
    assert (r.outcome, r.error_code, r.provider_wide) == ("temporary", "unauthorized", True)
