"""The DB-free linkage core: agency records × person registry → one decision per record.

Everything heavy runs inside DuckDB (multi-threaded SQL, no per-row Python):

1. Both sides get the same derived columns: the canonical name key (the SQL twin of
   ``chudong.kit.names.linkage_key``), its sorted words, family / given / middle names,
   birth-date parts and the date with day and month swapped.
2. **ID path**: a record whose 12-digit personal ID equals a person's is linked with
   probability 1.0 — but only if name and birth date are plausible for that person; a
   mistyped ID that happens to hit somebody else falls through to step 3.
3. **Probabilistic path**: Splink (DuckDB backend, ``link_only``) with blocking rules
   and fixed m/u parameters (see ``comparisons``); for each record the best candidate
   decides: ≥ ``auto_threshold`` → ``auto``; ≥ ``review_threshold`` → ``review``;
   otherwise ``none``. The pairwise odds of a record's candidates are normalised into
   one distribution (at most one of them is the holder, or none is), so a second
   plausible person lowers the best one's probability: two look-alikes go to a human.

Parameters are fixed priors rather than trained per call, so a call on five rows and a
call on a million give the same probability for the same pair, and runs are exactly
reproducible. They were set from population facts (≈ 29,000 distinct birth dates, ≈ 100
wards per province, name frequencies) and the agency noise listed in the brief, and
checked against the synthetic ground truth of ``bench/linkage.py``.
"""

from __future__ import annotations

import logging
from typing import Literal

import duckdb
import pandas as pd

from chudong.kit.dates import PLACEHOLDER_BEFORE, parse_dates
from chudong.kit.names import FAMILY_NAMES, MOJIBAKE_HINT, PLACEHOLDER_PATTERN, REGIONAL_VARIANTS, SURNAMES, repair_name
from chudong.kit.pid import EXACT_CLASSES, read_identifier
from chudong.kit.phones import InvalidPhone, normalise_phone

Decision = Literal["pid", "auto", "review", "none"]

AUTO_LINK_THRESHOLD = 0.95
"""Probability from which a record is linked without a human (precision ≥ 0.999 on the bench)."""
REVIEW_THRESHOLD = 0.50
"""Probability from which a candidate goes to the review queue instead of being dropped."""
NOMINAL_REGISTRY_SIZE = 1_000_000
"""Floor of the registry size used for the prior, so tiny registries do not inflate it."""
MATCH_SHARE = 0.8
"""Expected share of an agency's records whose holder is in the registry (the prior)."""
UNRECOGNISABLE_SHARE = 0.02
"""Share of registered holders whose record is too garbled to reach their candidate pair."""

RECORD_COLUMNS = ("record_id", "full_name", "birth_date", "sex", "ward_code", "phone", "pid")
PERSON_COLUMNS = ("person_id", "full_name", "birth_date", "sex", "ward_code", "phone", "pid")
OPTIONAL_COLUMNS = ("pid_class", "old_id")
"""Optional on both sides. Records: ``pid_class`` (``chudong.kit.pid`` classes; a ``pid`` without
one is read as sent with ``read_identifier``) and ``old_id`` (an old CMND number).
Persons: ``old_id``, the old CMND numbers the registry holds."""
RESULT_COLUMNS = ("record_id", "person_id", "probability", "decision")

_log = logging.getLogger(__name__)


def _sql_str_list(words: frozenset[str]) -> str:
    return "[" + ", ".join(f"'{w}'" for w in sorted(words)) + "]"


