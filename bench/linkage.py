"""Benchmark of the person-index linkage against a synthetic ground truth.

Generates (seeded) a registry of N persons with Vietnamese names by real frequency and
M agency records (hospital / licence style) of which ``--match-share`` belong to a
registry person, each carrying the noise agencies really produce: diacritics dropped,
NFD, capitals, given name first, middle name missing, Telex / VNI leftovers, typos;
IDs missing / old 9-digit CMND / mistyped; birth dates swapped day-month or 01-01 for
older people; moved wards; different phones. Runs ``link_dataframe`` and prints
precision and recall of automatic links (ID + probabilistic), the review band and the
wall time and CPU time of the linkage alone.

Two noise profiles: ``synth`` (default) applies the rates and noise functions of the
province generator (``chudong.synth.generator.NoiseShares``, ``chudong.synth.noise``) to
licence-style records (no phone, ward as registered, sex sometimes "Nam"/"Nữ");
``harsh`` is a stress test far noisier than the generator: 60% of records without a
usable ID, 10% moved wards, 15% of people born before 1960 recorded on 01-01, phones.

    .venv/bin/python -m bench.linkage                      # N = M = 100,000, synth noise
    .venv/bin/python -m bench.linkage --n 1000000 --m 1000000 --noise harsh
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
import unicodedata

import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from chudong.synth.generator import NoiseShares
from chudong.synth.noise import mistype_pid, typo
from chudong.linkage.core import AUTO_LINK_THRESHOLD, REVIEW_THRESHOLD, link_dataframe

FAMILY = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 2.6, "Huỳnh": 2.4, "Phan": 4.5,
    "Vũ": 2.0, "Võ": 2.0, "Đặng": 2.0, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3, "Dương": 1.0,
    "Lý": 0.5, "Đinh": 0.9, "Đoàn": 0.6, "Trương": 0.7, "Lâm": 0.4, "Mai": 0.4, "Trịnh": 0.5,
    "Lương": 0.4, "Cao": 0.4, "Hà": 0.4, "Đào": 0.4, "Tạ": 0.2, "Châu": 0.2, "Tô": 0.2, "Lưu": 0.2,
}
MIDDLE = {
    "M": {"Văn": 30, "Hữu": 8, "Đức": 8, "Minh": 8, "Quang": 6, "Công": 6, "Thanh": 5, "Ngọc": 4,
          "Xuân": 4, "Đình": 5, "Quốc": 5, "Anh": 3, "Tấn": 3, "Trọng": 3, "Bá": 2, "Duy": 3, "Gia": 2},
    "F": {"Thị": 40, "Ngọc": 8, "Thu": 6, "Thanh": 6, "Minh": 4, "Kim": 5, "Mỹ": 4, "Hồng": 4,
          "Phương": 3, "Bảo": 3, "Diệu": 2, "Khánh": 2, "Hoài": 2, "Thùy": 3, "Quỳnh": 2, "Tuyết": 2},
}
GIVEN = {
    "M": "Hùng Dũng Nam Tuấn Minh Hải Sơn Long Phong Huy Khánh Đức Thắng Trung Hoàng Quân Bình "
         "Cường Vinh Tâm Thành Tùng Hiếu Phúc Toàn Lộc An Bảo Đạt Kiên Lâm Nghĩa Quang Tài Thịnh "
         "Việt Vũ Hưng Hòa Trí Khoa Nhân Phát Tiến Thuận Hậu Duy Khải Luân Mạnh Nguyên Quý Sang "
         "Thông Tín Trường Tú Vương Bách Chiến Định Giang Hiển Kha Lực Ngọc Phước Quyết Thiện",
    "F": "Lan Hương Hoa Mai Linh Ngọc Hằng Thảo Trang Nga Hà Thủy Yến Hạnh Phương Dung Vân Nhung "
         "Loan Oanh Trinh Tuyết Diệp My Nhi Anh Châu Giang Hiền Huyền Khánh Ly Quỳnh Tâm Thư Uyên "
         "Vy Xuân Chi Đào Hân Hồng Liên Lụa Mơ Nguyệt Nhàn Phượng Quyên Sen Thoa Thơm Thu Thúy "
         "Tiên Trâm Tuyền Vi Xoan Diễm Duyên Hảo Hậu Kiều Lệ Ly",
}
WARDS = np.arange(20194, 20194 + 94)  # 94 units, like the new Đà Nẵng

_TELEX_VOWELS = {"â": "aa", "ă": "aw", "ê": "ee", "ô": "oo", "ơ": "ow", "ư": "uw", "đ": "dd"}
_VNI_VOWELS = {"â": "a6", "ă": "a8", "ê": "e6", "ô": "o6", "ơ": "o7", "ư": "u7", "đ": "d9"}
_TONES = {"\u0301": ("s", "1"), "\u0300": ("f", "2"), "\u0309": ("r", "3"), "\u0303": ("x", "4"), "\u0323": ("j", "5")}


def _typed(word: str, vni: bool) -> str:
    """Return ``word`` as typed with Telex (or VNI) but never converted."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tone = ""
    base = []
    for ch in decomposed:
        if ch in _TONES:
            tone = _TONES[ch][1 if vni else 0]
        else:
            base.append(ch)
    plain = unicodedata.normalize("NFC", "".join(base))
    table = _VNI_VOWELS if vni else _TELEX_VOWELS
    return "".join(table.get(c, c) for c in plain) + tone


