"""CLI commands and the worker job."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from chudong.db import session_factory
from chudong.kit.jobs import registered_jobs
from chudong.notifications.models import DELIVERED, DeliveryReceipt, Notification
from chudong.notifications.providers import fake_providers
from chudong.notifications.dispatch import apply_receipt, dispatch_once
from chudong.notifications.service import enqueue
from tests.notifications.builders import CONTEXT, notify_settings, person


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chudong.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=120)


def test_preview_prints_text_and_segments():
    r = run("notifications", "preview", "dossier-started", "--channel", "sms", "--lang", "vi")
    assert r.returncode == 0, r.stderr
    assert "Đăng ký khai sinh" in r.stdout and "UCS-2" in r.stdout and "2 segment(s)" in r.stdout


def test_preview_of_unknown_template_is_one_line_exit_2():
    r = run("notifications", "preview", "nope")
    assert r.returncode == 2 and "no message template 'nope'" in r.stderr and "Traceback" not in r.stderr


def test_dispatch_job_is_registered():
    assert "notifications.dispatch" in registered_jobs()


def test_dispatch_job_sends_a_backlog_batch_after_batch_in_one_run(engine, session, clock, monkeypatch):
    from chudong.notifications import tasks

    providers = fake_providers(notify_settings(batch_size=2))
    monkeypatch.setattr(tasks, "get_providers", lambda: providers)
    for i in range(5):
        enqueue(session, event_key=f"d:job{i}", step="started", person_id=person(session).id,
                template_id="dossier-started", context=CONTEXT)
    session.commit()
    assert tasks.dispatch(engine) == 5  # batches of 2, 2 and 1: the short batch ends the run
    assert len(providers.sms[0].sent) == 5
    assert tasks.dispatch(engine) == 0


def test_receipt_that_overtakes_the_send_record_is_applied_later(engine, session, clock):
    with session_factory(engine)() as s:
        p = person(s, phone="+84900000003")
        nid = enqueue(s, event_key="d:early", step="started", person_id=p.id, template_id="dossier-started",
                      context=CONTEXT)[0].id
        # The fake SMS provider numbers its messages fake-sms-1, -2, ...: the receipt arrives first.
        early = apply_receipt(s, "fake-sms", {"message_id": "fake-sms-1", "status": "delivered"})
        s.commit()
    assert early.outcome == "unknown"
    dispatch_once(engine, fake_providers(notify_settings()), worker="w")
    with session_factory(engine)() as s:
        n = s.get(Notification, nid)
        rc = s.scalars(select(DeliveryReceipt)).one()
        assert (n.status, n.provider_message_id) == (DELIVERED, "fake-sms-1")
        assert (rc.outcome, rc.notification_id) == ("matched-later", nid)


def test_demo_delivers_and_shows_messages(engine, session, clock):
    from rich.console import Console

    from chudong.notifications.demo import deliver_and_show

    with session_factory(engine)() as s:
        p = person(s, phone="0912 345 678")
        enqueue(s, event_key="d:demo", step="started", person_id=p.id, template_id="dossier-started", context=CONTEXT)
        s.commit()
    console = Console(record=True, width=200)
    assert deliver_and_show(console, engine) >= 1
    out = console.export_text()
    assert "delivered" in out and "678" in out
    assert "+84912345678" not in out  # the demo's output is logged: phone numbers are masked


def test_a_receipt_that_raced_the_send_record_is_applied_instead_of_falling_back(engine, session, clock):
    import datetime as dt

    from chudong.notifications.service import set_preferences

    providers = fake_providers(notify_settings(fallback_after_seconds={"sms": 60}))
    with session_factory(engine)() as s:
        p = person(s, phone="+84900000003", email="x@example.vn")  # magic: SMS accepted, no receipt of its own
        set_preferences(s, p.id, channels=["sms", "email"])
        nid = enqueue(s, event_key="d:race", step="started", person_id=p.id, template_id="dossier-started",
                      context=CONTEXT)[0].id
        s.commit()
    dispatch_once(engine, providers, worker="w")
    with session_factory(engine)() as s:
        mid = s.get(Notification, nid).provider_message_id
        # stored as unknown: as if it had arrived between the dispatcher's look for early receipts and its commit
        s.add(DeliveryReceipt(provider="fake-sms", provider_message_id=mid, status="delivered", payload={},
                              received_at=clock.now(), outcome="unknown"))
        s.commit()
    clock.advance(dt.timedelta(seconds=61))
    dispatch_once(engine, providers, worker="w")
    with session_factory(engine)() as s:
        n = s.get(Notification, nid)
        rc = s.scalars(select(DeliveryReceipt)).one()
        assert (n.status, n.channel) == (DELIVERED, "sms")  # no fallback to e-mail
        assert (rc.outcome, rc.notification_id) == ("matched-later", nid)
    assert not providers.email.sent
