"""Fixtures of the deployment tests: the shipped nginx configuration in front of a real `chudong serve`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.deploy import proxy


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[proxy.ChudongServer]:
    """`chudong serve` on a migrated SQLite database, trusting forwarded headers from 127.0.0.1 only."""
    try:
        server = proxy.start_chudong(tmp_path_factory.mktemp("serve"), forwarded_allow_ips="127.0.0.1")
    except proxy.ProxyUnavailable as exc:
        skip_or_fail(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def nginx(app_server, tmp_path_factory) -> Iterator[proxy.Nginx]:
    """nginx with deploy/nginx/chudong.conf in front of ``app_server``."""
    try:
        front = proxy.start_nginx(tmp_path_factory.mktemp("nginx"), f"127.0.0.1:{app_server.port}")
    except proxy.ProxyUnavailable as exc:
        skip_or_fail(str(exc))
    try:
        yield front
    finally:
        front.stop()


@pytest.fixture
def nginx_without_app(tmp_path: Path) -> Iterator[proxy.Nginx]:
    """nginx whose upstream is a port where nothing listens."""
    try:
        front = proxy.start_nginx(tmp_path / "nginx", f"127.0.0.1:{proxy.free_port()}")
    except proxy.ProxyUnavailable as exc:
        skip_or_fail(str(exc))
    try:
        yield front
    finally:
        front.stop()
