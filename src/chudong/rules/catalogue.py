"""The service catalogue as data: one YAML file per service, dated legal parameters, notice templates.

Layout of a catalogue folder (the built-in one is ``chudong/rules/catalogue/``; a
province adds its own through ``CHUDONG_CATALOGUE_DIR`` with the same layout):

- ``*.yaml`` — one proactive service per file (see docs/rules.md for every key);
  a service file may also carry a ``parameters:`` section;
- ``parameters/*.yaml`` — dated legal parameters shared by services, or new periods
  of existing ones (e.g. the 2027–2030 poverty lines);
- ``templates/*.yaml`` — notice templates, ``template_id: {vi: ..., en: ...}``.

Everything is validated at load: a problem is reported with the file, the key and
what is wrong, and nothing of a broken catalogue is used.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from chudong.kit.errors import ChudongError, NotFound

BUILTIN_DIR = Path(__file__).resolve().parent / "catalogue"

AGENCIES = (
    "justice", "police", "social_insurance", "education", "health", "culture_tourism",
    "agriculture_environment", "construction", "commune_committee", "electricity", "water",
)
STEPS = ("offered", "reminder", "supplement_requested", "approved", "rejected", "result_issued")
# A notice-only service has no dossier to approve: it is offered, reminded, then acted on or expired.
NOTICE_STEPS = ("offered", "reminder")
TRIGGER_TYPES = ("vital_event", "licence_expiry", "age_milestone", "school_cohort", "household_review", "building_plan",
                 "document_void")


class CatalogueError(ChudongError):
    """The catalogue has problems; each names the file, the key and what is wrong."""

    status_code = 500
    code = "catalogue_invalid"

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        lines = [f"{file}: {key}: {problem}" for file, key, problem in problems]
        super().__init__("invalid service catalogue:\n  " + "\n  ".join(lines))


class ParameterMissing(ChudongError):
    """No period of a legal parameter covers the date asked for."""

    status_code = 422
    code = "parameter_missing"


# ---------------------------------------------------------------- public definitions


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Names(_Frozen):
    """A name in Vietnamese and English."""

    vi: str
    en: str


class LegalBasis(_Frozen):
    """A legal document and article."""

    document: str
    article: str


class DataItem(_Frozen):
    """One dossier field and the registry field that supplies it ("citizen" = only the citizen knows)."""

    field: str
    source: str


class Deadline(_Frozen):
    """A legal period in working or calendar days with its reference."""

    working_days: int | None = None
    calendar_days: int | None = None
    reference: str


class PostCheck(_Frozen):
    """Whether fully verified dossiers may be approved at once, and the share audited afterwards."""

    allowed: bool = False
    audit_share: float = 0.0


class LinkedProcedure(_Frozen):
    """A procedure of another agency done from the same confirmation (liên thông)."""

    service_id: str
    names: Names
    agency: str
    settlement_working_days: int
    reference: str = ""


class ServiceDef(_Frozen):
    """One proactive service of the catalogue, as loaded from its YAML file."""

    id: str
    names: Names
    kind: Literal["dossier", "notice"]
    legal_basis: list[LegalBasis]
    lead_agency: str
    coordinating_agencies: list[str] = []
    trigger: dict[str, Any]
    notice_lead_days: list[int] = []
    data_items: list[DataItem] = []
    settlement: Deadline
    registration_deadline: Deadline | None = None
    supplement_window_working_days: int | None = None
    post_check: PostCheck = PostCheck()
    linked: list[LinkedProcedure] = []
    templates: dict[str, str]
    routing: Literal["residence_ward", "any_competent_unit"]
    source_file: str = ""


@dataclass(frozen=True)
class ParameterValue:
    """One dated value of a legal parameter (valid_to inclusive; None = open-ended)."""

    name: str
    value: Any
    valid_from: dt.date
    valid_to: dt.date | None
    reference: str
    status: str = "in_force"  # in_force / draft / unverified
    reference_vi: str = ""  # the reference as cited on a Vietnamese page (falls back to ``reference``)

    def cite(self, lang: str) -> str:
        """Return the legal reference in ``lang`` ("vi" or "en")."""
        return (self.reference_vi or self.reference) if lang == "vi" else self.reference

    def covers(self, day: dt.date) -> bool:
        """Return True when the value applies on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def as_reason(self) -> dict[str, Any]:
        """Return the value as recorded in a life event's reason."""
        return {
            "name": self.name, "value": self.value, "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "reference": self.reference, "reference_vi": self.reference_vi or self.reference, "status": self.status,
        }


