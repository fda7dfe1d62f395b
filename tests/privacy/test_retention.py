"""Message bodies are emptied after their retention period: one-time codes within a day, the rest in 90 days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from chudong.db import session_factory
from chudong.kit.jobs import registered_jobs
from chudong.notifications.models import DELIVERED, QUEUED, Notification
from chudong.notifications.service import enqueue
from chudong.privacy.tasks import purge_message_bodies
from tests.notifications.builders import CONTEXT, person

NOW = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)


def _notice(session, p, key, template="dossier-started", context=CONTEXT):
    return enqueue(session, event_key=key, step="s", person_id=p.id, template_id=template, context=context,
                   urgent=template == "otp", mandatory=True)[0].id


def _age(engine, nid, status, age: dt.timedelta):
    with engine.begin() as conn:
        conn.execute(update(Notification).where(Notification.id == nid).values(status=status, updated_at=NOW - age))


def test_purge_empties_old_final_bodies_only_and_is_idempotent(engine, session, clock):
    p = person(session)
    otp_old = _notice(session, p, "otp:1", "otp", {"code": "654321", "minutes": 10})
    otp_new = _notice(session, p, "otp:2", "otp", {"code": "111222", "minutes": 10})
    notice_old = _notice(session, p, "dossier:1")
    notice_recent = _notice(session, p, "dossier:2")
    queued_old = _notice(session, p, "dossier:3")
    session.commit()
    _age(engine, otp_old, DELIVERED, dt.timedelta(hours=25))
    _age(engine, otp_new, DELIVERED, dt.timedelta(hours=2))
    _age(engine, notice_old, DELIVERED, dt.timedelta(days=91))
    _age(engine, notice_recent, DELIVERED, dt.timedelta(days=30))
    _age(engine, queued_old, QUEUED, dt.timedelta(days=200))  # not sent yet: its body is still needed

    assert purge_message_bodies(engine, NOW, days=90, otp_hours=24) == 2
    assert purge_message_bodies(engine, NOW, days=90, otp_hours=24) == 0
    with session_factory(engine)() as s:
        got = {nid: s.get(Notification, nid) for nid in (otp_old, otp_new, notice_old, notice_recent, queued_old)}
    assert got[otp_old].rendered == {} and got[otp_old].body_purged_at == NOW
    assert got[notice_old].rendered == {}
    assert "111222" in str(got[otp_new].rendered)
    assert got[notice_recent].rendered and got[queued_old].rendered
    assert got[queued_old].body_purged_at is None


def test_purge_is_a_worker_job():
    assert "privacy.purge_message_bodies" in registered_jobs("")
