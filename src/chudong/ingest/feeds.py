"""CSV feed formats (version 1): columns, which agencies may send them, and per-record validation.

Each validator turns one CSV row (already split into the feed's columns) into a
``Valid`` record — the normalised form stored on ``source_record`` plus the values the
pipeline stages for the set-based upsert — or raises ``Rejected`` naming the field and
the reason. Validators are plain functions over strings: they run for every record of
a bulk file, so they avoid per-record allocation beyond what they return.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from chudong.geo.service import WardNames, WardTable  # WardTable: ward code as received → (2025 code, legacy?, ambiguous)
from chudong.kit.names import display_name, name_key
from chudong.kit.phones import InvalidPhone, normalise_phone
from chudong.kit.pid import province_codes, read_identifier

FORMAT_VERSION = 1
MIN_BIRTH_DATE = dt.date(1900, 1, 1)
MAX_TEXT = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KEY = re.compile(r"^[\w.\-/:]{1,120}$")

DEPRIVATION_INDICATORS = (
    "employment", "dependants", "nutrition", "health_insurance", "adult_education",
    "child_school_attendance", "housing_quality", "floor_area", "water_source",
    "hygienic_latrine", "telecom_use", "information_assets",
)
LICENCE_KINDS = (
    "id_card", "people_id_card", "passport", "driving_licence", "medical_licence", "tour_guide_card",
    "veterinary_cert", "transport_licence",
)
LICENCE_KINDS_BASIS = (
    "Luật Căn cước 26/2023/QH15 (thẻ căn cước; chứng minh nhân dân: điều 46); Luật Xuất cảnh, nhập cảnh 49/2019/QH14; "
    "Luật Trật tự, an toàn giao thông đường bộ 36/2024/QH15; Luật Khám bệnh, chữa bệnh 15/2023/QH15; "
    "Luật Du lịch 09/2017/QH14; Luật Thú y 79/2015/QH13; Nghị định 158/2024/NĐ-CP",
    "Law on Identification 26/2023/QH15 (ID card; people's ID card: art. 46); Law on Exit and Entry 49/2019/QH14; "
    "Law on Road Traffic Order and Safety 36/2024/QH15; Law on Medical Examination and Treatment 15/2023/QH15; "
    "Law on Tourism 09/2017/QH14; Law on Veterinary Medicine 79/2015/QH13; Decree 158/2024/NĐ-CP",
)
# the driving licence class tables (by issue date) are legal parameters of the rules catalogue
DRIVING_TERMS = "driving_licence.terms"
NO_EXPIRY = "none"  # feeds v1.1: expires_on = none → the document has no expiry (empty = not supplied)
SCHOOL_LEVELS = ("primary", "lower_secondary")
UTILITIES = ("electricity", "water")
_SEX = {"m": "M", "f": "F", "nam": "M", "nữ": "F", "nu": "F", "male": "M", "female": "F"}

# an identifier that was kept but not read cleanly: (column as sent, class, reason "Vietnamese / English");
# the pipeline raises one data-quality issue (kind "identifier") per item for the sending agency
IdIssue = tuple[str, str, str]


class Rejected(ValueError):
    """One record is invalid: ``field`` says where, the message says why."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


@dataclass(slots=True)
class Valid:
    """A validated record: its key, normalised form, and the values staged for the database."""

    source_key: str
    normalised: dict
    natural_key: str | None  # a second key that must be unique within one file (pid, licence number...)
    pid: str | None  # the subject's personal ID number when valid (exact link)
    ward_received: int | None = None  # the ward code as sent, when it was a legacy code
    ward_ambiguous: bool = False
    id_issues: tuple[IdIssue, ...] = ()  # identifiers kept but not read cleanly (chudong.kit.pid)


@dataclass(frozen=True)
class Context:
    """What validation needs besides the record: today, the ward table and the ward names."""

    today: dt.date
    wards: WardTable
    # wards written in words ("P. Hải Châu", "Thạch Thang - Hải Châu"); None: codes only
    ward_names: WardNames | None = None


