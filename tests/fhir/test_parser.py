"""The hospital notification profile (FHIR_PROFILE.md), point by point."""

import copy
import datetime as dt
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from chudong.fhir import codes
from chudong.fhir.builder import birth_bundle, death_bundle
from chudong.fhir.parser import (
    MAX_BUNDLE_BYTES,
    BirthNotice,
    BundleTooLarge,
    DeathNotice,
    FhirRejection,
    parse_bundle,
    parse_ndjson,
)
from chudong.kit import clock

TODAY = dt.date(2026, 11, 2)
BUNDLES = Path(__file__).parent / "bundles"


def birth(**over: Any) -> dict:
    """A birth Bundle with sensible defaults (override any builder argument)."""
    args: dict[str, Any] = dict(
        bundle_id="BV49001-2026-0001", child_birth_date=dt.date(2026, 10, 30), child_sex="F",
        child_name="Nguyễn Thị An", birth_time=dt.time(8, 15), weight_g=3200,
        mother_name="Trần Thị Bình", mother_birth_date=dt.date(1995, 3, 4), mother_pid="049195001234",
        mother_phone="0905 123 456", mother_ward_code=20194, facility_id="49001",
        facility_name="Bệnh viện Đa khoa Quảng Nam",
    )
    args.update(over)
    return birth_bundle(**args)


def death(**over: Any) -> dict:
    """A death Bundle with sensible defaults."""
    args: dict[str, Any] = dict(
        bundle_id="BV49001-D-0001", name="Lê Văn Cường", birth_date=dt.date(1940, 5, 6), sex="M",
        pid="049040001234", death_date=dt.date(2026, 10, 31), cause_icd10="I21.9", facility_id="49001",
        facility_name="Bệnh viện Đa khoa Quảng Nam",
    )
    args.update(over)
    return death_bundle(**args)


def parse(bundle: dict | bytes, today: dt.date = TODAY) -> list:
    body = bundle if isinstance(bundle, bytes) else json.dumps(bundle, ensure_ascii=False).encode()
    return parse_bundle(body, today=today)


def reject(bundle: dict | bytes, field: str | None = None, reason: str | None = None) -> FhirRejection:
    with pytest.raises(FhirRejection) as info:
        parse(bundle)
    if field is not None:
        assert info.value.field == field, info.value.message
    if reason is not None:
        assert reason in info.value.message
    return info.value


def entry_index(bundle: dict, resource_type: str, n: int = 0) -> int:
    hits = [i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == resource_type]
    return hits[n]


def resource(bundle: dict, resource_type: str, n: int = 0) -> dict:
    return bundle["entry"][entry_index(bundle, resource_type, n)]["resource"]


# 1. Bundle types, encoding, text --------------------------------------------------------

@pytest.mark.parametrize("bundle_type", ["message", "transaction", "collection", "document"])
@pytest.mark.parametrize("references", ["urn:uuid", "relative", "absolute"])
def test_birth_in_every_bundle_type_and_reference_style(bundle_type, references):
    [notice] = parse(birth(bundle_type=bundle_type, references=references))
    assert isinstance(notice, BirthNotice)
    assert notice.child.full_name == "Nguyễn Thị An"
    assert notice.child.birth_date == dt.date(2026, 10, 30)
    assert notice.child.sex == "F"
    assert notice.birth_time == dt.time(8, 15)
    assert notice.weight_g == 3200
    assert notice.mother.full_name == "Trần Thị Bình"
    assert notice.mother.pid == "049195001234"
    assert notice.mother.phone == "+84905123456"
    assert notice.mother.ward_code == 20194
    assert notice.mother.sex == "F"
    assert notice.facility_id == "49001"
    assert notice.facility_name == "Bệnh viện Đa khoa Quảng Nam"


@pytest.mark.parametrize("bundle_type", ["message", "transaction", "collection", "document"])
def test_death_in_every_bundle_type(bundle_type):
    [notice] = parse(death(bundle_type=bundle_type))
    assert isinstance(notice, DeathNotice)
    assert notice.deceased.full_name == "Lê Văn Cường"
    assert notice.deceased.pid == "049040001234"
    assert notice.death_date == dt.date(2026, 10, 31)
    assert notice.death_time is None
    assert notice.cause_icd10 == "I21.9"
    assert notice.facility_id == "49001"


