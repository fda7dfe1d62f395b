"""A real OpenID provider (npm `oidc-provider`, tests/support/oidc-provider) for the national sign-in tests.

`scripts/services/oidc.sh` installs its locked packages (`npm ci`); the fixture starts `node server.js` on a
free port with two registered clients and a few citizens' accounts, and stops it at the end of the session.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.deploy.proxy import free_port

PROJECT = Path(__file__).resolve().parent / "oidc-provider"
REDIRECT_URI = "http://testserver/signin/national/callback"
CLIENT_ID, CLIENT_SECRET = "chudong-portal", "portal-secret-0123456789abcdef0123456789"
OTHER_CLIENT_ID, OTHER_CLIENT_SECRET = "another-portal", "another-secret-0123456789abcdef012345"

# subject at the provider → the claims it asserts (the person index holds some of these ID numbers)
ACCOUNTS = {
    "vneid-lan": {"pid": "048195012301", "name": "Nguyễn Thị Lan"},
    "vneid-hung": {"pid": "048195012302", "name": "Trần Văn Hùng"},
    "vneid-stranger": {"pid": "048195012399", "name": "Lê Văn Khách"},
    "vneid-no-pid": {"name": "Phạm Thị Không Số"},
}


@dataclass
class IdentityProvider:
    """The running provider."""

    issuer: str
    process: subprocess.Popen

    def sign_in(self, authorization_url: str, account: str) -> str:
        """Play the citizen at the provider: open the authorization URL, sign in as ``account``, consent;
        return the URL the provider sends the browser back to (the client's redirect URI with code and state)."""
        with httpx.Client(timeout=10) as browser:
            url = authorization_url
            for _ in range(10):
                r = browser.get(url)
                if r.status_code in (302, 303):
                    url = urljoin(url, r.headers["location"])
                    if not url.startswith(self.issuer):
                        return url
                    continue
                assert r.status_code == 200, f"{url}: {r.status_code} {r.text[:300]}"
                action = re.search(r'<form method="post" action="([^"]+)"', r.text)
                assert action, r.text[:300]
                r = browser.post(urljoin(url, action.group(1)), data={"login": account})
                assert r.status_code == 303, r.text[:300]
                url = urljoin(url, r.headers["location"])
            raise AssertionError("the provider never sent the browser back")


def _start(tmp: Path) -> IdentityProvider:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is not installed (scripts/services/oidc.sh installs it)")
    if not (PROJECT / "node_modules" / "oidc-provider").is_dir():
        skip_or_fail(f"the OpenID provider's packages are missing: run scripts/services/oidc.sh (npm ci in {PROJECT})")
    port = free_port()
    config = tmp / "oidc-provider.json"
    config.write_text(json.dumps({
        "port": port,
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT_URI]},
                    {"client_id": OTHER_CLIENT_ID, "client_secret": OTHER_CLIENT_SECRET,
                     "redirect_uris": [REDIRECT_URI]}],
        "accounts": ACCOUNTS,
    }))
    log = tmp / "oidc-provider.log"
    proc = subprocess.Popen([node, str(PROJECT / "server.js"), str(config)], cwd=PROJECT,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            skip_or_fail(f"the OpenID provider exited: {log.read_text(errors='replace')[-1500:]}")
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                return IdentityProvider(issuer, proc)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    skip_or_fail(f"the OpenID provider did not start: {log.read_text(errors='replace')[-1500:]}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory) -> Iterator[IdentityProvider]:
    """The OpenID provider standing in for the national identity service, for the whole test session."""
    provider = _start(tmp_path_factory.mktemp("oidc"))
    try:
        yield provider
    finally:
        provider.process.send_signal(signal.SIGTERM)
        try:
            provider.process.wait(10)
        except subprocess.TimeoutExpired:
            provider.process.kill()


def callback_path(url: str) -> str:
    """Return the path and query of a redirect back to the portal (what the TestClient requests)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver", url
    return f"{parts.path}?{parts.query}"
