"""The whole proactive loop for a birth, from the hospital's FHIR bundle to a verified certificate.

hospital bundle in (HTTP, agency key) → life event at once (streaming) → dossier opened,
pre-filled → the mother confirms with the child's name → the commune officer approves →
police and social-insurance sub-dossiers settled → certificate PDF whose QR verifies.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from chudong.db import session_factory
from chudong.dossiers import service
from chudong.dossiers.models import Dossier
from chudong.dossiers.results import render_result_pdf, result_of, verification_url
from chudong.fhir.builder import birth_bundle
from chudong.identity.principal import Principal
from chudong.notifications.models import Notification
from chudong.registry.models import Person
from chudong.registry.service import add_agency
from tests.dossiers import builders as b
from tests.ingest.builders import DA_NANG_WARD, csv_body, person_row


def _key(engine, code: str, kind: str) -> dict[str, str]:
    with session_factory(engine)() as s:
        _, key = add_agency(s, code, code, kind)
        s.commit()
    return {"Authorization": f"Bearer {key}"}


def _officer(o) -> Principal:
    return Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                     agency=o.agency, role=o.role)


def test_hospital_bundle_to_verified_certificate(client, engine, settings, clock):
    pop = {**_key(engine, "pop-48", "population"), "Content-Type": "text/csv"}
    mother_row = person_row(1, full_name="Nguyễn Thị Lan", birth_date="1995-03-01", pid="048195000001",
                            phone="0905123451", ward_code=str(DA_NANG_WARD))
    assert client.post("/api/v1/feeds/persons", content=csv_body("persons", [mother_row]), headers=pop).status_code == 200
    hospital = {**_key(engine, "bv-48", "hospital"), "Content-Type": "application/fhir+json"}
    bundle = birth_bundle(bundle_id="bv48-2026-0001", child_birth_date=dt.date(2026, 10, 30), child_sex="F",
                          weight_g=3150, mother_name="Nguyễn Thị Lan", mother_birth_date=dt.date(1995, 3, 1),
                          mother_pid="048195000001", facility_id="BV48", facility_name="Bệnh viện Phụ sản – Nhi Đà Nẵng")
    r = client.post("/api/v1/feeds/births", content=json.dumps(bundle), headers=hospital)
    assert r.status_code == 200, r.text
    assert r.json()["life_events"] == {"birth-registration": 1}  # detected at once, not at the next daily run
    again = client.post("/api/v1/feeds/births", content=json.dumps(bundle), headers=hospital)
    assert again.json()["unchanged"] == 1 and again.json()["life_events"] == {}

    with session_factory(engine)() as s:
        b.units(s)
        opened = service.open_pending(s)
        assert opened.opened == 1
        d = service.get_by_code(s, opened.codes[0])
        mother = s.scalar(select(Person).where(Person.pid == "048195000001"))
        assert d.person_id == mother.id and d.status == "offered"
        assert d.fields["mother_name"]["value"] == "Nguyễn Thị Lan" and d.fields["mother_name"]["verified"]
        assert d.fields["birth_weight_g"]["value"] == 3150
        notice = s.scalar(select(Notification).where(Notification.event_key == f"dossier:{d.code}"))
        assert notice is not None and notice.person_id == mother.id

        citizen = Principal.citizen(mother.id)
        service.confirm(s, d, citizen, supplied={"child_name": "Lê Minh An", "father_pid": "048090001234"},
                        linked=None, version=d.version)
        kids = service.children_of(s, d)
        assert {k.service_id for k in kids} == {"permanent-residence", "health-insurance-card"}
        civil = _officer(b.officer(s, d.handling_unit_code))
        service.claim(s, d, civil, version=d.version)
        service.approve(s, d, civil, version=d.version)
        for kid in kids:
            service.approve(s, kid, _officer(b.officer(s, kid.handling_unit_code)), version=kid.version)
        s.refresh(d)
        assert d.status == "closed" and d.settlement_class in ("early", "on_time")
        result = result_of(s, d)
        url = verification_url(settings.base_url, settings.secret_key, result)
        assert render_result_pdf(d, result, url).startswith(b"%PDF-")
        s.commit()
        token = url.rsplit("/", 1)[1]

    page = client.get(f"/verify/{token}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "genuine" in page.text.lower() or "hợp lệ" in page.text.lower()
