def test_healthz_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_broken_database(settings):
    from fastapi.testclient import TestClient

    from chudong.app import create_app
    from chudong.db import make_engine

    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings, broken, check_migrations=False)) as c:
        r = c.get("/healthz")
    assert r.status_code == 503 and r.json()["status"] == "error"


def test_home_is_vietnamese_by_default(client):
    r = client.get("/")
    assert r.status_code == 200
    assert '<html lang="vi">' in r.text
    assert "Dịch vụ công tự tìm đến bạn" in r.text
    assert "Số phường, xã được phục vụ: 94" in r.text


def test_home_in_english(client):
    r = client.get("/?lang=en")
    assert '<html lang="en">' in r.text and "Public services that come to you" in r.text


def test_language_cookie(client):
    r = client.get("/lang/en", follow_redirects=False)
    assert r.status_code == 303 and "lang=en" in r.headers["set-cookie"]
    assert "Public services that come to you" in client.get("/").text


def test_security_headers(client):
    r = client.get("/")
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_metrics_prometheus_text(client, monkeypatch):
    from chudong.web.metrics import get_metrics_settings

    monkeypatch.setenv("CHUDONG_METRICS_TOKEN", "scrape-token-for-test")
    get_metrics_settings.cache_clear()
    client.get("/healthz")
    try:
        r = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-for-test"})
    finally:
        get_metrics_settings.cache_clear()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'chudong_http_requests_total{method="GET",route="/healthz",status="200"}' in r.text


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/healthz" in spec["paths"]


def test_vendored_htmx_served_locally(client):
    r = client.get("/static/htmx.min.js")
    assert r.status_code == 200 and "htmx" in r.text[:200]
    assert "cdn" not in client.get("/").text.lower()


def test_app_refuses_unmigrated_database(settings, tmp_path):
    import pytest

    from chudong.app import MigrationsPending, create_app
    from chudong.db import make_engine

    with pytest.raises(MigrationsPending, match="chudong db upgrade"):
        create_app(settings, make_engine(f"sqlite:///{tmp_path}/empty.db"))
