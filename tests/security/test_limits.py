"""Oversized and slow requests: documented body limits give 413; a stalled client cannot stall the server.

Limits (docs/SECURITY.md): CSV feeds 50 MiB, FHIR NDJSON 50 MiB, one FHIR Bundle 5 MiB, a
dossier attachment 5 MB, a delivery receipt 16 KiB. Slow clients: uvicorn 0.54 has no
timeout for reading request headers or a request body (its keep-alive timeout starts only
after a response), so a client that sends headers and then nothing keeps its connection —
the reverse proxy cuts it (nginx ``client_header_timeout`` / ``client_body_timeout`` in
deploy/nginx/chudong.conf, tested through nginx in tests/deploy/test_nginx.py). The test
below asserts that such a connection does not block anyone else.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from chudong.app import create_app
from chudong.config import Settings
from chudong.db import session_factory
from chudong.dossiers import service as dossiers
from chudong.dossiers.service import MAX_ATTACHMENT_BYTES
from chudong.fhir.parser import MAX_BUNDLE_BYTES
from chudong.identity.principal import issue_citizen_token
from chudong.registry.routes import MAX_CSV_BYTES
from chudong.registry.service import add_agency
from tests.dossiers import builders as b

MiB = 2**20


@pytest.fixture
def keys(engine) -> dict[str, str]:
    """API keys of a population registry and a hospital."""
    with session_factory(engine)() as s:
        _, population = add_agency(s, "pop-48", "Population registry", "population")
        _, hospital = add_agency(s, "hosp-48", "Hospital", "hospital")
        s.commit()
    return {"population": population, "hospital": hospital}


def test_documented_limits_are_the_ones_enforced():
    assert MAX_CSV_BYTES == 50 * MiB
    assert MAX_BUNDLE_BYTES == 5 * MiB
    assert MAX_ATTACHMENT_BYTES <= 5 * MiB


def test_csv_feed_over_50_mib_is_refused_with_413(client, keys):
    body = b"x" * (MAX_CSV_BYTES + 1)
    r = client.post("/api/v1/feeds/persons", content=body,
                    headers={"X-API-Key": keys["population"], "content-type": "text/csv"})
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "payload_too_large" or "limit" in r.text


def test_csv_feed_streamed_without_length_is_cut_at_the_limit(client, keys):
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        block = b"y" * MiB
        for _ in range(MAX_CSV_BYTES // MiB + 8):
            sent += len(block)
            yield block

    r = client.post("/api/v1/feeds/persons", content=chunks(),
                    headers={"X-API-Key": keys["population"], "content-type": "text/csv"})
    assert r.status_code == 413, r.text


def test_fhir_bundle_over_5_mib_is_refused_with_413(client, keys):
    body = b'{"resourceType": "Bundle", "entry": [' + b" " * (MAX_BUNDLE_BYTES + 1) + b"]}"
    r = client.post("/api/v1/feeds/births", content=body,
                    headers={"X-API-Key": keys["hospital"], "content-type": "application/fhir+json"})
    assert r.status_code == 413, r.text


def test_declared_length_over_the_limit_is_refused_before_reading(client, keys):
    # the declared length alone decides: the body is not read
    r = client.post("/api/v1/feeds/births", content=b"{}",
                    headers={"X-API-Key": keys["hospital"], "content-type": "application/fhir+json",
                             "content-length": str(MAX_BUNDLE_BYTES + 1)})
    assert r.status_code in (400, 413), r.text


def test_attachment_over_the_limit_is_refused_with_413(client, engine, settings, clock):
    with session_factory(engine)() as s:
        b.units(s)
        mother = b.person(s)
        ev = b.life_event(s, "birth-registration", person=mother, vital=b.vital_event(s, mother=mother))
        code = dossiers.open_dossiers(s, [ev.id]).codes[0]
        s.commit()
        mother_id = mother.id
    headers = {"Authorization": f"Bearer {issue_citizen_token(settings.secret_key, mother_id)}"}
    big = b"%PDF-1.4\n" + b"0" * MAX_ATTACHMENT_BYTES
    r = client.post(f"/api/v1/dossiers/{code}/attachments", headers=headers, data={"kind": "other"},
                    files={"file": ("big.pdf", big, "application/pdf")})
    assert r.status_code == 413, r.text


def test_receipt_over_16_kib_is_refused(client):
    r = client.post("/api/v1/notifications/receipts/sim", content=b"{" + b" " * 20_000 + b"}",
                    headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500 and r.status_code != 404


def test_portal_form_fields_over_their_length_are_refused(client):
    from tests.portal.helpers import post

    r = post(client, "/staff/signin", {"username": "u" * 61, "password": "p"})
    assert r.status_code == 422
    r = post(client, "/track", {"code": "c" * 61, "phone_last4": "1234"})
    assert r.status_code == 422


# --- slow clients, against a real server ------------------------------------------------------


@pytest.fixture
def server(sqlite_db, tmp_path: Path) -> Iterator[tuple[str, int, str]]:
    """A real uvicorn server (default timeouts, as `chudong serve` runs it) in a thread; yields host, port, key."""
    settings = Settings(env="test", data_dir=tmp_path)
    with session_factory(sqlite_db)() as s:
        _, key = add_agency(s, "pop-slow", "Population registry", "population")
        s.commit()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    config = uvicorn.Config(create_app(settings, sqlite_db), log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started
    try:
        yield host, port, key
    finally:
        srv.should_exit = True
        srv.force_exit = True
        thread.join(10)
        sock.close()


def _stall_body(host: str, port: int, key: str) -> socket.socket:
    s = socket.create_connection((host, port), timeout=5)
    s.sendall((f"POST /api/v1/feeds/persons HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key}\r\n"
               "Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\nrecord_id,").encode())
    return s


def _stall_headers(host: str, port: int) -> socket.socket:
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode())
    return s


def test_stalled_clients_do_not_block_other_requests(server):
    host, port, key = server
    stalled = [_stall_body(host, port, key) for _ in range(20)] + [_stall_headers(host, port) for _ in range(20)]
    try:
        started = time.monotonic()
        r = httpx.get(f"http://{host}:{port}/healthz", timeout=5)
        assert r.status_code == 200
        assert time.monotonic() - started < 5
    finally:
        for s in stalled:
            s.close()
