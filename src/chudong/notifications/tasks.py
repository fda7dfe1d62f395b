"""Worker job: the outbox dispatcher."""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine

from chudong.kit.jobs import periodic
from chudong.notifications.dispatch import dispatch_once
from chudong.notifications.providers import get_providers

BURST_SECONDS = 2.0  # a run keeps sending full batches for this long before yielding to the other jobs


@periodic("notifications.dispatch", every=1.0)
def dispatch(engine: Engine) -> int:
    """Send due notifications and move overdue ones to their next channel; return rows handled.

    While batches come back full (a backlog) the job sends the next one at once, for up to
    ``BURST_SECONDS``, instead of going back to the worker's schedule between batches.
    """
    providers = get_providers()
    deadline = time.monotonic() + BURST_SECONDS
    total = 0
    while True:
        did = dispatch_once(engine, providers)
        total += did
        if did < providers.settings.batch_size or time.monotonic() >= deadline:
            return total
