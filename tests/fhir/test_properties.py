"""Property tests: any valid Bundle reads back its facts; any damage is a FhirRejection."""

import copy
import datetime as dt
import json
import unicodedata
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chudong.fhir.builder import birth_bundle, death_bundle
from chudong.fhir.parser import BirthNotice, DeathNotice, FhirRejection, parse_bundle, parse_ndjson
from chudong.kit.pid import pid_century_sex_digit, province_codes

TODAY = dt.date(2026, 11, 2)
VN_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
word = st.text(VN_LETTERS, min_size=1, max_size=7).map(str.capitalize)
names = st.lists(word, min_size=2, max_size=4).map(" ".join)
normal_forms = st.sampled_from(["NFC", "NFD"])
mobile = st.builds(lambda p, n: f"0{p}{n:08d}", st.sampled_from(["3", "5", "7", "8", "9"]), st.integers(0, 99_999_999))
ward_codes = st.sampled_from([20194, 20305, 20014, 26734, 4])


@st.composite
def pids(draw: st.DrawFn, birth: dt.date, sex: str) -> str:
    province = draw(st.sampled_from(sorted(province_codes())))
    return f"{province:03d}{pid_century_sex_digit(birth.year, sex)}{birth.year % 100:02d}{draw(st.integers(0, 999_999)):06d}"


@st.composite
def birth_cases(draw: st.DrawFn) -> tuple[dict, dict[str, Any]]:
    twins = draw(st.sampled_from([1, 1, 1, 2, 3]))
    mother_birth = draw(st.dates(dt.date(1970, 1, 1), dt.date(2010, 12, 31)))
    form = draw(normal_forms)
    args: dict[str, Any] = dict(
        bundle_id=draw(st.from_regex(r"[A-Z0-9]{2,8}-[0-9]{1,6}", fullmatch=True)),
        child_birth_date=draw(st.dates(dt.date(2026, 1, 1), TODAY)),
        child_sex=draw(st.sampled_from(["M", "F", None])),
        child_name=draw(st.one_of(st.none(), names)),
        birth_time=draw(st.one_of(st.none(), st.times().map(lambda t: t.replace(microsecond=0)))),
        weight_g=draw(st.one_of(st.none(), st.integers(300, 7000))),
        mother_name=draw(names),
        mother_birth_date=draw(st.one_of(st.none(), st.just(mother_birth))),
        mother_phone=draw(st.one_of(st.none(), mobile)),
        mother_ward_code=draw(st.one_of(st.none(), ward_codes)),
        facility_id=draw(st.from_regex(r"[0-9]{5}", fullmatch=True)),
        facility_name=draw(names),
        twins=twins,
        bundle_type=draw(st.sampled_from(["message", "transaction", "collection", "document"])),
        mother_as=draw(st.sampled_from(["RelatedPerson", "Patient"])),
        references=draw(st.sampled_from(["urn:uuid", "relative", "absolute"])),
        weight_unit=draw(st.sampled_from(["g", "kg"])),
        mother_code=draw(st.sampled_from(["MTH", "NMTH"])),
    )
    args["mother_pid"] = draw(st.one_of(st.none(), pids(mother_birth, "F"))) if args["mother_birth_date"] else None
    sent = dict(args)
    for key in ("child_name", "mother_name", "facility_name"):
        if sent[key]:
            sent[key] = unicodedata.normalize(form, sent[key])
    return birth_bundle(**sent), args


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(birth_cases(), st.booleans())
def test_random_valid_birth_bundles_read_back(case, ascii_escapes):
    bundle, args = case
    notices = parse_bundle(json.dumps(bundle, ensure_ascii=ascii_escapes).encode(), today=TODAY)
    assert len(notices) == args["twins"]
    assert len({n.source_key for n in notices}) == args["twins"]
    for n, notice in enumerate(notices, start=1):
        assert isinstance(notice, BirthNotice)
        assert notice.child.birth_date == args["child_birth_date"]
        assert notice.child.sex == args["child_sex"]
        assert notice.child.full_name == args["child_name"]
        assert notice.birth_time == args["birth_time"]
        assert notice.weight_g == args["weight_g"]
        assert notice.multiple_birth == (n if args["twins"] > 1 else None)
        assert notice.mother.full_name == args["mother_name"]
        assert notice.mother.birth_date == args["mother_birth_date"]
        assert notice.mother.pid == args["mother_pid"]
        assert notice.mother.phone == (None if args["mother_phone"] is None else "+84" + args["mother_phone"][1:])
        assert notice.mother.ward_code == args["mother_ward_code"]
        assert notice.facility_id == args["facility_id"]
        assert notice.facility_name == args["facility_name"]