def test_key_order_whitespace_and_escapes_do_not_matter():
    bundle = birth()
    compact = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()
    escaped = json.dumps(bundle, ensure_ascii=True, sort_keys=True, indent=3).encode()
    assert "\\u" in escaped.decode()
    assert parse(compact) == parse(escaped)


def test_nfd_text_is_stored_nfc():
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    [notice] = parse(birth(child_name=nfd, mother_name=unicodedata.normalize("NFD", "Đặng Thị Huệ")))
    assert notice.child.full_name == unicodedata.normalize("NFC", "Nguyễn Thị Ánh")
    assert notice.mother.full_name == "Đặng Thị Huệ"
    assert unicodedata.is_normalized("NFC", notice.facility_name)


def test_utf8_bom_is_accepted_other_encodings_are_not():
    bundle = birth()
    text = json.dumps(bundle, ensure_ascii=False)
    assert parse("\ufeff".encode() + text.encode()) == parse(bundle)
    reject(text.encode("utf-16"), field="body", reason="UTF-8")
    reject(text.encode("cp1258", errors="replace"), field="body", reason="UTF-8")


def test_not_json():
    reject(b"<Bundle xmlns='http://hl7.org/fhir'/>", field="body", reason="not JSON")
    reject(b"", field="body")
    reject(b'{"resourceType": "Bundle", "type": "collection", "total": NaN}', field="body")


def test_deeply_nested_json_is_a_rejection():
    reject(b"[" * 100_000 + b"]" * 100_000, field="body")


# 2. Recognising births and deaths from content ------------------------------------------

def test_birth_recognised_whatever_the_event_code():
    bundle = birth()
    resource(bundle, "MessageHeader")["eventCoding"] = {"system": "urn:example:events", "code": "admin-misc"}
    assert isinstance(parse(bundle)[0], BirthNotice)


def test_nmth_natural_mother_is_a_mother():
    [notice] = parse(birth(mother_code="NMTH"))
    assert notice.mother.pid == "049195001234"


def test_mother_as_her_own_patient_linked_by_seealso():
    bundle = birth(mother_as="Patient", references="relative", bundle_type="transaction")
    role = resource(bundle, "RelatedPerson")
    assert "identifier" not in role  # the facts are only on the mother's Patient
    [notice] = parse(bundle)
    assert notice.mother.pid == "049195001234"
    assert notice.mother.birth_date == dt.date(1995, 3, 4)
    assert notice.mother.phone == "+84905123456"


def test_relatedperson_of_other_relationship_is_not_a_birth():
    bundle = birth()
    resource(bundle, "RelatedPerson")["relationship"][0]["coding"][0]["code"] = "FTH"
    reject(bundle, field="Bundle.entry", reason="no birth")


def test_twins_give_one_notice_per_child_with_stable_keys():
    bundle = birth(twins=2, child_name=["Nguyễn Thị An", "Nguyễn Thị Bình"], weight_g=[2400, 2250])
    first = parse(bundle)
    assert [n.multiple_birth for n in first] == [1, 2]
    assert [n.child.full_name for n in first] == ["Nguyễn Thị An", "Nguyễn Thị Bình"]
    assert [n.weight_g for n in first] == [2400, 2250]
    assert len({n.source_key for n in first}) == 2
    assert all(n.source_key.endswith(f"#child-{n.multiple_birth}") for n in first)
    # 7. re-sending (even re-serialised, entries reordered) gives the same keys
    reordered = copy.deepcopy(bundle)
    reordered["entry"][1:] = list(reversed(reordered["entry"][1:]))
    again = parse(json.dumps(reordered, indent=1).encode())
    assert sorted(n.source_key for n in again) == sorted(n.source_key for n in first)


def test_twins_with_mother_as_patient():
    notices = parse(birth(twins=3, mother_as="Patient", weight_g=1800))
    assert [n.multiple_birth for n in notices] == [1, 2, 3]
    assert all(n.mother.pid == "049195001234" for n in notices)


def test_single_birth_has_no_multiple_birth_number():
    [notice] = parse(birth())
    assert notice.multiple_birth is None


def test_death_with_date_and_time_is_converted_to_vietnam_time():
    bundle = death()
    resource(bundle, "Patient")["deceasedDateTime"] = "2026-10-30T20:30:00Z"
    [notice] = parse(bundle)
    assert notice.death_date == dt.date(2026, 10, 31)
    assert notice.death_time == dt.time(3, 30)


def test_death_with_time_from_builder():
    [notice] = parse(death(death_time=dt.time(14, 5)))
    assert (notice.death_date, notice.death_time) == (dt.date(2026, 10, 31), dt.time(14, 5))