@dataclass(frozen=True)
class CsvFeed:
    """A CSV feed: its columns (v1), the agency kinds that may send it, and its validator."""

    name: str
    columns: tuple[str, ...]
    agency_kinds: tuple[str, ...]
    validate: Callable[[dict[str, str], Context], Valid]
    description: str = ""
    links_person: bool = True
    # columns a file may leave out (added after version 1; a file without them reads them as empty)
    optional_columns: tuple[str, ...] = ()


# -- field helpers ---------------------------------------------------------------------------

def required(row: dict[str, str], name: str) -> str:
    """Return the stripped value or reject the record because it is missing."""
    value = row[name].strip()
    if not value:
        raise Rejected(name, "required field is empty")
    if len(value) > MAX_TEXT:
        raise Rejected(name, f"longer than {MAX_TEXT} characters")
    return value


def optional(row: dict[str, str], name: str) -> str | None:
    """Return the stripped value or None when empty."""
    value = row[name].strip()
    if len(value) > MAX_TEXT:
        raise Rejected(name, f"longer than {MAX_TEXT} characters")
    return value or None


def source_key(row: dict[str, str]) -> str:
    """Return a valid source key (letters, digits, . - _ / :; at most 120)."""
    value = row["source_key"].strip()
    if not value:
        raise Rejected("source_key", "required field is empty")
    if not _KEY.match(value):
        raise Rejected("source_key", "must be 1-120 letters, digits or . - _ / :")
    return value


