"""Connecting to NATS and making sure the JetStream stream exists (shared by relay and consumer)."""

from __future__ import annotations

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from chudong.bus.config import BusSettings


async def _quiet(_exc: Exception) -> None:
    # Failures surface as exceptions from connect/publish, where the caller logs one line;
    # the client's own default callback would print a traceback on every attempt.
    return None


async def connect(url: str, settings: BusSettings) -> Client:
    """Connect once, without background reconnection: the caller decides when to retry."""
    # max_reconnect_attempts=0 would mean "forever" to nats-py's initial connect loop; 1 gives
    # two quick tries, then NoServersError.
    return await nats.connect(
        servers=[url], connect_timeout=settings.connect_timeout_seconds, allow_reconnect=False,
        max_reconnect_attempts=1, reconnect_time_wait=0.1, error_cb=_quiet, name="chudong",
    )


async def ensure_stream(js: JetStreamContext, settings: BusSettings) -> None:
    """Create the events stream (file storage, de-duplication window) if it does not exist."""
    try:
        await js.stream_info(settings.stream)
        return
    except NotFoundError:
        pass
    await js.add_stream(StreamConfig(
        name=settings.stream,
        subjects=[settings.all_subjects],
        storage=StorageType.FILE,
        duplicate_window=settings.duplicate_window_seconds,
        max_age=settings.max_age_days * 86400 if settings.max_age_days else None,
        description="chudong domain events (birth.registered, dossier.settled, ...)",
    ))