def test_deceased_boolean_false_is_not_a_death():
    bundle = death()
    patient = resource(bundle, "Patient")
    del patient["deceasedDateTime"]
    patient["deceasedBoolean"] = False
    reject(bundle, field="Bundle.entry", reason="no birth")


def test_deceased_boolean_true_without_date_is_rejected():
    bundle = death()
    patient = resource(bundle, "Patient")
    del patient["deceasedDateTime"]
    patient["deceasedBoolean"] = True
    i = entry_index(bundle, "Patient")
    reject(bundle, field=f"Bundle.entry[{i}].resource.deceasedBoolean")


def test_death_date_partial_is_rejected_and_future_too():
    bundle = death()
    resource(bundle, "Patient")["deceasedDateTime"] = "2026-10"
    i = entry_index(bundle, "Patient")
    reject(bundle, field=f"Bundle.entry[{i}].resource.deceasedDateTime", reason="day")
    reject(death(death_date=dt.date(2026, 11, 3)), field=f"Bundle.entry[{i}].resource.deceasedDateTime",
           reason="future")


def test_death_before_birth_is_rejected():
    reject(death(birth_date=dt.date(1940, 5, 6), death_date=dt.date(1939, 1, 1), pid=None), reason="before")


def test_child_who_died_gives_a_birth_and_a_death():
    bundle = birth(child_birth_date=dt.date(2026, 10, 1), birth_time=None)
    resource(bundle, "Patient")["deceasedDateTime"] = "2026-10-03"
    kinds = sorted(type(n).__name__ for n in parse(bundle))
    assert kinds == ["BirthNotice", "DeathNotice"]


# 3. Identifiers ------------------------------------------------------------------------

def test_only_the_national_id_system_is_the_cccd():
    bundle = birth(mother_pid=None, mother_as="RelatedPerson")
    role = resource(bundle, "RelatedPerson")
    role["identifier"] = [
        {"type": {"coding": [{"system": codes.V2_0203, "code": "NI"}]}, "system": "urn:oid:1.2.3", "value": "049195001234"},
        {"system": codes.CITIZEN_ID_SYSTEM, "value": "205123456"},
        {"system": codes.INSURANCE_SYSTEM, "value": "gd 4494920123456"},
        {"system": "https://his.example.vn/mrn", "value": "M-77"},
    ]
    [notice] = parse(bundle)
    assert notice.mother.pid is None
    assert notice.mother.cmnd == "205123456"
    assert notice.mother.insurance_no == "GD4494920123456"


@pytest.mark.parametrize("pid,kind,reason", [
    ("04919500123", "unverified", "11 digits"),  # a zero lost inside: more than one restoration
    ("49195001234", "restored", "restored"),  # the leading zero an export dropped
    ("050195001234", "old_id", "CMND"),  # no such province: an old 12-digit card number
    ("049095001234", "mismatch", "means male"),  # male digit for a mother
    ("049196001234", "mismatch", "digits 5-6"),
    ("049395001234", "mismatch", "2000s"),
])
def test_defective_cccd_is_kept_classified_and_flagged(pid, kind, reason):
    bundle = birth(mother_pid=pid)
    i = entry_index(bundle, "RelatedPerson")
    [notice] = parse(bundle)
    mother = notice.mother
    assert mother.ids["pid_class"] == kind and mother.ids["pid_as_sent"] == pid
    assert mother.pid == ("049195001234" if kind == "restored" else None)
    assert mother.cmnd == ("050195001234" if kind == "old_id" else None)
    [(field, got_kind, why)] = mother.id_issues
    assert field == f"Bundle.entry[{i}].resource.identifier[0].value" and got_kind == kind
    assert reason in why and " / " in why  # Vietnamese / English


def test_cccd_of_deceased_checked_against_birth_year_and_sex():
    for pid, reason in (("049140001234", "female"), ("049041001234", "digits 5-6")):
        [notice] = parse(death(pid=pid))
        assert notice.deceased.pid is None and notice.deceased.ids["pid_mismatch"] == pid
        assert reason in notice.deceased.id_issues[0][2]


def test_valid_cccd_raises_no_issue():
    [notice] = parse(birth())
    assert notice.mother.ids == {"pid": "049195001234", "pid_class": "valid"} and notice.mother.id_issues == ()


