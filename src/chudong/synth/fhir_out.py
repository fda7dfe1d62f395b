"""Write hospital birth and death notifications as HL7 FHIR R4 message Bundles (JSON).

Shapes follow the R4 base specification: a ``message`` Bundle whose first entry is a
``MessageHeader`` (event code, source endpoint, sender, focus), every entry addressed by
an ``urn:uuid`` fullUrl and referenced by it. Births carry a child ``Patient`` (birthDate,
gender, the ``patient-birthTime`` extension, ``multipleBirthInteger`` for twins), the
mother as a ``RelatedPerson`` (v3-RoleCode ``MTH``; the VN Core national-ID identifier
when the hospital knows it), a birth-weight ``Observation`` (LOINC 8339-4, grams), the
delivery ``Encounter`` and the facility ``Organization``. Deaths carry the deceased
``Patient`` (``deceasedDateTime``, national ID) and the cause as a ``Condition`` coded
in ICD-10.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass

NATIONAL_ID_SYSTEM = "http://fhir.ehealth.gov.vn/core/sid/national_id"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
BIRTH_TIME_EXT = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
# The synthetic feeds' own URIs: the event codes and the facility / notification numbers.
EVENT_SYSTEM = "https://chudong.vn/fhir/CodeSystem/notification-event"
FACILITY_SYSTEM = "https://chudong.vn/fhir/sid/facility"
NOTIFICATION_SYSTEM = "https://chudong.vn/fhir/sid/notification"
# The ward of an address as the ISO 21090 "precinct" address part (a subsection of a
# municipality), valued with the ward's administrative code (2025 or pre-2025).
PRECINCT_EXT = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-precinct"


@dataclass(frozen=True)
class Facility:
    """A hospital or health station."""

    facility_id: str
    name: str


@dataclass(frozen=True)
class FhirAddress:
    """A home address as the hospital recorded it."""

    line: str
    ward_code: int
    ward_name: str
    province_name: str


@dataclass(frozen=True)
class NewbornChild:
    """One child of a birth notification."""

    sex: str  # "M" / "F"
    birth_date: str  # YYYY-MM-DD
    birth_time: str  # HH:MM
    weight_g: int
    order: int  # 1, 2 for twins; 0 for a single birth


@dataclass(frozen=True)
class MotherInfo:
    """The mother as the hospital has her (possibly with noise)."""

    pid: str  # "" when the hospital does not know it
    family: str
    given: str  # middle + given
    text: str
    birth_date: str
    phone: str
    address: FhirAddress


@dataclass(frozen=True)
class DeceasedInfo:
    """The deceased as the hospital or health station has them."""

    pid: str
    family: str
    given: str
    text: str
    sex: str
    birth_date: str
    death_at: str  # ISO date-time with +07:00
    icd10: str
    icd10_display: str
    address: FhirAddress


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _gender(sex: str) -> str:
    return "male" if sex == "M" else "female"


def _address(a: FhirAddress) -> dict:
    return {
        "extension": [{"url": PRECINCT_EXT, "valueString": f"{a.ward_code:05d}"}],
        "use": "home",
        "text": f"{a.line}, {a.ward_name}, {a.province_name}",
        "line": [a.line],
        "district": a.ward_name,
        "city": a.province_name,
        "country": "VN",
    }


def _national_id(pid: str) -> dict:
    return {
        "type": {"coding": [{"system": V2_0203, "code": "NI", "display": "National unique individual identifier"}]},
        "system": NATIONAL_ID_SYSTEM,
        "value": pid,
    }


def _organization(fac: Facility, full_url: str) -> dict:
    return {"fullUrl": full_url, "resource": {
        "resourceType": "Organization", "id": full_url.removeprefix("urn:uuid:"),
        "identifier": [{"system": FACILITY_SYSTEM, "value": fac.facility_id}],
        "active": True, "name": fac.name,
    }}


def _header(rng: random.Random, event: str, display: str, fac: Facility, org_url: str, focus: list[str]) -> dict:
    full_url = f"urn:uuid:{_uuid(rng)}"
    return {"fullUrl": full_url, "resource": {
        "resourceType": "MessageHeader", "id": full_url.removeprefix("urn:uuid:"),
        "eventCoding": {"system": EVENT_SYSTEM, "code": event, "display": display},
        "source": {"name": fac.name, "endpoint": f"{FACILITY_SYSTEM}/{fac.facility_id}"},
        "sender": {"reference": org_url},
        "focus": [{"reference": f} for f in focus],
    }}


def _bundle(rng: random.Random, key: str, timestamp: str, entries: list[dict]) -> str:
    bundle = {
        "resourceType": "Bundle", "id": _uuid(rng),
        "identifier": {"system": NOTIFICATION_SYSTEM, "value": key},
        "type": "message", "timestamp": timestamp, "entry": entries,
    }
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))


def birth_bundle(
    rng: random.Random, key: str, fac: Facility, mother: MotherInfo, children: list[NewbornChild], sent_at: str
) -> str:
    """Return one birth notification Bundle (a JSON line) for one delivery (twins together)."""
    org_url = f"urn:uuid:{_uuid(rng)}"
    child_urls = [f"urn:uuid:{_uuid(rng)}" for _ in children]
    entries: list[dict] = []
    body: list[dict] = []
    mother_name = {"use": "official", "text": mother.text, "family": mother.family, "given": [mother.given]}
    for url, child in zip(child_urls, children):
        patient: dict = {
            "resourceType": "Patient", "id": url.removeprefix("urn:uuid:"),
            "extension": [{"url": BIRTH_TIME_EXT, "valueDateTime": f"{child.birth_date}T{child.birth_time}:00+07:00"}],
            "identifier": [{"system": f"{FACILITY_SYSTEM}/{fac.facility_id}/mrn", "value": f"{key}-{max(child.order, 1)}"}],
            "name": [{"use": "temp", "text": f"Con bà {mother.text}", "family": mother.family}],
            "gender": _gender(child.sex),
            "birthDate": child.birth_date,
            "address": [_address(mother.address)],
        }
        if child.order:
            patient["multipleBirthInteger"] = child.order
        body.append({"fullUrl": url, "resource": patient})
        mother_url = f"urn:uuid:{_uuid(rng)}"
        related: dict = {
            "resourceType": "RelatedPerson", "id": mother_url.removeprefix("urn:uuid:"),
            "patient": {"reference": url},
            "relationship": [{"coding": [{"system": V3_ROLE_CODE, "code": "MTH", "display": "mother"}]}],
            "name": [mother_name],
            "gender": "female",
            "birthDate": mother.birth_date,
            "address": [_address(mother.address)],
        }
        if mother.pid:
            related["identifier"] = [_national_id(mother.pid)]
        if mother.phone:
            related["telecom"] = [{"system": "phone", "value": mother.phone, "use": "mobile"}]
        body.append({"fullUrl": mother_url, "resource": related})
        obs_url = f"urn:uuid:{_uuid(rng)}"
        body.append({"fullUrl": obs_url, "resource": {
            "resourceType": "Observation", "id": obs_url.removeprefix("urn:uuid:"), "status": "final",
            "category": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs",
            }]}],
            "code": {"coding": [{"system": LOINC, "code": "8339-4", "display": "Birth weight Measured"}]},
            "subject": {"reference": url},
            "effectiveDateTime": f"{child.birth_date}T{child.birth_time}:00+07:00",
            "valueQuantity": {"value": child.weight_g, "unit": "g", "system": UCUM, "code": "g"},
        }})
    enc_url = f"urn:uuid:{_uuid(rng)}"
    first = children[0]
    body.append({"fullUrl": enc_url, "resource": {
        "resourceType": "Encounter", "id": enc_url.removeprefix("urn:uuid:"), "status": "finished",
        "class": {"system": V3_ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "subject": {"reference": child_urls[0]},
        "period": {"start": f"{first.birth_date}T{first.birth_time}:00+07:00"},
        "serviceProvider": {"reference": org_url},
    }})
    body.append(_organization(fac, org_url))
    entries.append(_header(rng, "birth-notification", "Thông báo sinh", fac, org_url, child_urls))
    entries.extend(body)
    return _bundle(rng, key, sent_at, entries)


def death_bundle(rng: random.Random, key: str, fac: Facility, person: DeceasedInfo, sent_at: str) -> str:
    """Return one death notification Bundle (a JSON line)."""
    org_url = f"urn:uuid:{_uuid(rng)}"
    pat_url = f"urn:uuid:{_uuid(rng)}"
    patient: dict = {
        "resourceType": "Patient", "id": pat_url.removeprefix("urn:uuid:"),
        "name": [{"use": "official", "text": person.text, "family": person.family, "given": [person.given]}],
        "gender": _gender(person.sex),
        "birthDate": person.birth_date,
        "deceasedDateTime": person.death_at,
        "address": [_address(person.address)],
    }
    if person.pid:
        patient["identifier"] = [_national_id(person.pid)]
    cond_url = f"urn:uuid:{_uuid(rng)}"
    enc_url = f"urn:uuid:{_uuid(rng)}"
    entries = [
        _header(rng, "death-notification", "Thông báo tử vong", fac, org_url, [pat_url]),
        {"fullUrl": pat_url, "resource": patient},
        {"fullUrl": cond_url, "resource": {
            "resourceType": "Condition", "id": cond_url.removeprefix("urn:uuid:"),
            "category": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis",
            }]}],
            "code": {"coding": [{"system": ICD10, "code": person.icd10, "display": person.icd10_display}]},
            "subject": {"reference": pat_url},
            "encounter": {"reference": enc_url},
        }},
        {"fullUrl": enc_url, "resource": {
            "resourceType": "Encounter", "id": enc_url.removeprefix("urn:uuid:"), "status": "finished",
            "class": {"system": V3_ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
            "subject": {"reference": pat_url},
            "period": {"end": person.death_at},
            "serviceProvider": {"reference": org_url},
        }},
        _organization(fac, org_url),
    ]
    return _bundle(rng, key, sent_at, entries)
