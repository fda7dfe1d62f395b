"""Periodic job: expire offers, reject lapsed supplements, escalate due-soon dossiers."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from chudong.db import unit_of_work
from chudong.kit.jobs import periodic


@periodic("dossiers.deadlines", every=300)
def deadlines(engine: Engine) -> int:
    """Run one deadline pass; return how many dossiers it changed."""
    from chudong.dossiers.service import run_deadlines

    with unit_of_work(engine) as session:
        r = run_deadlines(session)
    return r.expired + r.lapsed_supplements + r.escalated