def test_malformed_old_identity_number_is_kept_and_flagged():
    bundle = birth()
    resource(bundle, "RelatedPerson")["identifier"].append({"system": codes.CITIZEN_ID_SYSTEM, "value": "12345"})
    [notice] = parse(bundle)
    assert notice.mother.pid == "049195001234" and notice.mother.cmnd is None
    assert notice.mother.id_issues[0][1] == "unverified" and "9 or 12 digits" in notice.mother.id_issues[0][2]


def test_invalid_phone_rejected_naming_the_field():
    bundle = birth(mother_phone="12345")
    i = entry_index(bundle, "RelatedPerson")
    reject(bundle, field=f"Bundle.entry[{i}].resource.telecom[0].value")


def test_unknown_ward_code_rejected():
    bundle = birth(mother_ward_code=99999)
    i = entry_index(bundle, "RelatedPerson")
    reject(bundle, field=f"Bundle.entry[{i}].resource.address[0].extension", reason="ward code")


# 4. Dates, times, weight, cause of death -----------------------------------------------

def test_missing_birth_date_rejected():
    bundle = birth()
    del resource(bundle, "Patient")["birthDate"]
    del resource(bundle, "Patient")["_birthDate"]
    i = entry_index(bundle, "Patient")
    reject(bundle, field=f"Bundle.entry[{i}].resource.birthDate", reason="missing")


@pytest.mark.parametrize("value", ["2026-02-30", "30/10/2026", "2026-10-30T08:00:00+07:00", "20261030"])
def test_invalid_birth_date_rejected(value):
    bundle = birth(birth_time=None)
    resource(bundle, "Patient")["birthDate"] = value
    i = entry_index(bundle, "Patient")
    reject(bundle, field=f"Bundle.entry[{i}].resource.birthDate")


def test_partial_birth_date_of_child_rejected():
    bundle = birth(birth_time=None)
    resource(bundle, "Patient")["birthDate"] = "2026-10"
    reject(bundle, reason="full date")


def test_future_birth_date_rejected_against_the_injected_clock():
    bundle = birth(child_birth_date=dt.date(2026, 11, 3), birth_time=None)
    i = entry_index(bundle, "Patient")
    reject(bundle, field=f"Bundle.entry[{i}].resource.birthDate", reason="future")
    body = json.dumps(bundle).encode()
    with clock.use_clock(clock.FixedClock(dt.date(2026, 11, 3))):
        assert parse_bundle(body)[0].child.birth_date == dt.date(2026, 11, 3)
    with clock.use_clock(clock.FixedClock(dt.date(2026, 11, 2))):
        with pytest.raises(FhirRejection):
            parse_bundle(body)


def test_birth_time_must_fall_on_the_birth_date_in_vietnam():
    bundle = birth()
    child = resource(bundle, "Patient")
    child["_birthDate"]["extension"][0]["valueDateTime"] = "2026-10-30T20:00:00+00:00"  # 31 Oct in Vietnam
    reject(bundle, reason="in Vietnam")


def test_birth_time_as_a_plain_date_is_rejected():
    bundle = birth()
    resource(bundle, "Patient")["_birthDate"]["extension"][0]["valueDateTime"] = "2026-10-30"
    reject(bundle, reason="time zone")


def test_mother_partial_birth_date_taken_as_first_day():
    bundle = birth(mother_pid=None)
    resource(bundle, "RelatedPerson")["birthDate"] = "1995"
    [notice] = parse(bundle)
    assert notice.mother.birth_date == dt.date(1995, 1, 1)


def test_weight_in_kg_and_body_weight_code():
    bundle = birth(weight_g=3450, weight_unit="kg")
    obs = resource(bundle, "Observation")
    obs["code"]["coding"][0]["code"] = codes.LOINC_BODY_WEIGHT
    assert parse(bundle)[0].weight_g == 3450