@settings(max_examples=60, deadline=None)
@given(
    birth=st.dates(dt.date(1920, 1, 1), dt.date(2026, 10, 1)),
    sex=st.sampled_from(["M", "F"]),
    name=names,
    with_pid=st.booleans(),
    days=st.integers(0, 30),
    cause=st.one_of(st.none(), st.from_regex(r"[A-Z][0-9]{2}\.[0-9]", fullmatch=True)),
    bundle_type=st.sampled_from(["message", "transaction", "collection", "document"]),
    references=st.sampled_from(["urn:uuid", "relative", "absolute"]),
    cause_as=st.sampled_from(["Condition", "Observation"]),
    data=st.data(),
)
def test_random_valid_death_bundles_read_back(birth, sex, name, with_pid, days, cause, bundle_type, references,
                                              cause_as, data):
    death_date = max(birth, TODAY - dt.timedelta(days=days))
    pid = data.draw(pids(birth, sex)) if with_pid else None
    bundle = death_bundle(bundle_id="D-1", name=name, birth_date=birth, sex=sex, pid=pid, death_date=death_date,
                          cause_icd10=cause, facility_id="48001", facility_name="BV", bundle_type=bundle_type,
                          references=references, cause_as=cause_as)
    [notice] = parse_bundle(json.dumps(bundle).encode(), today=TODAY)
    assert isinstance(notice, DeathNotice)
    assert (notice.deceased.full_name, notice.deceased.birth_date, notice.deceased.sex) == (name, birth, sex)
    assert notice.deceased.pid == pid
    assert notice.death_date == death_date
    assert notice.cause_icd10 == cause


# ---- damage ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**20) | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.sampled_from(["", "urn:uuid:x", "Patient/1", "2026-13-01", "male", "MTH", "seealso", "Bundle", "Patient"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8) | st.sampled_from(
        ["resourceType", "reference", "resource", "fullUrl", "id", "extension", "url", "valueString"]), inner, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _mutate(doc: Any, path: tuple, kind: str, value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if kind == "delete":
        del parent[last]
    elif kind == "replace":
        parent[last] = value
    elif kind == "duplicate" and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(parent[last]))
    elif kind == "insert" and isinstance(parent[last], dict):
        parent[last]["x" if not isinstance(value, dict) else "extension"] = value
    else:
        parent[last] = value
    return doc


base_bundles = st.sampled_from([
    birth_bundle(bundle_id="B1", child_birth_date=dt.date(2026, 10, 1), child_sex="F", child_name="An",
                 birth_time=dt.time(1, 2), weight_g=3000, mother_name="Bình", mother_birth_date=dt.date(1990, 1, 1),
                 mother_pid="049190001234", mother_phone="0905123456", mother_ward_code=20194, facility_id="1",
                 facility_name="BV", twins=2, mother_as="Patient"),
    birth_bundle(bundle_id="B2", child_birth_date=dt.date(2026, 10, 1), child_sex="M", mother_name="Bình",
                 facility_id="1", facility_name="BV", bundle_type="transaction", references="relative"),
    death_bundle(bundle_id="D1", name="Cường", birth_date=dt.date(1950, 1, 1), sex="M", pid="049050001234",
                 death_date=dt.date(2026, 10, 1), cause_icd10="I21.9", facility_id="1", facility_name="BV",
                 bundle_type="document"),
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base_bundles, st.data())
def test_mutated_bundles_parse_or_are_rejected(base, data):
    doc = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = data.draw(st.sampled_from(paths))
        kind = data.draw(st.sampled_from(["delete", "replace", "duplicate", "insert"]))
        if kind == "delete" and not path:
            continue
        doc = _mutate(doc, path, kind, data.draw(json_values))
    try:
        body = json.dumps(doc).encode()
    except (TypeError, ValueError):
        assume(False)
    try:
        notices = parse_bundle(body, today=TODAY)
    except FhirRejection as rejection:
        assert rejection.field and rejection.message
        return
    assert notices and all(isinstance(n, (BirthNotice, DeathNotice)) for n in notices)


@settings(max_examples=300, deadline=None)
@given(base_bundles, st.data())
def test_damaged_bytes_are_rejected_never_crash(base, data):
    body = bytearray(json.dumps(base, ensure_ascii=data.draw(st.booleans())).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(body) - 1)) if body else 0
        if op == "flip" and body:
            body[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del body[pos:pos + data.draw(st.integers(1, 50))]
        else:
            body[pos:pos] = data.draw(st.binary(max_size=8))
    try:
        parse_bundle(bytes(body), today=TODAY)
    except FhirRejection:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_garbage_is_rejected(body):
    try:
        parse_bundle(body, today=TODAY)
    except FhirRejection:
        return
    raise AssertionError("garbage accepted")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=60), max_size=5))
def test_ndjson_yields_a_result_per_non_blank_line(lines):
    out = list(parse_ndjson(lines))
    assert [n for n, _ in out] == [i for i, line in enumerate(lines, start=1) if line.strip()]
    assert all(isinstance(r, FhirRejection) for _, r in out)
