"""The open-data page (linked from the home page) and the API reference served without a CDN."""

import datetime as dt
import re

from chudong.analytics.routes import recent_months

from . import builders as b


def test_recent_months_are_whole_months_before_today():
    assert recent_months(dt.date(2026, 1, 15), 3) == [dt.date(2025, 12, 1), dt.date(2025, 11, 1), dt.date(2025, 10, 1)]


def test_home_links_the_open_data_page(client):
    assert 'href="/open-data"' in client.get("/").text


def test_open_data_page_shows_the_month_in_words_and_its_files(client, session, clock):
    b.dossier(session, settled_on=dt.date(2026, 10, 6), settlement_class="early", status="closed")
    session.commit()
    r = client.get("/open-data?period=2026-10")
    assert r.status_code == 200
    assert "Dữ liệu mở" in r.text and "tháng 10 năm 2026" in r.text
    assert "Tiến độ giải quyết" in r.text and "progress_ok" not in r.text  # group names, not keys
    assert re.search(r'id="open-total">[\d.]+/100<', r.text)
    for href in re.findall(r'href="(/open-data/index\.(?:json|csv)\?period=2026-10)"', r.text):
        assert client.get(href).status_code == 200
    assert len(re.findall(r'href="/open-data/index\.(?:json|csv)\?period=2026-10"', r.text)) == 2
    en = client.get("/open-data?period=2026-10&lang=en")
    assert "October 2026" in en.text and "Progress of settlement" in en.text


def test_open_data_page_without_dossiers_marks_groups_not_applicable(client, clock):
    r = client.get("/open-data")
    assert r.status_code == 200 and "tháng 10 năm 2026" in r.text  # the last whole month is the default
    assert "<td>Tiến độ giải quyết</td><td><span class=\"muted\">không áp dụng</span>" in r.text


def test_api_reference_needs_no_cdn(client):
    r = client.get("/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "http" not in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    for a in assets:
        body = client.get(a)
        assert body.status_code == 200 and len(body.content) > 100, a
    assert "SwaggerUIBundle" in client.get("/static/swagger-ui/swagger-ui-bundle.js").text
    assert "<script>" not in r.text  # no inline script: the CSP forbids it
