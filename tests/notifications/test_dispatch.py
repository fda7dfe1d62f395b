"""The dispatcher: sends, retries with bounded backoff, falls back, respects quiet hours, survives crashes."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from sqlalchemy import select, text

from chudong.adapters.sms.base import SmsMessage
from chudong.adapters.sms.http_gateway import HttpSmsGateway
from chudong.kit.clock import VN_TZ
from chudong.notifications.models import (
    DELIVERED,
    PERMANENT_FAILURE,
    QUEUED,
    SENT,
    TECHNICAL_FAILURE,
    Notification,
    NotificationEvent,
)
from chudong.notifications.providers import Providers, fake_providers
from chudong.notifications.dispatch import claim, dispatch_once
from chudong.notifications.service import enqueue, history, set_preferences
from chudong.notifications.simulators import SimulatorServer
from tests.notifications.builders import CONTEXT, notify_settings, person


def notice(session, p, key="dossier:1", urgent=False):
    n = enqueue(session, event_key=key, step="started", person_id=p.id, template_id="dossier-started",
                context=CONTEXT, urgent=urgent)[0]
    session.commit()
    return n.id


def reload(engine, nid) -> Notification:
    from chudong.db import session_factory

    with session_factory(engine)() as s:
        return s.get(Notification, nid)


def kinds(engine, nid) -> list[str]:
    from chudong.db import session_factory

    with session_factory(engine)() as s:
        return [e.kind for e in history(s, nid)[1]]


def test_sends_on_the_preferred_channel_and_records_provider_id(engine, session, clock):
    providers = fake_providers(notify_settings())
    nid = notice(session, person(session, zalo_id="z"))
    assert dispatch_once(engine, providers, worker="w1") >= 1
    n = reload(engine, nid)
    assert (n.status, n.channel, n.provider) == (DELIVERED, "zalo", "fake-zalo")
    assert n.provider_message_id and n.claimed_until is None
    assert list(providers.zalo.sent) == [f"cd-{nid}-zalo"]
    assert kinds(engine, nid) == ["sent", "delivered"]


def test_zalo_without_receipt_in_time_falls_back_to_sms(engine, session, clock):
    providers = fake_providers(notify_settings(fallback_after_seconds={"zalo": 600}))
    nid = notice(session, person(session, phone="+84900000003", zalo_id="z"))  # magic: accepted, never receipted
    dispatch_once(engine, providers, worker="w1")
    assert reload(engine, nid).status == SENT
    clock.advance(dt.timedelta(seconds=599))
    dispatch_once(engine, providers, worker="w1")
    assert reload(engine, nid).channel == "zalo"
    clock.advance(dt.timedelta(seconds=2))
    dispatch_once(engine, providers, worker="w1")  # reroutes to SMS
    dispatch_once(engine, providers, worker="w1")  # sends the SMS
    n = reload(engine, nid)
    assert (n.channel, n.status) == ("sms", SENT)
    assert f"cd-{nid}-sms" in providers.sms[0].sent
    assert "fallback" in kinds(engine, nid)


def test_permanent_failure_moves_to_next_channel_then_ends(engine, session, clock):
    providers = fake_providers(notify_settings())
    p = person(session, phone="+84900000002", zalo_id="z")  # magic: permanent failure on Zalo and SMS
    nid = notice(session, p)
    dispatch_once(engine, providers, worker="w1")
    assert (reload(engine, nid).channel, reload(engine, nid).status) == ("sms", QUEUED)
    dispatch_once(engine, providers, worker="w1")
    n = reload(engine, nid)
    assert n.status == PERMANENT_FAILURE and "invalid_number" in n.last_error
    assert kinds(engine, nid) == ["permanent-failure", "fallback", "permanent-failure", "permanent-failure"]


def test_temporary_failures_back_off_and_end_in_technical_failure(engine, session, clock):
    providers = fake_providers(notify_settings(max_attempts=3, backoff_base_seconds=10))
    nid = notice(session, person(session, phone="+84900000001"))  # magic: temporary failure every time
    dispatch_once(engine, providers, worker="w1")
    n = reload(engine, nid)
    assert (n.status, n.attempts) == (QUEUED, 1)
    assert n.due_at == clock.now() + dt.timedelta(seconds=10)
    clock.advance(dt.timedelta(seconds=9))
    dispatch_once(engine, providers, worker="w1")
    assert reload(engine, nid).attempts == 1  # not due yet
    clock.advance(dt.timedelta(seconds=1))
    dispatch_once(engine, providers, worker="w1")
    assert reload(engine, nid).due_at == clock.now() + dt.timedelta(seconds=20)  # doubled
    clock.advance(dt.timedelta(seconds=20))
    dispatch_once(engine, providers, worker="w1")
    n = reload(engine, nid)
    assert (n.status, n.attempts) == (TECHNICAL_FAILURE, 3)
    assert kinds(engine, nid)[-1] == "technical-failure"


def test_quiet_hours_hold_sms_until_morning_except_urgent(engine, session, clock):
    clock.advance(dt.timedelta(hours=14))  # 23:00 in Vietnam
    providers = fake_providers(notify_settings())
    p = person(session)
    set_preferences(session, p.id, channels=["sms"], quiet_start="22:00", quiet_end="06:30")
    normal = notice(session, p)
    urgent = notice(session, p, key="dossier:urgent", urgent=True)
    dispatch_once(engine, providers, worker="w1")
    held = reload(engine, normal)
    assert held.status == QUEUED and held.due_at == dt.datetime(2026, 11, 3, 6, 30, tzinfo=VN_TZ)
    assert reload(engine, urgent).status == DELIVERED
    clock.advance(dt.timedelta(hours=7, minutes=30))  # 06:30 next morning
    dispatch_once(engine, providers, worker="w1")
    assert reload(engine, normal).status == DELIVERED
    assert kinds(engine, normal)[0] == "deferred-quiet-hours"


def test_receipt_failed_moves_to_next_channel(engine, session, clock):
    providers = fake_providers(notify_settings())
    p = person(session, phone="+84900000004", email="x@example.vn")  # magic: SMS receipt says undelivered
    set_preferences(session, p.id, channels=["sms", "email"])
    session.commit()
    nid = notice(session, p)
    dispatch_once(engine, providers, worker="w1")
    dispatch_once(engine, providers, worker="w1")
    n = reload(engine, nid)
    assert (n.channel, n.status) == ("email", DELIVERED)


def test_sms_fails_over_to_the_second_provider(engine, session, clock):
    with SimulatorServer("sms-a", "ka") as a, SimulatorServer("sms-b", "kb") as b:
        ns = notify_settings()
        providers = Providers(ns, sms=[HttpSmsGateway("sms-b", b.url, "kb", priority=2),
                                       HttpSmsGateway("sms-a", a.url, "ka", priority=1)])
        httpx.post(f"{a.url}/_sim/fail", json={"status": 503, "count": 1})
        nid = notice(session, person(session))
        dispatch_once(engine, providers, worker="w1")
        n = reload(engine, nid)
        assert (n.status, n.provider) == (SENT, "sms-b")
        assert b.state.stats()["accepted"] == 1 and a.state.stats()["accepted"] == 0
        assert "failover" in kinds(engine, nid)
        providers.close()


def test_killed_worker_rows_are_resent_with_the_same_key_and_not_duplicated(engine, session, clock):
    with SimulatorServer("sms-a", "ka") as sim:
        ns = notify_settings(lease_seconds=30)
        gateway = HttpSmsGateway("sms-a", sim.url, "ka")
        providers = Providers(ns, sms=[gateway])
        ids = [notice(session, person(session), key=f"dossier:{i}") for i in range(3)]
        # Worker 1 claims and sends, then dies before recording anything.
        from chudong.db import unit_of_work

        with unit_of_work(engine) as s:
            rows = claim(s, "w1", 10, ns.lease_seconds, clock.now())
        first = gateway.send_batch([SmsMessage(r.destination, r.message["body"], r.idempotency_key)
                                    for r in rows])
        assert dispatch_once(engine, providers, worker="w2") == 0  # still leased to w1
        clock.advance(dt.timedelta(seconds=31))
        dispatch_once(engine, providers, worker="w2")
        stats = sim.state.stats()
        assert stats == {"accepted": 3, "resends_absorbed": 3}
        got = {reload(engine, i).provider_message_id for i in ids}
        assert got == {r.message_id for r in first}
        assert all(reload(engine, i).status == SENT for i in ids)
        providers.close()


def _wait_until_backend_gone(engine, backend: int, timeout: float = 10.0) -> None:
    """Wait until PostgreSQL has noticed a closed connection and ended its backend (locks released)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": backend}).scalar_one():
            assert time.monotonic() < deadline, f"backend {backend} still alive {timeout} s after its client died"
            time.sleep(0.02)
            conn.rollback()


