"""Analytics tables (forecast snapshots) and the indexes analytics needs on the dossiers feature's tables.

The indexes are declared here (attached to those tables' metadata) rather than in ``dossiers/models.py``
because only analytics reads through them; the migration is
``2026_11_22_0013_analytics_indexes``.

- ``ix_dossier_event_citizen_confirmed``: the dossiers confirmed by the citizen through
  the portal (the "full online" indicator) as a small partial index read in dossier order,
  whatever the number of other timeline events.
- ``ix_dossier_result_dossier_issued``: whether a dossier has a result and when it was
  issued, read from the index alone (the result rows carry the whole structured data).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base, UTCDateTime
from chudong.dossiers.models import DossierEvent, DossierResult

CITIZEN_CONFIRMED = "kind = 'confirmed' AND actor LIKE 'citizen:%'"

Index("ix_dossier_event_citizen_confirmed", DossierEvent.dossier_id,
      postgresql_where=text(CITIZEN_CONFIRMED), sqlite_where=text(CITIZEN_CONFIRMED))
Index("ix_dossier_result_dossier_issued", DossierResult.dossier_id, DossierResult.issued_at)


class ForecastSnapshot(Base):
    """A demand forecast computed as of a day from the data at a version (see ``analytics.forecast_cache``)."""

    __tablename__ = "analytics_forecast"
    __table_args__ = (Index("ix_analytics_forecast_as_of_version", "as_of", "data_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    data_version: Mapped[str] = mapped_column(String(300))
    months: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict] = mapped_column(JSON)
