"""Read hospital birth and death notifications (HL7 FHIR R4 Bundles) into plain facts.

The contract is ``/work/shared/FHIR_PROFILE.md`` (summarised in ``docs/feeds.md``):

- Bundle types ``message``, ``transaction``, ``collection``, ``document``; UTF-8 JSON,
  any key order, ``\\u`` escapes; text is stored in NFC.
- A birth is a child ``Patient`` with a ``RelatedPerson`` whose relationship is v3
  RoleCode ``MTH`` / ``NMTH`` (the mother's own ``Patient`` may join it by ``Patient.link``
  type ``seealso``), whatever the MessageHeader event. One notice per child (twins).
- A death is a ``Patient`` with ``deceasedDateTime``.
- The structure is validated with ``fhir.resources`` (R4B models, which read R4); the
  checks it does not make (codes, invariants, references, CCCD, weights, dates) are
  made here. Any failure rejects the whole Bundle with the FHIRPath-like field at fault.

``source_key`` is stable across re-sends: ``Bundle.identifier`` (``system|value``), else
the MessageHeader / Composition id, else ``Bundle.id``, else a hash of the content;
followed by ``#child-<n>`` (n = ``multipleBirthInteger``, else order) for each birth and
``#death-<n>`` for each death.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable, Iterator

from pydantic import ValidationError

from chudong.fhir import codes
from chudong.kit import clock
from chudong.kit.errors import ChudongError
from chudong.kit.phones import InvalidPhone, normalise_phone
from chudong.kit.pid import read_identifier

MAX_BUNDLE_BYTES = 5 * 1024 * 1024
MIN_BIRTH_WEIGHT_G = 300
MAX_BIRTH_WEIGHT_G = 7000
_ICD10 = re.compile(r"^[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,4})?$")
_ICD10_NODOT = re.compile(r"^([A-Z][0-9]{2})([0-9A-Z]{1,4})$")
_SPACES = re.compile(r"\s+")


class FhirRejection(ChudongError):
    """The Bundle is not an acceptable notification; ``field`` says where, ``message`` why."""

    status_code = 422
    code = "invalid_fhir"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field or "Bundle")


class WrongFeed(FhirRejection):
    """A Bundle posted to the other vital-events feed (a death to ``births``); the message names the right one."""

    status_code = 422
    code = "wrong_feed"


class BundleTooLarge(FhirRejection):
    """The body is over ``MAX_BUNDLE_BYTES``."""

    status_code = 413
    code = "payload_too_large"


@dataclass(frozen=True)
class PersonFacts:
    """What a notification says about one person, as the hospital has it."""

    full_name: str | None
    birth_date: date | None
    sex: str | None  # "M", "F", or None (unknown / other / absent)
    pid: str | None  # CCCD, 12 digits, read valid or restored (chudong.kit.pid): the one to link on exactly
    cmnd: str | None  # old 9- (or 12-) digit identity card number (citizen_id system, or a CMND sent as national_id)
    insurance_no: str | None
    phone: str | None  # E.164
    ward_code: int | None  # as sent (2025 or pre-2025; the ingest maps it)
    address_text: str | None
    # the national_id identifier as read: chudong.kit.pid's normalised-record keys (None: none sent)
    ids: dict | None = None
    ward_text: str | None = None  # a ward sent in words in the ward extension ("P. Hải Châu"); the ingest resolves it
    # identifiers kept but not read cleanly: (field in the sender's terms, class, reason "Vietnamese / English")
    id_issues: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class BirthNotice:
    """One child born, with the mother and the facility."""

    source_key: str
    child: PersonFacts
    birth_time: time | None
    weight_g: int | None
    multiple_birth: int | None
    mother: PersonFacts
    facility_id: str | None
    facility_name: str | None


@dataclass(frozen=True)
class Informant:
    """Who reported a death (a RelatedPerson of the deceased): the death dossier's declarant pre-fill."""

    facts: PersonFacts
    relationship: str | None  # v3 RoleCode (SONC, DAUC, SPS, WIFE...) or v2-0131 code, as sent


@dataclass(frozen=True)
class DeathNotice:
    """One death, with its cause (ICD-10), the facility and the informant when one is named."""

    source_key: str
    deceased: PersonFacts
    death_date: date
    death_time: time | None
    cause_icd10: str | None
    facility_id: str | None
    facility_name: str | None
    informant: Informant | None = None


Notice = BirthNotice | DeathNotice


def parse_bundle(body: bytes, *, today: date | None = None) -> list[Notice]:
    """Return the births and deaths a Bundle notifies, or raise FhirRejection / BundleTooLarge."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if len(body) > MAX_BUNDLE_BYTES:
        raise BundleTooLarge(
            f"the Bundle is {len(body)} bytes; the limit is {MAX_BUNDLE_BYTES} bytes (5 MiB)", field="body")
    data = _decode_json(bytes(body))
    return _BundleReader(data, today or clock.today()).read()


def parse_ndjson(lines: Iterable[bytes]) -> Iterator[tuple[int, list[Notice] | FhirRejection]]:
    """Yield (line number, notices or the rejection) for each non-blank NDJSON line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, parse_bundle(line)
        except FhirRejection as rejection:
            yield number, rejection


def _reject_nan(value: str) -> Any:
    raise ValueError(f"{value} is not a JSON number")


