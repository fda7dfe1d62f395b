"""The scanner interface: one call, a clean/infected answer, a clear error when the scanner cannot answer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from chudong.kit.errors import ChudongError


class ScanFailed(ChudongError):
    """The scanner could not give an answer (down, timed out, error reply): the upload is refused."""

    status_code = 503
    code = "scan_failed"


@dataclass(frozen=True)
class ScanResult:
    """What the scanner found: ``signature`` is None when the content is clean."""

    signature: str | None

    @property
    def clean(self) -> bool:
        """Return True when no signature matched."""
        return self.signature is None


class Scanner(ABC):
    """Scans bytes for malware."""

    name: str

    @abstractmethod
    def scan(self, content: bytes) -> ScanResult:
        """Scan ``content``; raise ScanFailed when no answer can be had."""
