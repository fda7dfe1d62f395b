"""Dossier rows built directly, for hand-computed index cases."""

from __future__ import annotations

import datetime as dt
import itertools

from chudong.dossiers.models import Dossier, DossierEvent, DossierRating, DossierResult
from chudong.kit import clock

_seq = itertools.count(1)


def dossier(session, *, service_id: str = "birth-registration", received_on: dt.date = dt.date(2026, 10, 5),
            due_on: dt.date | None = dt.date(2026, 10, 8), settled_on: dt.date | None = None,
            settlement_class: str | None = None, status: str = "in_processing", prefill_share: float = 1.0,
            unit: str | None = None, confirmed_by: str | None = "citizen:1", person_id: int | None = 1,
            life_event_id: int | None = None) -> Dossier:
    n = next(_seq)
    d = Dossier(code=f"48-T-{n:08d}", service_id=service_id, kind="dossier", title={"vi": service_id, "en": service_id},
                life_event_id=life_event_id, subject_kind="person", person_id=person_id, province_code=48,
                agency="justice", handling_unit_code=unit, status=status, event_count=2, fields={},
                fields_total=4, fields_prefilled=int(4 * prefill_share), prefill_share=prefill_share,
                opened_at=clock.now(), received_on=received_on, due_on=due_on, settled_on=settled_on,
                settlement_class=settlement_class)
    session.add(d)
    session.flush()
    if confirmed_by:
        session.add(DossierEvent(dossier_id=d.id, seq=1, kind="confirmed", from_status="offered",
                                 to_status="confirmed", actor=confirmed_by, at=clock.now(), data={}))
    return d


def result(session, d: Dossier) -> DossierResult:
    r = DossierResult(dossier_id=d.id, kind="extract", number=f"R{d.id}", issued_at=clock.now(), issued_by="officer:x",
                      data={"k": "v"}, nonce=f"{d.id:032d}", revoked=False)
    session.add(r)
    session.flush()
    return r


def rating(session, d: Dossier, score: int, complaint: bool = False) -> None:
    session.add(DossierRating(dossier_id=d.id, score=score, complaint=complaint, rated_at=clock.now(),
                              comment="x" if complaint else None))
    session.flush()