def _decode_json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FhirRejection(f"the body is not UTF-8 (byte {exc.start})", field="body") from None
    try:
        return json.loads(text, parse_constant=_reject_nan)
    except json.JSONDecodeError as exc:
        raise FhirRejection(f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                            field="body") from None
    except ValueError as exc:
        raise FhirRejection(f"the body is not FHIR JSON: {exc}", field="body") from None
    except RecursionError:
        raise FhirRejection("the body is nested too deeply", field="body") from None


def _validated_bundle(data: dict) -> Any:
    """Validate ``data`` as an R4 Bundle, accepting primitive-element extensions the models refuse.

    FHIR allows ``_<element>`` (the extensions and id of a primitive) wherever the primitive may
    be, e.g. ``_valueDateTime`` beside an extension's ``valueDateTime``; the ``fhir.resources``
    models refuse some of them ("Extra inputs are not permitted"). Those keys carry nothing this
    reader needs (item 5: unknown extensions are ignored), so each refused one is dropped from a
    copy and the Bundle validated again; any other error is the sender's.
    """
    model = _bundle_model()
    copied = False
    while True:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            refused = [tuple(e["loc"]) for e in exc.errors(include_url=False)
                       if e["type"] == "extra_forbidden" and e["loc"] and str(e["loc"][-1]).startswith("_")]
            if not refused:
                raise
            if not copied:
                data, copied = copy.deepcopy(data), True
            dropped = False
            for loc in refused:
                node: Any = data
                for part in loc[:-1]:
                    try:
                        node = node[part]
                    except (KeyError, IndexError, TypeError):
                        node = None
                        break
                if isinstance(node, dict) and loc[-1] in node:
                    del node[loc[-1]]
                    dropped = True
            if not dropped:  # the error's path does not lead into the data: report it as it is
                raise


@lru_cache(maxsize=1)
def birth_notice_window() -> tuple[int, str]:
    """Return (days, legal reference) of the birth registration period: older "births" are not notices.

    The period is the rules catalogue's (``birth-registration``: Law on Civil Status, art. 15), so
    the rule stays data.
    """
    from chudong.rules.catalogue import get_catalogue

    deadline = get_catalogue().service("birth-registration").registration_deadline
    if deadline is None or deadline.calendar_days is None:  # pragma: no cover - the built-in catalogue has it
        raise RuntimeError("the birth-registration service of the catalogue has no registration_deadline in days")
    return deadline.calendar_days, deadline.reference


@lru_cache(maxsize=None)
def _r4b_knows(resource_type: str) -> bool:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError):
        return False
    return True


def _bundle_model() -> Any:
    from fhir.resources.R4B.bundle import Bundle

    return Bundle


def _loc_path(loc: tuple[int | str, ...], entry_map: list[int]) -> str:
    out = "Bundle"
    for i, part in enumerate(loc):
        if not isinstance(part, (int, str)):
            part = str(part)
        if isinstance(part, int):
            if i == 1 and loc[0] == "entry" and part < len(entry_map):
                part = entry_map[part]
            out += f"[{part}]"
        elif part == "root" or part.startswith(("function-", "function_")) or "[" in part:
            continue  # pydantic's internal validator names
        else:
            out += f".{part}"
    return out


def _text(value: Any, field: str) -> str | None:
    """Return ``value`` in NFC with single spaces, or None when empty."""
    if value is None:
        return None
    s = _SPACES.sub(" ", unicodedata.normalize("NFC", str(value))).strip()
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise FhirRejection("text contains an unpaired surrogate (invalid \\u escape)", field=field) from None
    return s or None