def parse_date(value: str, name: str) -> dt.date:
    """Parse an ISO date (YYYY-MM-DD) that exists in the calendar."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise Rejected(name, f"{value!r} is not a date in the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Rejected(name, f"{value!r} is not a real date") from None


def past_date(value: str, name: str, ctx: Context, earliest: dt.date = MIN_BIRTH_DATE) -> dt.date:
    """Parse a date that must lie between ``earliest`` and today."""
    day = parse_date(value, name)
    if day > ctx.today:
        raise Rejected(name, f"{value} is in the future")
    if day < earliest:
        raise Rejected(name, f"{value} is before {earliest.isoformat()}, which is not plausible")
    return day


def parse_sex(value: str, name: str) -> str:
    """Return M or F from M/F, Nam/Nữ, male/female."""
    sex = _SEX.get(value.strip().lower())
    if sex is None:
        import unicodedata

        sex = _SEX.get(unicodedata.normalize("NFC", value.strip().lower()))
    if sex is None:
        raise Rejected(name, f"{value!r} is not a sex; use M or F (or Nam / Nữ)")
    return sex


def parse_ward(value: str, name: str, ctx: Context) -> tuple[int, int | None, bool]:
    """Return (2025 ward code, legacy code received or None, ambiguous) for a ward code or a ward name."""
    try:
        code = int(value)
    except ValueError:
        hit = ctx.ward_names.resolve(value) if ctx.ward_names is not None else None
        if hit is None:
            raise Rejected(name, f"{value!r} is neither a ward code nor the name of exactly one ward (2025 or "
                                 "pre-2025); write the code, or the name with its district or province "
                                 "(e.g. 'Thạch Thang - Hải Châu')") from None
        return hit
    hit = ctx.wards.get(code)
    if hit is None:
        raise Rejected(name, f"ward code {value} is neither a 2025 nor a pre-2025 ward")
    new, was_legacy, ambiguous = hit
    return new, (code if was_legacy else None), ambiguous


def parse_pid(value: str | None, name: str, birth: dt.date | None, sex: str | None) -> tuple[dict, IdIssue | None]:
    """Return the identifier's normalised-record keys (``chudong.kit.pid`` contract) and its issue, if any.

    Never rejects: an old, mistyped or disagreeing identifier is kept, classified, and flagged.
    """
    if not value:
        return {"pid": None, "pid_class": None}, None
    # Fast path for the common, well-formed case (same rules as chudong.kit.pid, without
    # building a reading); anything else is read by read_identifier.
    if len(value) == 12 and value.isdigit() and value.isascii() and value[:3] in _province_prefixes():
        encoded = _PID_DIGIT.get(value[3])
        if encoded is not None and (sex is None or sex == encoded[1]) and (
                birth is None or (birth.year // 100 == encoded[0] and value[4:6] == _YEAR2[birth.year % 100])):
            return {"pid": value, "pid_class": "valid"}, None
    reading = read_identifier(value, birth, sex)
    if reading is None:
        return {"pid": None, "pid_class": None}, None
    return reading.fields(), (None if reading.clean else (name, reading.kind, f"{reading.reason_vi} / {reading.reason}"))


# 4th digit of an ID number → (century, sex); see chudong.kit.pid
_PID_DIGIT = {"0": (19, "M"), "1": (19, "F"), "2": (20, "M"), "3": (20, "F"), "4": (21, "M"), "5": (21, "F")}
_YEAR2 = [f"{y:02d}" for y in range(100)]


@lru_cache(maxsize=1)
def _province_prefixes() -> frozenset[str]:
    return frozenset(f"{c:03d}" for c in province_codes())


def parse_phone(value: str | None, name: str) -> str | None:
    """Return an E.164 phone number, None when empty, or reject."""
    if not value:
        return None
    # fast path: a plain 10-digit mobile number (most records); others go through normalise_phone
    if len(value) == 10 and value[0] == "0" and value[1] in "35789" and value.isdigit() and value.isascii():
        return "+84" + value[1:]
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        raise Rejected(name, str(exc)) from None


def lenient_phone(row: dict[str, str], norm: dict, name: str = "phone") -> None:
    """Set ``norm["phone"]`` from an optional column that never rejects the record.

    An unreadable number is left out of the normalised record (the raw record keeps it) and
    flagged as a data-quality issue of the agency (a phone is evidence, not what makes a record).
    """
    text = row.get(name, "").strip()
    norm["phone"] = None
    if not text:
        return
    try:
        norm["phone"] = parse_phone(text[:MAX_TEXT], name)
    except Rejected as exc:
        norm["_phone_issue"] = (name, "unverified", f"số điện thoại không đọc được / {exc.reason}")


def parse_int(value: str | None, name: str, low: int = 0, high: int = 10**12) -> int | None:
    """Return a whole number within [low, high], None when empty, or reject."""
    if not value:
        return None
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        raise Rejected(name, f"{value!r} is not a whole number") from None
    if not low <= number <= high:
        raise Rejected(name, f"{number} is outside {low}..{high}")
    return number


def parse_flag(value: str, name: str) -> bool | None:
    """Return True for 1, False for 0, None when empty."""
    v = value.strip()
    if v == "1":
        return True
    if v == "0":
        return False
    if not v:
        return None
    raise Rejected(name, f"{value!r} must be 1 (deprived) or 0 (not deprived)")


def holder_facts(row: dict[str, str], ctx: Context, prefix: str, ward_column: str | None,
                 name_required: bool = True) -> dict:
    """Validate the subject's identifying facts as the agency has them (name, birth, sex, ward, pid)."""
    raw_name = required(row, f"{prefix}_name") if name_required else optional(row, f"{prefix}_name")
    birth_text = optional(row, f"{prefix}_birth_date")
    birth = past_date(birth_text, f"{prefix}_birth_date", ctx) if birth_text else None
    sex_text = optional(row, f"{prefix}_sex")
    sex = parse_sex(sex_text, f"{prefix}_sex") if sex_text else None
    ids, issue = parse_pid(optional(row, f"{prefix}_pid"), f"{prefix}_pid", birth, sex)
    shown, key = names(raw_name) if raw_name else (None, None)
    facts: dict = {
        **ids,
        "name": shown,
        "name_key": key,
        "birth_date": birth.isoformat() if birth else None,
        "sex": sex,
        "ward_code": None,
        "_legacy": None,
        "_ambiguous": False,
        "_issue": issue,
    }
    if ward_column:
        ward_text = optional(row, ward_column)
        if ward_text:
            new, legacy, ambiguous = parse_ward(ward_text, ward_column, ctx)
            facts["ward_code"], facts["_legacy"], facts["_ambiguous"] = new, legacy, ambiguous
    return facts


