"""Build standard-conformant FHIR R4 birth and death notification Bundles (plain dicts).

Used by the tests, the examples and the synthetic data generator. The same arguments
always give the same Bundle (ids are UUIDv5 of ``bundle_id``), so re-sending is exact.
Options cover the shapes real senders use: the four Bundle types, references as
``urn:uuid`` / relative (``Patient/123`` against a RESTful ``fullUrl``) / absolute, and the
mother as a ``RelatedPerson`` only or also as her own ``Patient`` joined by ``Patient.link``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal, Sequence

from chudong.fhir import codes
from chudong.kit.clock import VN_TZ

BundleType = Literal["message", "transaction", "collection", "document"]
ReferenceStyle = Literal["urn:uuid", "relative", "absolute"]
_NS = uuid.UUID("5b0b6f0e-6a57-4a36-9d1e-2f1d1c6f3a11")
_GENDER = {"M": "male", "F": "female", None: "unknown", "O": "other"}


def _uuid(bundle_id: str, role: str) -> str:
    return str(uuid.uuid5(_NS, f"{bundle_id}/{role}"))


@dataclass
class _Assembler:
    """Collects entries and writes ``fullUrl`` and references in the chosen style."""

    bundle_id: str
    references: ReferenceStyle
    base: str
    bundle_type: BundleType
    entries: list[dict[str, Any]] = field(default_factory=list)
    urls: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, role: str, resource: dict[str, Any]) -> None:
        """Give ``resource`` an id and add it as an entry."""
        rid = _uuid(self.bundle_id, role)
        resource["id"] = rid
        rtype = resource["resourceType"]
        if self.references == "urn:uuid":
            full_url = f"urn:uuid:{rid}"
            ref = full_url
        else:
            full_url = f"{self.base}/{rtype}/{rid}"
            ref = full_url if self.references == "absolute" else f"{rtype}/{rid}"
        self.urls[role] = (full_url, ref)
        entry: dict[str, Any] = {"fullUrl": full_url, "resource": resource}
        if self.bundle_type == "transaction":
            entry["request"] = {"method": "POST", "url": rtype} if self.references == "urn:uuid" else {
                "method": "PUT", "url": f"{rtype}/{rid}"}
        self.entries.append(entry)

    def ref(self, role: str, display: str | None = None) -> dict[str, str]:
        """Return a Reference to the resource added under ``role``."""
        out = {"reference": self.urls[role][1]}
        if display:
            out["display"] = display
        return out

    def header_id(self) -> str:
        """Return the id of the MessageHeader / Composition."""
        return _uuid(self.bundle_id, "header")


def _human_name(full: str) -> dict[str, Any]:
    parts = full.split()
    name: dict[str, Any] = {"use": "official", "text": full}
    if len(parts) > 1:
        name["family"] = parts[0]
        name["given"] = parts[1:]
    else:
        name["given"] = parts
    return name


def _address(ward_code: int | None, text: str | None) -> dict[str, Any]:
    address: dict[str, Any] = {"use": "home", "country": "VN"}
    if text:
        address["text"] = text
    if ward_code is not None:
        address["extension"] = [{
            "url": codes.VN_ADMIN_ADDRESS_EXT,
            "extension": [{"url": "ward", "valueCodeableConcept": {"coding": [{"code": f"{ward_code:05d}"}]}}],
        }]
    return address


def _national_id(pid: str) -> dict[str, Any]:
    return {
        "use": "official",
        "type": {"coding": [{"system": codes.V2_0203, "code": "NI"}]},
        "system": codes.NATIONAL_ID_SYSTEM,
        "value": pid,
    }


def _organization(facility_id: str, facility_name: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": "http://fhir.ehealth.gov.vn/core/sid/facility_code", "value": facility_id}],
        "active": True,
        "name": facility_name,
    }


def _assemble(
    a: _Assembler, *, event: tuple[str, str], focus: list[str], subject: str, doc_type: tuple[str, str],
    facility_role: str, at: datetime,
) -> dict[str, Any]:
    """Wrap the entries into a Bundle of ``a.bundle_type`` (header first when required)."""
    entries = a.entries
    if a.bundle_type == "message":
        header = {
            "resourceType": "MessageHeader",
            "id": a.header_id(),
            "eventCoding": {"system": "http://fhir.ehealth.gov.vn/core/CodeSystem/message-events", "code": event[0],
                            "display": event[1]},
            "source": {"endpoint": f"{a.base}/$process-message"},
            "sender": a.ref(facility_role),
            "focus": [a.ref(role) for role in focus],
        }
        entries = [{"fullUrl": _header_url(a, "MessageHeader"), "resource": header}, *entries]
    elif a.bundle_type == "document":
        composition = {
            "resourceType": "Composition",
            "id": a.header_id(),
            "status": "final",
            "type": {"coding": [{"system": codes.LOINC, "code": doc_type[0], "display": doc_type[1]}]},
            "subject": a.ref(subject),
            "date": at.isoformat(),
            "author": [a.ref(facility_role)],
            "custodian": a.ref(facility_role),
            "title": doc_type[1],
            "section": [{"title": doc_type[1], "entry": [a.ref(role) for role in a.urls if role != facility_role]}],
        }
        entries = [{"fullUrl": _header_url(a, "Composition"), "resource": composition}, *entries]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": a.bundle_id,
        "meta": {"lastUpdated": at.isoformat()},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{_uuid(a.bundle_id, 'bundle')}"},
        "type": a.bundle_type,
        "timestamp": at.isoformat(),
        "entry": entries,
    }
    return bundle


def _header_url(a: _Assembler, rtype: str) -> str:
    if a.references == "urn:uuid":
        return f"urn:uuid:{a.header_id()}"
    return f"{a.base}/{rtype}/{a.header_id()}"


def birth_bundle(
    *,
    bundle_id: str,
    child_birth_date: date,
    child_sex: str | None,
    child_name: str | Sequence[str] | None = None,
    birth_time: time | None = None,
    weight_g: int | Sequence[int] | None = None,
    mother_name: str,
    mother_birth_date: date | None = None,
    mother_pid: str | None = None,
    mother_phone: str | None = None,
    mother_ward_code: int | None = None,
    facility_id: str,
    facility_name: str,
    twins: int = 1,
    bundle_type: BundleType = "message",
    mother_as: Literal["RelatedPerson", "Patient"] = "RelatedPerson",
    references: ReferenceStyle = "urn:uuid",
    weight_unit: Literal["g", "kg"] = "g",
    mother_code: Literal["MTH", "NMTH"] = "MTH",
) -> dict[str, Any]:
    """Return an R4 birth notification Bundle: child Patient(s), mother, weight, encounter, facility.

    ``twins`` is the number of children born (1 = a single birth); ``child_name`` and
    ``weight_g`` may be one value for all children or one per child.
    """
    if twins < 1:
        raise ValueError("twins must be at least 1")
    names = [child_name] * twins if child_name is None or isinstance(child_name, str) else list(child_name)
    weights = [weight_g] * twins if weight_g is None or isinstance(weight_g, int) else list(weight_g)
    if len(names) != twins or len(weights) != twins:
        raise ValueError("child_name and weight_g need one value per child")
    a = _Assembler(bundle_id, references, f"https://his.{facility_id.lower()}.example.vn/fhir", bundle_type)
    at = datetime.combine(child_birth_date, birth_time or time(12, 0), VN_TZ)
    a.add("facility", _organization(facility_id, facility_name))
    a.add("midwife", {"resourceType": "Practitioner", "name": [{"text": "Hộ sinh trực"}]})
    for n in range(1, twins + 1):
        child: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [{
                "type": {"coding": [{"system": codes.V2_0203, "code": "MR"}]},
                "system": f"https://his.{facility_id.lower()}.example.vn/mrn",
                "value": f"{bundle_id}-{n}",
            }],
            "gender": _GENDER[child_sex],
            "birthDate": child_birth_date.isoformat(),
            "managingOrganization": a.ref("facility"),
        }
        if names[n - 1]:
            child["name"] = [_human_name(names[n - 1])]
        if birth_time is not None:
            child["_birthDate"] = {"extension": [{
                "url": codes.BIRTH_TIME_EXT,
                "valueDateTime": datetime.combine(child_birth_date, birth_time, VN_TZ).isoformat(),
            }]}
        if twins > 1:
            child["multipleBirthInteger"] = n
        else:
            child["multipleBirthBoolean"] = False
        a.add(f"child-{n}", child)
    mother: dict[str, Any] = {"name": [_human_name(mother_name)], "gender": "female"}
    if mother_birth_date:
        mother["birthDate"] = mother_birth_date.isoformat()
    if mother_pid:
        mother["identifier"] = [_national_id(mother_pid)]
    if mother_phone:
        mother["telecom"] = [{"system": "phone", "value": mother_phone, "use": "mobile"}]
    if mother_ward_code is not None:
        mother["address"] = [_address(mother_ward_code, None)]
    relationship = [{"coding": [{"system": codes.V3_ROLE_CODE, "code": mother_code,
                                 "display": "mother" if mother_code == "MTH" else "natural mother"}]}]
    for n in range(1, twins + 1):
        related: dict[str, Any] = {"resourceType": "RelatedPerson", "patient": a.ref(f"child-{n}"),
                                   "relationship": relationship}
        if mother_as == "RelatedPerson":
            related.update(mother)
        else:
            related["name"] = mother["name"]
        a.add(f"mother-role-{n}", related)
    if mother_as == "Patient":
        a.add("mother", {"resourceType": "Patient", **mother, "link": [
            {"other": a.ref(f"mother-role-{n}"), "type": "seealso"} for n in range(1, twins + 1)]})
    a.add("encounter", {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": codes.V3_ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "subject": a.ref("mother" if mother_as == "Patient" else "child-1"),
        "serviceProvider": a.ref("facility"),
        "period": {"start": at.isoformat()},
    })
    for n in range(1, twins + 1):
        if weights[n - 1] is None:
            continue
        grams = weights[n - 1]
        value: int | float = grams if weight_unit == "g" else grams / 1000
        a.add(f"weight-{n}", {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs"}]}],
            "code": {"coding": [{"system": codes.LOINC, "code": codes.LOINC_BIRTH_WEIGHT,
                                 "display": "Birth weight Measured"}]},
            "subject": a.ref(f"child-{n}"),
            "encounter": a.ref("encounter"),
            "effectiveDateTime": at.isoformat(),
            "performer": [a.ref("midwife")],
            "valueQuantity": {"value": value, "unit": weight_unit, "system": codes.UCUM, "code": weight_unit},
        })
    return _assemble(a, event=("birth-notification", "Thông báo sinh"), focus=["child-1"], subject="child-1",
                     doc_type=("57075-4", "Newborn delivery information"), facility_role="facility", at=at)


def death_bundle(
    *,
    bundle_id: str,
    name: str,
    birth_date: date,
    sex: str | None,
    pid: str | None = None,
    death_date: date,
    death_time: time | None = None,
    cause_icd10: str | None = None,
    facility_id: str,
    facility_name: str,
    bundle_type: BundleType = "message",
    references: ReferenceStyle = "urn:uuid",
    cause_as: Literal["Condition", "Observation"] = "Condition",
) -> dict[str, Any]:
    """Return an R4 death notification Bundle: deceased Patient, cause of death, facility."""
    a = _Assembler(bundle_id, references, f"https://his.{facility_id.lower()}.example.vn/fhir", bundle_type)
    at = datetime.combine(death_date, death_time or time(12, 0), VN_TZ)
    a.add("facility", _organization(facility_id, facility_name))
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [_human_name(name)],
        "gender": _GENDER[sex],
        "birthDate": birth_date.isoformat(),
        "deceasedDateTime": at.isoformat() if death_time else death_date.isoformat(),
        "managingOrganization": a.ref("facility"),
    }
    if pid:
        patient["identifier"] = [_national_id(pid)]
    a.add("deceased", patient)
    if cause_icd10:
        coding = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": cause_icd10}]}
        if cause_as == "Condition":
            a.add("cause", {"resourceType": "Condition", "code": coding, "subject": a.ref("deceased"),
                            "verificationStatus": {"coding": [{
                                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                "code": "confirmed"}]}})
        else:
            a.add("cause", {"resourceType": "Observation", "status": "final",
                            "code": {"coding": [{"system": codes.LOINC, "code": codes.LOINC_CAUSE_OF_DEATH}]},
                            "subject": a.ref("deceased"), "valueCodeableConcept": coding})
    return _assemble(a, event=("death-notification", "Thông báo tử vong"), focus=["deceased"], subject="deceased",
                     doc_type=("64297-5", "Death certificate"), facility_role="facility", at=at)