_REGIONAL_SQL = " ".join(
    f"WHEN starts_with(k || ' ', '{a} ') THEN '{b}' || k[{len(a) + 1}:]" for a, b in sorted(REGIONAL_VARIANTS.items())
)
# The SQL twin of kit.names.match_key + family_first; tests/linkage checks they agree.
_MACROS = rf"""
CREATE OR REPLACE MACRO lk_match(s) AS trim(regexp_replace(
  replace(replace(replace(replace(regexp_replace(replace(regexp_replace(
  regexp_replace(regexp_replace(regexp_replace(
    trim(regexp_replace(regexp_replace(
      lower(strip_accents(replace(replace(replace(replace(nfc_normalize(coalesce(s, '')), 'đ', 'd'), 'Đ', 'D'), 'ð', 'd'), 'Ð', 'D'))),
      '[0-9]', '', 'g'), '[^a-z]+', ' ', 'g')),
    '\bdd', 'd', 'g'), '[fjz]', '', 'g'), '\btr', 'T', 'g'),
  '([a-z])[sxr]+', '\1', 'g'), 'T', 'tr'),
  '([uoa])w', '\1', 'g'), 'w', 'u'), 'aa', 'a'), 'ee', 'e'), 'oo', 'o'),
  '\s+', ' ', 'g'));
CREATE OR REPLACE MACRO lk_family_first(k) AS (
  WITH t AS (SELECT string_split(k, ' ') AS w)
  SELECT CASE
    WHEN k = '' THEN k
    WHEN list_contains({_sql_str_list(FAMILY_NAMES)}, w[1]) THEN k
    WHEN coalesce(list_position(list_transform(w, lambda x: list_contains({_sql_str_list(SURNAMES)}, x)), true), 0) = 0 THEN k
    ELSE array_to_string(list_concat(
      w[list_position(list_transform(w, lambda x: list_contains({_sql_str_list(SURNAMES)}, x)), true):],
      w[:list_position(list_transform(w, lambda x: list_contains({_sql_str_list(SURNAMES)}, x)), true) - 1]), ' ')
  END FROM t);
CREATE OR REPLACE MACRO lk_regional(k) AS CASE {_REGIONAL_SQL} ELSE k END;
"""

_PREPARE = """
CREATE OR REPLACE TABLE {out} AS
WITH k AS (
  SELECT CAST({id_col} AS BIGINT) AS unique_id,
         CASE WHEN NOT regexp_matches(lk_match(full_name), '{placeholder}')
              THEN lk_family_first(lk_match(full_name)) END AS nk,
         -- the given name as written, when written with diacritics (twins Hùng / Hưng)
         CASE WHEN strip_accents(lower(list_last(string_split(trim(nfc_normalize(coalesce(full_name, ''))), ' '))))
                   <> lower(list_last(string_split(trim(nfc_normalize(coalesce(full_name, ''))), ' ')))
              THEN lower(list_last(string_split(trim(nfc_normalize(full_name)), ' '))) END AS giva,
         TRY_CAST(birth_date AS DATE) AS bdate,
         CASE WHEN lower(strip_accents(trim(CAST(sex AS VARCHAR)))) IN ('m', 'nam', 'male') THEN 'M'
              WHEN lower(strip_accents(trim(CAST(sex AS VARCHAR)))) IN ('f', 'nu', 'female') THEN 'F' END AS sex,
         TRY_CAST(ward_code AS INTEGER) AS ward,
         NULLIF(trim(CAST(phone AS VARCHAR)), '') AS phone,
         CASE WHEN regexp_full_match(coalesce(CAST(pid AS VARCHAR), ''), '[0-9]{{12}}') THEN CAST(pid AS VARCHAR) END AS pid,
         NULLIF(trim(CAST(old_id AS VARCHAR)), '') AS oid
  FROM {src}
), w AS (SELECT *, string_split(coalesce(nk, ''), ' ') AS words FROM k)
SELECT unique_id,
       NULLIF(nk, '') AS nk,
       NULLIF(lk_regional(nk), '') AS nkr,
       giva,
       NULLIF(array_to_string(list_sort(words), ' '), '') AS nks,
       NULLIF(words[1], '') AS fam,
       NULLIF(words[-1], '') AS giv,
       CASE WHEN len(words) > 2 THEN array_to_string(words[2:-2], ' ') ELSE '' END AS mid,
       bdate,
       year(bdate) AS byear,
       CASE WHEN day(bdate) <= 12 AND day(bdate) <> month(bdate)
            THEN make_date(year(bdate), day(bdate), month(bdate)) END AS bswap,
       (month(bdate) = 1 AND day(bdate) = 1) AS b0101,
       sex, ward, phone, pid, oid,
       CASE WHEN pid IS NOT NULL THEN substr(pid, 1, 9) END AS pid_head,
       CASE WHEN pid IS NOT NULL THEN substr(pid, 7, 6) END AS pid_tail
FROM w
"""