def test_birth_weight_code_preferred_and_void_results_ignored():
    bundle = birth(weight_g=3200)
    obs = resource(bundle, "Observation")
    body = copy.deepcopy(obs)
    body["code"]["coding"][0]["code"] = codes.LOINC_BODY_WEIGHT
    body["valueQuantity"]["value"] = 3300
    void = copy.deepcopy(obs)
    void["status"] = "entered-in-error"
    void["valueQuantity"]["value"] = 9999
    bundle["entry"][1:1] = [{"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001", "resource": body},
                            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000002", "resource": void}]
    del body["id"], void["id"]
    assert parse(bundle)[0].weight_g == 3200


@pytest.mark.parametrize("value,unit", [(299, "g"), (7001, "g"), (0.2, "kg"), (8, "kg"), (-1, "g")])
def test_impossible_weights_rejected(value, unit):
    bundle = birth()
    obs = resource(bundle, "Observation")
    obs["valueQuantity"].update({"value": value, "unit": unit, "code": unit})
    i = entry_index(bundle, "Observation")
    reject(bundle, field=f"Bundle.entry[{i}].resource.valueQuantity.value", reason="impossible")


def test_weight_in_pounds_rejected():
    bundle = birth()
    resource(bundle, "Observation")["valueQuantity"].update({"value": 7, "unit": "lb", "code": "[lb_av]"})
    reject(bundle, reason="'g' or 'kg'")


def test_cause_of_death_from_observation_69453_9_and_normalised():
    [notice] = parse(death(cause_as="Observation", cause_icd10="j189"))
    assert notice.cause_icd10 == "J18.9"


def test_invalid_icd10_rejected():
    bundle = death(cause_icd10="heart")
    i = entry_index(bundle, "Condition")
    reject(bundle, field=f"Bundle.entry[{i}].resource.code.coding[0].code", reason="ICD-10")


def test_death_without_cause():
    assert parse(death(cause_icd10=None))[0].cause_icd10 is None


# 5. References and ignored content -------------------------------------------------------

def test_third_party_transaction_with_mother_patient_and_extras():
    [notice] = parse((BUNDLES / "transaction-birth-mother-patient.json").read_bytes())
    assert notice.child == notice.child.__class__(
        full_name="Lê Minh Khoa", birth_date=dt.date(2026, 10, 28), sex="M", pid=None, cmnd=None,
        insurance_no=None, phone=None, ward_code=None, address_text=None, ids=None, id_issues=())
    assert notice.birth_time == dt.time(5, 40)
    assert notice.weight_g == 3150  # body weight in kg; the mother's weight ignored
    assert notice.multiple_birth is None
    assert notice.mother.full_name == "HỒ THỊ THỦY"
    assert notice.mother.birth_date == dt.date(1998, 7, 15)
    assert (notice.mother.pid, notice.mother.cmnd, notice.mother.insurance_no) == (None, "205123456", "GD4494920123456")
    assert notice.mother.phone == "+84381234567"  # old 11-digit 0168 number
    assert notice.mother.ward_code == 20194
    assert notice.mother.address_text == "Tổ 5, Tam Kỳ, Quảng Nam"
    assert (notice.facility_id, notice.facility_name) == ("49012", "Bệnh viện Đa khoa Tam Kỳ")


def test_third_party_death_document():
    [notice] = parse((BUNDLES / "document-death-observation.json").read_bytes())
    assert notice.source_key == "https://emr.bvdn.example.vn/documents|DC-2026-000077#death-1"
    assert notice.deceased.full_name == "Nguyễn Văn Đức"
    assert notice.deceased.birth_date == dt.date(1938, 1, 1)
    assert notice.deceased.pid == "048038000777"
    assert (notice.death_date, notice.death_time) == (dt.date(2026, 10, 31), dt.time(3, 30))
    assert notice.cause_icd10 == "J18.9"
    assert notice.deceased.address_text == "Phường Hải Châu, Đà Nẵng"
    assert notice.facility_id == "48001"


def test_unresolved_urn_reference_rejected():
    bundle = birth()
    i = entry_index(bundle, "RelatedPerson")
    bundle["entry"][i]["resource"]["patient"]["reference"] = "urn:uuid:00000000-0000-4000-8000-00000000dead"
    reject(bundle, field=f"Bundle.entry[{i}].resource.patient.reference", reason="resolves to no entry")


def test_unresolved_relative_reference_rejected():
    bundle = birth(references="relative", bundle_type="transaction")
    i = entry_index(bundle, "RelatedPerson")
    bundle["entry"][i]["resource"]["patient"]["reference"] = "Patient/not-here"
    reject(bundle, field=f"Bundle.entry[{i}].resource.patient.reference")


def test_relative_reference_resolved_against_the_entry_base_not_another_server():
    bundle = birth(references="relative", bundle_type="collection")
    i = entry_index(bundle, "Patient")
    child = bundle["entry"][i]
    # a same-id Patient from another server must not be taken for the child
    other = copy.deepcopy(child)
    other["fullUrl"] = other["fullUrl"].replace("https://his.", "https://other.")
    other["resource"]["birthDate"] = "2026-01-01"
    del other["resource"]["_birthDate"]
    bundle["entry"].append(other)
    [notice] = parse(bundle)
    assert notice.child.birth_date == dt.date(2026, 10, 30)


def test_unknown_extensions_narrative_and_unneeded_resources_are_ignored():
    bundle = birth()
    child = resource(bundle, "Patient")
    child["extension"] = [{"url": "http://example.org/fhir/StructureDefinition/whatever", "valueString": "x"}]
    child["text"] = {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}
    bundle["entry"].append({"fullUrl": "urn:uuid:00000000-0000-4000-8000-0000000000aa",
                            "resource": {"resourceType": "Location", "name": "Khoa Sản"}})
    bundle["entry"].append({"fullUrl": "urn:uuid:00000000-0000-4000-8000-0000000000ab",
                            "resource": {"resourceType": "Provenance", "recorded": "2026-10-30T09:00:00+07:00",
                                         "target": [{"reference": "Patient/on-the-server"}],
                                         "agent": [{"who": {"display": "HIS"}}]}})
    assert parse(bundle)[0].child.full_name == "Nguyễn Thị An"


# 6. Rejections -------------------------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ([1, 2], "Bundle"),
    ({"resourceType": "Patient"}, "Bundle.resourceType"),
    ({"resourceType": "Bundle", "type": "collection"}, "Bundle.entry"),
    ({"resourceType": "Bundle", "type": "collection", "entry": []}, "Bundle.entry"),
])
def test_not_a_bundle_or_empty(body, field):
    reject(json.dumps(body).encode(), field=field)


