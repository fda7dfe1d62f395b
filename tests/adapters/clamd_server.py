"""A real clamd for tests: Debian's clamav-daemon with a one-signature local database that knows EICAR.

Signatures cannot be downloaded here, so the database is written by the fixture: a body signature of the
EICAR test string (the antivirus industry's harmless test file). Installed by scripts/services/clamd.sh.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chudong.adapters.scan.fake import EICAR
from tests.conftest import skip_or_fail


def _clamd_binary() -> str | None:
    return shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)


@pytest.fixture(scope="session")
def clamd_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start clamd on a private Unix socket; yield its address ("unix:/..."), stop it afterwards."""
    binary = _clamd_binary()
    if binary is None:
        skip_or_fail("clamd is not installed (scripts/services/clamd.sh installs Debian's clamav-daemon)")
    root = tmp_path_factory.mktemp("clamd")
    (root / "db").mkdir()
    (root / "db" / "eicar.ndb").write_text(f"Eicar-Test-Signature:0:*:{EICAR.hex()}\n", encoding="ascii")
    sock = root / "clamd.sock"
    (root / "clamd.conf").write_text(
        f"LocalSocket {sock}\nDatabaseDirectory {root / 'db'}\nForeground yes\nLogFile {root / 'clamd.log'}\n",
        encoding="ascii")
    proc = subprocess.Popen([binary, "-c", str(root / "clamd.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if sock.exists():
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(str(sock))
                        s.sendall(b"zPING\0")
                        if s.recv(16).startswith(b"PONG"):
                            break
                except OSError:
                    pass
            time.sleep(0.2)
        else:
            pytest.fail(f"clamd did not start in 60 s; log: {(root / 'clamd.log').read_text(errors='replace')[-2000:]}")
        if proc.poll() is not None:
            log = (root / "clamd.log").read_text(errors="replace") if (root / "clamd.log").exists() else ""
            pytest.fail(f"clamd exited with {proc.returncode}; log: {log[-2000:]}")
        yield f"unix:{sock}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