# Splink comparisons: (label, SQL condition, m, u). Null levels come first.
# Parameters are fixed Bayes factors m/u (m and u are both scaled by _SHARE where a level
# is split into frequency bands, which leaves the factor unchanged). Agreement on a value
# says as much as the value is rare in the registry (term frequency): agreeing on
# "Nguyễn Văn Hùng" says far less than agreeing on "Lương Diệu Xoan". The registry-side
# frequency columns (``*f_r``, count over at least NOMINAL_REGISTRY_SIZE persons) pick the
# band; the Bayes factor of a band is P(level | match) / (typical frequency of the band).
_SHARE = 0.1
_FREQ_BANDS = (3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)


def _banded(label: str, condition: str, freq_col: str, m_level: float) -> list[tuple[str, str, float, float]]:
    """Split one agreement level into frequency bands of the registry-side value."""
    out = []
    for upper in _FREQ_BANDS:
        typical = upper / 1.8  # about the geometric middle of the band
        out.append((f"{label}, frequency ≤ {upper:g}", f"({condition}) AND {freq_col}_r <= {upper}",
                    m_level * _SHARE, typical * _SHARE))
    out.append((f"{label}, frequency > {_FREQ_BANDS[-1]:g}", condition, m_level * _SHARE, 0.08 * _SHARE))
    return out


# The record's form of the name is observed on both hypotheses, so a noisy form weighs
# about as much as an exact one (Bayes factor ≈ 1 / frequency): a record saying "Nguyễn
# Sơn" is as likely a typist's "Nguyễn Văn Sơn" as any other Nguyễn ... Sơn.
_NAME_LEVELS = [
    *_banded("exact name", "nk_l = nk_r", "nkf", 0.9),
    *_banded("same words reordered", "nks_l = nks_r", "nksf", 0.5),
    *_banded("middle name missing or cut to an initial on one side",
             "fam_l = fam_r AND giv_l = giv_r AND (mid_l = '' OR mid_r = ''"
             " OR (length(mid_l) = 1 AND starts_with(mid_r, mid_l)) OR (length(mid_r) = 1 AND starts_with(mid_l, mid_r)))",
             "fgf", 0.5),
    # Hoàng / Huỳnh, Vũ / Võ: the same family written the southern way; rarer than exact
    *_banded("regional spelling of the family name", "nkr_l = nkr_r", "nkf", 0.04),
    ("close spelling", "jaro_winkler_similarity(nk_l, nk_r) >= 0.94", 0.05, 3e-3),
    ("similar spelling or same family and given name",
     "jaro_winkler_similarity(nk_l, nk_r) >= 0.85 OR (fam_l = fam_r AND giv_l = giv_r)", 0.02, 3e-2),
    ("different name", "ELSE", 0.01, 0.9665),
]
# Dates: about 35,000 distinct birth dates; a registry date shared by many (01-01 of the
# years whose records lost day and month) says less.
_DATE_LEVELS = [
    ("exact date", "bdate_l = bdate_r AND bdf_r <= 6e-5", 0.9 * _SHARE, 3e-5 * _SHARE),
    ("exact common date", "bdate_l = bdate_r AND bdf_r <= 3e-4", 0.9 * _SHARE, 1.5e-4 * _SHARE),
    ("exact very common date", "bdate_l = bdate_r", 0.9 * _SHARE, 1e-3 * _SHARE),
    ("day and month swapped", "bswap_l = bdate_r", 0.04, 4e-5),
    # a 01-01 date is often "year only": then only the year is compared
    ("same year, one side a 01-01 placeholder",
     f"byear_l = byear_r AND byear_l < {PLACEHOLDER_BEFORE} AND (b0101_l OR b0101_r)", 0.05, 6e-4),
    ("same year", "byear_l = byear_r", 0.02, 1.2e-2),
    ("different year", "ELSE", 0.01, 0.98736),
]
_SEX_LEVELS = [("same sex", "sex_l = sex_r", 0.99, 0.5), ("different sex", "ELSE", 0.01, 0.5)]
_WARD_LEVELS = [("same ward", "ward_l = ward_r", 0.88, 0.015), ("different ward", "ELSE", 0.12, 0.985)]
_PHONE_LEVELS = [("same phone", "phone_l = phone_r", 0.8, 1e-5), ("different phone", "ELSE", 0.2, 0.99999)]
# Identifiers by class (chudong.kit.pid): only valid / restored IDs are ``pid``; an ID that
# disagrees with the record's birth year or sex (a parent's on a child's record) is not the
# holder's and says nothing either way, so it is left out; an old CMND number is compared
# with the registry's old numbers. A different, well-formed ID that is not one typo away is
# near-conclusive: true matches carry one only after two slips, or a wrong copy.
_PID_LEVELS = [
    ("same ID", "pid_l = pid_r", 0.85, 1e-6),
    ("same old ID (CMND)", "oid_l = oid_r", 0.85, 1e-6),
    ("ID one typo apart", "damerau_levenshtein(pid_l, pid_r) <= 1", 0.13, 1e-5),
    ("different ID", "pid_l IS NOT NULL AND pid_r IS NOT NULL", 2e-6, 0.99998),
    # a person may have had more than one old card: a different old number weighs little
    ("different old ID", "ELSE", 0.3, 0.99998),
]
_PID_NULL = "(pid_l IS NULL OR pid_r IS NULL) AND (oid_l IS NULL OR oid_r IS NULL)"

