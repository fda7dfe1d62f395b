"""Fixtures of the deployment tests: the shipped nginx configuration in front of a real `chudong serve`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from tests.conftest import skip_or_fail
from tests.deploy import proxy

Running = TypeVar("Running", proxy.ChudongServer, proxy.Nginx)


@contextmanager
def _running(start: Callable[[], Running]) -> Iterator[Running]:
    """Start a process (skip locally, fail with CI=true, when it cannot start) and stop it afterwards."""
    try:
        process = start()
    except proxy.ProxyUnavailable as exc:
        skip_or_fail(str(exc))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[proxy.ChudongServer]:
    """`chudong serve` on a migrated SQLite database, trusting forwarded headers from 127.0.0.1 only."""
    with _running(lambda: proxy.start_chudong(tmp_path_factory.mktemp("serve"), forwarded_allow_ips="127.0.0.1")) as s:
        yield s


@pytest.fixture(scope="module")
def nginx(app_server, tmp_path_factory) -> Iterator[proxy.Nginx]:
    """nginx with deploy/nginx/chudong.conf in front of ``app_server``."""
    with _running(lambda: proxy.start_nginx(tmp_path_factory.mktemp("nginx"), f"127.0.0.1:{app_server.port}")) as n:
        yield n


@pytest.fixture
def nginx_without_app(tmp_path: Path) -> Iterator[proxy.Nginx]:
    """nginx whose upstream is a port where nothing listens."""
    with _running(lambda: proxy.start_nginx(tmp_path / "nginx", f"127.0.0.1:{proxy.free_port()}")) as n:
        yield n