@pytest.mark.parametrize("bundle_type,reason", [("searchset", "not a notification"), ("bogus", "not a Bundle type"),
                                                ("batch", "not a notification")])
def test_bundle_type_codes(bundle_type, reason):
    bundle = birth(bundle_type="collection")
    bundle["type"] = bundle_type
    reject(bundle, field="Bundle.type", reason=reason)


def test_duplicate_full_url_rejected():
    bundle = birth()
    bundle["entry"][3]["fullUrl"] = bundle["entry"][2]["fullUrl"]
    reject(bundle, field="Bundle.entry[3].fullUrl", reason="bdl-7")


def test_message_header_must_be_first():
    bundle = birth()
    bundle["entry"].append(bundle["entry"].pop(0))
    reject(bundle, field="Bundle.entry[0].resource", reason="MessageHeader")


def test_composition_must_be_first():
    bundle = death(bundle_type="document")
    bundle["entry"].append(bundle["entry"].pop(0))
    reject(bundle, field="Bundle.entry[0].resource", reason="Composition")


def test_message_focus_must_resolve():
    bundle = birth()
    bundle["entry"][0]["resource"]["focus"] = [{"reference": "Patient/elsewhere"}]
    reject(bundle, field="Bundle.entry[0].resource.focus[0].reference")


@pytest.mark.parametrize("gender", ["F", "nam", "Female", "M"])
def test_gender_outside_administrative_gender_rejected(gender):
    bundle = birth()
    i = entry_index(bundle, "Patient")
    bundle["entry"][i]["resource"]["gender"] = gender
    reject(bundle, field=f"Bundle.entry[{i}].resource.gender", reason="AdministrativeGender")


def test_other_and_unknown_gender_give_no_sex():
    [notice] = parse(birth(child_sex=None))
    assert notice.child.sex is None
    bundle = birth()
    resource(bundle, "Patient")["gender"] = "other"
    assert parse(bundle)[0].child.sex is None


def test_invalid_relationship_code_rejected():
    bundle = birth()
    i = entry_index(bundle, "RelatedPerson")
    bundle["entry"][i]["resource"]["relationship"][0]["coding"][0]["code"] = "MOTHER"
    reject(bundle, field=f"Bundle.entry[{i}].resource.relationship[0].coding[0].code", reason="RoleCode")


def test_invalid_link_type_rejected():
    bundle = birth(mother_as="Patient")
    i = entry_index(bundle, "Patient", 1)
    bundle["entry"][i]["resource"]["link"][0]["type"] = "same-as"
    reject(bundle, field=f"Bundle.entry[{i}].resource.link[0].type")


def test_unknown_resource_type_and_unknown_element_rejected():
    bundle = birth()
    bundle["entry"].append({"fullUrl": "urn:uuid:00000000-0000-4000-8000-0000000000cc",
                            "resource": {"resourceType": "Baby"}})
    reject(bundle, field=f"Bundle.entry[{len(bundle['entry']) - 1}].resource.resourceType")
    bundle = birth()
    resource(bundle, "Patient")["weight"] = 3200
    reject(bundle, field=f"Bundle.entry[{entry_index(bundle, 'Patient')}].resource.weight")