_BLOCKING_RULES = [
    "l.nks = r.nks AND l.byear = r.byear",
    "l.fam = r.fam AND l.giv = r.giv AND l.bdate = r.bdate",
    "l.phone = r.phone",
    "l.bdate = r.bdate AND l.ward = r.ward",
    "l.bdate = r.bdate AND l.giv = r.giv",
    "l.giv = r.giv AND l.byear = r.byear AND l.ward = r.ward",
    "l.bswap = r.bdate AND l.fam = r.fam",
    "l.pid = r.pid",
    "l.oid = r.oid",
    "l.nkr = r.nkr AND l.byear = r.byear",
    "l.nk = r.nk AND l.ward = r.ward",
    "l.fam = r.fam AND l.bdate = r.bdate AND l.sex = r.sex",
    # a mistyped ID keeps either its first nine or its last six digits
    "l.pid_head = r.pid_head",
    "l.pid_tail = r.pid_tail",
]


def _comparison(name: str, null_sql: str, levels: list[tuple[str, str, float, float]]) -> dict:
    out: list[dict] = [{"sql_condition": null_sql, "label_for_charts": f"{name} missing", "is_null_level": True}]
    for label, sql, m, u in levels:
        out.append({"sql_condition": sql, "label_for_charts": label, "m_probability": m, "u_probability": u})
    return {"output_column_name": name, "comparison_levels": out}


def _null(col: str) -> str:
    return f"{col}_l IS NULL OR {col}_r IS NULL"


def splink_settings(prior: float) -> dict:
    """Return the Splink settings (comparisons with fixed m/u, blocking rules, prior)."""
    return {
        "link_type": "link_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": prior,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "comparisons": [
            _comparison("name", _null("nk"), _NAME_LEVELS),
            _comparison("birth_date", _null("bdate"), _DATE_LEVELS),
            _comparison("sex", _null("sex"), _SEX_LEVELS),
            _comparison("ward", _null("ward"), _WARD_LEVELS),
            _comparison("phone", _null("phone"), _PHONE_LEVELS),
            _comparison("pid", _PID_NULL, _PID_LEVELS),
        ],
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in _BLOCKING_RULES
        ],
    }


# The candidate has a twin and the record names another given name (or none, a newborn):
# it may be the twin's record, which no score may decide.
_TWIN_OTHER = """coalesce(p.twin AND (r.giv IS DISTINCT FROM p.giv
                        OR (r.giva IS NOT NULL AND p.giva IS NOT NULL AND r.giva <> p.giva)), false)"""
# Evidence beyond name, birth date and sex that agrees / disagrees with the candidate.
_OTHER_AGREES = """coalesce(r.ward = p.ward, false) OR coalesce(r.phone = p.phone, false)
    OR coalesce(damerau_levenshtein(r.pid, p.pid) <= 1, false) OR coalesce(r.oid = p.oid, false)"""