@dataclass(frozen=True)
class Catalogue:
    """The loaded services, their dated parameters and the notice templates."""

    services: dict[str, ServiceDef]
    parameters: dict[str, tuple[ParameterValue, ...]]
    templates: dict[str, dict[str, str]]
    folders: tuple[str, ...] = field(default=())

    def service(self, service_id: str) -> ServiceDef:
        """Return the service ``service_id`` or raise NotFound."""
        try:
            return self.services[service_id]
        except KeyError:
            raise NotFound(f"no service {service_id!r} in the catalogue", field="service_id") from None

    def parameter(self, name: str, on: dt.date) -> ParameterValue:
        """Return the value of parameter ``name`` in force on ``on`` (the date decides)."""
        periods = self.parameters.get(name)
        if not periods:
            raise ParameterMissing(f"no legal parameter {name!r} in the catalogue", field=name)
        for p in periods:
            if p.covers(on):
                return p
        known = ", ".join(f"{p.valid_from}..{p.valid_to or ''}" for p in periods)
        raise ParameterMissing(
            f"legal parameter {name!r} has no value on {on.isoformat()} (periods: {known}); "
            "add a dated period to the catalogue", field=name,
        )

    def render(self, template_id: str, lang: str, values: dict[str, Any]) -> str:
        """Render notice template ``template_id`` in ``lang`` with ``values`` (unknown names stay visible)."""
        try:
            text = self.templates[template_id][lang]
        except KeyError:
            raise NotFound(f"no notice template {template_id!r} in {lang!r}") from None
        return text.format_map(_Keep(values))

    def action(self, template_id: str, lang: str, values: dict[str, Any]) -> tuple[str, str]:
        """Return a notice's action in ``lang`` (placeholders filled) and the name of its deadline placeholder."""
        template = self.templates.get(template_id) or {}
        return (template.get(f"action_{lang}", "").format_map(_Keep(values)), template.get("deadline", ""))


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# Steps that ask nothing of the citizen by a date: their notice declares ``deadline: null``.
NO_DEADLINE_STEPS = ("approved", "rejected", "result_issued")


def _notice_parts(texts: dict[str, Any]) -> dict[str, str]:
    """Return a notice template's action (per language) and deadline placeholder, as stored on the catalogue."""
    action = texts.get("action") if isinstance(texts.get("action"), dict) else {}
    parts = {f"action_{lang}": action[lang] for lang in ("vi", "en") if isinstance(action.get(lang), str)}
    if "deadline" in texts:
        parts["deadline"] = str(texts["deadline"] or "")
    return parts


def _notice_problems(step: str, tid: str, template: dict[str, str], dated: bool = True) -> list[str]:
    """Why a service step's notice template cannot be acted on: no action, or no deadline declared.

    ``dated`` is false for a service whose steps ask nothing by a date (a document the law already made
    void: there is no date left to act by), so its templates may declare ``deadline: null``.
    """
    why = [f"notice template {tid!r} needs action.{lang} (what the citizen is asked to do)"
           for lang in ("vi", "en") if not template.get(f"action_{lang}", "").strip()]
    if "deadline" not in template:
        why.append(f"notice template {tid!r} needs 'deadline': the placeholder of the date to act by, or null")
    elif not template["deadline"] and step not in NO_DEADLINE_STEPS and dated:
        why.append(f"notice template {tid!r} is used for step {step!r}, which has a deadline; name its placeholder")
    return why


# ---------------------------------------------------------------- trigger schemas


