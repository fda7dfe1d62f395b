"""The audit chain: appends link by hash; direct SQL tampering is caught and located."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from chudong.audit import service
from chudong.audit.models import AuditAnchor, AuditEntry
from chudong.kit.errors import Unprocessable


def add_entries(session, n: int, start: int = 0) -> list[AuditEntry]:
    """Append ``n`` entries (distinct subjects) and commit."""
    out = [service.record(session, actor=f"officer:{i % 3}", action="person.view", subject_kind="person",
                          subject_id=str(1000 + i), purpose="dossier processing", details={"i": i, "tên": "Nguyễn"})
           for i in range(start, start + n)]
    session.commit()
    return out


def test_entries_link_by_hash(session, clock):
    a, b, c = add_entries(session, 3)
    assert (a.seq, b.seq, c.seq) == (1, 2, 3)
    assert a.prev_hash == service.GENESIS
    assert b.prev_hash == a.hash and c.prev_hash == b.hash
    assert a.at == clock.now()
    report = service.verify(session)
    assert report.ok, report.summary()
    assert report.entries == 3 and report.last_hash == c.hash
    assert report.summary().startswith("chain intact: 3 entries")


def test_hash_is_over_canonical_fields(session, clock):
    (e,) = add_entries(session, 1)
    assert e.hash == service.entry_hash(seq=1, at=e.at, actor=e.actor, action=e.action, subject_kind="person",
                                        subject_id="1000", purpose="dossier processing",
                                        details={"tên": "Nguyễn", "i": 0}, prev_hash=service.GENESIS)


def test_empty_chain_is_intact(session):
    report = service.verify(session)
    assert report.ok and report.entries == 0


def test_rejects_non_json_details_and_empty_actor(session, clock):
    with pytest.raises(Unprocessable):
        service.record(session, actor="a", action="x", subject_kind="k", subject_id="1", details={"d": dt.date(2026, 1, 1)})
    with pytest.raises(Unprocessable):
        service.record(session, actor=" ", action="x", subject_kind="k", subject_id="1")


def tamper(session, sql: str, **params) -> None:
    session.execute(text(sql), params)
    session.commit()
    session.expunge_all()  # forget the objects the raw SQL changed behind the ORM's back


def test_edit_is_caught_with_its_seq(session, clock):
    add_entries(session, 5)
    tamper(session, "UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 3")
    report = service.verify(session)
    assert not report.ok
    assert (report.problem.seq, report.problem.kind) == (3, "edited")
    assert "hash mismatch" in report.problem.reason


def test_edit_of_details_json_is_caught(session, clock):
    add_entries(session, 4)
    tamper(session, "UPDATE audit_entry SET details = :d WHERE seq = 2", d='{"i": 99}')
    report = service.verify(session)
    assert (report.problem.seq, report.problem.kind) == (2, "edited")


def test_rehashed_edit_is_caught_at_the_next_entry(session, clock):
    """An editor who recomputes the edited entry's hash breaks the next link instead."""
    entries = add_entries(session, 4)
    e = entries[1]
    forged = service.entry_hash(seq=2, at=e.at, actor="forger", action=e.action, subject_kind=e.subject_kind,
                                subject_id=e.subject_id, purpose=e.purpose, details=e.details, prev_hash=e.prev_hash)
    tamper(session, "UPDATE audit_entry SET actor = 'forger', hash = :h WHERE seq = 2", h=forged)
    report = service.verify(session)
    assert (report.problem.seq, report.problem.kind) == (3, "deleted")
    assert "prev_hash mismatch" in report.problem.reason


def test_delete_in_the_middle_is_caught(session, clock):
    add_entries(session, 6)
    tamper(session, "DELETE FROM audit_entry WHERE seq = 4")
    report = service.verify(session)
    assert (report.problem.seq, report.problem.kind) == (4, "deleted")
    assert "seq 4 missing" in report.problem.reason


def test_delete_of_the_first_entry_is_caught(session, clock):
    add_entries(session, 3)
    tamper(session, "DELETE FROM audit_entry WHERE seq = 1")
    report = service.verify(session)
    assert (report.problem.seq, report.problem.kind) == (1, "deleted")


def test_delete_and_renumber_is_caught(session, clock):
    add_entries(session, 5)
    tamper(session, "DELETE FROM audit_entry WHERE seq = 3")
    tamper(session, "UPDATE audit_entry SET seq = seq - 1 WHERE seq = 4")
    tamper(session, "UPDATE audit_entry SET seq = seq - 1 WHERE seq = 5")
    report = service.verify(session)
    assert (report.problem.seq, report.problem.kind) == (3, "reordered")
    assert "written as seq 4" in report.problem.reason


def test_swapped_entries_are_reported_as_reordered(session, clock):
    add_entries(session, 5)
    # Swap entries 2 and 3 by their seq, through a free number (the primary key forbids a direct swap).
    tamper(session, "UPDATE audit_entry SET seq = 999 WHERE seq = 2")
    tamper(session, "UPDATE audit_entry SET seq = 2 WHERE seq = 3")
    tamper(session, "UPDATE audit_entry SET seq = 3 WHERE seq = 999")
    report = service.verify(session)
    assert (report.problem.seq, report.problem.kind) == (2, "reordered")
    assert "written as seq 3" in report.problem.reason


def test_truncated_tail_after_an_anchor_is_caught(session, clock):
    add_entries(session, 4)
    assert service.write_anchor(session).seq == 4
    session.commit()
    tamper(session, "DELETE FROM audit_entry WHERE seq >= 3")
    report = service.verify(session)
    assert (report.problem.seq, report.problem.kind) == (3, "deleted")
    assert "tail was cut off" in report.problem.reason


def test_rewritten_chain_is_caught_by_a_published_anchor(session, clock):
    """A DBA who rebuilds the whole chain and its anchor table is caught by the anchor published off-site."""
    entries = add_entries(session, 3)
    published = (3, entries[2].hash)
    tamper(session, "DELETE FROM audit_entry")
    add_entries(session, 3, start=10)  # a consistent but different chain
    assert service.verify(session).ok
    report = service.verify(session, [published])
    assert (report.problem.seq, report.problem.kind) == (3, "anchor")


def test_anchor_written_every_n_entries(session, clock, monkeypatch):
    monkeypatch.setattr(service, "ANCHOR_EVERY", 2)
    add_entries(session, 5)
    anchors = session.query(AuditAnchor).order_by(AuditAnchor.seq).all()
    assert [a.seq for a in anchors] == [2, 4]
    assert service.write_anchor(session).seq == 5
    assert service.write_anchor(session) is None  # tail already anchored
    session.commit()
    assert service.latest_anchor(session).seq == 5
    assert service.verify(session).ok


def test_anchor_job_anchors_the_tail(engine, session, clock):
    from chudong.audit.tasks import anchor_tail

    add_entries(session, 2)
    anchor_tail(engine)
    assert service.latest_anchor(session).seq == 2


def test_concurrent_writers_keep_one_linear_chain(engine, clock):
    """Several threads appending at once: every entry follows exactly one other."""
    import threading

    from chudong.db import session_factory

    errors: list[BaseException] = []

    def writer(k: int) -> None:
        from chudong.kit import clock as clock_mod

        with clock_mod.use_clock(clock):
            try:
                for i in range(5):
                    with session_factory(engine)() as s:
                        service.record(s, actor=f"w{k}", action="x", subject_kind="t", subject_id=f"{k}-{i}")
                        s.commit()
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory(engine)() as s:
        report = service.verify(s)
        assert report.ok, report.summary()
        assert report.entries == 20
