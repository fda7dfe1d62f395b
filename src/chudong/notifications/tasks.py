"""Worker job: the outbox dispatcher."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from chudong.kit.jobs import periodic
from chudong.notifications.providers import get_providers
from chudong.notifications.dispatch import dispatch_once


@periodic("notifications.dispatch", every=1.0)
def dispatch(engine: Engine) -> int:
    """Send due notifications and move overdue ones to their next channel; return rows handled."""
    return dispatch_once(engine, get_providers())
