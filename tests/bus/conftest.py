"""NATS fixtures: the shared server on 127.0.0.1:4222 with a unique stream, and an own server to kill."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterator

import nats
import pytest

from chudong.kit.aio import run_sync
from chudong.bus.config import BusSettings
from tests.conftest import skip_or_fail

SHARED_NATS = "nats://127.0.0.1:4222"
NATS_BINARY = shutil.which("nats-server") or "/usr/sbin/nats-server"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique_settings() -> BusSettings:
    """Bus settings with a stream and subject prefix of their own (no overlap with other runs)."""
    tag = uuid.uuid4().hex[:10]
    return BusSettings(stream=f"CHUDONG_TEST_{tag}", subject_prefix=f"chudongtest{tag}")


async def _delete_stream(url: str, name: str) -> None:
    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=2)
    try:
        await nc.jetstream().delete_stream(name)
    except nats.js.errors.NotFoundError:
        pass
    finally:
        await nc.close()


async def stream_messages(url: str, name: str) -> int:
    """Return how many messages the stream holds."""
    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=2)
    try:
        return (await nc.jetstream().stream_info(name)).state.messages
    finally:
        await nc.close()


@pytest.fixture
def shared_nats() -> str:
    """The NATS server of the machine (CI provides it); skipped locally when absent."""
    if not _port_open(4222):
        skip_or_fail(f"NATS not reachable at {SHARED_NATS}")
    return SHARED_NATS


@pytest.fixture
def bus_settings(shared_nats: str) -> Iterator[BusSettings]:
    """A fresh stream on the shared server, deleted after the test."""
    s = unique_settings()
    yield s
    run_sync(_delete_stream(shared_nats, s.stream))


class NatsServer:
    """A nats-server subprocess with JetStream on its own port and store, which a test may kill."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.store = store
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the client URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.proc = subprocess.Popen([NATS_BINARY, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill the server (SIGKILL: a crash, not a clean shutdown) and wait for it."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A private nats-server this test can kill and restart."""
    if not Path(NATS_BINARY).exists():
        skip_or_fail(f"nats-server binary not found ({NATS_BINARY})")
    server = NatsServer(tmp_path / "jetstream")
    server.start()
    try:
        yield server
    finally:
        server.stop()
