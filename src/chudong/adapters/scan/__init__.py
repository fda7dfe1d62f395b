"""Virus scanning of uploaded documents: ClamAV's daemon (clamd) when the province configures it."""

from __future__ import annotations

from chudong.adapters.scan.base import ScanFailed, Scanner, ScanResult

__all__ = ["ScanFailed", "ScanResult", "Scanner", "scanner_from_address"]


def scanner_from_address(address: str) -> Scanner | None:
    """Return the scanner configured by ``address`` ("unix:/path" or "tcp:host:port"), or None when empty."""
    if not address.strip():
        return None
    from chudong.adapters.scan.clamd import ClamdScanner

    return ClamdScanner.from_address(address)