_NAMES: dict[str, tuple[str, str]] = {}


def names(raw: str) -> tuple[str, str]:
    """Return (display name, comparison key), memoised: full names repeat a lot in a population."""
    hit = _NAMES.get(raw)
    if hit is None:
        if len(_NAMES) > 200_000:
            _NAMES.clear()
        hit = _NAMES[raw] = (display_name(raw), name_key(raw))
    return hit


def _finish(key: str, norm: dict, natural: str | None) -> Valid:
    legacy = norm.pop("_legacy", None)
    ambiguous = norm.pop("_ambiguous", False)
    issues = tuple(i for i in (norm.pop("_issue", None), norm.pop("_phone_issue", None)) if i)
    if legacy is not None:
        norm["ward_code_received"] = legacy
    return Valid(key, norm, natural, norm.get("pid"), legacy, ambiguous, issues)


# -- feeds -------------------------------------------------------------------------------------

def validate_person(row: dict[str, str], ctx: Context) -> Valid:
    """Validate one population-registry record (the golden source of a person)."""
    # The hottest function of a registry load: the simple checks are inlined; every failure
    # goes through the shared helpers so the reasons are the same as for the other feeds.
    key = row["source_key"].strip()
    if not key or len(key) > 120 or not _KEY.match(key):
        source_key(row)
    raw_name = row["full_name"].strip()
    if not raw_name or len(raw_name) > MAX_TEXT:
        required(row, "full_name")
    birth_text = row["birth_date"].strip()
    birth = _PARSED_DATES[birth_text]
    if birth is None or birth > ctx.today:
        birth = past_date(required(row, "birth_date"), "birth_date", ctx)
        birth_text = birth.isoformat()
    sex = _SEX.get(row["sex"].strip().lower()) or parse_sex(required(row, "sex"), "sex")
    pid_text = row["pid"].strip()
    if len(pid_text) > MAX_TEXT:
        optional(row, "pid")
    ids, issue = parse_pid(pid_text, "pid", birth, sex)
    pid = ids["pid"]
    issues: tuple[IdIssue, ...] = (issue,) if issue else ()
    cmnd_text = row["cmnd"].strip()
    if cmnd_text:  # the registry's own record of the old identity card number (optional column)
        ids, issues = _registry_old_id(ids, issues, cmnd_text)
    ward_text = row["ward_code"].strip()
    hit = ctx.wards.get(int(ward_text)) if ward_text.isdigit() and ward_text.isascii() else None
    if hit is None:
        ward, legacy, ambiguous = parse_ward(required(row, "ward_code"), "ward_code", ctx)
    else:
        ward, ambiguous = hit[0], hit[2]
        legacy = int(ward_text) if hit[1] else None
    death_text = row["death_date"].strip()
    death = past_date(optional(row, "death_date") or "", "death_date", ctx, earliest=birth) if death_text else None
    email = row["email"].strip()
    if email and (len(email) > MAX_TEXT or not _EMAIL.match(email)):
        email = optional(row, "email")
        raise Rejected("email", f"{email!r} is not an e-mail address")
    # same order of checks as the other feeds' helpers, so the first problem is the one named
    ethnicity, household = row["ethnicity"].strip(), row["household_code"].strip()
    if len(ethnicity) > MAX_TEXT:
        optional(row, "ethnicity")
    if len(household) > MAX_TEXT:
        optional(row, "household_code")
    for name, value in (("full_name", raw_name), ("ethnicity", ethnicity), ("household_code", household)):
        if len(value) > _PERSON_LIMITS[name]:  # the person table's column sizes (else the whole run fails)
            raise Rejected(name, f"longer than {_PERSON_LIMITS[name]} characters")
    phone_text = row["phone"].strip()
    if len(phone_text) > MAX_TEXT:
        optional(row, "phone")
    phone = parse_phone(phone_text, "phone") if phone_text else None
    zalo = row["zalo_id"].strip()
    if len(zalo) > MAX_TEXT:
        optional(row, "zalo_id")
    if len(zalo) > _PERSON_LIMITS["zalo_id"]:
        raise Rejected("zalo_id", f"longer than {_PERSON_LIMITS['zalo_id']} characters")
    shown, key_of_name = names(raw_name)
    norm = {
        **ids,
        "full_name": shown,
        "name_key": key_of_name,
        "birth_date": birth_text,
        "sex": sex,
        "ethnicity": ethnicity or None,
        "ward_code": ward,
        "household_code": household or None,
        "phone": phone,
        "email": email.lower() if email else None,
        "zalo_id": zalo or None,
        "death_date": death.isoformat() if death else None,
    }
    if legacy is not None:
        norm["ward_code_received"] = legacy
    return Valid(key, norm, pid, pid, legacy, ambiguous, issues)