def test_postgres_claim_is_a_row_lock_released_at_once_when_the_worker_dies(engine, session, clock):
    if engine.dialect.name != "postgresql":
        pytest.skip("the row-lock claim is PostgreSQL's; SQLite uses the lease (test above)")
    from chudong.db import session_factory
    from chudong.notifications.dispatch import lock_due

    with SimulatorServer("sms-a", "ka") as sim:
        gateway = HttpSmsGateway("sms-a", sim.url, "ka")
        providers = Providers(notify_settings(lease_seconds=30), sms=[gateway])
        ids = [notice(session, person(session), key=f"lock:{i}") for i in range(3)]
        dying = session_factory(engine)()
        rows = lock_due(dying, 10, 30, clock.now())  # worker 1 holds the rows in its transaction...
        backend = dying.execute(text("SELECT pg_backend_pid()")).scalar_one()
        first = gateway.send_batch([SmsMessage(r.destination, r.message["body"], r.idempotency_key) for r in rows])
        assert dispatch_once(engine, providers, worker="w2") == 0  # ...so worker 2 skips them without waiting
        assert all(reload(engine, i).claimed_until is None for i in ids)  # claiming wrote nothing
        dying.connection().invalidate()  # worker 1 dies before recording: its connection and transaction go
        dying.close()
        _wait_until_backend_gone(engine, backend)  # the server ends the dead client's transaction
        dispatch_once(engine, providers, worker="w2")  # at once: no lease to wait for
        assert sim.state.stats() == {"accepted": 3, "resends_absorbed": 3}
        assert {reload(engine, i).provider_message_id for i in ids} == {r.message_id for r in first}
        assert {reload(engine, i).claimed_by for i in ids} == {"w2"}
        providers.close()


