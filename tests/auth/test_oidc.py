"""National sign-in end to end: the portal ↔ a real OpenID provider (npm oidc-provider) ↔ the person index."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from fastapi.testclient import TestClient

from chudong.app import create_app
from chudong.config import Settings
from chudong.db import session_factory
from chudong.kit import clock as clock_mod
from chudong.national_id.routes import COOKIE
from tests.dossiers import builders as b
from tests.support.identity_provider import (  # noqa: F401 (fixture)
    CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, callback_path, identity_provider,
)


@pytest.fixture
def lan(engine) -> int:
    """A citizen in the person index with NO registered contact (the one-time code cannot reach her)."""
    with session_factory(engine)() as s:
        b.units(s)
        p = b.person(s, pid="048195012301", full_name="Nguyễn Thị Lan")
        p.phone = None
        s.commit()
        return p.id


def _settings(tmp_path, provider, **overrides) -> Settings:
    values = {"env": "test", "data_dir": tmp_path, "base_url": "http://testserver", "oidc_issuer": provider.issuer,
              "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET, **overrides}
    return Settings(**values)


@pytest.fixture
def portal(engine, tmp_path, identity_provider):
    """The portal configured for national sign-in at the test provider."""
    with TestClient(create_app(_settings(tmp_path, identity_provider), engine), base_url="http://testserver") as c:
        yield c


def _to_provider(portal: TestClient) -> str:
    r = portal.get("/signin/national", follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return r.headers["location"]


def test_signin_page_offers_national_signin_when_configured(portal, client):
    assert 'href="/signin/national"' in portal.get("/signin").text
    assert "Đăng nhập bằng tài khoản định danh điện tử (VNeID)" in portal.get("/signin").text
    assert 'href="/signin/national"' not in client.get("/signin").text  # not configured: no dead link


def test_a_citizen_without_contact_signs_in_with_the_national_identity(portal, identity_provider, lan):
    url = _to_provider(portal)
    assert "code_challenge_method=S256" in url and "nonce=" in url and "state=" in url
    back = identity_provider.sign_in(url, "vneid-lan")
    r = portal.get(callback_path(back), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me", r.text[:500]
    me = portal.get("/me")
    assert me.status_code == 200 and "Nguyễn Thị Lan" in me.text


def test_a_replayed_answer_is_refused(portal, identity_provider, lan, caplog):
    url = _to_provider(portal)
    pending = portal.cookies.get(COOKIE)
    back = callback_path(identity_provider.sign_in(url, "vneid-lan"))
    assert portal.get(back, follow_redirects=False).status_code == 303
    # an attacker who captured the whole answer and the browser's cookie replays them in a fresh browser
    with TestClient(portal.app, base_url="http://testserver") as attacker:
        attacker.cookies.set(COOKIE, pending, path="/signin/national")
        with caplog.at_level(logging.WARNING, logger="chudong.national_id.routes"):
            r = attacker.get(back, follow_redirects=False)
    assert r.status_code == 401
    assert "đăng nhập bằng mã xác thực dùng một lần" in r.text and "chudong_session" not in r.headers.get("set-cookie", "")
    assert "already used" in caplog.text


def test_an_answer_for_another_browser_is_refused(portal, identity_provider, lan, caplog):
    back = callback_path(identity_provider.sign_in(_to_provider(portal), "vneid-lan"))
    with TestClient(portal.app, base_url="http://testserver") as other_browser:
        _to_provider(other_browser)  # its own sign-in in progress, with another state
        with caplog.at_level(logging.WARNING, logger="chudong.national_id.routes"):
            r = other_browser.get(back, follow_redirects=False)
    assert r.status_code == 401 and "does not match this browser" in caplog.text


def test_an_expired_id_token_is_refused(portal, identity_provider, lan, caplog):
    back = callback_path(identity_provider.sign_in(_to_provider(portal), "vneid-lan"))
    # the provider's ID tokens live 5 minutes (+1 minute leeway here); the sign-in's state lives 10
    later = clock_mod.FixedClock(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=7))
    with clock_mod.use_clock(later), caplog.at_level(logging.WARNING, logger="chudong.national_id.routes"):
        r = portal.get(back, follow_redirects=False)
    assert r.status_code == 401
    assert "ID token claim: expired_token" in caplog.text, caplog.text


def test_an_answer_naming_another_issuer_is_refused(portal, identity_provider, lan, caplog):
    back = callback_path(identity_provider.sign_in(_to_provider(portal), "vneid-lan"))
    forged = back.replace("iss=http%3A%2F%2F127.0.0.1", "iss=http%3A%2F%2Fevil.example")
    assert forged != back
    with caplog.at_level(logging.WARNING, logger="chudong.national_id.routes"):
        r = portal.get(forged, follow_redirects=False)
    assert r.status_code == 401 and "issuer" in caplog.text


def test_a_code_issued_to_another_client_is_refused(engine, tmp_path, identity_provider, lan, caplog):
    # the other portal's client starts the sign-in; the answer is delivered to ours
    other = _settings(tmp_path, identity_provider, oidc_client_id=OTHER_CLIENT_ID)
    with TestClient(create_app(other, engine), base_url="http://testserver") as c:
        back = callback_path(identity_provider.sign_in(_to_provider(c), "vneid-lan"))
        pending = c.cookies.get(COOKIE)
    with TestClient(create_app(_settings(tmp_path, identity_provider), engine), base_url="http://testserver") as ours:
        ours.cookies.set(COOKIE, pending, path="/signin/national")
        with caplog.at_level(logging.WARNING, logger="chudong.national_id.routes"):
            r = ours.get(back, follow_redirects=False)
    assert r.status_code == 401 and "refused the code" in caplog.text


def test_a_person_not_in_the_index_is_told_so(portal, identity_provider, lan):
    r = portal.get(callback_path(identity_provider.sign_in(_to_provider(portal), "vneid-stranger")),
                   follow_redirects=False)
    assert r.status_code == 403
    assert "chưa có trong cơ sở dữ liệu dân cư của tỉnh" in r.text and 'href="/signin"' in r.text


def test_an_identity_without_a_personal_id_is_refused(portal, identity_provider, lan, caplog):
    with caplog.at_level(logging.WARNING, logger="chudong.national_id.routes"):
        r = portal.get(callback_path(identity_provider.sign_in(_to_provider(portal), "vneid-no-pid")),
                       follow_redirects=False)
    assert r.status_code == 401 and "no personal ID number" in caplog.text


def test_a_cancelled_signin_says_so(portal, lan):
    _to_provider(portal)
    state = portal.cookies.get(COOKIE)  # the signed cookie holds the state; read it as the browser would send it
    from itsdangerous import URLSafeTimedSerializer

    from chudong.national_id.routes import SALT

    value = URLSafeTimedSerializer(portal.app.state.settings.secret_key, salt=SALT).loads(state)
    r = portal.get(f"/signin/national/callback?error=access_denied&state={value['state']}", follow_redirects=False)
    assert r.status_code == 401 and "Bạn đã hủy đăng nhập bằng định danh điện tử." in r.text


def test_without_a_provider_the_route_says_it_is_not_offered(client):
    r = client.get("/signin/national", follow_redirects=False)
    assert r.status_code == 404 and "Hiện chưa hỗ trợ" in r.text


def test_an_unreachable_provider_is_a_clear_503(engine, tmp_path, identity_provider):
    from tests.deploy.proxy import free_port

    settings = _settings(tmp_path, identity_provider, oidc_issuer=f"http://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings, engine), base_url="http://testserver") as c:
        r = c.get("/signin/national", follow_redirects=False)
    assert r.status_code == 503 and "không phản hồi" in r.text