def _weighted(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(table))
    w = np.array(list(table.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=w / w.sum())]


def _zipf_given(rng: np.random.Generator, sex: str, n: int) -> np.ndarray:
    names = np.array(GIVEN[sex].split())
    w = 1.0 / np.arange(1, len(names) + 1) ** 0.8
    return names[rng.choice(len(names), size=n, p=w / w.sum())]


def make_people(rng: np.random.Generator, n: int, first_id: int) -> pd.DataFrame:
    """Return ``n`` synthetic persons (true values)."""
    sex = np.where(rng.random(n) < 0.5, "M", "F")
    fam = _weighted(rng, FAMILY, n)
    mid = np.empty(n, dtype=object)
    giv = np.empty(n, dtype=object)
    for s in ("M", "F"):
        idx = np.flatnonzero(sex == s)
        mid[idx] = _weighted(rng, MIDDLE[s], len(idx))
        giv[idx] = _zipf_given(rng, s, len(idx))
    days = rng.integers(0, (dt.date(2025, 12, 31) - dt.date(1930, 1, 1)).days, size=n)
    birth = pd.to_datetime("1930-01-01") + pd.to_timedelta(days, unit="D")
    year = birth.year.to_numpy()
    digit = np.where(year >= 2000, 2, 0) + (sex == "F")
    suffix = rng.permutation(1_000_000 * 10)[:n] % 1_000_000  # distinct enough; clashes removed below
    pid = pd.Series([f"048{d}{y % 100:02d}{s:06d}" for d, y, s in zip(digit, year, suffix)])
    pid[pid.duplicated()] = None
    phone = pd.Series([f"+849{x:08d}" for x in rng.choice(100_000_000, size=n, replace=False)])
    phone[rng.random(n) < 0.2] = None
    share = np.flatnonzero(rng.random(n) < 0.08)  # family members giving one phone
    phone.iloc[share] = phone.iloc[rng.integers(0, n, size=len(share))].to_numpy()
    full = pd.Series(fam, dtype=object) + " " + pd.Series(mid) + " " + pd.Series(giv)
    return pd.DataFrame({
        "person_id": np.arange(first_id, first_id + n), "full_name": full, "fam": fam, "mid": mid,
        "giv": giv, "birth_date": birth.date, "sex": sex, "ward_code": rng.choice(WARDS, size=n),
        "phone": phone, "pid": pid,
    })


