"""OpenID Connect relying party for the national sign-in: discovery, authorization code + PKCE, ID-token checks.

Protocol only — no tables, no pages (``national_id/`` runs the sign-in and links the citizen). Every check an
ID token must pass is made here: the signature against the provider's published keys (re-read once when a
new key id appears), ``iss`` and ``aud`` exactly ours, ``exp``/``iat`` against the injected clock, the
``nonce`` of this browser's request, ``azp`` and ``at_hash`` when present (authlib's ``CodeIDToken``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from chudong.kit.errors import ChudongError

SIGNING_ALGORITHMS = ("RS256", "PS256", "ES256")  # asymmetric only: a client secret never verifies a token
CLOCK_LEEWAY_SECONDS = 60


class NationalSignInError(ChudongError):
    """The national identity provider's answer was refused; ``reason`` says which check failed (for logs)."""

    status_code = 401
    code = "national_signin_failed"

    def __init__(self, reason: str) -> None:
        super().__init__(f"national sign-in refused: {reason}")
        self.reason = reason


class ProviderUnavailable(ChudongError):
    """The identity provider did not answer or answered nonsense; the citizen may retry or use a code."""

    status_code = 503
    code = "identity_provider_unavailable"


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and what this browser must bring back (kept signed in its cookie)."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class VerifiedIdentity:
    """The checked claims of an ID token that matter to chudong."""

    issuer: str
    subject: str
    pid: str | None
    name: str | None


class OidcClient:
    """A confidential client of one OpenID provider (client_secret_basic at the token endpoint)."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str, *,
                 scope: str = "openid", pid_claim: str = "pid", timeout: float = 10.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.pid_claim = pid_claim
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            r = self._http.get(url, headers={"accept": "application/json"})
            r.raise_for_status()
            body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"identity provider: GET {url} failed ({type(exc).__name__})") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"identity provider: {url} did not return a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        """Return the provider's discovery document (read once), refusing one that names another issuer."""
        with self._lock:
            if self._metadata is None:
                meta = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
                if meta.get("issuer", "").rstrip("/") != self.issuer:
                    raise ProviderUnavailable(f"identity provider: discovery names issuer {meta.get('issuer')!r}, "
                                              f"not the configured {self.issuer!r}")
                missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not meta.get(k)]
                if missing:
                    raise ProviderUnavailable(f"identity provider: discovery lacks {', '.join(missing)}")
                self._metadata = meta
            return self._metadata

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            keys = self._keys
        if keys is None or refresh:
            keys = KeySet.import_key_set(self._get_json(self.metadata()["jwks_uri"]))
            with self._lock:
                self._keys = keys
        return keys

    def begin(self) -> AuthorizationRequest:
        """Return a fresh authorization request: random state and nonce, a PKCE verifier sent as S256."""
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        query = urlencode({"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                           "scope": self.scope, "state": state, "nonce": nonce,
                           "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"})
        endpoint = self.metadata()["authorization_endpoint"]
        return AuthorizationRequest(f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state, nonce, verifier)

    def check_response_issuer(self, iss: str | None) -> None:
        """Refuse an authorization response that says it came from another provider (RFC 9207, mix-up)."""
        if self.metadata().get("authorization_response_iss_parameter_supported") and iss is None:
            raise NationalSignInError("the authorization response has no iss although the provider sends one")
        if iss is not None and iss.rstrip("/") != self.issuer:
            raise NationalSignInError(f"the authorization response comes from issuer {iss!r}")

    def exchange_code(self, code: str, code_verifier: str) -> dict[str, Any]:
        """Trade an authorization code (with its PKCE verifier) for tokens at the token endpoint."""
        try:
            r = self._http.post(self.metadata()["token_endpoint"], auth=(self.client_id, self.client_secret),
                                data={"grant_type": "authorization_code", "code": code,
                                      "redirect_uri": self.redirect_uri, "code_verifier": code_verifier},
                                headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"identity provider: token endpoint failed ({type(exc).__name__})") from None
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code >= 500 or not isinstance(body, dict):
            raise ProviderUnavailable(f"identity provider: token endpoint answered {r.status_code}")
        if r.status_code != 200 or "id_token" not in body:
            raise NationalSignInError(f"the token endpoint refused the code: {body.get('error', r.status_code)}")
        return body

    def verify_id_token(self, id_token: str, *, nonce: str, now: dt.datetime,
                        access_token: str | None = None) -> VerifiedIdentity:
        """Check an ID token's signature and claims; return the identity it asserts."""
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), algorithms=list(SIGNING_ALGORITHMS))
            except InvalidKeyIdError:  # the provider rotated its keys: read them again, once
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=list(SIGNING_ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise NationalSignInError(f"ID token signature or format: {type(exc).__name__}") from None
        options = {"iss": {"essential": True, "values": [self.issuer]},
                   "aud": {"essential": True, "values": [self.client_id]},
                   "nonce": {"essential": True}}
        params = {"nonce": nonce, "client_id": self.client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(token.claims, token.header, options, params)
        try:
            claims.validate(now=int(now.timestamp()), leeway=CLOCK_LEEWAY_SECONDS)
        except JoseError as exc:
            raise NationalSignInError(f"ID token claim: {exc.error} {exc.description or ''}".strip()) from None
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):  # belt and braces: never skipped
            raise NationalSignInError("ID token claim: nonce")
        pid = claims.get(self.pid_claim)
        name = claims.get("name")
        return VerifiedIdentity(self.issuer, str(claims["sub"]), str(pid) if pid is not None else None,
                                str(name) if name is not None else None)

    def finish(self, *, code: str, code_verifier: str, nonce: str, now: dt.datetime) -> VerifiedIdentity:
        """Exchange the code and verify the ID token that comes back."""
        tokens = self.exchange_code(code, code_verifier)
        return self.verify_id_token(str(tokens["id_token"]), nonce=nonce, now=now,
                                    access_token=tokens.get("access_token"))


@lru_cache(maxsize=4)
def client_for(issuer: str, client_id: str, client_secret: str, redirect_uri: str, scope: str,
               pid_claim: str) -> OidcClient:
    """Return the process's client of a provider (its discovery document and keys are read once)."""
    return OidcClient(issuer, client_id, client_secret, redirect_uri, scope=scope, pid_claim=pid_claim)
