import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.geo.models import Ward
from chudong.kit.errors import NotFound
from chudong.linkage.models import LinkReview
from chudong.linkage.service import LinkQuery, ReviewAlreadyDecided, decide_review, link_queries, open_reviews
from chudong.registry.models import Person


def _wards(session: Session) -> list[int]:
    return list(session.scalars(select(Ward.code).order_by(Ward.code).limit(3)))


def add_person(session: Session, name: str, born: dt.date, *, sex="F", ward=None, phone=None, pid=None) -> Person:
    from chudong.kit.names import name_key

    person = Person(full_name=name, name_key=name_key(name), birth_date=born, sex=sex, ward_code=ward, phone=phone, pid=pid)
    session.add(person)
    session.flush()
    return person


def query(rid: int, name: str, born: dt.date | None, *, sex="F", ward=None, phone=None, pid=None) -> LinkQuery:
    return LinkQuery(record_id=rid, full_name=name, birth_date=born, sex=sex, ward_code=ward, phone=phone, pid=pid)


@pytest.fixture
def people(session: Session) -> dict[str, Person]:
    w1, w2, _ = _wards(session)
    return {
        "mother": add_person(session, "Nguyễn Thị Thu Hương", dt.date(1994, 8, 21), ward=w1, phone="+84905111222",
                             pid="048194012345"),
        "hung": add_person(session, "Trần Văn Hùng", dt.date(1980, 2, 5), sex="M", ward=w2, pid="048080054321"),
        "namesake": add_person(session, "Lê Thị Mai", dt.date(1988, 4, 17), ward=w1),
    }


def test_mother_without_id_found_by_name_birth_date_phone_ward(session, people):
    w1 = people["mother"].ward_code
    [res] = link_queries(session, [query(1, "NGUYEN THI THU HUONG", dt.date(1994, 8, 21), ward=w1, phone="+84905111222")])
    assert (res.decision, res.person_id) == ("auto", people["mother"].id)
    assert res.probability >= 0.99


def test_valid_pid_links_directly(session, people):
    [res] = link_queries(session, [query(2, "Tran Van Hung", dt.date(1980, 2, 5), sex="M", pid="048080054321")])
    assert (res.decision, res.person_id, res.probability) == ("pid", people["hung"].id, 1.0)


def test_mistyped_pid_hitting_another_person_is_not_auto_linked(session, people):
    # the mother's record carries Hùng's ID by a typing error: name and birth date disagree
    [res] = link_queries(session, [query(3, "Phạm Văn Tư", dt.date(1961, 1, 1), sex="M", pid="048080054321")])
    assert res.decision == "none" and res.person_id is None


def test_swapped_day_and_month_still_links(session, people):
    w2 = people["hung"].ward_code
    [res] = link_queries(session, [query(4, "Trần Văn Hùng", dt.date(1980, 5, 2), sex="M", ward=w2)])
    assert (res.decision, res.person_id) == ("auto", people["hung"].id)


def test_same_name_other_birth_date_and_ward_is_not_linked(session, people):
    other_ward = _wards(session)[2]
    [res] = link_queries(session, [query(5, "Lê Thị Mai", dt.date(1971, 11, 30), ward=other_ward)])
    assert res.decision == "none" and res.person_id is None


def test_review_band_queues_link_review_rows(session, people, clock):
    # right name and year, 01-01 birth date, moved ward, no phone: plausible but not sure
    other_ward = _wards(session)[2]
    [res] = link_queries(session, [query(6, "Le Thi Mai", dt.date(1988, 1, 1), ward=other_ward)],
                         auto_threshold=0.999999, review_threshold=0.01)
    assert (res.decision, res.person_id) == ("review", people["namesake"].id)
    [review] = open_reviews(session)
    assert (review.record_ref, review.person_id, review.status) == (6, people["namesake"].id, "open")
    assert review.source_record_id is None  # 6 is the caller's id, not a source_record
    assert review.probability == pytest.approx(res.probability)
    # linking the same record again does not queue it twice
    link_queries(session, [query(6, "Le Thi Mai", dt.date(1988, 1, 1), ward=other_ward)],
                 auto_threshold=0.999999, review_threshold=0.01)
    assert session.scalar(select(LinkReview.id).where(LinkReview.record_ref == 6).offset(1)) is None

    decided = decide_review(session, review.id, accept=False, decided_by="officer@ward")
    assert decided.status == "rejected" and decided.decided_by == "officer@ward"
    assert decided.decided_at is not None
    with pytest.raises(ReviewAlreadyDecided):
        decide_review(session, review.id, accept=True, decided_by="officer@ward")
    with pytest.raises(NotFound):
        decide_review(session, 987654, accept=True, decided_by="x")


def test_results_keep_query_order_and_empty_input(session, people):
    assert link_queries(session, []) == []
    res = link_queries(session, [query(9, "Ai Đó", None), query(7, "Trần Văn Hùng", dt.date(1980, 2, 5), sex="M",
                                                                 ward=people["hung"].ward_code)])
    assert [r.record_id for r in res] == [9, 7]
    assert res[0].decision == "none" and res[1].person_id == people["hung"].id


def test_identifier_classes_reach_linkage(session, people):
    w1, w2, _ = _wards(session)
    old = add_person(session, "Đoàn Văn Lực", dt.date(1958, 9, 3), sex="M", ward=w2)
    old.old_id = "201234567"
    session.flush()
    results = link_queries(session, [
        # an old CMND number matches the registry's old ID even from another ward
        LinkQuery(record_id=11, full_name="DOAN VAN LUC", birth_date=dt.date(1958, 9, 3), sex="M", ward_code=w1,
                  phone=None, pid=None, pid_class="old_id", old_id="201234567"),
        # the mother's ID on her child's record (class mismatch) is never the child's exact link
        LinkQuery(record_id=12, full_name="Con bà Nguyễn Thị Thu Hương", birth_date=dt.date(2026, 10, 2), sex="M",
                  ward_code=w1, phone="+84905111222", pid=None, pid_class="mismatch"),
        # an unclassified ID is read as sent: a dropped leading zero is restored
        query(13, "Tran Van Hung", dt.date(1980, 2, 5), sex="M", pid="48080054321"),
    ])
    assert [(r.decision, r.person_id) for r in results] == [
        ("auto", old.id), ("none", None), ("pid", people["hung"].id)]
