"""ClamAV's daemon over its socket protocol (INSTREAM): the bytes are streamed, never written to a file."""

from __future__ import annotations

import socket
import struct

from chudong.adapters.scan.base import ScanFailed, Scanner, ScanResult

CHUNK = 64 * 1024


class ClamdScanner(Scanner):
    """Scan with clamd at a Unix socket or a TCP address."""

    name = "clamd"

    def __init__(self, *, unix_path: str | None = None, host: str | None = None, port: int | None = None,
                 timeout: float = 30.0) -> None:
        if not unix_path and not (host and port):
            raise ValueError("clamd needs a Unix socket path or a host and port")
        self.unix_path, self.host, self.port, self.timeout = unix_path, host, port, timeout

    @classmethod
    def from_address(cls, address: str, timeout: float = 30.0) -> ClamdScanner:
        """Build from "unix:/run/clamav/clamd.ctl" or "tcp:127.0.0.1:3310"."""
        kind, _sep, rest = address.strip().partition(":")
        if kind == "unix" and rest:
            return cls(unix_path=rest, timeout=timeout)
        host, _sep, port = rest.rpartition(":")
        if kind == "tcp" and host and port.isdigit():
            return cls(host=host, port=int(port), timeout=timeout)
        raise ValueError(f"clamd address {address!r}: write unix:/path/to/clamd.ctl or tcp:host:port")

    def _connect(self) -> socket.socket:
        if self.unix_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: object = self.unix_path
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (self.host, self.port)
        sock.settimeout(self.timeout)
        sock.connect(target)  # type: ignore[arg-type]
        return sock

    def scan(self, content: bytes) -> ScanResult:
        """Stream ``content`` to clamd; return the signature it found, or clean."""
        where = self.unix_path or f"{self.host}:{self.port}"
        try:
            with self._connect() as sock:
                sock.sendall(b"zINSTREAM\0")
                for i in range(0, len(content), CHUNK):
                    part = content[i:i + CHUNK]
                    sock.sendall(struct.pack("!L", len(part)) + part)
                sock.sendall(struct.pack("!L", 0))
                reply = b""
                while not reply.endswith(b"\0"):
                    got = sock.recv(4096)
                    if not got:
                        break
                    reply += got
        except OSError as exc:
            raise ScanFailed(f"virus scanner clamd at {where} did not answer: {exc}") from None
        text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
        # "stream: OK" | "stream: Eicar-Test-Signature FOUND" | "INSTREAM size limit exceeded. ERROR"
        if text.endswith(" FOUND"):
            return ScanResult(text.removeprefix("stream:").removesuffix(" FOUND").strip())
        if text.endswith(": OK"):
            return ScanResult(None)
        raise ScanFailed(f"virus scanner clamd at {where} answered {text!r}")
