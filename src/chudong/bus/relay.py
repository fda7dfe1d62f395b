"""The relay: copy unpublished domain events to JetStream, in id order, at least once.

For each event the relay publishes ``<prefix>.<type>`` with header ``Nats-Msg-Id`` =
event id and waits for JetStream's PubAck before setting ``published_at``. A batch is
pipelined (all sent, then the acks read in order), so the stream holds events in id order
unless NATS fails in the middle of a batch; consumers must not rely on strict order anyway. If the relay
dies after the PubAck but before its commit, the next run publishes the event again;
JetStream drops it as a duplicate within ``duplicate_window_seconds``, and consumers
de-duplicate by event id beyond that. If NATS is down, the batch stops, one line is
logged, the events stay unpublished, and the next run retries.

Claiming: PostgreSQL locks the batch with FOR UPDATE SKIP LOCKED, so several relays
share the work; SQLite has one claimer at a time (the database write lock, taken first).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from sqlalchemy import exists, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chudong.kit.aio import run_sync
from chudong.bus.config import BusSettings
from chudong.bus.models import DomainEvent
from chudong.bus.nats_io import connect, ensure_stream
from chudong.bus.service import envelope
from chudong.db import session_factory, unit_of_work
from chudong.kit import clock

log = logging.getLogger("chudong.bus")

# Everything that means "NATS cannot take the message now": retry on a later run.
_NATS_DOWN = (OSError, asyncio.TimeoutError, nats.errors.Error, nats.js.errors.Error)


@dataclass(frozen=True)
class RelayResult:
    """What one relay run did."""

    published: int
    duplicates: int  # events JetStream had already (a previous run crashed before marking them)
    error: str | None  # why the run stopped early (NATS unreachable...), else None


class _State:
    """Remembers whether NATS was down, so an outage is logged once, not every half second."""

    down = False


def _has_pending(engine: Engine) -> bool:
    with session_factory(engine)() as s:
        return bool(s.scalar(select(exists().where(DomainEvent.published_at.is_(None)))))


def _claim(session: Session, limit: int) -> list[DomainEvent]:
    if session.get_bind().dialect.name == "sqlite":
        # Take the write lock before reading (BEGIN IMMEDIATE semantics): one claimer at a time.
        session.execute(text("UPDATE domain_event SET id = id WHERE 1 = 0"))
    stmt = (select(DomainEvent).where(DomainEvent.published_at.is_(None)).order_by(DomainEvent.id)
            .limit(limit).with_for_update(skip_locked=True))
    return list(session.scalars(stmt))


def _mark_published(session: Session, events: list[DomainEvent]) -> None:
    at = clock.now().astimezone(dt.UTC)
    for event in events:
        event.published_at = at
    session.flush()  # one UPDATE batch for the whole set, not a round trip per event


async def _relay(engine: Engine, url: str, settings: BusSettings) -> RelayResult:
    try:
        nc = await connect(url, settings)
    except _NATS_DOWN as exc:
        return RelayResult(0, 0, f"cannot connect to NATS at {url}: {type(exc).__name__} {exc}".strip())
    published = duplicates = 0
    error: str | None = None
    try:
        js = nc.jetstream(timeout=settings.publish_timeout_seconds)
        try:
            await ensure_stream(js, settings)
        except _NATS_DOWN as exc:
            return RelayResult(0, 0, f"JetStream at {url} unavailable: {type(exc).__name__} {exc}".strip())
        with unit_of_work(engine) as session:
            # Pipelined: send the whole batch on one connection (JetStream stores it in that
            # order), then take the PubAcks in order and mark each acknowledged event.
            sent: list[tuple[DomainEvent, asyncio.Future]] = []
            for event in _claim(session, settings.batch_size):
                try:
                    sent.append((event, await js.publish_async(
                        settings.subject_for(event.type), envelope(event),
                        wait_stall=settings.publish_timeout_seconds,
                        headers={"Nats-Msg-Id": str(event.event_id)})))
                except _NATS_DOWN as exc:
                    error = f"publishing to NATS at {url} failed: {type(exc).__name__} {exc}".strip()
                    break
            acked: list[DomainEvent] = []
            for event, future in sent:
                try:
                    ack = await asyncio.wait_for(future, settings.publish_timeout_seconds)
                except _NATS_DOWN as exc:
                    error = f"no PubAck from NATS at {url}: {type(exc).__name__} {exc}".strip()
                    break  # this and later events stay unpublished; a re-send is de-duplicated
                acked.append(event)
                duplicates += bool(ack.duplicate)
            _mark_published(session, acked)
            published = len(acked)
    finally:
        if not nc.is_closed:
            try:
                await nc.close()
            except _NATS_DOWN:
                pass  # the connection is already gone; nothing is lost, the DB decides what is pending
    return RelayResult(published, duplicates, error)


def relay_once(engine: Engine, *, nats_url: str | None = None, settings: BusSettings | None = None) -> RelayResult:
    """Publish one batch of unpublished events to JetStream and mark those acknowledged."""
    from chudong.config import get_settings

    settings = settings or BusSettings()
    url = nats_url or get_settings().nats_url
    if not _has_pending(engine):
        return RelayResult(0, 0, None)  # idle: do not even connect
    result = run_sync(_relay(engine, url, settings))
    if result.error and not _State.down:
        log.warning("event relay paused: %s; events stay queued in the database and are retried", result.error)
    elif not result.error and _State.down:
        log.warning("event relay resumed: NATS at %s is reachable again", url)
    _State.down = result.error is not None
    return result