def test_a_batch_whose_outcome_cannot_be_recorded_is_held_for_a_lease_not_resent_at_once(engine, session, clock,
                                                                                           monkeypatch):
    from chudong.notifications import dispatch

    providers = fake_providers(notify_settings(lease_seconds=30))
    nid = notice(session, person(session))

    def broken(*_args, **_kwargs):
        raise RuntimeError("cannot record")

    monkeypatch.setattr(dispatch, "_apply", broken)
    with pytest.raises(RuntimeError, match="cannot record"):
        dispatch_once(engine, providers, worker="w1")
    monkeypatch.undo()
    assert list(providers.sms[0].sent) == [f"cd-{nid}-sms"]  # sent once, then the record failed
    assert dispatch_once(engine, providers, worker="w1") == 0  # held: not sent again at once
    clock.advance(dt.timedelta(seconds=31))
    dispatch_once(engine, providers, worker="w1")  # after the lease: again, with the same key
    n = reload(engine, nid)
    assert n.status == DELIVERED and list(providers.sms[0].sent) == [f"cd-{nid}-sms"]


def test_concurrent_claimers_get_disjoint_rows(engine, session, clock):
    from chudong.db import session_factory

    for i in range(10):
        notice(session, person(session), key=f"c:{i}")
    s1, s2 = session_factory(engine)(), session_factory(engine)()
    try:
        a = claim(s1, "w1", 6, 30, clock.now())
        if engine.dialect.name == "postgresql":
            b = claim(s2, "w2", 6, 30, clock.now())  # SKIP LOCKED: no wait for w1's open transaction
            s1.commit()
        else:
            s1.commit()  # SQLite serialises writers: the second claim runs after the first commits
            b = claim(s2, "w2", 6, 30, clock.now())
        s2.commit()
    finally:
        s1.close()
        s2.close()
    assert len(a) == 6 and len(b) == 4
    assert not {r.id for r in a} & {r.id for r in b}


def test_history_lists_every_step(engine, session, clock):
    providers = fake_providers(notify_settings())
    nid = notice(session, person(session, phone="+84900000002", email="x@example.vn"))
    dispatch_once(engine, providers, worker="w1")
    dispatch_once(engine, providers, worker="w1")
    from chudong.db import session_factory

    with session_factory(engine)() as s:
        events = list(s.scalars(select(NotificationEvent).where(NotificationEvent.notification_id == nid)))
    assert [(e.kind, e.channel) for e in events] == [
        ("permanent-failure", "sms"), ("fallback", "email"), ("sent", "email"), ("delivered", "email")]
