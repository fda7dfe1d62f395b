"""The HTTP SMS gateway adapter against the gateway simulator (a real HTTP server)."""

from __future__ import annotations

import httpx
import pytest

from chudong.adapters.sms.base import SmsMessage, is_vn_mobile
from chudong.adapters.sms.http_gateway import HttpSmsGateway
from chudong.notifications.simulators import SimulatorServer


@pytest.fixture(scope="module")
def sim():
    with SimulatorServer("gw", "k-123") as s:
        yield s


def test_accepts_and_deduplicates_on_idempotency_key(sim):
    gw = HttpSmsGateway("gw", sim.url, "k-123")
    first = gw.send_batch([SmsMessage("+84912000001", "Xin chào", "key-dedup")])
    again = gw.send_batch([SmsMessage("+84912000001", "Xin chào", "key-dedup")])
    assert first[0].outcome == "accepted" and first[0].message_id
    assert again[0].message_id == first[0].message_id
    assert sim.state.messages["key-dedup"].sends == 2


def test_invalid_and_unknown_numbers_are_permanent(sim):
    gw = HttpSmsGateway("gw", sim.url, "k-123")
    bad, landline, unknown = gw.send_batch([SmsMessage("12345", "x", "k-bad"), SmsMessage("+842363822222", "x", "k-land"),
                                            SmsMessage("+84900000002", "x", "k-unknown")])
    assert (bad.outcome, bad.error_code) == ("permanent", "invalid_number")
    assert (landline.outcome, landline.error_code) == ("permanent", "invalid_number")
    assert (unknown.outcome, unknown.error_code) == ("permanent", "unknown_subscriber")


def test_carrier_failure_is_temporary_for_that_message_only(sim):
    gw = HttpSmsGateway("gw", sim.url, "k-123")
    r = gw.send_batch([SmsMessage("+84900000001", "x", "k-temp")])[0]
    assert r.outcome == "temporary" and not r.provider_wide


def test_server_error_and_rate_limit_are_provider_wide(sim):
    gw = HttpSmsGateway("gw", sim.url, "k-123")
    httpx.post(f"{sim.url}/_sim/fail", json={"status": 503, "count": 1})
    down = gw.send_batch([SmsMessage("+84912000002", "x", "k-503")])[0]
    httpx.post(f"{sim.url}/_sim/fail", json={"status": 429, "count": 1})
    limited = gw.send_batch([SmsMessage("+84912000002", "x", "k-429")])[0]
    assert (down.outcome, down.error_code, down.provider_wide) == ("temporary", "http_503", True)
    assert (limited.outcome, limited.error_code, limited.retry_after) == ("temporary", "rate_limited", 1.0)
    assert "k-503" not in sim.state.messages


def test_wrong_key_is_refused(sim):
    r = HttpSmsGateway("gw", sim.url, "wrong").send_batch([SmsMessage("+84912000003", "x", "k-key")])[0]
    assert (r.outcome, r.error_code) == ("temporary", "unauthorized")


def test_unreachable_gateway_is_a_temporary_network_failure():
    from chudong.notifications.simulators import free_port

    r = HttpSmsGateway("gw", f"http://127.0.0.1:{free_port()}", "k", timeout=1).send_batch(
        [SmsMessage("+84912000004", "x", "k-net")])[0]
    assert (r.outcome, r.error_code, r.provider_wide) == ("temporary", "network", True)


def test_rate_limit_of_the_simulator_answers_429():
    with SimulatorServer("slow", "k", rate_per_second=2) as s:
        gw = HttpSmsGateway("slow", s.url, "k")
        r = gw.send_batch([SmsMessage("+84912000005", "x", f"r{i}") for i in range(3)])
    assert {x.error_code for x in r} == {"rate_limited"}


def test_vietnamese_mobile_check():
    assert is_vn_mobile("+84912345678") and is_vn_mobile("+84381234567")
    assert not is_vn_mobile("+842363822222") and not is_vn_mobile("+8491234567")


def test_a_large_batch_goes_in_parallel_requests_and_keeps_the_order(sim):
    gw = HttpSmsGateway("gw", sim.url, "k-123", chunk=3, parallel=2)
    msgs = [SmsMessage("+84900000002" if i == 4 else f"+849120001{i:02d}", "x", f"k-chunk-{i}") for i in range(8)]
    results = gw.send_batch(msgs)
    gw.close()
    assert [r.outcome for r in results] == ["accepted"] * 4 + ["permanent"] + ["accepted"] * 3
    assert [sim.state.messages[f"k-chunk-{i}"].message_id for i in (0, 7)] == [results[0].message_id,
                                                                              results[7].message_id]


def test_more_messages_than_the_api_takes_in_one_request_are_refused(sim):
    from chudong.adapters.sms.http_gateway import MAX_BATCH

    body = {"messages": [{"to": "+84912000006", "text": "x", "idempotency_key": f"k-big-{i}"}
                         for i in range(MAX_BATCH + 1)]}
    r = httpx.post(f"{sim.url}/v1/sms/batch", json=body, headers={"Authorization": "Bearer k-123"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_messages"
    assert "k-big-0" not in sim.state.messages