def _registry_old_id(ids: dict, issues: tuple[IdIssue, ...], text: str) -> tuple[dict, tuple[IdIssue, ...]]:
    """Add the registry's old identity card number (``cmnd`` column) as the record's ``old_id``.

    9 digits, or 12 (the 12-digit CMND of 2012-2016); anything else is kept only in the raw
    record and flagged. An old number sent in the ``pid`` column is the ``old_id`` already.
    """
    if len(text) > MAX_TEXT:
        raise Rejected("cmnd", f"longer than {MAX_TEXT} characters")
    reading = read_identifier(text)
    digits = reading.value if reading is not None and reading.kind != "unverified" else None
    if digits is None or len(digits) not in (9, 12):
        return ids, (*issues, ("cmnd", "unverified", "số CMND không đọc được: chỉ giữ trong bản ghi gốc / "
                                                     "not an old identity card number: kept in the record as sent only"))
    if ids.get("old_id") not in (None, digits):
        return ids, (*issues, ("cmnd", "unverified", "hai số CMND khác nhau ở cột pid và cmnd / "
                                                     "two different old identity card numbers in pid and cmnd"))
    return {**ids, "old_id": digits}, issues


_PERSON_LIMITS = {"full_name": 120, "ethnicity": 40, "household_code": 40, "zalo_id": 64}


class _DateCache(dict):
    """ISO text → date for the plausible birth dates (1900 to 2100), parsed once per process.

    Birth dates repeat a lot in a population (about 36,500 distinct days in a century), so a
    dictionary hit replaces slicing and ``date.fromisoformat`` for almost every record; a miss
    (malformed, impossible or out-of-range text) returns None and the caller takes the slow,
    explaining path.
    """

    def __missing__(self, text: str) -> dt.date | None:
        if len(text) != 10 or text[4] != "-" or text[7] != "-" or len(self) > 80_000:
            return None
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return None
        if day.isoformat() != text or not MIN_BIRTH_DATE <= day < dt.date(2100, 1, 1):
            return None
        self[text] = day
        return day


_PARSED_DATES = _DateCache()


def validate_household(row: dict[str, str], ctx: Context) -> Valid:
    """Validate one household poverty-review record (Decree 07/2021 indicators)."""
    key = source_key(row)
    code = required(row, "household_code")
    ward, legacy, ambiguous = parse_ward(required(row, "ward_code"), "ward_code", ctx)
    area = required(row, "area_type").lower()
    if area not in ("rural", "urban"):
        raise Rejected("area_type", f"{area!r} must be rural or urban")
    survey_text = optional(row, "survey_date")
    survey = past_date(survey_text, "survey_date", ctx, earliest=dt.date(2000, 1, 1)) if survey_text else None
    ids, issue = parse_pid(optional(row, "head_pid"), "head_pid", None, None)
    norm = {
        "household_code": code,
        "ward_code": ward,
        "area_type": area,
        **ids,
        "income_per_person": parse_int(optional(row, "income_per_person"), "income_per_person", 0, 10**10),
        "survey_date": survey.isoformat() if survey else None,
        "deprivations": {name: parse_flag(row[name], name) for name in DEPRIVATION_INDICATORS},
    }
    if legacy is not None:
        norm["ward_code_received"] = legacy
    return Valid(key, norm, code, norm["pid"], legacy, ambiguous, (issue,) if issue else ())


