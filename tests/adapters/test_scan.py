"""The clamd adapter against a real clamd: EICAR is found, a clean file passes, a dead socket is an error."""

from __future__ import annotations

import pytest

from chudong.adapters.scan import ScanFailed, scanner_from_address
from chudong.adapters.scan.clamd import ClamdScanner
from chudong.adapters.scan.fake import EICAR, FakeScanner

from .clamd_server import clamd_address  # noqa: F401  (fixture)


def test_clamd_finds_eicar_inside_a_pdf_and_passes_a_clean_one(clamd_address):  # noqa: F811
    scanner = scanner_from_address(clamd_address)
    assert scanner is not None
    assert scanner.scan(b"%PDF-1.4\n" + EICAR + b"\n%%EOF").signature.startswith("Eicar-Test-Signature")
    assert scanner.scan(b"%PDF-1.4\nclean\n%%EOF" * 20_000).clean  # > one 64 KiB chunk


def test_unreachable_clamd_is_an_error_never_a_pass(tmp_path):
    with pytest.raises(ScanFailed, match="did not answer"):
        ClamdScanner.from_address(f"unix:{tmp_path / 'none.sock'}", timeout=2).scan(b"%PDF-")


def test_addresses_and_the_fake():
    assert scanner_from_address("") is None
    assert isinstance(scanner_from_address("tcp:127.0.0.1:3310"), ClamdScanner)
    with pytest.raises(ValueError, match="unix:/path"):
        ClamdScanner.from_address("clamd.sock")
    assert not FakeScanner().scan(EICAR).clean and FakeScanner().scan(b"%PDF-").clean
