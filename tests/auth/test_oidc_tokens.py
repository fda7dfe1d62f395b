"""The ID-token checks of auth/oidc.py on tokens signed by a real OpenID provider (npm oidc-provider)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from chudong.auth.oidc import NationalSignInError, OidcClient, ProviderUnavailable
from tests.support.identity_provider import (  # noqa: F401 (fixture)
    CLIENT_ID, CLIENT_SECRET, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, REDIRECT_URI, identity_provider,
)


def _client(provider, client_id=CLIENT_ID, secret=CLIENT_SECRET) -> OidcClient:
    return OidcClient(provider.issuer, client_id, secret, REDIRECT_URI)


def _signed_in(provider, client: OidcClient, account: str = "vneid-lan") -> tuple[dict, str, str]:
    """Run the flow at the provider; return (tokens, nonce, code) for ``client``."""
    request = client.begin()
    back = parse_qs(urlsplit(provider.sign_in(request.url, account)).query)
    assert back["state"] == [request.state]
    tokens = client.exchange_code(back["code"][0], request.code_verifier)
    return tokens, request.nonce, back["code"][0]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_genuine_token_gives_the_subject_and_personal_id(identity_provider):
    client = _client(identity_provider)
    tokens, nonce, _code = _signed_in(identity_provider, client)
    identity = client.verify_id_token(tokens["id_token"], nonce=nonce, now=_now(), access_token=tokens["access_token"])
    assert (identity.subject, identity.pid, identity.name) == ("vneid-lan", "048195012301", "Nguyễn Thị Lan")


def test_a_token_for_another_audience_is_refused(identity_provider):
    other = _client(identity_provider, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET)
    tokens, nonce, _code = _signed_in(identity_provider, other)
    assert json.loads(_unb64(tokens["id_token"].split(".")[1]))["aud"] == OTHER_CLIENT_ID  # genuinely signed
    with pytest.raises(NationalSignInError, match="aud"):
        _client(identity_provider).verify_id_token(tokens["id_token"], nonce=nonce, now=_now())


def test_an_expired_token_is_refused(identity_provider):
    client = _client(identity_provider)
    tokens, nonce, _code = _signed_in(identity_provider, client)
    client.verify_id_token(tokens["id_token"], nonce=nonce, now=_now() + dt.timedelta(minutes=5))  # within leeway
    with pytest.raises(NationalSignInError, match="expired"):
        client.verify_id_token(tokens["id_token"], nonce=nonce, now=_now() + dt.timedelta(minutes=7))


def test_a_tampered_signature_is_refused(identity_provider):
    client = _client(identity_provider)
    tokens, nonce, _code = _signed_in(identity_provider, client)
    head, body, sig = tokens["id_token"].split(".")
    raw = bytearray(_unb64(sig))
    raw[10] ^= 0x01
    with pytest.raises(NationalSignInError, match="signature"):
        client.verify_id_token(f"{head}.{body}.{_b64(bytes(raw))}", nonce=nonce, now=_now())


def test_a_token_whose_personal_id_was_changed_is_refused(identity_provider):
    client = _client(identity_provider)
    tokens, nonce, _code = _signed_in(identity_provider, client)
    head, body, sig = tokens["id_token"].split(".")
    claims = json.loads(_unb64(body))
    claims["pid"] = "048195012302"  # someone else's
    forged = f"{head}.{_b64(json.dumps(claims).encode())}.{sig}"
    with pytest.raises(NationalSignInError, match="signature"):
        client.verify_id_token(forged, nonce=nonce, now=_now())


def test_an_unsigned_token_is_refused(identity_provider):
    client = _client(identity_provider)
    tokens, nonce, _code = _signed_in(identity_provider, client)
    _head, body, _sig = tokens["id_token"].split(".")
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{body}."
    with pytest.raises(NationalSignInError, match="signature or format"):
        client.verify_id_token(unsigned, nonce=nonce, now=_now())


def test_a_token_for_another_request_is_refused_by_its_nonce(identity_provider):
    client = _client(identity_provider)
    tokens, _nonce, _code = _signed_in(identity_provider, client)
    with pytest.raises(NationalSignInError, match="nonce"):
        client.verify_id_token(tokens["id_token"], nonce="a-nonce-of-another-sign-in", now=_now())


def test_the_code_needs_its_pkce_verifier_and_works_once(identity_provider):
    client = _client(identity_provider)
    request = client.begin()
    code = parse_qs(urlsplit(identity_provider.sign_in(request.url, "vneid-lan")).query)["code"][0]
    with pytest.raises(NationalSignInError, match="invalid_grant"):
        client.exchange_code(code, "a-verifier-the-attacker-guessed-" + "x" * 20)
    request = client.begin()
    code = parse_qs(urlsplit(identity_provider.sign_in(request.url, "vneid-lan")).query)["code"][0]
    client.exchange_code(code, request.code_verifier)
    with pytest.raises(NationalSignInError, match="invalid_grant"):
        client.exchange_code(code, request.code_verifier)


def test_discovery_from_a_wrong_issuer_is_refused(identity_provider):
    client = OidcClient(identity_provider.issuer.replace("127.0.0.1", "localhost"), CLIENT_ID, CLIENT_SECRET,
                        REDIRECT_URI)
    with pytest.raises(ProviderUnavailable, match="names issuer"):
        client.begin()


def test_an_issuer_without_its_client_is_a_configuration_error(tmp_path):
    from pydantic import ValidationError

    from chudong.config import Settings

    with pytest.raises(ValidationError, match="CHUDONG_OIDC_CLIENT_ID"):
        Settings(env="test", data_dir=tmp_path, oidc_issuer="https://sso.example.gov.vn")