class _ExpiryTrigger(_Frozen):
    type: Literal["licence_expiry"]
    licence_kind: str
    validity_years: str | None = None  # parameter name: validity when expires_on is missing
    validity_years_by_class: dict[str, str] = {}
    classes_without_expiry: str | None = None  # parameter name (list of classes)
    # parameter name: class → term (see Term) in force on the issue date; the classes it lists
    # are the only ones accepted for licences issued in its period
    terms_by_class: str | None = None
    renewal_class: str | None = None  # parameter name: old class → {to, vi, en} on renewal
    child_age_below: str | None = None  # parameter: holder age at issue under which child validity applies
    child_validity_years: str | None = None


class Term(_Frozen):
    """The term of a licence class: ``years`` after issue, or until the holder reaches ``until_age``.

    With ``until_age`` (by sex, ``F``/``M``), a holder older than ``over_age_at_issue`` on the
    issue date gets ``years`` instead (the old car class B1).
    """

    years: int | None = None
    until_age: dict[Literal["F", "M"], int] | None = None
    over_age_at_issue: dict[Literal["F", "M"], int] | None = None


def parse_term(value: Any) -> Term | None:
    """Return the term of a class table entry (None = the class has no expiry); raise ValueError if malformed."""
    if value == "none":
        return None
    if not isinstance(value, dict):
        raise ValueError(f"a term is 'none' or a mapping like {{years: 10}}, not {value!r}")
    term = Term.model_validate(value)
    if term.years is None and term.until_age is None:
        raise ValueError("a term needs 'years' or 'until_age'")
    if term.until_age is not None and (term.over_age_at_issue is None) != (term.years is None):
        raise ValueError("'over_age_at_issue' and 'years' go together with 'until_age'")
    return term


def classes_on(catalogue: Catalogue, name: str, issued_on: dt.date) -> ParameterValue:
    """Return the class table ``name`` for a licence issued on ``issued_on``.

    A licence issued before the first period is checked against the earliest table.
    """
    periods = catalogue.parameters.get(name) or ()
    for p in periods:
        if p.covers(issued_on):
            return p
    if periods and issued_on < periods[0].valid_from:
        return periods[0]
    return catalogue.parameter(name, issued_on)  # raises ParameterMissing with the periods


class _MilestoneTrigger(_Frozen):
    type: Literal["age_milestone"]
    licence_kind: str
    milestone_ages: str  # parameter name (list of ages)
    grace_years: str  # parameter name: a card issued within this many years before stays valid


class _Cohort(_Frozen):
    grade: int
    age: str  # parameter name: age reached in the admission calendar year
    school_level: str


class _CohortTrigger(_Frozen):
    type: Literal["school_cohort"]
    cohorts: list[_Cohort]
    window_opens: str  # parameter name: "MM-DD" on which the admission window opens
    window_closes: str


class _VitalTrigger(_Frozen):
    type: Literal["vital_event"]
    event_kind: Literal["birth", "death"]


class _ReviewTrigger(_Frozen):
    type: Literal["household_review"]
    income_line: dict[str, str]  # area type → parameter name
    deprivation_threshold: str
    indicators: str  # parameter name (list of the 12 indicator keys)


class _PlanTrigger(_Frozen):
    type: Literal["building_plan"]


class _VoidTrigger(_Frozen):
    """Holders of an old document that a law made void, with no replacement document on record."""

    type: Literal["document_void"]
    licence_kind: str  # the old document (e.g. people_id_card)
    replaced_by: str  # the document that replaces it (e.g. id_card)
    valid_until: str  # parameter name: the last day the old document is valid ("YYYY-MM-DD")


_TRIGGER_MODELS: dict[str, type[_Frozen]] = {
    "licence_expiry": _ExpiryTrigger, "age_milestone": _MilestoneTrigger, "school_cohort": _CohortTrigger,
    "vital_event": _VitalTrigger, "household_review": _ReviewTrigger, "building_plan": _PlanTrigger,
    "document_void": _VoidTrigger,
}


