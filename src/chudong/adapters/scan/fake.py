"""A scanner for tests that do not run clamd: it knows the EICAR test file, like clamd's own test signature."""

from __future__ import annotations

from chudong.adapters.scan.base import Scanner, ScanResult

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class FakeScanner(Scanner):
    """Finds the EICAR test string anywhere in the content; everything else is clean."""

    name = "fake"

    def __init__(self) -> None:
        self.scanned = 0

    def scan(self, content: bytes) -> ScanResult:
        """Return EICAR's signature name when the test string is present."""
        self.scanned += 1
        return ScanResult("Eicar-Test-Signature" if EICAR in content else None)