def test_structure_errors_from_fhir_resources_name_the_field():
    bundle = birth()
    i = entry_index(bundle, "Patient")
    bundle["entry"][i]["resource"]["name"] = "Nguyễn Thị An"  # must be a list of HumanName
    reject(bundle, field=f"Bundle.entry[{i}].resource.name")


def test_body_over_5_mib_is_413():
    bundle = birth()
    resource(bundle, "Patient")["text"] = {"status": "generated", "div": "<div>" + "x" * MAX_BUNDLE_BYTES + "</div>"}
    with pytest.raises(BundleTooLarge) as info:
        parse(bundle)
    assert info.value.status_code == 413
    assert isinstance(info.value, FhirRejection)
    assert FhirRejection("x").status_code == 422
    assert FhirRejection("x").to_dict()["error"] == "invalid_fhir"


def test_same_patient_cannot_be_its_own_mother():
    bundle = birth(mother_as="Patient")
    mother = resource(bundle, "Patient", 1)
    child = resource(bundle, "Patient", 0)
    child["link"] = mother.pop("link")
    reject(bundle, reason="both child and mother")


# 7. Re-sending ---------------------------------------------------------------------------

def test_resend_gives_the_same_keys_and_facts():
    assert parse(birth()) == parse(json.dumps(birth(), indent=2, sort_keys=True).encode())


def test_source_key_falls_back_to_header_then_bundle_id_then_content_hash():
    bundle = birth()
    del bundle["identifier"]
    header_key = parse(bundle)[0].source_key
    assert header_key == f"MessageHeader/{bundle['entry'][0]['resource']['id']}#child-1"
    bundle = birth(bundle_type="collection")
    del bundle["identifier"]
    assert parse(bundle)[0].source_key == "Bundle/BV49001-2026-0001#child-1"
    del bundle["id"]
    hashed = parse(bundle)[0].source_key
    assert hashed.startswith("sha256:")
    assert parse(json.dumps(bundle, sort_keys=True, indent=4).encode())[0].source_key == hashed


def test_different_notifications_have_different_keys():
    assert parse(birth())[0].source_key != parse(birth(bundle_id="BV49001-2026-0002"))[0].source_key


# NDJSON ----------------------------------------------------------------------------------

def test_ndjson_bad_lines_do_not_stop_good_ones(clock):
    lines = [
        json.dumps(birth()).encode() + b"\n",
        b"not json\n",
        b"\n",
        json.dumps(death()).encode() + b"\n",
        json.dumps(birth(mother_phone="123")).encode(),
    ]
    out = list(parse_ndjson(lines))
    assert [n for n, _ in out] == [1, 2, 4, 5]
    assert isinstance(out[0][1], list) and isinstance(out[0][1][0], BirthNotice)
    assert isinstance(out[1][1], FhirRejection) and out[1][1].field == "body"
    assert isinstance(out[2][1], list) and isinstance(out[2][1][0], DeathNotice)
    assert isinstance(out[3][1], FhirRejection) and "telecom" in out[3][1].field


def test_example_feed_files_parse(clock):
    examples = Path(__file__).parents[2] / "examples" / "feeds"
    assert isinstance(parse_bundle((examples / "birth-message-bundle.json").read_bytes())[0], BirthNotice)
    assert isinstance(parse_bundle((examples / "death-bundle.json").read_bytes())[0], DeathNotice)
    results = list(parse_ndjson((examples / "births.ndjson").read_bytes().splitlines()))
    assert results and all(isinstance(r, list) for _, r in results)


@pytest.mark.parametrize("value", [[], True, 7, {"a": 1}])
def test_wrong_json_type_where_fhir_resources_crashes_is_a_rejection(value):
    # fhir.resources' uri validator raises bare TypeError / AttributeError on these
    bundle = birth()
    bundle["entry"][0]["resource"]["source"]["endpoint"] = value
    reject(bundle, field="Bundle.entry[0].resource")


def test_json_null_is_rejected():
    # fhir.resources accepts null even for the required Observation.code
    bundle = birth()
    resource(bundle, "Observation")["code"] = None
    reject(bundle, field=f"Bundle.entry[{entry_index(bundle, 'Observation')}].resource.code", reason="null")


