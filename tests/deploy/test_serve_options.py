"""`chudong serve --forwarded-allow-ips`: exactly the proxies listed are trusted, and nonsense is refused."""

from __future__ import annotations

import os
import subprocess

import pytest

from chudong.cli import CliError, parse_trusted_proxies
from tests.deploy.proxy import CHUDONG


def test_addresses_and_networks_are_accepted_and_normalised():
    assert parse_trusted_proxies(" 10.0.0.5, 10.0.1.7/24 ,::1") == ["10.0.0.5", "10.0.1.0/24", "::1"]
    assert parse_trusted_proxies("") == []


@pytest.mark.parametrize("value", ["*", "proxy.local", "10.0.0.300", "127.0.0.1,*"])
def test_anything_but_an_address_or_network_is_refused(value):
    with pytest.raises(CliError, match="forwarded-allow-ips"):
        parse_trusted_proxies(value)


def test_serve_refuses_a_wildcard_before_starting(tmp_path):
    env = {**os.environ, "CHUDONG_ENV": "test", "CHUDONG_DATA_DIR": str(tmp_path)}
    done = subprocess.run([str(CHUDONG), "serve", "--port", "1", "--forwarded-allow-ips", "*"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "list the proxy's addresses" in done.stderr