class _BundleReader:
    """One Bundle's reading: validation, invariants, reference resolution, extraction."""

    def __init__(self, data: Any, today: date) -> None:
        self.data = data
        self.today = today
        self.model: Any = None
        self.resources: list[Any] = []  # per entry index: validated resource or None
        self.full_urls: list[str | None] = []
        self.by_url: dict[str, int] = {}
        self.by_type_id: dict[tuple[str, str], list[int]] = {}

    # ---- structure -------------------------------------------------------------------
    def read(self) -> list[Notice]:
        self._check_raw()
        self._validate()
        self._index()
        self._check_values()
        self._check_invariants()
        key = self._source_key()
        facility = self._facility()
        notices: list[Notice] = []
        notices.extend(self._births(key, facility))
        notices.extend(self._deaths(key, facility))
        if not notices:
            raise FhirRejection(
                "no birth (a child Patient with a RelatedPerson of relationship MTH or NMTH) and no death "
                "(a Patient with deceasedDateTime) in this Bundle", field="Bundle.entry")
        return notices

    def _check_raw(self) -> None:
        """Checks fhir.resources does not make, or makes with an unhelpful error."""
        data = self.data
        if not isinstance(data, dict):
            raise FhirRejection("the body is not a JSON object, so not a FHIR Bundle", field="Bundle")
        if data.get("resourceType") != "Bundle":
            raise FhirRejection(f"resourceType is {data.get('resourceType')!r}, expected 'Bundle'",
                                field="Bundle.resourceType")
        btype = data.get("type")
        if not isinstance(btype, str) or btype not in codes.BUNDLE_TYPES:
            raise FhirRejection(f"{btype!r} is not a Bundle type code", field="Bundle.type")
        if btype not in codes.ACCEPTED_BUNDLE_TYPES:
            raise FhirRejection(f"a {btype} Bundle is not a notification; send one of "
                                f"{', '.join(codes.ACCEPTED_BUNDLE_TYPES)}", field="Bundle.type")
        entries = data.get("entry")
        if entries is None or entries == []:
            raise FhirRejection("the Bundle has no entries", field="Bundle.entry")
        if not isinstance(entries, list):
            raise FhirRejection("Bundle.entry must be a list", field="Bundle.entry")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise FhirRejection("an entry must be a JSON object", field=f"Bundle.entry[{i}]")
            resource = entry.get("resource")
            if resource is None:
                continue
            if not isinstance(resource, dict):
                raise FhirRejection("resource must be a JSON object", field=f"Bundle.entry[{i}].resource")
            rtype = resource.get("resourceType")
            if not isinstance(rtype, str) or not rtype:
                raise FhirRejection("the resource has no resourceType", field=f"Bundle.entry[{i}].resource.resourceType")
            if not _r4b_knows(rtype) and rtype not in codes.R4_ONLY_TYPES:
                raise FhirRejection(f"{rtype!r} is not a FHIR R4 resource type",
                                    field=f"Bundle.entry[{i}].resource.resourceType")

    def _validate(self) -> None:
        data = self.data
        entries = data["entry"]
        # R4 resource types R4B dropped are kept out of validation (never needed here).
        entry_map = [i for i, e in enumerate(entries)
                     if not (isinstance(e.get("resource"), dict) and e["resource"]["resourceType"] in codes.R4_ONLY_TYPES
                             and not _r4b_knows(e["resource"]["resourceType"]))]
        if len(entry_map) != len(entries):
            data = {**data, "entry": [entries[i] for i in entry_map]}
        try:
            self.model = _validated_bundle(data)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            if exc.title != "Bundle":  # raised inside a nested validator: its loc is not a path
                raise FhirRejection(f"{err['msg']}", field=self._locate(entries)) from None
            raise FhirRejection(f"{err['msg']}", field=_loc_path(tuple(err["loc"]), entry_map)) from None
        except RecursionError:
            raise FhirRejection("the Bundle is nested too deeply", field="Bundle") from None
        except (TypeError, AttributeError, ValueError, KeyError) as exc:
            # fhir.resources' primitive validators (uri, url...) assume a string and fail
            # with a bare Python error on other JSON types; that is still bad input.
            raise FhirRejection(f"an element has the wrong JSON type ({type(exc).__name__}: {exc})",
                                field=self._locate(entries)) from None
        model_entries = self.model.entry or []
        self.resources = [None] * len(entries)
        self.full_urls = [None] * len(entries)
        for pos, entry in zip(entry_map, model_entries):
            self.resources[pos] = entry.resource
            self.full_urls[pos] = entry.fullUrl
        for i, e in enumerate(entries):
            if i not in set(entry_map) and isinstance(e.get("fullUrl"), str):
                self.full_urls[i] = e["fullUrl"]

    @staticmethod
    def _locate(entries: list[Any]) -> str:
        """Return the first entry whose resource fails validation on its own (else "Bundle")."""
        from fhir.resources.R4B import get_fhir_model_class

        for i, entry in enumerate(entries):
            resource = entry.get("resource")
            if not isinstance(resource, dict) or resource.get("resourceType") in codes.R4_ONLY_TYPES:
                continue
            try:
                get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            except (ValidationError, TypeError, AttributeError, ValueError, KeyError, RecursionError):
                return f"Bundle.entry[{i}].resource"
        return "Bundle"

    def _index(self) -> None:
        seen: dict[tuple[str, str | None], int] = {}
        for i, url in enumerate(self.full_urls):
            res = self.resources[i]
            if url is not None:
                version = res.meta.versionId if res is not None and res.meta is not None else None
                if (url, version) in seen:
                    raise FhirRejection(f"fullUrl {url!r} is also used by entry {seen[(url, version)]} "
                                        "(FHIR bdl-7: fullUrl must be unique)", field=f"Bundle.entry[{i}].fullUrl")
                seen[(url, version)] = i
                self.by_url.setdefault(url, i)
            if res is not None and res.id:
                self.by_type_id.setdefault((res.get_resource_type(), res.id), []).append(i)

    def _check_invariants(self) -> None:
        btype = self.model.type
        first = self.resources[0]
        if btype == "message":
            if first is None or first.get_resource_type() != "MessageHeader":
                raise FhirRejection("a message Bundle must start with its MessageHeader (FHIR bdl-12)",
                                    field="Bundle.entry[0].resource")
            for i, ref in enumerate(first.focus or []):
                self._resolve_required(ref, 0, f"Bundle.entry[0].resource.focus[{i}]")
        if btype == "document":
            if first is None or first.get_resource_type() != "Composition":
                raise FhirRejection("a document Bundle must start with its Composition (FHIR bdl-11)",
                                    field="Bundle.entry[0].resource")
            self._resolve_required(first.subject, 0, "Bundle.entry[0].resource.subject")
        for i, res in enumerate(self.resources):
            if res is None:
                continue
            rtype = res.get_resource_type()
            if i > 0 and btype == "message" and rtype == "MessageHeader":
                raise FhirRejection("a message has one MessageHeader, the first entry", field=f"Bundle.entry[{i}].resource")
            if i > 0 and btype == "document" and rtype == "Composition":
                raise FhirRejection("a document has one Composition, the first entry", field=f"Bundle.entry[{i}].resource")
            gender = getattr(res, "gender", None) if rtype in ("Patient", "RelatedPerson", "Practitioner") else None
            if gender is not None and gender not in codes.ADMINISTRATIVE_GENDER:
                raise FhirRejection(f"gender {gender!r} is not an AdministrativeGender code "
                                    "(male, female, other, unknown)", field=f"Bundle.entry[{i}].resource.gender")
            if rtype == "Patient":
                for j, link in enumerate(res.link or []):
                    if link.type not in codes.LINK_TYPES:
                        raise FhirRejection(f"link type {link.type!r} is not a LinkType code "
                                            "(replaced-by, replaces, refer, seealso)",
                                            field=f"Bundle.entry[{i}].resource.link[{j}].type")
            if rtype == "RelatedPerson":
                for j, concept in enumerate(res.relationship or []):
                    for k, coding in enumerate(concept.coding or []):
                        self._check_relationship_code(coding, f"Bundle.entry[{i}].resource.relationship[{j}].coding[{k}]")

    @staticmethod
    def _check_relationship_code(coding: Any, field: str) -> None:
        if coding.system == codes.V3_ROLE_CODE and coding.code not in codes.V3_PERSONAL_RELATIONSHIP:
            raise FhirRejection(f"{coding.code!r} is not a v3 RoleCode for a personal relationship", field=f"{field}.code")
        if coding.system == codes.V2_0131 and coding.code not in codes.V2_CONTACT_ROLE:
            raise FhirRejection(f"{coding.code!r} is not a v2-0131 contact role code", field=f"{field}.code")

    def _check_values(self) -> None:
        """Reject JSON nulls (fhir.resources lets them through, even for required elements), and
        urn:uuid / urn:oid references that do not resolve: those can only point inside the Bundle."""
        for i, e in enumerate(self.data["entry"]):
            resource = e.get("resource")
            if isinstance(resource, dict):
                self._walk_refs(resource, f"Bundle.entry[{i}].resource")

    def _walk_refs(self, node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if v is None:
                    raise FhirRejection("JSON null is not allowed in FHIR: leave the element out", field=f"{path}.{k}")
                if k == "reference" and isinstance(v, str) and v.startswith(("urn:uuid:", "urn:oid:")):
                    if v not in self.by_url:
                        raise FhirRejection(f"reference {v!r} resolves to no entry of the Bundle", field=f"{path}.reference")
                elif isinstance(v, (dict, list)) and k not in ("text", "contained"):
                    self._walk_refs(v, f"{path}.{k}")
        elif isinstance(node, list):
            for j, v in enumerate(node):
                self._walk_refs(v, f"{path}[{j}]")

    # ---- references ----------------------------------------------------------------
    def _resolve(self, ref: str, from_entry: int) -> int | None:
        """Return the entry index ``ref`` points to by the Bundle rules, or None."""
        if ref.startswith("#"):
            return None
        target = ref.split("/_history/")[0]
        if target in self.by_url:
            return self.by_url[target]
        if ":" in target.split("/")[0]:  # absolute URL or URN not in the Bundle
            return None
        parts = target.split("/")
        if len(parts) != 2:
            return None
        base_url = self.full_urls[from_entry]
        if base_url and "/" in base_url and not base_url.startswith("urn:"):
            # RESTful fullUrl "[base]/[type]/[id]": the reference is relative to [base]
            base = base_url.rsplit("/", 2)[0]
            hit = self.by_url.get(f"{base}/{target}")
            if hit is not None:
                return hit
        candidates = self.by_type_id.get((parts[0], parts[1]), [])
        if len(candidates) == 1:
            return candidates[0]
        return None

    def _resolve_required(self, reference: Any, from_entry: int, field: str) -> int:
        if reference is None or not reference.reference:
            raise FhirRejection("the reference is missing (a literal reference is needed here)", field=field)
        hit = self._resolve(reference.reference, from_entry)
        if hit is None:
            raise FhirRejection(f"reference {reference.reference!r} resolves to no entry of the Bundle",
                                field=f"{field}.reference")
        return hit

    def _type_of(self, index: int) -> str:
        res = self.resources[index]
        return res.get_resource_type() if res is not None else ""

    # ---- key and facility ------------------------------------------------------------
    def _source_key(self) -> str:
        ident = self.model.identifier
        if ident is not None and ident.value:
            return f"{ident.system or ''}|{ident.value}"
        first = self.resources[0]
        if first is not None and first.get_resource_type() in ("MessageHeader", "Composition") and first.id:
            return f"{first.get_resource_type()}/{first.id}"
        if self.model.id:
            return f"Bundle/{self.model.id}"
        canonical = json.dumps(self.data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()

    def _facility(self) -> tuple[str | None, str | None]:
        """Return (id, name) of the sending facility: sender, custodian, service provider, the one Organization."""
        candidates: list[tuple[Any, int, str]] = []
        first = self.resources[0]
        if first is not None and first.get_resource_type() == "MessageHeader":
            candidates.append((first.sender, 0, "Bundle.entry[0].resource.sender"))
        if first is not None and first.get_resource_type() == "Composition":
            candidates.append((first.custodian, 0, "Bundle.entry[0].resource.custodian"))
        for i, res in enumerate(self.resources):
            if res is not None and res.get_resource_type() == "Encounter":
                candidates.append((res.serviceProvider, i, f"Bundle.entry[{i}].resource.serviceProvider"))
        for reference, i, field in candidates:
            if reference is None or not reference.reference:
                continue
            hit = self._resolve_required(reference, i, field)
            if self._type_of(hit) == "Organization":
                return self._organization_facts(hit)
        organizations = [i for i in range(len(self.resources)) if self._type_of(i) == "Organization"]
        if len(organizations) == 1:
            return self._organization_facts(organizations[0])
        return None, None

    def _organization_facts(self, index: int) -> tuple[str | None, str | None]:
        org = self.resources[index]
        fid = next((i.value for i in org.identifier or [] if i.value), None) or org.id
        return _text(fid, f"Bundle.entry[{index}].resource.identifier"), _text(org.name, f"Bundle.entry[{index}].resource.name")

    # ---- births ----------------------------------------------------------------------
    def _births(self, key: str, facility: tuple[str | None, str | None]) -> list[BirthNotice]:
        mother_roles: dict[int, int] = {}  # child entry → RelatedPerson entry
        for i, res in enumerate(self.resources):
            if res is None or res.get_resource_type() != "RelatedPerson" or not self._is_mother(res):
                continue
            child = self._resolve_required(res.patient, i, f"Bundle.entry[{i}].resource.patient")
            if self._type_of(child) != "Patient":
                raise FhirRejection("RelatedPerson.patient must reference a Patient",
                                    field=f"Bundle.entry[{i}].resource.patient")
            if self._is_deceased(self.resources[child]) and not self._born_lately(self.resources[child]):
                continue  # the mother of someone who died: the death's informant, not a birth
            mother_roles.setdefault(child, i)
        if not mother_roles:
            return []
        mother_patients = self._mother_patients(set(mother_roles.values()))
        children = sorted(mother_roles)
        orders = [self.resources[c].multipleBirthInteger for c in children]
        distinct = all(o is not None for o in orders) and len(set(orders)) == len(orders)
        notices = []
        for pos, child_index in enumerate(children, start=1):
            child = self.resources[child_index]
            base = f"Bundle.entry[{child_index}].resource"
            if child_index in mother_patients.values():
                raise FhirRejection("the same Patient is both child and mother", field=base)
            facts = self._person(child_index, require_birth_date=True, allow_partial=False)
            if facts.birth_date is None:  # pragma: no cover - require_birth_date guarantees it
                raise FhirRejection("birthDate is missing", field=f"{base}.birthDate")
            self._check_newborn(facts.birth_date, f"{base}.birthDate")
            role_index = mother_roles[child_index]
            mother = self._mother(role_index, mother_patients.get(role_index))
            multiple = child.multipleBirthInteger
            if multiple is not None and multiple < 1:
                raise FhirRejection("multipleBirthInteger must be 1 or more", field=f"{base}.multipleBirthInteger")
            n = multiple if distinct else pos
            notices.append(BirthNotice(
                source_key=f"{key}#child-{n}",
                child=facts,
                birth_time=self._birth_time(child_index, facts.birth_date),
                weight_g=self._weight(child_index),
                multiple_birth=multiple,
                mother=mother,
                facility_id=facility[0],
                facility_name=facility[1],
            ))
        return notices

    def _check_newborn(self, birth_date: date, field: str) -> None:
        """Refuse a "birth" of someone born before the registration period of the notification's date."""
        days, reference = birth_notice_window()
        made = self._notified_on()
        if (made - birth_date).days > days:
            raise FhirRejection(
                f"không phải thông báo sinh: trẻ sinh ngày {birth_date.isoformat()}, {(made - birth_date).days} ngày "
                f"trước ngày gửi {made.isoformat()}, quá thời hạn đăng ký khai sinh {days} ngày / not a birth "
                f"notification: the child was born on {birth_date.isoformat()}, {(made - birth_date).days} days "
                f"before the notification ({made.isoformat()}), beyond the {days}-day birth registration period "
                f"({reference}); a person born earlier is registered late at the commune, not notified",
                field=field)

    def _notified_on(self) -> date:
        """Return the (Vietnam) date the notification was made: Bundle.timestamp, else the header's, else today."""
        made: Any = self.model.timestamp
        first = self.resources[0]
        if made is None and first is not None and first.get_resource_type() == "Composition":
            made = first.date
        if made is None and self.model.meta is not None:
            made = self.model.meta.lastUpdated
        if isinstance(made, datetime):
            made = made.astimezone(clock.VN_TZ).date() if made.tzinfo else made.date()
        if not isinstance(made, date) or made > self.today:
            return self.today
        return made

    def _born_lately(self, patient: Any) -> bool:
        """True when the patient's full birth date lies within the birth registration period of the notice."""
        born = patient.birthDate
        return (isinstance(born, date) and not isinstance(born, datetime)
                and (self._notified_on() - born).days <= birth_notice_window()[0])

    @staticmethod
    def _is_deceased(patient: Any) -> bool:
        return patient.deceasedDateTime is not None or patient.deceasedBoolean is True

    @staticmethod
    def _is_mother(related: Any) -> bool:
        return any(c.system == codes.V3_ROLE_CODE and c.code in codes.MOTHER_CODES
                   for concept in related.relationship or [] for c in concept.coding or [])

    def _mother_patients(self, role_indexes: set[int]) -> dict[int, int]:
        """Return RelatedPerson entry → the mother's own Patient entry (Patient.link seealso)."""
        out: dict[int, int] = {}
        for i, res in enumerate(self.resources):
            if res is None or res.get_resource_type() != "Patient":
                continue
            for j, link in enumerate(res.link or []):
                if link.type != "seealso":
                    continue
                target = self._resolve_required(link.other, i, f"Bundle.entry[{i}].resource.link[{j}].other")
                if target in role_indexes:
                    out.setdefault(target, i)
        return out

    def _mother(self, role_index: int, patient_index: int | None) -> PersonFacts:
        role = self._person(role_index, require_birth_date=False, allow_partial=True, default_sex="F")
        if patient_index is None:
            return role
        own = self._person(patient_index, require_birth_date=False, allow_partial=True, default_sex="F")
        # The mother's Patient record is the fuller one; the RelatedPerson fills its gaps. The
        # personal ID as read (pid, ids and their issues) is taken whole from the one that sent it.
        merged = {f: getattr(own, f) if getattr(own, f) is not None else getattr(role, f)
                  for f in PersonFacts.__dataclass_fields__}
        sender = own if own.ids is not None else role
        merged.update(pid=sender.pid, ids=sender.ids, id_issues=sender.id_issues)
        return PersonFacts(**merged)

    def _birth_time(self, index: int, birth_date: date) -> time | None:
        res = self.resources[index]
        extensions = list(res.birthDate__ext.extension or []) if getattr(res, "birthDate__ext", None) else []
        extensions += list(res.extension or [])
        for ext in extensions:
            if ext.url != codes.BIRTH_TIME_EXT:
                continue
            field = f"Bundle.entry[{index}].resource._birthDate.extension"
            value = ext.valueDateTime
            if not isinstance(value, datetime):
                raise FhirRejection("patient-birthTime needs a dateTime with a time and a time zone", field=field)
            local = value.astimezone(clock.VN_TZ)
            if local.date() != birth_date:
                raise FhirRejection(f"birth time {value.isoformat()} is {local.date().isoformat()} in Vietnam, "
                                    f"but birthDate is {birth_date.isoformat()}", field=field)
            return local.time().replace(tzinfo=None)
        return None

    def _weight(self, child_index: int) -> int | None:
        found: dict[str, tuple[int, Any]] = {}
        for i, res in enumerate(self.resources):
            if res is None or res.get_resource_type() != "Observation" or res.status in codes.VOID_OBSERVATION_STATUSES:
                continue
            loinc = {c.code for c in _codings(res.code) if c.system == codes.LOINC}
            kind = next((k for k in (codes.LOINC_BIRTH_WEIGHT, codes.LOINC_BODY_WEIGHT) if k in loinc), None)
            if kind is None or kind in found or res.subject is None:
                continue
            if self._resolve_required(res.subject, i, f"Bundle.entry[{i}].resource.subject") == child_index:
                found[kind] = (i, res)
        for kind in (codes.LOINC_BIRTH_WEIGHT, codes.LOINC_BODY_WEIGHT):
            if kind in found:
                return self._grams(*found[kind])
        return None

    @staticmethod
    def _grams(index: int, obs: Any) -> int:
        field = f"Bundle.entry[{index}].resource.valueQuantity"
        q = obs.valueQuantity
        if q is None or q.value is None:
            raise FhirRejection("a weight Observation needs valueQuantity with a value", field=field)
        if q.system not in (None, codes.UCUM):
            raise FhirRejection(f"weight unit system {q.system!r} is not UCUM", field=f"{field}.system")
        unit = q.code if q.code is not None else q.unit
        value = Decimal(str(q.value))
        if unit == "g":
            grams = value
        elif unit == "kg":
            grams = value * 1000
        else:
            raise FhirRejection(f"weight unit {unit!r} must be UCUM 'g' or 'kg'", field=f"{field}.code")
        if not grams.is_finite() or not MIN_BIRTH_WEIGHT_G <= grams <= MAX_BIRTH_WEIGHT_G:
            raise FhirRejection(f"a birth weight of {value} {unit} is impossible (accepted: "
                                f"{MIN_BIRTH_WEIGHT_G}-{MAX_BIRTH_WEIGHT_G} g)", field=f"{field}.value")
        return int(grams.to_integral_value())

    # ---- deaths ----------------------------------------------------------------------
    def _deaths(self, key: str, facility: tuple[str | None, str | None]) -> list[DeathNotice]:
        notices = []
        for i, res in enumerate(self.resources):
            if res is None or res.get_resource_type() != "Patient":
                continue
            base = f"Bundle.entry[{i}].resource"
            value, value_field = res.deceasedDateTime, f"{base}.deceasedDateTime"
            if value is None:
                value, value_field = self._observed_death(i)
            if value is None and res.deceasedBoolean is True:
                raise FhirRejection("a death notification needs the date of death: Patient.deceasedDateTime or an "
                                    "Observation LOINC 81956-5 with valueDateTime, not deceasedBoolean alone",
                                    field=f"{base}.deceasedBoolean")
            if value is None:
                continue
            facts = self._person(i, require_birth_date=True, allow_partial=True)
            if isinstance(value, datetime):
                local = value.astimezone(clock.VN_TZ)
                death_date, death_time = local.date(), local.time().replace(tzinfo=None)
            elif isinstance(value, date):
                death_date, death_time = value, None
            else:
                raise FhirRejection(f"date of death {value!r} must give at least the day", field=value_field)
            if death_date > self.today:
                raise FhirRejection(f"date of death {death_date.isoformat()} is in the future", field=value_field)
            if facts.birth_date is not None and death_date < facts.birth_date:
                raise FhirRejection("date of death is before the birth date", field=value_field)
            notices.append(DeathNotice(
                source_key=f"{key}#death-{len(notices) + 1}",
                deceased=facts,
                death_date=death_date,
                death_time=death_time,
                cause_icd10=self._cause(i),
                facility_id=facility[0],
                facility_name=facility[1],
                informant=self._informant(i),
            ))
        return notices

    def _observed_death(self, patient_index: int) -> tuple[Any, str]:
        """Return (date of death, its field) from an Observation LOINC 81956-5 about the patient, else (None, "")."""
        for i, res in enumerate(self.resources):
            if self._type_of(i) != "Observation" or res.status in codes.VOID_OBSERVATION_STATUSES:
                continue
            if not any(c.system == codes.LOINC and c.code == codes.LOINC_DEATH_DATE for c in _codings(res.code)):
                continue
            if res.subject is None or self._resolve_required(
                    res.subject, i, f"Bundle.entry[{i}].resource.subject") != patient_index:
                continue
            if res.valueDateTime is not None:
                return res.valueDateTime, f"Bundle.entry[{i}].resource.valueDateTime"
            if res.effectiveDateTime is not None:
                return res.effectiveDateTime, f"Bundle.entry[{i}].resource.effectiveDateTime"
            raise FhirRejection("an Observation LOINC 81956-5 (date of death) needs valueDateTime",
                                field=f"Bundle.entry[{i}].resource.valueDateTime")
        return None, ""

    def _informant(self, patient_index: int) -> Informant | None:
        """Return the first RelatedPerson of the deceased (son, daughter, spouse...), with its relationship."""
        for i, res in enumerate(self.resources):
            if self._type_of(i) != "RelatedPerson" or res.patient is None:
                continue
            if self._resolve_required(res.patient, i, f"Bundle.entry[{i}].resource.patient") != patient_index:
                continue
            relationship = next((c.code for concept in res.relationship or [] for c in concept.coding or []
                                 if c.system in (codes.V3_ROLE_CODE, codes.V2_0131) and c.code), None)
            return Informant(self._person(i, require_birth_date=False, allow_partial=True), relationship)
        return None

    def _cause(self, patient_index: int) -> str | None:
        observed: str | None = None
        condition: str | None = None
        for i, res in enumerate(self.resources):
            rtype = self._type_of(i)
            if rtype == "Observation" and observed is None and res.status not in codes.VOID_OBSERVATION_STATUSES:
                if not any(c.system == codes.LOINC and c.code == codes.LOINC_CAUSE_OF_DEATH for c in _codings(res.code)):
                    continue
                if res.subject is None or self._resolve_required(
                        res.subject, i, f"Bundle.entry[{i}].resource.subject") != patient_index:
                    continue
                concept = res.valueCodeableConcept
                observed = self._icd10(concept, f"Bundle.entry[{i}].resource.valueCodeableConcept")
            elif rtype == "Condition" and condition is None:
                status = {c.code for c in (res.verificationStatus.coding or [])} if res.verificationStatus else set()
                if status & codes.VOID_CONDITION_VERIFICATION:
                    continue
                if self._resolve_required(res.subject, i, f"Bundle.entry[{i}].resource.subject") != patient_index:
                    continue
                condition = self._icd10(res.code, f"Bundle.entry[{i}].resource.code")
        return observed or condition

    @staticmethod
    def _icd10(concept: Any, field: str) -> str | None:
        if concept is None:
            return None
        for k, coding in enumerate(concept.coding or []):
            if coding.system not in codes.ICD10_SYSTEMS:
                continue
            code = (coding.code or "").strip().upper()
            m = _ICD10_NODOT.match(code)
            if m:
                code = f"{m.group(1)}.{m.group(2)}"
            if not _ICD10.match(code):
                raise FhirRejection(f"{coding.code!r} is not an ICD-10 code (e.g. I21.9)", field=f"{field}.coding[{k}].code")
            return code
        return None

    # ---- people ------------------------------------------------------------------------
    def _person(self, index: int, *, require_birth_date: bool, allow_partial: bool,
                default_sex: str | None = None) -> PersonFacts:
        res = self.resources[index]
        base = f"Bundle.entry[{index}].resource"
        birth_date = self._birth_date(res.birthDate, f"{base}.birthDate", require_birth_date, allow_partial)
        gender = res.gender
        sex = {"male": "M", "female": "F"}.get(gender or "") if gender else default_sex
        cmnd = insurance = None
        ids: dict | None = None
        issues: list[tuple[str, str, str]] = []
        for j, ident in enumerate(res.identifier or []):
            field = f"{base}.identifier[{j}].value"
            value = (ident.value or "").strip()
            if ident.system == codes.NATIONAL_ID_SYSTEM:
                # never refused for its identifier: kept, classified and flagged (chudong.kit.pid)
                reading = read_identifier(value, birth_date, sex)
                if reading is None:
                    continue
                if ids is not None:
                    issues.append((field, "unverified", "một người có hai số định danh khác nhau: giữ số đầu / "
                                                        "two different personal ID numbers for one person: "
                                                        "the first is kept"))
                    continue
                ids = reading.fields()
                if reading.kind == "old_id":
                    cmnd = cmnd or reading.value
                if not reading.clean:
                    issues.append((field, reading.kind, f"{reading.reason_vi} / {reading.reason}"))
            elif ident.system == codes.CITIZEN_ID_SYSTEM:
                reading = read_identifier(value)
                digits = reading.value if reading is not None and reading.kind != "unverified" else None
                if digits is None or len(digits) not in (9, 12):
                    if value:
                        issues.append((field, "unverified", "số CMND không đọc được: chỉ giữ trong bản tin gốc / "
                                                            "not an old identity card number (9 or 12 digits): "
                                                            "kept in the notification as sent only"))
                    continue
                cmnd = cmnd or digits
            elif ident.system == codes.INSURANCE_SYSTEM:
                card = value.replace(" ", "").upper()
                if not card.isascii() or not card.isalnum() or not 10 <= len(card) <= 15:
                    raise FhirRejection(f"health insurance number {value!r} must be 10-15 letters and digits",
                                        field=field)
                insurance = insurance or card
        address_text, ward_code, ward_text = self._address(res, base)
        return PersonFacts(
            full_name=self._name(res, base),
            birth_date=birth_date,
            sex=sex,
            pid=ids["pid"] if ids else None,
            cmnd=cmnd,
            insurance_no=insurance,
            phone=self._phone(res, base),
            ward_code=ward_code,
            address_text=address_text,
            ids=ids,
            ward_text=ward_text,
            id_issues=tuple(issues),
        )

    def _birth_date(self, value: Any, field: str, required: bool, allow_partial: bool) -> date | None:
        if value is None:
            if required:
                raise FhirRejection("birthDate is missing", field=field)
            return None
        if isinstance(value, datetime):  # pragma: no cover - FHIR date has no time part
            value = value.date()
        if not isinstance(value, date):
            text = str(value)
            if not allow_partial:
                raise FhirRejection(f"birthDate {text!r} must be a full date (YYYY-MM-DD)", field=field)
            # Year or year-month only: the convention for older people is the first day.
            try:
                parts = [int(p) for p in text.split("-")]
                value = date(parts[0], parts[1] if len(parts) > 1 else 1, 1)
            except (ValueError, IndexError):
                raise FhirRejection(f"birthDate {text!r} is not a date", field=field) from None
        if value > self.today:
            raise FhirRejection(f"birthDate {value.isoformat()} is in the future", field=field)
        return value

    @staticmethod
    def _name(res: Any, base: str) -> str | None:
        names = list(res.name or [])
        if not names:
            return None
        ranked = sorted(range(len(names)), key=lambda j: {"official": 0, "usual": 1}.get(names[j].use or "", 2))
        for j in ranked:
            name = names[j]
            if name.use in ("old", "anonymous"):
                continue
            text = name.text or " ".join([*([name.family] if name.family else []), *(name.given or [])])
            out = _text(text, f"{base}.name[{j}]")
            if out:
                return out
        return None

    @staticmethod
    def _phone(res: Any, base: str) -> str | None:
        phones = [(j, t) for j, t in enumerate(res.telecom or []) if t.system in ("phone", "sms") and t.value]
        if not phones:
            return None
        phones.sort(key=lambda p: (p[1].rank or 1_000_000, p[1].use != "mobile", p[0]))
        j, contact = phones[0]
        try:
            return normalise_phone(contact.value)
        except InvalidPhone as exc:
            raise FhirRejection(str(exc), field=f"{base}.telecom[{j}].value") from None

    def _address(self, res: Any, base: str) -> tuple[str | None, int | None, str | None]:
        """Return (address text, ward code as sent, ward as sent in words) of the current home address."""
        addresses = list(res.address or [])
        if not addresses:
            return None, None, None
        current = [j for j, a in enumerate(addresses) if a.use != "old"] or list(range(len(addresses)))
        j = next((k for k in current if addresses[k].use == "home"), current[0])
        address = addresses[j]
        field = f"{base}.address[{j}]"
        text = address.text or ", ".join(p for p in [*(address.line or []), address.district, address.city,
                                                      address.state] if p)
        code, words = self._ward_code(address, field)
        return _text(text, f"{field}.text"), code, words

    @staticmethod
    def _ward_code(address: Any, field: str) -> tuple[int | None, str | None]:
        raw: str | None = None
        for ext in address.extension or []:
            if ext.url == codes.VN_ADMIN_ADDRESS_EXT:
                for sub in ext.extension or []:
                    if sub.url == "ward":
                        concept = sub.valueCodeableConcept
                        raw = (concept.coding[0].code if concept and concept.coding else None) or sub.valueCode or sub.valueString
            elif ext.url == codes.ADXP_PRECINCT_EXT:
                raw = raw or ext.valueString
        if raw is None:
            return None, None
        raw = raw.strip()
        if raw and not any(c.isdigit() for c in raw):  # the ward in words: resolved through the units table
            return None, _text(raw, f"{field}.extension")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 5 or int(raw) not in _ward_codes():
            raise FhirRejection(f"ward code {raw!r} is not a Vietnamese ward code (current or pre-2025)",
                                field=f"{field}.extension")
        return int(raw), None


@lru_cache(maxsize=1)
def _ward_codes() -> frozenset[int]:
    from vietnam_provinces import WardCode
    from vietnam_provinces.legacy import WardCode as LegacyWardCode

    return frozenset(int(c) for c in WardCode) | frozenset(int(c) for c in LegacyWardCode)


def _codings(concept: Any) -> list[Any]:
    """Return the codings of a CodeableConcept that may be absent (fhir.resources lets required ones be)."""
    return list(concept.coding or []) if concept is not None else []
