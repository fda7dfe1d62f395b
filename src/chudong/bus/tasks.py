"""Periodic job: relay unpublished domain events to NATS JetStream."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from chudong.bus.relay import relay_once
from chudong.kit.jobs import periodic


@periodic("bus.relay", every=0.5)
def relay(engine: Engine) -> int:
    """Publish one batch of pending events; return how many were published."""
    return relay_once(engine).published
