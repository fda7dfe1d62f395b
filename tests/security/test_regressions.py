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
