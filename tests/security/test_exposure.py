"""What each caller may see: /metrics, the test-mode message viewer, opening dossiers, data minimisation.

- ``/metrics``: the ``CHUDONG_METRICS_TOKEN`` bearer or a signed-in operator; open only in
  development without a token; production hides it (404) from everyone else.
- ``/notifications/viewer`` (every test-mode message, sign-in codes included): the demo
  (``app.state.demo_mode``) or a signed-in operator, never in production.
- ``POST /api/v1/dossiers/open``: the operator key, or an officer of a unit competent for the
  service and, for a commune unit, the subject's commune.
- Data minimisation: no JSON API response gives A's ID number, phone or e-mail to a caller
  other than A and the officer handling A's dossier (whose reads are logged), and no
  response schema has a field for them.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chudong.app import create_app
from chudong.config import Settings
from chudong.db import session_factory
from chudong.dossiers.models import Dossier, Unit
from chudong.identity.principal import issue_citizen_token, issue_officer_token, operator_key
from chudong.notifications.models import Notification, NotificationEvent
from chudong.notifications.service import Contact, enqueue
from chudong.registry.models import Person
from chudong.web.metrics import get_metrics_settings
from tests.dossiers import builders as b
from tests.notifications.builders import CONTEXT
from tests.portal.helpers import staff_account, staff_signin
from tests.security.test_authz_matrix import A_PID, CALLERS, MATRIX, _send, world  # noqa: F401 - fixture
from tests.security.test_log_scan import leaks, phone_forms

A_EMAIL = "pham.bi.mat@example.vn"


@pytest.fixture
def metrics_token(monkeypatch):
    """Set CHUDONG_METRICS_TOKEN for one test."""
    monkeypatch.setenv("CHUDONG_METRICS_TOKEN", "scrape-token-of-the-test-0123456789")
    get_metrics_settings.cache_clear()
    yield "scrape-token-of-the-test-0123456789"
    monkeypatch.delenv("CHUDONG_METRICS_TOKEN")
    get_metrics_settings.cache_clear()


def _app_client(engine, tmp_path, env: str):
    # model_copy: a production app without the production keys this check does not need
    settings = Settings(data_dir=tmp_path, env="test").model_copy(update={"env": env})
    return TestClient(create_app(settings, engine), base_url="http://testserver")


def _sign_in_staff(client, engine, username: str, role: str) -> None:
    """Create a staff account with ``role`` and sign the client in as it (signing out anyone before)."""
    client.cookies.clear()
    with session_factory(engine)() as s:
        staff_account(s, username, role)
        s.commit()
    staff_signin(client, username)


def test_metrics_need_the_token_or_an_operator(client, engine, metrics_token):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
    assert ok.status_code == 200 and "chudong_http_requests_total" in ok.text
    _sign_in_staff(client, engine, "leader.metrics", "leader")
    assert client.get("/metrics").status_code == 401
    _sign_in_staff(client, engine, "ops.metrics", "operator")
    assert client.get("/metrics").status_code == 200


def test_metrics_by_environment_without_a_token(engine, tmp_path):
    get_metrics_settings.cache_clear()
    with _app_client(engine, tmp_path, "production") as c:
        assert c.get("/metrics").status_code == 404  # production: not even advertised
    with _app_client(engine, tmp_path, "development") as c:
        assert c.get("/metrics").status_code == 200  # a developer's local Prometheus
    with _app_client(engine, tmp_path, "test") as c:
        assert c.get("/metrics").status_code == 401


def _a_sign_in_code(engine) -> str:
    with session_factory(engine)() as s:
        p = Person(full_name="Lê Thị Mã", name_key="le thi ma", birth_date=dt.date(1990, 1, 1), sex="F",
                   phone="+84905111222")
        s.add(p)
        s.flush()
        enqueue(s, event_key="signin:1", step="otp", person_id=p.id, template_id="otp",
                context={"code": "731904", "minutes": 5}, urgent=True)
        s.commit()
    return "731904"


def test_message_viewer_only_in_the_demo_or_for_operators(client, engine, tmp_path):
    code = _a_sign_in_code(engine)
    assert client.get("/notifications/viewer").status_code == 404
    _sign_in_staff(client, engine, "cb.viewer", "officer")
    assert client.get("/notifications/viewer").status_code == 404
    _sign_in_staff(client, engine, "ops.viewer", "operator")
    page = client.get("/notifications/viewer")
    assert page.status_code == 200 and code in page.text
    client.cookies.clear()
    client.app.state.demo_mode = True
    assert code in client.get("/notifications/viewer").text
    with _app_client(engine, tmp_path, "production") as c:
        c.app.state.demo_mode = True
        assert c.get("/notifications/viewer").status_code == 404


def test_who_may_open_dossiers(client, engine, settings, clock):
    with session_factory(engine)() as s:
        b.units(s)
        home = b.person(s)
        elsewhere = b.person(s, ward_index=1)
        events = [b.life_event(s, "birth-registration", person=p, vital=b.vital_event(s, mother=p))
                  for p in (home, elsewhere)]
        # the unit the dossier would be routed to: the justice desk of the mother's commune
        local = s.scalar(select(Unit.code).where(Unit.agency == "justice", Unit.ward_code == home.ward_code))
        other = s.scalar(select(Unit.code).where(Unit.agency == "justice", Unit.ward_code == elsewhere.ward_code))
        officers = {"local": b.officer(s, local), "other_commune": b.officer(s, other),
                    "province_justice": b.officer(s, "STP-48"), "police": b.officer(s, "CA-48"),
                    "local_committee": b.officer(s, local.replace("TP-", "UB-"))}
        s.commit()
        tokens = {k: {"Authorization": f"Bearer {issue_officer_token(settings.secret_key, o.id)}"}
                  for k, o in officers.items()}
        ids, citizen = [e.id for e in events], issue_citizen_token(settings.secret_key, home.id)

    def open_(headers, which=(0,)):
        return client.post("/api/v1/dossiers/open", json={"life_event_ids": [ids[i] for i in which]}, headers=headers)

    assert open_({}).status_code == 401
    assert open_({"Authorization": f"Bearer {citizen}"}).status_code == 403
    for who in ("other_commune", "police", "local_committee"):
        r = open_(tokens[who])
        assert r.status_code == 403 and f"life event {ids[0]}" in r.json()["detail"], (who, r.text)
    assert open_(tokens["local"], (0, 1)).status_code == 403  # one event outside: nothing opened
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Dossier)) == 0
    r = open_(tokens["local"])
    assert r.status_code == 200 and r.json()["opened"] == 1
    assert open_(tokens["province_justice"], (1,)).json()["opened"] == 1  # the province unit covers every commune
    assert open_({"X-Operator-Key": operator_key(settings.secret_key)}, (0, 1)).json()["skipped"] == 2
    assert open_({"X-Operator-Key": "wrong"}).status_code == 401


# routes whose answers may carry A's data, and who is entitled to it there
ENTITLED = {"/api/v1/dossiers/": {"citizen_a", "officer"}, "/api/v1/feeds/": {"agency_owner"}}


def test_api_responses_give_personal_data_only_to_those_entitled(client, engine, world):
    with session_factory(engine)() as s:
        a = s.scalar(select(Person).where(Person.pid == A_PID))
        a.email = A_EMAIL
        s.commit()
        needles = {A_PID: "ID number", A_EMAIL: "e-mail"} | dict.fromkeys(phone_forms(a.phone), "phone")
    api = sorted((m, t) for m, t in MATRIX if t.startswith("/api/") or t in ("/healthz", "/openapi.json"))
    assert len(api) >= 35
    checked, found = 0, []
    for method, template in api:
        entitled = next((who for prefix, who in ENTITLED.items() if template.startswith(prefix)), set())
        for name in CALLERS:
            if name in entitled:
                continue
            r = _send(client, method, template, world, world["callers"][name])
            checked += 1
            found += [f"{method} {template} as {name}: {line}" for line in leaks(r.text, needles, limit=1)]
    assert checked > 250 and not found, "\n".join(found)
    # ... while A herself does get her own data (the check above can see it when it is there)
    mine = client.get("/api/v1/dossiers/mine", headers=world["callers"]["citizen_a"].headers)
    assert A_PID in mine.text


def test_operators_see_notification_addresses_masked(client, engine, settings):
    with session_factory(engine)() as s:
        n = enqueue(s, event_key="x:1", step="started", person_id=None, template_id="dossier-started",
                    context=CONTEXT, contact_override=Contact(phone="0905 333 444"))[0]
        n.status, n.last_error = "failed", "gateway refused +84905333444 (to pham.bi.mat@example.vn)"
        s.add(NotificationEvent(notification_id=n.id, at=n.created_at, kind="failed", channel="sms",
                                detail="destination 0905333444 unreachable"))
        s.commit()
        nid = n.id
    key = {"X-Operator-Key": operator_key(settings.secret_key)}
    one = client.get(f"/api/v1/notifications/{nid}", headers=key)
    failures = client.get("/api/v1/notifications/failures", headers=key)
    assert one.status_code == 200 and failures.status_code == 200
    assert one.json()["recipient_key"] == "phone:•••••••••444"
    for text in (one.text, failures.text):
        assert not re.search(r"0905333444|84905333444|pham\.bi\.mat@", text), text
    assert "[phone]" in one.json()["last_error"] and "[email]" in one.json()["last_error"]
    assert any(e["detail"] == "destination [phone] unreachable" for e in one.json()["history"])


PERSONAL = re.compile(r"(^|_)(pid|phone|email|e_mail|zalo|birth_date|cccd)($|_)", re.I)


def test_no_response_schema_has_a_personal_data_field(client):
    """A new response field named like an identifier must be justified here (or masked and renamed)."""
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    used: set[str] = set()

    def refs(node) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in used:
                    used.add(name)
                    refs(schemas[name])
            for value in node.values():
                refs(value)
        elif isinstance(node, list):
            for value in node:
                refs(value)

    for path in spec["paths"].values():
        for op in path.values():
            refs(op.get("responses", {}))
    assert {"DossierRead", "NotificationRead", "PublicStatus"} <= used
    named = sorted(f"{s}.{p}" for s in used for p in schemas[s].get("properties", {}) if PERSONAL.search(p))
    assert named == [], f"response fields named like personal data: {named}"
