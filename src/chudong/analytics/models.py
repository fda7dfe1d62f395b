"""Indexes the analytics queries need on the dossiers feature's tables.

Declared here (attached to those tables' metadata) rather than in ``dossiers/models.py``
because only analytics reads through them; the migration is
``2026_11_22_0013_analytics_indexes``.

- ``ix_dossier_event_citizen_confirmed``: the dossiers confirmed by the citizen through
  the portal (the "full online" indicator) as a small partial index read in dossier order,
  whatever the number of other timeline events.
- ``ix_dossier_result_dossier_issued``: whether a dossier has a result and when it was
  issued, read from the index alone (the result rows carry the whole structured data).
"""

from __future__ import annotations

from sqlalchemy import Index, text

from chudong.dossiers.models import DossierEvent, DossierResult

CITIZEN_CONFIRMED = "kind = 'confirmed' AND actor LIKE 'citizen:%'"

Index("ix_dossier_event_citizen_confirmed", DossierEvent.dossier_id,
      postgresql_where=text(CITIZEN_CONFIRMED), sqlite_where=text(CITIZEN_CONFIRMED))
Index("ix_dossier_result_dossier_issued", DossierResult.dossier_id, DossierResult.issued_at)
