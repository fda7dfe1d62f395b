"""Periodic job: anchor the audit chain's tail so truncation and rewrites are caught."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from chudong.audit.service import write_anchor
from chudong.db import unit_of_work
from chudong.kit.jobs import periodic


@periodic("audit.anchor", every=60)
def anchor_tail(engine: Engine) -> int:
    """Write an anchor for the current tail if it has moved since the last one."""
    with unit_of_work(engine) as session:
        # 0 keeps the worker at its 60 s pace: one anchor per run is all there is to do.
        write_anchor(session)
    return 0
