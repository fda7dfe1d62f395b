"""Property-based tests of every parser of untrusted input: phone numbers, ID numbers, names, CSV feeds.

FHIR bundles have their own properties in tests/fhir/test_properties.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from chudong.ingest.feeds import CSV_FEEDS, feed_agency_kinds
from chudong.ingest.pipeline import ingest_csv
from chudong.ingest.reader import FileRejected
from chudong.kit.names import display_name, name_key, strip_diacritics
from chudong.kit.phones import OLD_MOBILE_PREFIXES, InvalidPhone, normalise_phone
from chudong.kit.pid import InvalidPid, pid_century_sex_digit, province_codes, validate_pid
from chudong.registry.models import Household, IngestRejection, Person
from chudong.registry.service import add_agency

# --- phone numbers ---------------------------------------------------------------------------

PHONE_CHARS = st.sampled_from("0123456789+ .-()x\u0663\uff10\t")  # incl. Arabic-Indic and full-width digits
phone_like = st.text(PHONE_CHARS, max_size=20)
mobile = st.builds(lambda p, rest: p + rest, st.sampled_from(["03", "05", "07", "08", "09"]),
                   st.text("0123456789", min_size=8, max_size=8))
old_mobile = st.builds(lambda p, rest: p + rest, st.sampled_from(sorted(OLD_MOBILE_PREFIXES)),
                       st.text("0123456789", min_size=7, max_size=7))
landline = st.builds(lambda rest: "02" + rest, st.text("0123456789", min_size=9, max_size=9))


def _is_e164_vn(value: str) -> bool:
    return value.startswith("+84") and len(value) in (12, 13) and value[1:].isascii() and value[1:].isdigit()


@given(st.one_of(phone_like, st.text(max_size=30)))
def test_normalise_phone_raises_only_invalid_phone_and_returns_e164(text):
    try:
        out = normalise_phone(text)
    except InvalidPhone:
        return
    assert _is_e164_vn(out), out
    assert len(out) in (12, 13)  # +84 and 9 (mobile) or 10 (landline) digits


@given(st.one_of(mobile, old_mobile, landline), st.sampled_from(["", "+84", "84"]), st.sampled_from(["", " ", ".", "-"]))
def test_every_valid_form_normalises_and_is_idempotent(national, prefix, sep):
    text = (prefix + national[1:]) if prefix else national
    if sep:
        text = sep.join([text[:4], text[4:7], text[7:]])
    out = normalise_phone(text)
    assert _is_e164_vn(out)
    assert normalise_phone(out) == out
    if national[:4] not in OLD_MOBILE_PREFIXES or len(national) != 11:
        assert out == "+84" + national[1:]


@given(st.one_of(phone_like, st.text(max_size=30)))
def test_normalising_a_normalised_phone_changes_nothing(text):
    try:
        out = normalise_phone(text)
    except InvalidPhone:
        return
    assert normalise_phone(out) == out


unicode_digit_mobile = st.builds(lambda m, i, d: m[:i] + d + m[i + 1:], mobile, st.integers(2, 9),
                                 st.sampled_from("\u0663\u00b2\u06f5\u0968\u07c2"))


@given(unicode_digit_mobile)
def test_non_ascii_digits_are_refused(text):
    with pytest.raises(InvalidPhone):
        normalise_phone(text)


# --- personal ID numbers ---------------------------------------------------------------------

valid_pids = st.builds(
    lambda prov, born, sex, serial: (f"{prov:03d}{pid_century_sex_digit(born.year, sex)}{born.year % 100:02d}{serial:06d}",
                                     born, sex),
    st.sampled_from(sorted(province_codes())), st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)),
    st.sampled_from("MF"), st.integers(0, 999_999),
)


@given(st.one_of(st.text(max_size=20), st.text("0123456789 .", max_size=16)),
       st.one_of(st.none(), st.dates()), st.one_of(st.none(), st.sampled_from(["M", "F", "X", ""])))
def test_validate_pid_raises_only_invalid_pid(text, born, sex):
    try:
        out = validate_pid(text, born, sex)
    except InvalidPid:
        return
    assert len(out) == 12 and out.isascii() and out.isdigit()


@given(st.one_of(st.integers(), st.none(), st.binary(max_size=12), st.floats()))
def test_validate_pid_refuses_what_is_not_text(value):
    with pytest.raises(InvalidPid):
        validate_pid(value, None, None)  # type: ignore[arg-type]


@given(valid_pids, st.sampled_from(["", " ", "."]))
def test_generated_valid_pids_round_trip(generated, sep):
    pid, born, sex = generated
    spaced = sep.join([pid[:3], pid[3:6], pid[6:]]) if sep else pid
    assert validate_pid(spaced, born, sex) == pid
    assert validate_pid(pid, None, None) == pid
    assert validate_pid(validate_pid(pid, born, sex), born, sex) == pid


@given(valid_pids)
def test_a_pid_contradicting_the_sex_is_refused(generated):
    pid, born, sex = generated
    with pytest.raises(InvalidPid):
        validate_pid(pid, born, "F" if sex == "M" else "M")


# --- names -------------------------------------------------------------------------------------

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXYáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
names = st.one_of(st.text(st.sampled_from(VIETNAMESE + " \t\n"), max_size=40), st.text(max_size=40))


@given(names)
def test_name_key_is_idempotent_and_plain(text):
    key = name_key(text)
    assert name_key(key) == key
    assert set(key) <= set("abcdefghijklmnopqrstuvwxyz ")
    assert "  " not in key and key == key.strip()


@given(names)
def test_nfc_and_nfd_forms_give_the_same_key_and_display(text):
    nfc, nfd = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    assert name_key(nfc) == name_key(nfd)
    assert display_name(nfc) == display_name(nfd)
    assert strip_diacritics(nfc) == strip_diacritics(nfd)


@given(names)
def test_display_name_is_idempotent(text):
    once = display_name(text)
    assert display_name(once) == once


# --- CSV feeds ---------------------------------------------------------------------------------

# NUL (0x00) is left out: on PostgreSQL it crashes the run (reported; see
# tests/security/test_regressions.py::test_nul_byte_in_a_csv_record_is_a_rejection_not_a_crash)
NASTY = st.sampled_from(['"', '""', ",", "\n", "\r\n", "\ufeff", "'; DROP TABLE person;--", "<script>",
                         "9" * 40, "-1", "2026-02-30", "0905 123 456", "048190000001", "Nguyễn Thị Lan", "20194",
                         "1e309", "NaN", " ", "\u202e", "𝒩"])
FIELD = st.one_of(NASTY, st.text(st.characters(exclude_characters="\x00"), max_size=12))


@st.composite
def garbled_csv(draw) -> tuple[str, bytes]:
    """A CSV body for a random feed: a right, shuffled, short or missing header and random records."""
    feed = draw(st.sampled_from(sorted(CSV_FEEDS)))
    cols = list(CSV_FEEDS[feed].columns)
    header = draw(st.sampled_from(["right", "shuffled", "short", "none", "bytes"]))
    if header == "bytes":
        return feed, draw(st.binary(max_size=600)).replace(b"\x00", b"")
    if header == "shuffled":
        cols = draw(st.permutations(cols))
    elif header == "short":
        cols = cols[: draw(st.integers(0, len(cols) - 1))]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    if header != "none":
        w.writerow(cols)
    for _ in range(draw(st.integers(0, 6))):
        width = draw(st.sampled_from([len(cols), len(cols), max(len(cols) - 1, 0), len(cols) + 1]))
        w.writerow(draw(st.lists(FIELD, min_size=width, max_size=width)))
    text = buf.getvalue()
    if draw(st.booleans()):  # cut anywhere: a truncated upload
        text = text[: draw(st.integers(0, len(text)))]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "latin-1"]))  # (UTF-16 has NUL bytes)
    return feed, text.encode(encoding, errors="replace")


def _counts(session) -> tuple[int, int]:
    return (session.scalar(select(func.count()).select_from(Person)),
            session.scalar(select(func.count()).select_from(Household)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(sample=garbled_csv())
def test_garbled_csv_gives_record_rejections_or_a_file_rejection_never_a_crash(session, clock, sample):
    feed, body = sample
    outer = session.begin_nested()  # each example leaves the database as it found it
    try:
        kind = feed_agency_kinds(feed)[0]
        agency = add_agency(session, f"fuzz-{kind}", "Fuzz agency", kind)[0]
        before = _counts(session)
        try:
            result = ingest_csv(session, feed, agency, io.BytesIO(body), file_name="fuzz.csv", link=False)
        except FileRejected:
            assert _counts(session) == before  # nothing half-written
            return
        if result.status == "rejected":
            assert _counts(session) == before
            assert result.file_error
            return
        assert result.status == "done"
        assert min(result.accepted, result.updated, result.unchanged, result.rejected) >= 0
        stored = session.scalar(select(func.count()).select_from(IngestRejection)
                                .where(IngestRejection.run_id == result.run_id))
        assert stored == result.rejected
        assert _counts(session)[0] - before[0] <= result.accepted + result.updated + result.unchanged
    finally:
        outer.rollback()