@dataclass(frozen=True)
class Noise:
    """How often each kind of noise affects a record (0–1)."""

    no_middle: float
    given_first: float
    typed: float  # Telex / VNI leftovers on every word
    typo: float  # one slip in the given name
    no_diacritics: float
    nfd: float
    upper: float
    swapped_date: float
    jan_first: float
    jan_first_before: int  # only people born before this year
    missing_date: float
    missing_sex: float
    nam_nu: float
    moved_ward: float
    missing_ward: float
    own_phone: float
    other_phone: float
    mistyped_pid: float
    old_cmnd: float
    old_cmnd_before: int  # only people born before this year still use the 9-digit CMND
    missing_pid: float


def synth_noise(today_year: int = 2026) -> Noise:
    """Return the province generator's noise rates (agency licence records)."""
    n = NoiseShares()
    return Noise(no_middle=n.no_middle, given_first=n.given_first, typed=0.0, typo=n.typo,
                 no_diacritics=n.no_diacritics, nfd=n.nfd, upper=n.upper, swapped_date=n.swapped_date,
                 jan_first=n.jan_first, jan_first_before=today_year - 60, missing_date=0.0, missing_sex=0.0,
                 nam_nu=n.nam_nu, moved_ward=0.0, missing_ward=0.0, own_phone=0.0, other_phone=0.0,
                 mistyped_pid=n.mistyped_pid, old_cmnd=n.old_cmnd, old_cmnd_before=today_year - 30,
                 missing_pid=n.missing_pid)


HARSH = Noise(no_middle=0.06, given_first=0.05, typed=0.03, typo=0.02, no_diacritics=0.25, nfd=0.15, upper=0.12,
              swapped_date=0.04, jan_first=0.15, jan_first_before=1960, missing_date=0.01, missing_sex=0.03,
              nam_nu=0.0, moved_ward=0.10, missing_ward=0.05, own_phone=0.425, other_phone=0.075,
              mistyped_pid=0.05, old_cmnd=0.15, old_cmnd_before=9999, missing_pid=0.40)
PROFILES = {"synth": synth_noise(), "harsh": HARSH}


def _noisy_name(fam: str, mid: str, giv: str, r: np.ndarray, noise: Noise, slip: random.Random) -> str:
    """Return the name as a careless agency typed it (r: 8 uniform draws)."""
    if r[5] < noise.typo:
        giv = typo(slip, giv)
    words = [fam, mid, giv]
    if r[0] < noise.no_middle:
        words = [fam, giv]  # middle name left out
    if r[1] < noise.given_first:
        words = words[-1:] + words[:-1] if r[2] < 0.5 else words[1:] + words[:1]  # given name first
    if r[3] < noise.typed:
        words = [_typed(w, vni=r[4] < 0.3) for w in words]
    name = " ".join(words)
    form = r[4]
    if form < noise.no_diacritics:
        name = "".join(c for c in unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
                       if unicodedata.category(c) != "Mn")
    elif form < noise.no_diacritics + noise.nfd:
        name = unicodedata.normalize("NFD", name)
    if r[6] < noise.upper:
        name = name.upper()
    return name


