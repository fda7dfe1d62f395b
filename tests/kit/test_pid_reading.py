"""read_identifier: every class of identifier as sent, and the normalised-record keys it writes."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chudong.kit.pid import (EXACT_CLASSES, PID_CLASSES, PID_VALUE_KEYS, IdReading, no_identifier_fields,
                             read_identifier)

BORN = dt.date(1995, 3, 4)


def test_empty_is_no_identifier():
    assert read_identifier("", BORN, "M") is None
    assert read_identifier("   ", BORN, "M") is None
    assert no_identifier_fields() == {"pid": None, "pid_class": None}


@pytest.mark.parametrize("raw", ["048095123456", " 048 095 123 456 ", "048.095.123.456", "048-095-123-456",
                                 "０４８０９５１２３４５６", "'048095123456"])
def test_valid(raw):
    r = read_identifier(raw, BORN, "M")
    assert r.kind == "valid" and r.value == r.pid == "048095123456" and r.clean
    assert r.reason == "" and r.reason_vi == ""
    assert r.fields() == {"pid": "048095123456", "pid_class": "valid"}


def test_valid_without_record_facts_checks_structure_only():
    assert read_identifier("048195123456").kind == "valid"
    assert read_identifier("048195123456", None, "F").kind == "valid"
    assert read_identifier("048195123456", None, "M").kind == "mismatch"


@pytest.mark.parametrize(("raw", "born", "sex", "why"), [
    ("048195123456", BORN, "M", "female"),  # sex digit
    ("048295123456", BORN, "M", "2000s"),  # century digit
    ("048080123456", BORN, "M", "digits 5-6"),  # a parent's ID on a child's record: other birth year
    ("049188123456", dt.date(2024, 6, 1), "F", "1900s"),  # a mother's ID on a newborn's record
])
def test_mismatch_keeps_the_number_but_not_as_pid(raw, born, sex, why):
    r = read_identifier(raw, born, sex)
    assert r.kind == "mismatch" and r.value == raw and r.pid is None and not r.clean
    assert why in r.reason and r.reason_vi
    assert r.fields() == {"pid": None, "pid_class": "mismatch", "pid_as_sent": raw, "pid_mismatch": raw}


@pytest.mark.parametrize(("raw", "expected"), [
    ("48095123456", "048095123456"),  # Excel dropped the leading zero
    ("48095123456.0", "048095123456"),  # ... and wrote the number as a decimal
    ("1095123456", "001095123456"),  # Hà Nội (001): both leading zeros dropped
])
def test_restored_when_one_restoration_is_consistent(raw, expected):
    r = read_identifier(raw, BORN, "M")
    assert r.kind == "restored" and r.pid == expected and r.as_sent == raw
    assert r.fields() == {"pid": expected, "pid_class": "restored", "pid_as_sent": raw}


def test_restoration_must_agree_with_the_record():
    r = read_identifier("48095123456", BORN, "F")  # restores to a male ID
    assert r.kind == "unverified" and r.pid is None and "no way" in r.reason


def test_restoration_ambiguous_is_unverified():
    # a zero lost inside "0480951234?5": several places give a consistent ID
    r = read_identifier("04809512345", BORN, "M")
    assert r.kind == "unverified" and "more than one" in r.reason
    assert r.fields()["pid_unverified"] == "04809512345"


@pytest.mark.parametrize(("raw", "digits"), [("201234567", "201234567"), ("201 234 567", "201234567"),
                                             ("048995123456", "048995123456"),  # 4th digit 9: no century
                                             ("999095123456", "999095123456")])  # no such province
def test_old_id(raw, digits):
    r = read_identifier(raw, BORN, "M")
    assert r.kind == "old_id" and r.value == digits and r.pid is None
    assert "CMND" in r.reason and "CMND" in r.reason_vi
    assert r.fields() == {"pid": None, "pid_class": "old_id", "pid_as_sent": raw, "old_id": digits}


@pytest.mark.parametrize(("raw", "norm"), [("B1234567", "B1234567"), ("abc-12 3", "ABC123"), ("123", "123"),
                                           ("0480951234567", "0480951234567"), ("4.80951E+10", "480951E+10")])
def test_unverified_kept_normalised(raw, norm):
    r = read_identifier(raw, BORN, "M")
    assert r.kind == "unverified" and r.pid is None and r.reason and r.reason_vi
    assert r.fields()["pid_unverified"] == norm


def test_overlong_text_is_cut():
    r = read_identifier("x" * 500)
    assert r.kind == "unverified" and len(r.as_sent) == 64


def test_reasons_never_quote_the_number():
    for raw in ("048195123456", "48095123456", "201234567", "048995123456", "04809512345"):
        r = read_identifier(raw, BORN, "M")
        assert raw not in r.reason and raw not in r.reason_vi


@given(st.text(max_size=30), st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31))),
       st.sampled_from([None, "M", "F", "?"]))
def test_every_text_reads_to_exactly_one_class(raw, born, sex):
    r = read_identifier(raw, born, sex)
    if not raw.strip():
        assert r is None
        return
    assert isinstance(r, IdReading) and r.kind in PID_CLASSES
    fields = r.fields()
    assert set(fields) <= {"pid_class", *PID_VALUE_KEYS}
    assert (fields["pid"] is not None) == (r.kind in EXACT_CLASSES)
    if r.pid is not None:
        assert len(r.pid) == 12 and r.pid.isdigit()
        assert read_identifier(r.pid, born, sex).kind == "valid"
