"""HTTP: signed delivery receipts (valid, unknown, forged), operator stats and history, preview, viewer."""

from __future__ import annotations

import json

from sqlalchemy import select

from chudong.db import session_factory
from chudong.notifications.models import DELIVERED, SENT, DeliveryReceipt, Notification
from chudong.notifications.providers import fake_providers
from chudong.notifications.routes import operator_key
from chudong.notifications.dispatch import dispatch_once
from chudong.notifications.service import enqueue
from chudong.notifications.signing import HEADER, receipt_key, sign
from tests.notifications.builders import CONTEXT, notify_settings, person


def sent_sms(engine, clock) -> int:
    """Enqueue and send one SMS that waits for its receipt; return its id."""
    with session_factory(engine)() as s:
        p = person(s, phone="+84900000003")  # magic: accepted without a receipt
        nid = enqueue(s, event_key="d:1", step="started", person_id=p.id, template_id="dossier-started",
                      context=CONTEXT)[0].id
        s.commit()
    dispatch_once(engine, fake_providers(notify_settings()), worker="w")
    return nid


def post_receipt(client, settings, provider, payload, *, key_provider=None):
    body = json.dumps(payload).encode()
    sig = sign(receipt_key(settings.secret_key, key_provider or provider), body)
    return client.post(f"/api/v1/notifications/receipts/{provider}", content=body,
                       headers={HEADER: sig, "Content-Type": "application/json"})


def test_valid_receipt_marks_delivered(client, engine, settings, clock):
    nid = sent_sms(engine, clock)
    with session_factory(engine)() as s:
        n = s.get(Notification, nid)
        assert n.status == SENT
        mid = n.provider_message_id
    r = post_receipt(client, settings, "fake-sms", {"message_id": mid, "status": "delivered"})
    assert r.status_code == 200, r.text
    assert r.json() == {"outcome": "applied", "notification_id": nid, "status": DELIVERED}
    again = post_receipt(client, settings, "fake-sms", {"message_id": mid, "status": "delivered"})
    assert again.json()["outcome"] == "duplicate"


def test_forged_receipt_is_refused_and_changes_nothing(client, engine, settings, clock):
    nid = sent_sms(engine, clock)
    with session_factory(engine)() as s:
        mid = s.get(Notification, nid).provider_message_id
    forged = post_receipt(client, settings, "fake-sms", {"message_id": mid, "status": "failed"}, key_provider="other")
    unsigned = client.post("/api/v1/notifications/receipts/fake-sms", json={"message_id": mid, "status": "failed"})
    assert forged.status_code == 401 and unsigned.status_code == 401
    assert forged.json()["error"] == "unauthorized"
    with session_factory(engine)() as s:
        assert s.get(Notification, nid).status == SENT
        assert s.scalars(select(DeliveryReceipt)).all() == []


def test_unknown_message_receipt_is_404_and_kept(client, engine, settings, clock):
    r = post_receipt(client, settings, "sms-a", {"message_id": "nope-1", "status": "delivered"})
    assert r.status_code == 404 and "kept" in r.json()["detail"]
    with session_factory(engine)() as s:
        kept = s.scalars(select(DeliveryReceipt)).one()
        assert (kept.provider_message_id, kept.outcome, kept.notification_id) == ("nope-1", "unknown", None)


def test_malformed_receipt_is_422(client, settings):
    body = b"not json"
    r = client.post("/api/v1/notifications/receipts/sms-a", content=body,
                    headers={HEADER: sign(receipt_key(settings.secret_key, "sms-a"), body)})
    assert r.status_code == 422
    bad_status = post_receipt(client, settings, "sms-a", {"message_id": "x", "status": "maybe"})
    assert bad_status.status_code == 422


def test_operator_stats_and_history_need_the_key(client, engine, settings, clock):
    nid = sent_sms(engine, clock)
    assert client.get("/api/v1/notifications/stats").status_code == 401
    assert client.get("/api/v1/notifications/stats", headers={"X-Operator-Key": "x"}).status_code == 403
    key = {"X-Operator-Key": operator_key(settings.secret_key)}
    rows = client.get("/api/v1/notifications/stats", headers=key).json()
    assert rows == [{"day": "2026-11-02", "channel": "sms", "service": "birth-registration", "total": 1, "sent": 1,
                     "delivered": 0, "failed": 0, "pending": 1}]
    detail = client.get(f"/api/v1/notifications/{nid}", headers=key).json()
    assert detail["template_id"] == "dossier-started" and detail["template_version"] == 1
    assert [h["kind"] for h in detail["history"]] == ["sent"]
    assert client.get("/api/v1/notifications/999999", headers=key).status_code == 404


def test_inbox_preferences_and_preview(client, engine, settings, clock):
    key = {"X-Operator-Key": operator_key(settings.secret_key)}
    nid = sent_sms(engine, clock)
    with session_factory(engine)() as s:
        pid = s.get(Notification, nid).person_id
    inbox = client.get(f"/api/v1/notifications/inbox/{pid}", headers=key).json()
    assert len(inbox) == 1 and "Đăng ký khai sinh" in inbox[0]["body"]
    ok = client.put(f"/api/v1/notifications/preferences/{pid}", headers=key, json={"channels": ["email", "sms"]})
    bad = client.put(f"/api/v1/notifications/preferences/{pid}", headers=key, json={"channels": ["fax"]})
    assert ok.status_code == 200 and bad.status_code == 422
    pv = client.get("/api/v1/notifications/templates/otp/preview?channel=sms&lang=en").json()
    assert pv["sms_encoding"] == "GSM-7" and pv["sms_segments"] == 1 and "482913" in pv["body"]
    assert client.get("/api/v1/notifications/templates/nope/preview").status_code == 404


def test_test_mode_viewer_lists_messages(client, engine, clock):
    sent_sms(engine, clock)
    assert client.get("/notifications/viewer").status_code == 404  # anonymous, not the demo
    client.app.state.demo_mode = True  # what `chudong demo` sets
    page = client.get("/notifications/viewer")
    assert page.status_code == 200 and "+84900000003" in page.text
