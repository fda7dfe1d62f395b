"""Wards written in words: 2025 and pre-2025 names, abbreviations, no diacritics, with their place."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chudong.geo.models import LegacyWard, Ward
from chudong.geo.service import WardNames, name_words, resolve_ward


@pytest.fixture
def names(session):
    return WardNames.load(session)


def _code(session, name, province):
    return session.scalar(select(Ward.code).where(Ward.name == name, Ward.province_code == province))


def test_name_words():
    assert name_words("  P. Hải  Châu ") == "p hai chau"
    assert name_words("ĐÀ NẴNG") == name_words("Ðà Nẵng") == "da nang"
    assert name_words("Văn Miếu - Quốc Tử Giám") == "van mieu quoc tu giam"


@pytest.mark.parametrize("text", ["P. Hải Châu", "Phường Hải Châu", "phuong hai chau", "P Hai Chau",
                                  "Hải Châu, Đà Nẵng", "Hai Chau, TP. Da Nang", "P. Hải Châu, Q. Hải Châu, Đà Nẵng"])
def test_a_2025_ward_in_its_written_forms(session, names, text):
    assert names.resolve(text) == (_code(session, "Phường Hải Châu", 48), None, False)


def test_a_pre_2025_ward_with_its_district_resolves_to_the_2025_ward(session, names):
    old = session.scalar(select(LegacyWard.code).where(LegacyWard.name == "Phường Thạch Thang"))
    expected = resolve_ward(session, old)
    for text in ("Thạch Thang - Hải Châu", "Phường Thạch Thang, Quận Hải Châu", "thach thang - hai chau",
                 "P. Thạch Thang, Q. Hải Châu, TP Đà Nẵng"):
        assert names.resolve(text) == (expected.ward_code, old, expected.ambiguous), text


def test_a_name_with_a_dash_of_its_own(session, names):
    assert names.resolve("Phường Văn Miếu - Quốc Tử Giám")[0] == _code(session, "Phường Văn Miếu - Quốc Tử Giám", 1)


def test_ambiguous_or_unknown_names_resolve_to_nothing(names):
    assert names.resolve("Hải Châu") is None  # a xã in one province, a phường in another
    assert names.resolve("Phường Không Có") is None
    assert names.resolve("") is None and names.resolve(" , ") is None


def test_an_address_finds_its_ward_part(session, names):
    assert names.resolve_address("Tổ 5, P. Hải Châu, Đà Nẵng")[0] == _code(session, "Phường Hải Châu", 48)
    assert names.resolve_address("Tổ 5, thôn 3") is None