def make_records(rng: np.random.Generator, persons: pd.DataFrame, m: int, match_share: float,
                 noise: Noise = HARSH) -> pd.DataFrame:
    """Return ``m`` noisy agency records with the true person id (or NA) in ``truth``."""
    n_match = int(m * match_share)
    true = persons.iloc[rng.choice(len(persons), size=n_match, replace=False if n_match <= len(persons) else True)]
    others = make_people(rng, m - n_match, first_id=10**9)
    others["pid"] = None  # outsiders' IDs are not in the registry; keep them missing/old below
    base = pd.concat([true.assign(truth=true["person_id"]), others.assign(truth=pd.NA)], ignore_index=True)
    base = base.sample(frac=1.0, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    k = len(base)
    slip = random.Random(int(rng.integers(1 << 31)))  # for the generator's own noise functions
    draws = rng.random((k, 8))
    names = [_noisy_name(f, md, g, d, noise, slip)
             for f, md, g, d in zip(base["fam"], base["mid"], base["giv"], draws)]
    bd = pd.to_datetime(base["birth_date"])
    r = rng.random((k, 6))
    swap = (r[:, 0] < noise.swapped_date) & (bd.dt.day <= 12) & (bd.dt.day != bd.dt.month)
    jan1 = (r[:, 1] < noise.jan_first) & (bd.dt.year < noise.jan_first_before) & ~swap
    birth = bd.copy()
    birth[swap] = pd.to_datetime(dict(year=bd[swap].dt.year, month=bd[swap].dt.day, day=bd[swap].dt.month))
    birth[jan1] = pd.to_datetime(dict(year=bd[jan1].dt.year, month=1, day=1))
    birth[r[:, 2] < noise.missing_date] = pd.NaT
    sex = base["sex"].where(r[:, 3] >= noise.missing_sex, None)
    nam_nu = r[:, 4] < noise.nam_nu
    sex[nam_nu] = sex[nam_nu].map({"M": "Nam", "F": "Nữ"})
    ward = base["ward_code"].where(rng.random(k) >= noise.moved_ward, rng.choice(WARDS, size=k)).astype("Int64")
    ward[rng.random(k) < noise.missing_ward] = pd.NA
    phone = base["phone"].copy()
    other_phone = pd.Series([f"+843{x:08d}" for x in rng.integers(0, 10**8, size=k)])
    pr = rng.random(k)
    phone = phone.where(pr < noise.own_phone + noise.other_phone, None).where(pr >= noise.other_phone, other_phone)
    pid = base["pid"].copy()
    q = rng.random(k)
    cut1 = noise.missing_pid
    cut2 = cut1 + noise.mistyped_pid
    cut3 = cut2 + noise.old_cmnd
    mistype = (q >= cut1) & (q < cut2) & pid.notna()
    pid[mistype] = [mistype_pid(slip, p) for p in pid[mistype]]
    cmnd = (q >= cut2) & (q < cut3) & (bd.dt.year < noise.old_cmnd_before).to_numpy()
    pid[cmnd] = [f"{x:09d}" for x in rng.integers(10**8, 10**9, size=int(cmnd.sum()))]
    pid[q < cut1] = None
    return pd.DataFrame({
        "record_id": np.arange(1, k + 1), "full_name": names, "birth_date": birth.dt.date.where(birth.notna(), None),
        "sex": sex, "ward_code": ward, "phone": phone, "pid": pid, "truth": base["truth"].astype("Int64"),
    })


def _cpu_seconds() -> float:
    """Return user + system CPU seconds of this process (the machine may be shared)."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def main() -> None:
    """Generate the synthetic registry and records, link them, print quality and time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="persons in the registry")
    parser.add_argument("--m", type=int, default=100_000, help="agency records to link")
    parser.add_argument("--match-share", type=float, default=0.8, help="share of records whose person is registered")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--noise", choices=sorted([*PROFILES, "agencies"]), default="synth",
                        help="synth: the province generator's noise rates; harsh: a far noisier stress test; "
                             "agencies: source systems and traps (bench/linkage_agencies.py)")
    parser.add_argument("--auto", type=float, default=AUTO_LINK_THRESHOLD)
    parser.add_argument("--review", type=float, default=REVIEW_THRESHOLD)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    if args.noise == "agencies":
        from bench.linkage_agencies import build

        persons, records = build(rng, args.n, args.m, args.match_share, make_people)
    else:
        persons = make_people(rng, args.n, first_id=1)
        records = make_records(rng, persons, args.m, args.match_share, PROFILES[args.noise])
        persons = persons.drop(columns=["fam", "mid", "giv"])
    print(f"generated {args.n:,} persons and {args.m:,} records ({args.noise} noise) in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    cpu0 = _cpu_seconds()
    out = link_dataframe(records.drop(columns=[c for c in ("truth", "source", "tags", "trap") if c in records]),
                         persons, auto_threshold=args.auto, review_threshold=args.review)
    elapsed = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    res = out.merge(records.drop(columns=[c for c in records if c not in ("record_id", "truth", "source", "tags", "trap", "pid")]),
                    on="record_id")
    linked = res[res["decision"].isin(["pid", "auto"])]
    correct = (linked["person_id"] == linked["truth"]).fillna(False)
    matchable = res["truth"].notna().sum()
    review = res[res["decision"] == "review"]
    review_true = (review["person_id"] == review["truth"]).fillna(False).sum()
    print(f"linkage wall time: {elapsed:.1f} s, CPU time {cpu:.1f} s  (auto ≥ {args.auto}, review ≥ {args.review})")
    for decision in ("pid", "auto", "review", "none"):
        print(f"  {decision:<6} {int((res['decision'] == decision).sum()):>9,}")
    print(f"precision (pid+auto): {correct.sum() / max(len(linked), 1):.5f}")
    print(f"recall    (pid+auto): {correct.sum() / max(matchable, 1):.5f}  of {matchable:,} matchable records")
    print(f"review band: {len(review):,} records ({len(review) / len(res):.2%}), "
          f"{review_true:,} of them the right person")
    missed = res[res["truth"].notna() & (res["decision"] == "none")]
    print(f"matchable records left unlinked: {len(missed):,}")
    wrong = linked[~correct.to_numpy()]
    if len(wrong):
        print("sample of wrong links:")
        show = (wrong.head(5).drop(columns="truth").merge(records, on="record_id")
                .merge(persons, on="person_id", suffixes=("", "_person")))
        print(show[["record_id", "full_name", "birth_date", "full_name_person", "birth_date_person",
                    "probability"]].to_string())
    if "trap" in res:
        breakdown(res, persons)


def _quality(group: pd.DataFrame) -> dict:
    linked = group["decision"].isin(["pid", "auto"])
    right = linked & (group["person_id"] == group["truth"]).fillna(False)
    matchable = int(group["truth"].notna().sum())
    return {"records": len(group), "linked": int(linked.sum()), "wrong": int((linked & ~right).sum()),
            "precision": right.sum() / linked.sum() if linked.any() else float("nan"),
            "recall": right.sum() / matchable if matchable else float("nan"),
            "review": int((group["decision"] == "review").sum())}


def _table(title: str, rows: dict[str, dict]) -> None:
    print(f"\n{title:<22} {'records':>8} {'linked':>8} {'wrong':>6} {'precision':>9} {'recall':>7} {'review':>7}")
    for key, q in rows.items():
        print(f"{key:<22} {q['records']:>8,} {q['linked']:>8,} {q['wrong']:>6,} {q['precision']:>9.4f} "
              f"{q['recall']:>7.4f} {q['review']:>7,}")


def breakdown(res: pd.DataFrame, persons: pd.DataFrame) -> None:
    """Print precision / recall / review per source, per kind of noise and per trap."""
    _table("per source", {k: _quality(g) for k, g in res.groupby("source")})
    tags = res["tags"].str.split(" ").explode()
    tags = tags[tags.astype(bool)]
    _table("per kind of noise", {t: _quality(res.loc[tags.index[tags == t].unique()])
                                 for t in sorted(tags.unique())})
    _table("per trap", {k: _quality(g) for k, g in res.groupby("trap")})
    linked = res["decision"].isin(["pid", "auto"])
    twins = res[(res["trap"] == "twin") & linked]
    print(f"\ntwin records linked to the wrong person: {int((twins['person_id'] != twins['truth']).sum())}")
    newborn = res[(res["trap"] == "newborn") & res["person_id"].notna()]
    # the ID a newborn's or child's record carries is the mother's or parent's (zeros may be dropped)
    holder_pid = persons.set_index("person_id")["pid"].str.lstrip("0")
    to_mother = newborn["person_id"].map(holder_pid).eq(newborn["pid"].str.lstrip("0")).sum()
    print(f"newborn records linked or queued to the mother: {int(to_mother)}")
    guardian = res[(res["trap"] == "guardian") & linked]
    to_parent = guardian["person_id"].map(holder_pid).eq(guardian["pid"].str.lstrip("0")).sum()
    print(f"guardian-ID records linked to the parent: {int(to_parent)}")
    namesakes = res[(res["trap"] == "namesake") & linked]
    print(f"namesakes linked: {len(namesakes)}; outsiders linked: {int((linked & (res['trap'] == 'outsider')).sum())}")


if __name__ == "__main__":
    main()
