import datetime as dt

import pyotp
import pytest

from chudong.auth import service
from chudong.auth.passwords import WeakPassword
from chudong.auth.ratelimit import RateLimited, hit
from chudong.kit.errors import Conflict, Unprocessable

PASSWORD = "correct horse battery"


def make_staff(session, **kw):
    args = dict(username="lan.officer", full_name="Nguyễn Thị Lan", role="officer", password=PASSWORD,
                unit_code="CS-20194", agency="justice")
    args.update(kw)
    return service.create_staff(session, **args)


def test_staff_sign_in_ok_and_password_not_stored(session, clock):
    acc = make_staff(session)
    assert PASSWORD not in acc.password_hash and acc.password_hash.startswith("$argon2id$")
    assert service.authenticate_staff(session, "lan.officer", PASSWORD, None).outcome == "ok"


def test_unknown_user_and_wrong_password_look_the_same(session, clock):
    make_staff(session)
    assert service.authenticate_staff(session, "nobody", PASSWORD, None).outcome == "bad_credentials"
    assert service.authenticate_staff(session, "lan.officer", "wrong password!!", None).outcome == "bad_credentials"


def test_lockout_after_repeated_failures_then_expires(session, clock):
    make_staff(session)
    for _ in range(service.MAX_FAILED_ATTEMPTS):
        assert service.authenticate_staff(session, "lan.officer", "nope nope nope", None).outcome == "bad_credentials"
    # even the right password is refused while locked
    assert service.authenticate_staff(session, "lan.officer", PASSWORD, None).outcome == "locked"
    clock.advance(service.LOCKOUT + dt.timedelta(seconds=1))
    assert service.authenticate_staff(session, "lan.officer", PASSWORD, None).outcome == "ok"


def test_totp_required_and_checked(session, clock):
    secret = pyotp.random_base32()
    make_staff(session, totp_secret=secret)
    assert service.authenticate_staff(session, "lan.officer", PASSWORD, None).outcome == "totp_required"
    assert service.authenticate_staff(session, "lan.officer", PASSWORD, "000000").outcome in ("bad_totp", "ok")
    good = pyotp.TOTP(secret).at(clock.now().timestamp())
    assert service.authenticate_staff(session, "lan.officer", PASSWORD, good).outcome == "ok"


def test_weak_password_and_bad_role_and_duplicate_refused(session):
    with pytest.raises(WeakPassword):
        make_staff(session, password="short")
    with pytest.raises(Unprocessable):
        make_staff(session, role="king")
    make_staff(session)
    with pytest.raises(Conflict):
        make_staff(session)


def test_sessions_expire_and_sign_out_everywhere(session, clock):
    acc = make_staff(session)
    s1, row1 = service.start_session(session, "staff", acc.id)
    s2, _ = service.start_session(session, "staff", acc.id)
    assert service.resolve_session(session, s1).id == row1.id
    assert service.resolve_session(session, "forged-secret") is None
    assert service.end_all_sessions(session, "staff", acc.id) == 2
    assert service.resolve_session(session, s1) is None and service.resolve_session(session, s2) is None
    s3, _ = service.start_session(session, "staff", acc.id)
    clock.advance(service.SESSION_LIFETIME + dt.timedelta(seconds=1))
    assert service.resolve_session(session, s3) is None


def test_csrf_token_check(session, clock):
    acc = make_staff(session)
    _, row = service.start_session(session, "staff", acc.id)
    assert service.check_csrf(row, row.csrf_token)
    assert not service.check_csrf(row, "other")
    assert not service.check_csrf(row, None)


def _person(session):
    from chudong.registry.models import Person

    p = Person(pid="048190000001", full_name="Trần Văn Bình", name_key="tran van binh",
               birth_date=dt.date(1990, 5, 1), sex="M", phone="+84905123456")
    session.add(p)
    session.flush()
    return p


def test_one_time_code_single_use_and_expiry(session, clock):
    p = _person(session)
    code, _ = service.issue_code(session, p.id)
    assert len(code) == 6 and code.isdigit()
    assert service.verify_code(session, p.id, "999999" if code != "999999" else "000000") == "wrong"
    assert service.verify_code(session, p.id, code) == "ok"
    assert service.verify_code(session, p.id, code) == "expired"  # used
    code2, _ = service.issue_code(session, p.id)
    clock.advance(service.OTP_LIFETIME + dt.timedelta(seconds=1))
    assert service.verify_code(session, p.id, code2) == "expired"


def test_one_time_code_attempts_bounded(session, clock):
    p = _person(session)
    code, _ = service.issue_code(session, p.id)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(service.OTP_MAX_ATTEMPTS):
        assert service.verify_code(session, p.id, wrong) == "wrong"
    assert service.verify_code(session, p.id, code) == "expired"


def test_new_code_replaces_old(session, clock):
    p = _person(session)
    old, _ = service.issue_code(session, p.id)
    new, _ = service.issue_code(session, p.id)
    if old != new:
        assert service.verify_code(session, p.id, old) == "wrong"
    assert service.verify_code(session, p.id, new) == "ok"


def test_rate_limit_counts_survive_and_block(engine, clock):
    for i in range(3):
        assert hit(engine, "signin:048190000001", limit=3, window_seconds=60) == i + 1
    with pytest.raises(RateLimited, match="try again in"):
        hit(engine, "signin:048190000001", limit=3, window_seconds=60)
    # another key is independent; a new window starts afresh
    assert hit(engine, "signin:other", limit=3, window_seconds=60) == 1
    clock.advance(dt.timedelta(seconds=61))
    assert hit(engine, "signin:048190000001", limit=3, window_seconds=60) == 1