_OTHER_DISAGREES = """coalesce(r.ward <> p.ward, false) OR coalesce(r.phone <> p.phone, false)
    OR coalesce(damerau_levenshtein(r.pid, p.pid) > 1, false)"""
# A matching ID is trusted only if the person it points to could be the record's holder.
_PID_PLAUSIBLE = """
    (r.nk IS NULL OR p.nk IS NULL OR r.nk = p.nk OR r.nks = p.nks
     OR jaro_winkler_similarity(r.nk, p.nk) >= 0.88 OR (r.fam = p.fam AND r.giv = p.giv))
AND (r.bdate IS NULL OR p.bdate IS NULL OR r.bdate = p.bdate OR r.bswap = p.bdate
     OR (r.byear = p.byear AND (r.b0101 OR p.b0101)))
AND NOT """ + _TWIN_OTHER


def _frame(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")
    out = df.loc[:, list(columns) + [c for c in OPTIONAL_COLUMNS if c in df.columns]].copy()
    for col in OPTIONAL_COLUMNS:
        if col not in out.columns:
            out[col] = None
    # object columns made only of None confuse DuckDB's type sniffing: give them a type
    for col in ("full_name", "sex", "phone", "pid", "pid_class", "old_id"):
        out[col] = out[col].astype("string")
    # mojibake cannot be undone in SQL: the few names carrying its signature are repaired here
    damaged = out["full_name"].str.contains(MOJIBAKE_HINT, na=False)
    if damaged.any():
        out.loc[damaged, "full_name"] = out.loc[damaged, "full_name"].map(repair_name)
    out["birth_date"] = parse_dates(out["birth_date"])
    out["ward_code"] = pd.to_numeric(out["ward_code"], errors="coerce").astype("Int64")
    _phones_e164(out)
    if what == "records":
        _classify_ids(out)
    return out


def _phones_e164(frame: pd.DataFrame) -> None:
    """Bring phones not yet in E.164 to it (0…, 84…, pre-2018 11-digit); unreadable ones are dropped."""
    phone = frame["phone"]
    todo = phone.notna() & ~phone.str.fullmatch(r"\+84[0-9]{9,10}", na=False)
    if todo.any():
        frame.loc[todo, "phone"] = phone[todo].map(_phone_or_none).astype("string")


def _phone_or_none(text: str) -> str | None:
    try:
        return normalise_phone(text)
    except InvalidPhone:
        return None  # not evidence either way; the feed's own validation reports it


def _classify_ids(frame: pd.DataFrame) -> None:
    """Keep in ``pid`` only IDs of the exact classes; move an old CMND number to ``old_id``.

    A ``pid`` without a class is read as sent (``kit.pid.read_identifier``, with the record's
    birth date and sex), so a parent's ID on a child's record is not used as the child's.
    """
    has = frame["pid"].notna() & (frame["pid"].str.strip() != "") & frame["pid_class"].isna()
    if has.any():
        sexes = frame["sex"].str.strip().str.lower().map(_SEX_CODES)
        classes, values = [], []
        for raw, born, sex in zip(frame.loc[has, "pid"], frame.loc[has, "birth_date"], sexes[has]):
            reading = read_identifier(raw, None if pd.isna(born) else born.date(), None if pd.isna(sex) else sex)
            classes.append(None if reading is None else reading.kind)
            values.append(None if reading is None else reading.value)
        frame.loc[has, "pid_class"] = pd.array(classes, dtype="string")
        values = pd.Series(values, index=frame.index[has], dtype="string")
        old = has & (frame["pid_class"] == "old_id")
        frame.loc[old & frame["old_id"].isna(), "old_id"] = values[old[has].to_numpy()]
        frame.loc[has, "pid"] = values
    exact = frame["pid_class"].isin(list(EXACT_CLASSES)) | frame["pid_class"].isna()
    frame.loc[~exact, "pid"] = None


_SEX_CODES = {"m": "M", "nam": "M", "male": "M", "f": "F", "nữ": "F", "nu": "F", "female": "F"}


def link_dataframe(
    records_df: pd.DataFrame,
    persons_df: pd.DataFrame,
    *,
    auto_threshold: float = AUTO_LINK_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
    prior: float | None = None,
    match_share: float = MATCH_SHARE,
    threads: int | None = None,
) -> pd.DataFrame:
    """Link every record to at most one person; return record_id, person_id, probability, decision.

    ``records_df`` has columns ``RECORD_COLUMNS``; ``persons_df`` has ``PERSON_COLUMNS``
    (dates as ``date``/datetime, phones already E.164, wards already 2025 codes). One row
    is returned per record, in no particular order; ``person_id`` is the candidate for
    ``review`` and empty for ``none``.

    ``match_share`` is the share of records expected to belong to a registered person;
    ``prior`` (default ``match_share`` / registry size) overrides the per-pair prior.
    """
    if not 0.0 < match_share < 1.0:
        raise ValueError("match_share must be between 0 and 1 (exclusive)")
    if not 0.0 < review_threshold <= auto_threshold <= 1.0:
        raise ValueError("thresholds must satisfy 0 < review_threshold <= auto_threshold <= 1")
    records = _frame(records_df, RECORD_COLUMNS, "records")
    persons = _frame(persons_df, PERSON_COLUMNS, "persons")
    if prior is None:
        prior = match_share / max(len(persons), NOMINAL_REGISTRY_SIZE)
    # odds weight of "the holder is none of the candidates": an unregistered holder, or a
    # registered one whose record matches no candidate
    outside = 1.0 - match_share * (1.0 - UNRECOGNISABLE_SHARE)
    con = duckdb.connect()
    try:
        if threads:
            _run(con, f"SET threads = {int(threads)}")
        for statement in _MACROS.split(";\n"):
            if statement.strip():
                _run(con, statement)
        con.register("records_src", records)
        con.register("persons_src", persons)
        _run(con, _PREPARE.format(out="rec", src="records_src", id_col="record_id", placeholder=PLACEHOLDER_PATTERN))
        _run(con, _PREPARE.format(out="per", src="persons_src", id_col="person_id", placeholder=PLACEHOLDER_PATTERN))
        # how common each value is in the registry (the person side of a pair)
        size = float(max(len(persons), NOMINAL_REGISTRY_SIZE))
        _run(con, f"""CREATE OR REPLACE TABLE per AS
                      SELECT *, count(*) OVER (PARTITION BY nk) / {size} AS nkf,
                             count(*) OVER (PARTITION BY nks) / {size} AS nksf,
                             count(*) OVER (PARTITION BY fam, giv) / {size} AS fgf,
                             count(*) OVER (PARTITION BY bdate) / {size} AS bdf,
                             -- a registered person with a same-family sibling born the same day
                             -- in the same ward or on the same phone: a twin (or triplet)
                             (fam IS NOT NULL AND bdate IS NOT NULL AND (
                                count(*) OVER (PARTITION BY fam, bdate, ward) > 1
                                OR (phone IS NOT NULL AND count(*) OVER (PARTITION BY fam, bdate, phone) > 1)))
                               AS twin
                      FROM per""")
        _run(con, """CREATE OR REPLACE TABLE rec AS
                     SELECT *, CAST(NULL AS DOUBLE) AS nkf, CAST(NULL AS DOUBLE) AS nksf,
                            CAST(NULL AS DOUBLE) AS fgf, CAST(NULL AS DOUBLE) AS bdf,
                            CAST(NULL AS BOOLEAN) AS twin
                     FROM rec""")
        con.unregister("records_src")
        con.unregister("persons_src")
        _run(con, 
            f"""CREATE TABLE pid_links AS
                SELECT r.unique_id AS record_id, min(p.unique_id) AS person_id
                FROM rec r JOIN per p ON r.pid = p.pid
                WHERE {_PID_PLAUSIBLE}
                GROUP BY r.unique_id"""
        )
        _run(con, 
            "CREATE TABLE rest AS SELECT * FROM rec WHERE unique_id NOT IN (SELECT record_id FROM pid_links)"
        )
        predictions = _predict(con, prior, review_threshold)
        result = con.execute(
            f"""
            WITH s AS (
              SELECT record_id, person_id, mw,
                     max(mw) OVER (PARTITION BY record_id) AS top,
                     row_number() OVER (PARTITION BY record_id ORDER BY mw DESC, person_id) AS rk
              FROM {predictions} x
              -- a twin whose given name is not the record's is no candidate at all
              WHERE NOT EXISTS (SELECT 1 FROM per p JOIN rec r ON r.unique_id = x.record_id
                                WHERE p.unique_id = x.person_id AND p.twin AND {_TWIN_OTHER})
            ), best AS (
              -- at most one candidate is the record's holder:
              -- P(j) = odds_j / (outside + Σ odds_k), the odds scaled by 2^-top against overflow
              SELECT record_id, person_id,
                     pow(2.0, mw - top) / ({outside} * pow(2.0, -top) + sum(pow(2.0, mw - top)) OVER (PARTITION BY record_id)) AS p,
                     rk
              FROM s
            )
            SELECT record_id, person_id, 1.0 AS probability, 'pid' AS decision FROM pid_links
            UNION ALL
            SELECT r.unique_id AS record_id,
                   CASE WHEN b.p >= {review_threshold} THEN b.person_id END AS person_id,
                   coalesce(b.p, 0.0) AS probability,
                   CASE WHEN b.p >= {auto_threshold}
                             -- name and birth date alone never link automatically when other
                             -- evidence disagrees
                             AND NOT (NOT ({_OTHER_AGREES}) AND ({_OTHER_DISAGREES})) THEN 'auto'
                        WHEN b.p >= {review_threshold} THEN 'review'
                        ELSE 'none' END AS decision
            FROM rest r LEFT JOIN (SELECT * FROM best WHERE rk = 1) b ON b.record_id = r.unique_id
                        LEFT JOIN per p ON p.unique_id = b.person_id
            """
        ).df()
    finally:
        con.close()
    result["person_id"] = result["person_id"].astype("Int64")
    return result.loc[:, list(RESULT_COLUMNS)]


def _predict(con: duckdb.DuckDBPyConnection, prior: float, review_threshold: float) -> str:
    """Score the blocked pairs with Splink; return a SQL relation of (record_id, person_id, mw).

    ``mw`` is Splink's match weight: log2 of the pair's posterior odds (prior included).
    """
    n_rest = con.execute("SELECT count(*) FROM rest").fetchall()[0][0]
    n_per = con.execute("SELECT count(*) FROM per").fetchall()[0][0]
    if n_rest == 0 or n_per == 0:
        return "(SELECT NULL::BIGINT AS record_id, NULL::BIGINT AS person_id, NULL::DOUBLE AS mw WHERE false)"
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    rest = db_api.register("rest", dataset_display_name="a_records")
    per = db_api.register("per", dataset_display_name="b_persons")
    linker = Linker([rest, per], splink_settings(prior), log_level=logging.WARNING)
    # Splink's own predict threshold keeps the output small; the floor is low so that the
    # runners-up that share the probability with the best candidate are kept
    floor = min(review_threshold, 0.5) * 0.02
    scored = linker.inference.predict(threshold_match_probability=floor, warning_mode="never")
    _run(con, 
        f"""CREATE TABLE scored AS SELECT
              CASE WHEN source_dataset_l = 'a_records' THEN unique_id_l ELSE unique_id_r END AS record_id,
              CASE WHEN source_dataset_l = 'a_records' THEN unique_id_r ELSE unique_id_l END AS person_id,
              match_weight AS mw
            FROM {scored.physical_name}"""
    )
    return "scored"


def sql_linkage_keys(names: list[str]) -> list[str]:
    """Return the canonical name keys computed by the SQL used at scale (for checks)."""
    con = duckdb.connect()
    try:
        for statement in _MACROS.split(";\n"):
            if statement.strip():
                _run(con, statement)
        con.register("names_src", pd.DataFrame({"i": range(len(names)), "s": pd.Series(names, dtype="string")}))
        rows = con.execute("SELECT lk_family_first(lk_match(s)) FROM names_src ORDER BY i").fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Execute a statement and drain its result (DuckDB refuses new work until then)."""
    con.execute(sql).fetchall()