def validate_licence(row: dict[str, str], ctx: Context) -> Valid:
    """Validate one licence or card (kind, class, number, holder, issue and expiry dates)."""
    key = source_key(row)
    kind = required(row, "kind").lower()
    if kind not in LICENCE_KINDS:
        raise Rejected("kind", f"{kind!r} không phải loại giấy tờ được chấp nhận / is not an accepted document kind "
                               f"({', '.join(LICENCE_KINDS)}); căn cứ / legal basis: {LICENCE_KINDS_BASIS[0]} / "
                               f"{LICENCE_KINDS_BASIS[1]}")
    cls = optional(row, "licence_class")
    number = required(row, "number").replace(" ", "")
    facts = holder_facts(row, ctx, "holder", "holder_ward_code")
    born = dt.date.fromisoformat(facts["birth_date"]) if facts["birth_date"] else MIN_BIRTH_DATE
    issued = past_date(required(row, "issued_on"), "issued_on", ctx, earliest=born)
    if kind == "driving_licence":
        if not cls:
            raise Rejected("licence_class", "required for a driving licence")
        cls = cls.upper()
        _check_driving_class(cls, issued)
    expires_text = optional(row, "expires_on")
    no_expiry = expires_text is not None and expires_text.strip().lower() == NO_EXPIRY
    expires = parse_date(expires_text, "expires_on") if expires_text and not no_expiry else None
    if expires is not None and expires <= issued:
        raise Rejected("expires_on", f"{expires_text} is not after the issue date {issued.isoformat()}")
    if expires is not None and expires.year > issued.year + 60:
        raise Rejected("expires_on", f"{expires_text} is more than 60 years after issue, which is not plausible")
    norm = {
        "kind": kind, "licence_class": cls, "number": number, **facts,
        "issued_on": issued.isoformat(), "expires_on": expires.isoformat() if expires else None,
        "issuing_agency": required(row, "issuing_agency"),
    }
    lenient_phone(row, norm)
    if no_expiry:
        norm["no_expiry"] = 1
    return _finish(key, norm, f"{kind}:{number}")


def _check_driving_class(cls: str, issued: dt.date) -> None:
    """Reject a driving licence class that the class table in force on the issue date does not have."""
    from chudong.rules.catalogue import classes_on, get_catalogue

    table = classes_on(get_catalogue(), DRIVING_TERMS, issued)
    if cls not in table.value:
        accepted = ", ".join(table.value)
        raise Rejected("licence_class", (
            f"{cls!r} không phải hạng giấy phép lái xe cấp ngày {issued.strftime('%d/%m/%Y')} (các hạng: {accepted}; "
            f"căn cứ: {table.cite('vi')}) / {cls!r} is not a driving licence class for a licence issued on "
            f"{issued.isoformat()} (classes: {accepted}; legal basis: {table.reference})"))


def validate_school(row: dict[str, str], ctx: Context) -> Valid:
    """Validate one school (level, ward, catchment wards)."""
    key = source_key(row)
    code = required(row, "school_code")
    level = required(row, "level").lower()
    if level not in SCHOOL_LEVELS:
        raise Rejected("level", f"{level!r} must be primary or lower_secondary")
    ward, legacy, ambiguous = parse_ward(required(row, "ward_code"), "ward_code", ctx)
    catchment: list[int] = []
    for part in (row["catchment_wards"] or "").split(";"):
        if part.strip():
            new, _, _ = parse_ward(part.strip(), "catchment_wards", ctx)
            if new not in catchment:
                catchment.append(new)
    if not catchment:
        catchment = [ward]
    norm = {"school_code": code, "name": required(row, "name"), "level": level, "ward_code": ward,
            "catchment": catchment}
    if legacy is not None:
        norm["ward_code_received"] = legacy
    return Valid(key, norm, code, None, legacy, ambiguous)


