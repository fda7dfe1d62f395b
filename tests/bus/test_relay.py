"""The relay against a real nats-server: ordered, acknowledged, never duplicated for a de-duplicating consumer."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from chudong.kit.aio import run_sync
from chudong.bus import relay as relay_mod
from chudong.bus import service
from chudong.bus.consumer import ReceivedEvent, SeenIds, tail
from chudong.bus.models import DomainEvent
from chudong.bus.relay import relay_once
from tests.bus.conftest import free_port, stream_messages, unique_settings


def publish_events(session, n: int, start: int = 0) -> list[str]:
    """Record ``n`` dossier.settled events, commit, and return their ids."""
    ids = [str(service.publish(session, type="dossier.settled", subject=f"dossier:HS-{i}", payload={"n": i}).event_id)
           for i in range(start, start + n)]
    session.commit()
    return ids


def consume(url: str, settings, durable: str, seen: SeenIds | None = None) -> tuple[list[ReceivedEvent], int]:
    """Drain the durable consumer; return the events handled and the duplicates skipped."""
    got: list[ReceivedEvent] = []
    r = tail(durable=durable, handler=got.append, seen=seen, idle_seconds=0.5, nats_url=url, settings=settings)
    return got, r.duplicates


def unpublished(session) -> int:
    session.expire_all()
    return len(session.scalars(select(DomainEvent).where(DomainEvent.published_at.is_(None))).all())


def test_relay_publishes_in_order_and_marks_published(engine, session, clock, shared_nats, bus_settings):
    ids = publish_events(session, 3)
    r = relay_once(engine, nats_url=shared_nats, settings=bus_settings)
    assert (r.published, r.duplicates, r.error) == (3, 0, None)
    assert unpublished(session) == 0
    assert relay_once(engine, nats_url=shared_nats, settings=bus_settings).published == 0
    got, dups = consume(shared_nats, bus_settings, "agency-police")
    assert [e.event_id for e in got] == ids
    assert [e.payload["n"] for e in got] == [0, 1, 2]
    assert {e.type for e in got} == {"dossier.settled"} and dups == 0


def test_crash_between_puback_and_marking_causes_no_duplicate(engine, session, clock, shared_nats, bus_settings,
                                                              monkeypatch):
    ids = publish_events(session, 3)

    def crash(_session, _events):
        raise RuntimeError("relay killed after the PubAck")

    monkeypatch.setattr(relay_mod, "_mark_published", crash)
    with pytest.raises(RuntimeError):
        relay_once(engine, nats_url=shared_nats, settings=bus_settings)
    assert unpublished(session) == 3  # the marking was rolled back...
    assert run_sync(stream_messages(shared_nats, bus_settings.stream)) == 3  # ...after the PubAcks
    monkeypatch.undo()
    r = relay_once(engine, nats_url=shared_nats, settings=bus_settings)
    assert (r.published, r.duplicates) == (3, 3)  # JetStream recognised every re-sent event
    assert run_sync(stream_messages(shared_nats, bus_settings.stream)) == 3
    got, dups = consume(shared_nats, bus_settings, "agency-health")
    assert [e.event_id for e in got] == ids and dups == 0


def test_nats_down_keeps_events_queued_and_logs_once(engine, session, clock, caplog):
    publish_events(session, 2)
    down = f"nats://127.0.0.1:{free_port()}"
    settings = unique_settings()
    with caplog.at_level(logging.WARNING, logger="chudong.bus"):
        first = relay_once(engine, nats_url=down, settings=settings)
        second = relay_once(engine, nats_url=down, settings=settings)
    assert first.published == second.published == 0
    assert first.error and "cannot connect to NATS" in first.error
    assert unpublished(session) == 2
    assert len([r for r in caplog.records if "relay paused" in r.message]) == 1
    relay_mod._State.down = False


def test_consumer_skips_an_event_delivered_twice(shared_nats, bus_settings):
    """Beyond JetStream's window a re-sent event reaches the stream twice; the consumer handles it once."""
    import json

    import nats

    from chudong.bus.nats_io import ensure_stream

    async def send_twice() -> None:
        nc = await nats.connect(shared_nats)
        js = nc.jetstream()
        await ensure_stream(js, bus_settings)
        body = json.dumps({"event_id": "e-1", "type": "birth.registered", "subject": "person:1",
                           "occurred_at": "2026-11-02T02:00:00+00:00", "payload": {}}).encode()
        for _ in range(2):  # no Nats-Msg-Id: the server keeps both copies
            await js.publish(bus_settings.subject_for("birth.registered"), body)
        await nc.close()

    run_sync(send_twice())
    got, dups = consume(shared_nats, bus_settings, "agency-school")
    assert [e.event_id for e in got] == ["e-1"] and dups == 1


def test_seen_file_survives_a_consumer_restart(tmp_path):
    path = tmp_path / "seen.txt"
    seen = SeenIds(path)
    seen.add("a")
    seen.close()
    again = SeenIds(path)
    assert "a" in again and "b" not in again
    again.close()


def test_events_published_while_nats_is_down_flow_after_restart(engine, session, clock, own_nats):
    """Kill NATS, keep publishing, restart it: every event reaches the subscriber exactly once."""
    settings = unique_settings()
    url = own_nats.url
    before = publish_events(session, 2)
    assert relay_once(engine, nats_url=url, settings=settings).published == 2
    got_before, _ = consume(url, settings, "agency-insurance")
    assert [e.event_id for e in got_before] == before

    own_nats.stop()
    during = publish_events(session, 3, start=2)
    r = relay_once(engine, nats_url=url, settings=settings)
    assert r.published == 0 and r.error
    assert unpublished(session) == 3

    own_nats.start()  # same store directory: stream and durable consumer survive
    r = relay_once(engine, nats_url=url, settings=settings)
    assert (r.published, r.error) == (3, None)
    assert unpublished(session) == 0
    got_after, dups = consume(url, settings, "agency-insurance")
    assert [e.event_id for e in got_after] == during and dups == 0
    assert run_sync(stream_messages(url, settings.stream)) == 5
    relay_mod._State.down = False
