"""Regressions for server errors the fuzz found: each input once gave a 500, now a 4xx."""

from __future__ import annotations

import pytest

from bench.fuzz import seed_callers

HUGE = 2**70  # beyond a 64-bit database key: the driver used to raise OverflowError → 500


@pytest.fixture
def callers(client, engine, settings):
    """Headers of one citizen, officer, agency and operator on the test database."""
    return seed_callers(engine, settings)


@pytest.mark.parametrize(("caller", "method", "path", "body"), [
    ("officer", "POST", "/api/v1/dossiers/open", {"life_event_ids": [1, HUGE]}),
    ("officer", "GET", f"/api/v1/dossiers/queue?offset={HUGE}", None),
    ("agency", "GET", f"/api/v1/feeds/runs/{HUGE}", None),
    ("agency", "GET", f"/api/v1/feeds/runs/{HUGE}/rejections", None),
    ("operator", "GET", f"/api/v1/notifications/inbox/{HUGE}", None),
    ("operator", "GET", f"/api/v1/notifications/{HUGE}", None),
    ("operator", "PUT", f"/api/v1/notifications/preferences/{HUGE}", {"channels": ["sms"]}),
])
def test_ids_beyond_64_bits_are_refused_with_422(client, callers, caller, method, path, body):
    r = client.request(method, path, headers=callers[caller], json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"


def test_queue_limit_outside_its_range_is_refused(client, callers):
    assert client.get("/api/v1/dossiers/queue?limit=0", headers=callers["officer"]).status_code == 422
    assert client.get("/api/v1/dossiers/queue?limit=501", headers=callers["officer"]).status_code == 422
    assert client.get("/api/v1/dossiers/queue?limit=500", headers=callers["officer"]).status_code == 200


@pytest.mark.parametrize("query", ["since=0001-01-01", "until=9999-12-31", "since=2300-01-01"])
def test_notification_stats_with_days_out_of_range_are_refused(client, callers, query):
    r = client.get(f"/api/v1/notifications/stats?{query}", headers=callers["operator"])
    assert r.status_code == 422, r.text


def test_notification_stats_with_ordinary_days_still_answer(client, callers):
    r = client.get("/api/v1/notifications/stats?since=2026-01-01&until=2026-12-31", headers=callers["operator"])
    assert r.status_code == 200 and r.json() == []


def test_nul_byte_in_a_csv_record_is_a_rejection_not_a_crash(client, engine, request):
    """PostgreSQL text cannot hold NUL: the record is rejected, its NUL shown escaped in the report."""
    from chudong.db import session_factory
    from chudong.registry.service import add_agency

    with session_factory(engine)() as s:
        _, key = add_agency(s, "pop-nul", "Population registry", "population")
        s.commit()
    body = b"source_key,pid,full_name,birth_date,sex,ethnicity,ward_code,household_code,phone,email,zalo_id,death_date\n" \
           b"P1,048190000001,Nguy\x00en,1990-05-12,F,Kinh,20194,HH1,,,,\n"
    r = client.post("/api/v1/feeds/persons", content=body, headers={"X-API-Key": key, "content-type": "text/csv"})
    assert r.status_code == 200, r.text[:300]
    assert (r.json()["accepted"], r.json()["rejected"]) == (0, 1)


def test_refused_bulk_approval_shows_the_queue_page_not_a_500(client, session, clock):
    """The queue template gained paging; its error renders (bulk approval, bad filter) lacked page_no → 500."""
    from chudong.dossiers import service as dossiers
    from tests.dossiers import builders as b
    from tests.portal.helpers import post, staff_account, staff_signin

    b.units(session)
    mother = b.person(session)
    ev = b.life_event(session, "birth-registration", person=mother, vital=b.vital_event(session, mother=mother))
    code = dossiers.open_dossiers(session, [ev.id]).codes[0]
    other = b.officer(session, "CA-48", username="other.cb")
    staff_account(session, "other.cb", "officer", unit_code=other.unit_code, agency=other.agency)
    session.commit()
    staff_signin(client, "other.cb")
    r = post(client, "/officer/bulk-approve", {"codes": code}, form_page="/officer/queue")
    assert r.status_code == 422 and "another unit" in r.text
    r = client.get("/officer/queue?status=closed", headers={"accept": "text/html"})
    assert r.status_code == 422