def validate_utility(row: dict[str, str], ctx: Context) -> Valid:
    """Validate one electricity or water customer account."""
    key = source_key(row)
    utility = required(row, "utility").lower()
    if utility not in UTILITIES:
        raise Rejected("utility", f"{utility!r} must be electricity or water")
    number = required(row, "customer_no")
    facts = holder_facts(row, ctx, "holder", "ward_code")
    if facts["ward_code"] is None:
        raise Rejected("ward_code", "required field is empty")
    norm = {"utility": utility, "customer_no": number, **facts, "phone": parse_phone(optional(row, "phone"), "phone")}
    return _finish(key, norm, f"{utility}:{number}")


def validate_building_plan(row: dict[str, str], ctx: Context) -> Valid:
    """Validate one declared plan to build on a land parcel."""
    key = source_key(row)
    facts = holder_facts(row, ctx, "declarant", None)
    ward, legacy, ambiguous = parse_ward(required(row, "ward_code"), "ward_code", ctx)
    facts["ward_code"], facts["_legacy"], facts["_ambiguous"] = ward, legacy, ambiguous
    declared = past_date(required(row, "declared_on"), "declared_on", ctx, earliest=dt.date(2000, 1, 1))
    area_text = optional(row, "floor_area_m2")
    area = None
    if area_text:
        try:
            area = float(area_text)
        except ValueError:
            raise Rejected("floor_area_m2", f"{area_text!r} is not a number") from None
        if not 0 < area < 100_000:
            raise Rejected("floor_area_m2", f"{area_text} m² is not plausible")
    norm = {**facts, "parcel": required(row, "parcel"), "declared_on": declared.isoformat(),
            "floors": parse_int(optional(row, "floors"), "floors", 1, 200), "floor_area_m2": area}
    return _finish(key, norm, None)


CSV_FEEDS: dict[str, CsvFeed] = {
    f.name: f
    for f in (
        CsvFeed("persons", ("source_key", "pid", "full_name", "birth_date", "sex", "ethnicity", "ward_code",
                            "household_code", "phone", "email", "zalo_id", "death_date"),
                ("population",), validate_person, "population registry", optional_columns=("cmnd",)),
        CsvFeed("households", ("source_key", "household_code", "ward_code", "area_type", "head_pid",
                               "income_per_person", "survey_date", *DEPRIVATION_INDICATORS),
                ("population", "commune", "agriculture"), validate_household, "poverty review results"),
        CsvFeed("licences", ("source_key", "kind", "licence_class", "number", "holder_pid", "holder_name",
                             "holder_birth_date", "holder_sex", "holder_ward_code", "issued_on", "expires_on",
                             "issuing_agency"),
                ("police", "health", "tourism", "agriculture", "construction"), validate_licence, "licences and cards",
                optional_columns=("phone",)),
        CsvFeed("schools", ("source_key", "school_code", "name", "level", "ward_code", "catchment_wards"),
                ("education",), validate_school, "schools and catchments", links_person=False),
        CsvFeed("utilities", ("source_key", "utility", "customer_no", "holder_pid", "holder_name",
                              "holder_birth_date", "holder_sex", "ward_code", "phone"),
                ("electricity", "water"), validate_utility, "utility customers"),
        CsvFeed("building_plans", ("source_key", "declarant_pid", "declarant_name", "declarant_birth_date",
                                   "declarant_sex", "parcel", "ward_code", "declared_on", "floors", "floor_area_m2"),
                ("construction", "commune"), validate_building_plan, "declared building plans"),
    )
}
FHIR_FEEDS: dict[str, tuple[str, ...]] = {"births": ("hospital", "health"), "deaths": ("hospital", "health", "commune")}
ALL_FEEDS = tuple(CSV_FEEDS) + tuple(FHIR_FEEDS)


def feed_agency_kinds(feed: str) -> tuple[str, ...]:
    """Return the agency kinds allowed to send ``feed``."""
    if feed in CSV_FEEDS:
        return CSV_FEEDS[feed].agency_kinds
    return FHIR_FEEDS[feed]