def parse_trigger(trigger: dict[str, Any]) -> Any:
    """Return the typed form of a service's trigger (validated at load, so this does not fail)."""
    return _TRIGGER_MODELS[trigger["type"]].model_validate(trigger)


def _parameter_refs(trigger: _Frozen) -> list[tuple[str, str]]:
    """Return (key, parameter name) for every parameter a trigger refers to."""
    refs: list[tuple[str, str]] = []
    for key, value in trigger:
        if key in ("type", "licence_kind", "event_kind", "replaced_by"):
            continue
        if isinstance(value, str):
            refs.append((key, value))
        elif isinstance(value, dict):
            refs.extend((f"{key}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, _Cohort):
                    refs.append((f"{key}[{i}].age", item.age))
    return refs


class _PeriodIn(_Frozen):
    value: Any
    valid_from: dt.date
    valid_to: dt.date | None = None
    reference: str
    reference_vi: str = ""
    status: Literal["in_force", "draft", "unverified"] = "in_force"

    @field_validator("reference")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a legal reference is required")
        return v


# ---------------------------------------------------------------- loading


def _registry_fields() -> dict[str, set[str]]:
    from chudong.registry import models as reg

    tables = {
        "person": reg.Person, "household": reg.Household, "licence": reg.Licence, "school": reg.School,
        "vital_event": reg.VitalEvent, "building_plan": reg.BuildingPlan, "utility_customer": reg.UtilityCustomer,
    }
    return {name: {c.key for c in model.__table__.columns} for name, model in tables.items()}


def check_source(source: str, fields: dict[str, set[str]]) -> str | None:
    """Return why a data item's ``source`` is not a registry field, or None when it is."""
    if source == "citizen":
        return None
    table, _, rest = source.partition(".")
    if table not in fields:
        return f"unknown registry table {table!r} in {source!r} (known: {', '.join(sorted(fields))}, or 'citizen')"
    column, _, sub = rest.partition(".")
    if column not in fields[table]:
        return f"unknown registry field {source!r}: {table} has no column {column!r}"
    if sub and column not in ("details", "deprivations", "normalised"):
        return f"unknown registry field {source!r}: {table}.{column} has no sub-fields"
    return None


def _fmt_loc(prefix: str, loc: tuple[Any, ...]) -> str:
    key = prefix
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(file)"


def _read_yaml(path: Path, problems: list[tuple[str, str, str]]) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        problems.append((str(path), where, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    if not isinstance(data, dict):
        problems.append((str(path), "(file)", "must be a mapping of keys"))
        return None
    return data


def _load_parameters(
    path: Path, raw: Any, prefix: str, params: dict[str, list[tuple[ParameterValue, str, str]]],
    problems: list[tuple[str, str, str]],
) -> None:
    if not isinstance(raw, dict):
        problems.append((str(path), prefix, "must map parameter names to lists of dated periods"))
        return
    for name, periods in raw.items():
        if not isinstance(periods, list) or not periods:
            problems.append((str(path), f"{prefix}.{name}", "must be a non-empty list of periods "
                             "({value, valid_from, valid_to, reference})"))
            continue
        for i, period in enumerate(periods):
            key = f"{prefix}.{name}[{i}]"
            try:
                p = _PeriodIn.model_validate(period)
            except ValidationError as exc:
                for e in exc.errors():
                    problems.append((str(path), _fmt_loc(key, e["loc"]), e["msg"]))
                continue
            if p.valid_to is not None and p.valid_to < p.valid_from:
                problems.append((str(path), key, f"valid_to {p.valid_to} is before valid_from {p.valid_from}"))
                continue
            params.setdefault(str(name), []).append(
                (ParameterValue(str(name), p.value, p.valid_from, p.valid_to, p.reference, p.status, p.reference_vi),
                 str(path), key)
            )


def _check_overlaps(
    params: dict[str, list[tuple[ParameterValue, str, str]]], problems: list[tuple[str, str, str]],
) -> dict[str, tuple[ParameterValue, ...]]:
    out: dict[str, tuple[ParameterValue, ...]] = {}
    for name, periods in params.items():
        ordered = sorted(periods, key=lambda t: t[0].valid_from)
        for (a, _fa, ka), (b, fb, kb) in zip(ordered, ordered[1:]):
            if a.valid_to is None or a.valid_to >= b.valid_from:
                problems.append((fb, kb, f"period {b.valid_from}..{b.valid_to or ''} overlaps "
                                 f"{a.valid_from}..{a.valid_to or ''} of {ka} ({_fa})"))
        out[name] = tuple(p for p, _f, _k in ordered)
    return out


def load_catalogue(*folders: Path) -> Catalogue:
    """Load and validate the catalogue folders (later folders add services and parameter periods)."""
    problems: list[tuple[str, str, str]] = []
    params: dict[str, list[tuple[ParameterValue, str, str]]] = {}
    templates: dict[str, dict[str, str]] = {}
    raw_services: list[tuple[Path, dict[str, Any]]] = []
    for folder in folders:
        if not folder.is_dir():
            problems.append((str(folder), "(folder)", "catalogue folder does not exist"))
            continue
        for path in sorted((folder / "templates").glob("*.yaml")):
            data = _read_yaml(path, problems)
            for tid, texts in (data or {}).items():
                if not isinstance(texts, dict) or not {"vi", "en"} <= set(texts) or not all(
                    isinstance(texts[lang], str) for lang in ("vi", "en")
                ):
                    problems.append((str(path), str(tid), "a template needs a 'vi' and an 'en' text"))
                    continue
                if tid in templates:
                    problems.append((str(path), str(tid), "template id defined twice"))
                templates[str(tid)] = {"vi": texts["vi"], "en": texts["en"], **_notice_parts(texts)}
        for path in sorted((folder / "parameters").glob("*.yaml")):
            data = _read_yaml(path, problems)
            if data is not None:
                _load_parameters(path, data.get("parameters", data), "parameters", params, problems)
        for path in sorted(folder.glob("*.yaml")):
            data = _read_yaml(path, problems)
            if data is None:
                continue
            if "parameters" in data:
                _load_parameters(path, data.pop("parameters"), "parameters", params, problems)
            raw_services.append((path, data))
    parameters = _check_overlaps(params, problems)
    fields = _registry_fields()
    services: dict[str, ServiceDef] = {}
    for path, data in raw_services:
        svc = _validate_service(path, data, parameters, templates, fields, problems)
        if svc is None:
            continue
        if svc.id in services:
            problems.append((str(path), "id", f"service {svc.id!r} is already defined in {services[svc.id].source_file}"))
            continue
        services[svc.id] = svc
    for svc in services.values():
        for i, link in enumerate(svc.linked):
            if link.agency not in AGENCIES:
                problems.append((svc.source_file, f"linked[{i}].agency", f"unknown agency {link.agency!r}"))
    if problems:
        raise CatalogueError(problems)
    return Catalogue(services, parameters, templates, tuple(str(f) for f in folders))


def _validate_service(
    path: Path, data: dict[str, Any], parameters: dict[str, tuple[ParameterValue, ...]],
    templates: dict[str, dict[str, str]], fields: dict[str, set[str]], problems: list[tuple[str, str, str]],
) -> ServiceDef | None:
    file = str(path)
    try:
        svc = ServiceDef.model_validate({**data, "source_file": file})
    except ValidationError as exc:
        for e in exc.errors():
            problems.append((file, _fmt_loc("", e["loc"]), e["msg"]))
        return None
    before = len(problems)
    if path.stem != svc.id:
        problems.append((file, "id", f"id {svc.id!r} must match the file name {path.stem!r}"))
    if svc.lead_agency not in AGENCIES:
        problems.append((file, "lead_agency", f"unknown agency {svc.lead_agency!r} (known: {', '.join(AGENCIES)})"))
    for i, agency in enumerate(svc.coordinating_agencies):
        if agency not in AGENCIES:
            problems.append((file, f"coordinating_agencies[{i}]", f"unknown agency {agency!r}"))
    if svc.settlement.working_days is None and svc.settlement.calendar_days is None:
        problems.append((file, "settlement", "give working_days or calendar_days"))
    for i, lead in enumerate(svc.notice_lead_days):
        if lead < 0:
            problems.append((file, f"notice_lead_days[{i}]", "a lead time cannot be negative"))
    for i, item in enumerate(svc.data_items):
        why = check_source(item.source, fields)
        if why:
            problems.append((file, f"data_items[{i}].source", why))
    required = NOTICE_STEPS if svc.kind == "notice" else STEPS
    for step in required:
        if step not in svc.templates:
            problems.append((file, f"templates.{step}", f"missing template for step {step!r}"))
    for step, tid in svc.templates.items():
        if step not in STEPS:
            problems.append((file, f"templates.{step}", f"unknown step (known: {', '.join(STEPS)})"))
        elif tid not in templates:
            problems.append((file, f"templates.{step}", f"missing template {tid!r} (not in any templates/*.yaml)"))
        else:
            dated = svc.trigger.get("type") != "document_void"
            problems.extend((file, f"templates.{step}", why)
                            for why in _notice_problems(step, tid, templates[tid], dated))
    ttype = svc.trigger.get("type")
    if ttype not in _TRIGGER_MODELS:
        problems.append((file, "trigger.type", f"unknown trigger type {ttype!r} (known: {', '.join(TRIGGER_TYPES)})"))
    else:
        try:
            trig = _TRIGGER_MODELS[ttype].model_validate(svc.trigger)
        except ValidationError as exc:
            for e in exc.errors():
                problems.append((file, _fmt_loc("trigger", e["loc"]), e["msg"]))
        else:
            for key, pname in _parameter_refs(trig):
                if pname not in parameters:
                    problems.append((file, f"trigger.{key}", f"unknown parameter {pname!r}"))
            if ttype == "licence_expiry":
                _check_expiry_trigger(file, trig, parameters, problems)
            if ttype in ("licence_expiry", "age_milestone", "school_cohort", "document_void") and not svc.notice_lead_days:
                problems.append((file, "notice_lead_days", "a date-window trigger needs at least one lead time"))
    return svc if len(problems) == before else None


def _check_expiry_trigger(
    file: str, trig: Any, parameters: dict[str, tuple[ParameterValue, ...]], problems: list[tuple[str, str, str]],
) -> None:
    if trig.validity_years is None and trig.terms_by_class is None:
        problems.append((file, "trigger", "give validity_years or terms_by_class"))
    for p in parameters.get(trig.terms_by_class or "", ()):
        if not isinstance(p.value, dict) or not p.value:
            problems.append((file, "trigger.terms_by_class", f"{p.name} ({p.valid_from}): must map classes to terms"))
            continue
        for cls, value in p.value.items():
            try:
                parse_term(value)
            except (ValueError, ValidationError) as exc:
                problems.append((file, "trigger.terms_by_class", f"{p.name} ({p.valid_from}) class {cls}: {exc}"))
    for p in parameters.get(trig.renewal_class or "", ()):
        if not isinstance(p.value, dict) or not all(isinstance(v, dict) and "to" in v for v in p.value.values()):
            problems.append((file, "trigger.renewal_class", f"{p.name} ({p.valid_from}): must map classes to {{to, vi, en}}"))


def catalogue_folders() -> list[Path]:
    """Return the built-in catalogue folder plus ``CHUDONG_CATALOGUE_DIR`` when set."""
    folders = [BUILTIN_DIR]
    extra = os.environ.get("CHUDONG_CATALOGUE_DIR", "").strip()
    if extra:
        folders.append(Path(extra))
    return folders


@lru_cache(maxsize=1)
def _cached(folders: tuple[Path, ...]) -> Catalogue:
    return load_catalogue(*folders)


def get_catalogue() -> Catalogue:
    """Return the process-wide catalogue (built-in + CHUDONG_CATALOGUE_DIR), loaded once."""
    return _cached(tuple(catalogue_folders()))


def clear_cache() -> None:
    """Forget the loaded catalogue (tests, or after editing the folder)."""
    _cached.cache_clear()
