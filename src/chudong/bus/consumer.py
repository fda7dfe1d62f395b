"""A de-duplicating durable consumer: the reference for agencies subscribing to chudong's events.

Delivery is at least once (a redelivery after a lost ack, a relay re-publishing beyond
JetStream's de-duplication window), so a subscriber must de-duplicate by ``event_id``.
This consumer keeps the ids it has handled (in memory, and in ``seen_file`` if given,
so a restarted subscriber still skips them), handles each new event once, then acks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from chudong.kit.aio import run_sync
from chudong.bus.config import BusSettings
from chudong.bus.nats_io import connect, ensure_stream


@dataclass(frozen=True)
class ReceivedEvent:
    """One event as a subscriber receives it."""

    event_id: str
    type: str
    subject: str
    occurred_at: str
    payload: dict[str, Any]


class SeenIds:
    """Event ids already handled: a bounded in-memory set, optionally persisted one id per line."""

    def __init__(self, path: Path | None = None, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._file = None
        if path is not None:
            if path.exists():
                for line in path.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        self._remember(line.strip())
            self._file = path.open("a", encoding="utf-8")

    def _remember(self, event_id: str) -> None:
        self._ids[event_id] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def add(self, event_id: str) -> None:
        """Remember ``event_id`` (and write it down before the message is acked)."""
        self._remember(event_id)
        if self._file is not None:
            self._file.write(event_id + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the persistence file, if any."""
        if self._file is not None:
            self._file.close()


@dataclass(frozen=True)
class TailResult:
    """What one consuming session did."""

    handled: int
    duplicates: int  # deliveries skipped because their event id was already handled


async def _consume(url: str, settings: BusSettings, durable: str, handler: Callable[[ReceivedEvent], None],
                   seen: SeenIds, max_events: int | None, idle_seconds: float | None) -> TailResult:
    nc = await connect(url, settings)
    handled = duplicates = 0
    try:
        js = nc.jetstream(timeout=settings.publish_timeout_seconds)
        await ensure_stream(js, settings)
        sub = await js.pull_subscribe(
            settings.all_subjects, durable=durable, stream=settings.stream,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=30),
        )
        last_seen = time.monotonic()
        while max_events is None or handled < max_events:
            try:
                want = 100 if max_events is None else min(100, max_events - handled)
                msgs = await sub.fetch(want, timeout=min(1.0, idle_seconds or 1.0))
            except asyncio.TimeoutError:  # nats.errors.TimeoutError is one too
                if idle_seconds is not None and time.monotonic() - last_seen >= idle_seconds:
                    break
                continue
            last_seen = time.monotonic()
            for msg in msgs:
                body = json.loads(msg.data)
                event_id = (msg.headers or {}).get("Nats-Msg-Id") or body["event_id"]
                if event_id in seen:
                    duplicates += 1
                else:
                    handler(ReceivedEvent(event_id=event_id, type=body["type"], subject=body["subject"],
                                          occurred_at=body["occurred_at"], payload=body["payload"]))
                    seen.add(event_id)
                    handled += 1
                await msg.ack()
    finally:
        await nc.close()
    return TailResult(handled, duplicates)


def tail(*, durable: str, handler: Callable[[ReceivedEvent], None], seen: SeenIds | None = None,
         max_events: int | None = None, idle_seconds: float | None = None,
         nats_url: str | None = None, settings: BusSettings | None = None) -> TailResult:
    """Pull events with the durable consumer ``durable``, handle each new one once, ack every delivery."""
    from chudong.config import get_settings

    return run_sync(_consume(nats_url or get_settings().nats_url, settings or BusSettings(), durable, handler,
                                seen or SeenIds(), max_events, idle_seconds))
