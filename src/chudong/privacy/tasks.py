"""Worker job: message bodies are kept only for their retention period (docs/SECURITY.md).

A notification's rendered texts (``notification.rendered``, sealed at rest) are emptied once
it is final (delivered, failed or cancelled) and older than ``CHUDONG_MESSAGE_RETENTION_DAYS``;
one-time codes (template ``otp``) after ``CHUDONG_OTP_RETENTION_HOURS``. What was sent,
when and to which channel stays (status, events); the text does not.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine

from chudong.kit.jobs import periodic

BATCH = 1000


def purge_message_bodies(engine: Engine, now: dt.datetime, *, days: float, otp_hours: float) -> int:
    """Empty the bodies of up to ``BATCH`` final notifications past retention; return how many."""
    from chudong.db import unit_of_work
    from chudong.notifications.models import CANCELLED, DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE, Notification

    n = Notification
    final = n.status.in_((DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE, CANCELLED))
    old = ((n.template_id == "otp") & (n.updated_at < now - dt.timedelta(hours=otp_hours))) \
        | (n.updated_at < now - dt.timedelta(days=days))
    with unit_of_work(engine) as session:
        ids = session.scalars(select(n.id).where(final, old, n.body_purged_at.is_(None)).order_by(n.id)
                              .limit(BATCH)).all()
        if ids:
            t = n.__table__  # Core, the empty document bound through the sealed type (sealed like any other)
            session.execute(update(t).where(t.c.id.in_(ids)).values(
                rendered=bindparam("emptied", {}, type_=t.c.rendered.type), body_purged_at=now))
    return len(ids)


@periodic("privacy.purge_message_bodies", every=3600)
def purge(engine: Engine) -> int:
    """Run the purge with the configured retention (a full batch is followed at once by the next)."""
    from chudong.config import get_settings
    from chudong.kit import clock

    s = get_settings()
    return purge_message_bodies(engine, clock.now(), days=s.message_retention_days, otp_hours=s.otp_retention_hours)
