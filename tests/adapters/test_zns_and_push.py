"""Zalo ZNS and FCM-like push adapters against the simulator's HTTP APIs, error codes included."""

from __future__ import annotations

import httpx
import pytest

from chudong.adapters.push.base import PushMessage
from chudong.adapters.push.fcm import FcmPush
from chudong.adapters.zalo.base import ZnsMessage
from chudong.adapters.zalo.zns import ZnsClient
from chudong.notifications.simulators import SimulatorServer


@pytest.fixture(scope="module")
def sim():
    with SimulatorServer("zp", "tok") as s:
        yield s


def zns(phone: str, key: str) -> ZnsMessage:
    return ZnsMessage(phone, "310001", {"dossier_code": "H48"}, key)


def test_zns_success_returns_msg_id(sim):
    r = ZnsClient(sim.url, "tok").send(zns("+84912345678", "t-1"))
    assert r.outcome == "accepted" and r.message_id
    assert sim.state.messages["t-1"].to == "+84912345678"


@pytest.mark.parametrize(("phone", "token", "outcome", "code"), [
    ("+84900000002", "tok", "permanent", "no_zalo_account"),
    ("+84123", "tok", "permanent", "invalid_phone"),
    ("+84900000001", "tok", "temporary", "zns_-1"),
    ("+84912345678", "bad", "temporary", "invalid_access_token"),
])
def test_zns_error_codes(sim, phone, token, outcome, code):
    r = ZnsClient(sim.url, token).send(zns(phone, f"t-{phone}-{token}"))
    assert (r.outcome, r.error_code) == (outcome, code)


def test_zns_rate_limit_code():
    with SimulatorServer("zr", "tok", rate_per_second=1) as s:
        c = ZnsClient(s.url, "tok")
        results = [c.send(zns("+84912345678", f"rl-{i}")) for i in range(3)]
    assert results[-1].error_code == "rate_limited" and results[-1].outcome == "temporary"


def test_push_success_and_errors(sim):
    p = FcmPush(sim.url, "chudong", "tok")
    ok = p.send(PushMessage("device-1", "Tiêu đề", "Nội dung", "p-1"))
    gone = p.send(PushMessage("unregistered-token", "t", "b", "p-2"))
    busy = p.send(PushMessage("temp-fail-token", "t", "b", "p-3"))
    httpx.post(f"{sim.url}/_sim/fail", json={"status": 429, "count": 1})
    quota = p.send(PushMessage("device-1", "t", "b", "p-4"))
    assert ok.outcome == "delivered" and ok.message_id
    assert (gone.outcome, gone.error_code) == ("permanent", "UNREGISTERED")
    assert (busy.outcome, busy.error_code) == ("temporary", "UNAVAILABLE")
    assert (quota.outcome, quota.error_code) == ("temporary", "QUOTA_EXCEEDED")