# 8-10. Any valid R4 shape; the death's informant; births that are not newborns ---------------

def _death_certificate() -> dict:
    """A death reported the VRDR way: deceasedBoolean, the date in an Observation LOINC 81956-5, an informant."""
    bundle = death(pid="049040001234")
    patient = resource(bundle, "Patient")
    del patient["deceasedDateTime"]
    patient["deceasedBoolean"] = True
    patient["extension"] = [{"url": "http://hl7.org/fhir/us/vrdr/StructureDefinition/Extension-birthplace",
                             "valueDateTime": "1940-05-06", "_valueDateTime": {"extension": [
                                 {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                                  "valueCode": "unknown"}]}}]
    subject = {"reference": bundle["entry"][entry_index(bundle, "Patient")]["fullUrl"]}
    bundle["entry"] += [
        {"fullUrl": "urn:uuid:5c0f5a8e-0000-4000-8000-000000000081", "resource": {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": codes.LOINC, "code": codes.LOINC_DEATH_DATE}]}, "subject": subject,
            "valueDateTime": "2026-10-31T03:30:00+07:00",
            "component": [{"code": {"coding": [{"system": codes.LOINC, "code": "80616-6"}]},
                           "valueTime": "03:30:00", "_valueTime": {"id": "t1"}}]}},
        {"fullUrl": "urn:uuid:5c0f5a8e-0000-4000-8000-000000000082", "resource": {
            "resourceType": "RelatedPerson", "patient": subject,
            "relationship": [{"coding": [{"system": codes.V3_ROLE_CODE, "code": "SONC"}]}],
            "identifier": [{"system": codes.NATIONAL_ID_SYSTEM, "value": "049070005678"}],
            "name": [{"text": "Lê Văn Dũng"}], "telecom": [{"system": "phone", "value": "0905 111 222"}],
            "extension": [{"url": "http://example.vn/informant-since", "valueTime": "08:00:00",
                           "_valueTime": {"extension": [{"url": "http://example.vn/x", "valueString": "a"}]}}]}},
    ]
    return bundle


def test_primitive_element_extensions_are_accepted_where_the_models_refuse_them():
    [notice] = parse(_death_certificate())
    assert isinstance(notice, DeathNotice)


def test_death_date_from_an_observation_and_the_informant_kept():
    [notice] = parse(_death_certificate())
    assert (notice.death_date, notice.death_time) == (dt.date(2026, 10, 31), dt.time(3, 30))
    informant = notice.informant
    assert informant.relationship == "SONC" and informant.facts.full_name == "Lê Văn Dũng"
    assert informant.facts.pid == "049070005678" and informant.facts.phone == "+84905111222"


def test_deceased_boolean_without_any_date_is_still_refused():
    bundle = _death_certificate()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Observation"
                       or e["resource"]["code"]["coding"][0]["code"] != codes.LOINC_DEATH_DATE]
    reject(bundle, reason="81956-5")


def test_the_mother_of_an_adult_who_died_is_the_informant_not_a_birth():
    bundle = death()
    subject = {"reference": bundle["entry"][entry_index(bundle, "Patient")]["fullUrl"]}
    bundle["entry"].append({"fullUrl": "urn:uuid:5c0f5a8e-0000-4000-8000-000000000083", "resource": {
        "resourceType": "RelatedPerson", "patient": subject, "name": [{"text": "Phạm Thị Hoa"}],
        "relationship": [{"coding": [{"system": codes.V3_ROLE_CODE, "code": "MTH"}]}]}})
    [notice] = parse(bundle)
    assert isinstance(notice, DeathNotice) and notice.informant.relationship == "MTH"


def test_a_birth_decades_before_the_notification_is_not_a_birth_notification():
    bundle = birth(child_birth_date=dt.date(1970, 4, 1))
    bundle["timestamp"] = "2026-10-31T09:00:00+07:00"
    err = reject(bundle, field=f"Bundle.entry[{entry_index(bundle, 'Patient')}].resource.birthDate",
                 reason="not a birth notification")
    assert "Law on Civil Status" in err.message and "60" in err.message
    bundle = birth(child_birth_date=dt.date(2026, 9, 2))  # 61 days before the notification
    bundle["timestamp"] = "2026-11-02T09:00:00+07:00"
    reject(bundle, reason="61 days")
    bundle["timestamp"] = "2026-10-31T09:00:00+07:00"  # 59 days: a birth
    assert isinstance(parse(bundle)[0], BirthNotice)
