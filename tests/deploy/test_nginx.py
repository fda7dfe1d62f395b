"""The shipped nginx configuration in front of `chudong serve`: TLS + HTTP/2, slow clients cut off, each
route's body limit, static files from disk, and the rate limits keyed on the citizen's real address."""

from __future__ import annotations

import socket
import sqlite3
import ssl
import subprocess
import time

import pytest

from chudong.registry.routes import MAX_CSV_BYTES
from tests.deploy import proxy

KiB, MiB = 2**10, 2**20


def _tls(port: int) -> socket.socket:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost")


def _closed_within(s: socket.socket, seconds: float) -> bool:
    """Return True if the server answers or closes the connection within ``seconds``."""
    s.settimeout(seconds)
    try:
        s.recv(4096)  # b"" (closed) or an error response: either way, no longer stalled
        return True
    except TimeoutError:
        return False
    finally:
        s.close()


def test_https_with_http2_reaches_the_application(nginx):
    out = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                          f"{nginx.url}/healthz"], capture_output=True, text=True, timeout=20)
    assert out.stdout == "2 200", out.stderr


def test_plain_http_only_redirects_to_https(nginx):
    with proxy.client() as c:
        r = c.get(f"http://127.0.0.1:{nginx.http_port}/signin?x=1")
    assert r.status_code == 301
    assert r.headers["location"] == f"https://127.0.0.1:{nginx.https_port}/signin?x=1"


def test_pages_through_the_proxy_know_they_are_https(nginx):
    with proxy.client() as c:
        r = c.get(f"{nginx.url}/signin", headers={"accept": "text/html"})
    assert r.status_code == 200
    # X-Forwarded-Proto believed from the proxy: the application marks its answers HTTPS-only
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert "nginx/" not in r.headers.get("server", "")


def test_a_stalled_upload_is_cut_off_by_the_proxy(nginx):
    s = _tls(nginx.https_port)
    s.sendall(b"POST /api/v1/feeds/persons HTTP/1.1\r\nHost: localhost\r\nX-API-Key: k\r\n"
              b"Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\nrecord_id,")
    assert _closed_within(s, proxy.configured_seconds("client_body_timeout") + 5)


def test_a_stalled_request_head_is_cut_off_by_the_proxy(nginx):
    s = _tls(nginx.https_port)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    assert _closed_within(s, proxy.configured_seconds("client_header_timeout") + 5)


@pytest.mark.parametrize(("path", "size", "refused"), [
    ("/staff/signin", 1 * MiB + 1, True),                   # forms: 1 MiB
    ("/api/v1/notifications/receipts/sim", 16 * KiB + 1, True),
    ("/api/v1/dossiers/ABC/attachments", 6 * MiB + 1, True),
    ("/api/v1/dossiers/ABC/attachments", 2 * MiB, False),   # within the attachment limit: the app answers
    ("/api/v1/feeds/persons", MAX_CSV_BYTES + 1, True),
    ("/api/v1/feeds/persons", 2 * MiB, False),
])
def test_each_route_has_its_own_body_limit(nginx, path, size, refused):
    # the declared length decides, before the body is sent
    s = _tls(nginx.https_port)
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
              f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode())
    if not refused:
        block = b"z" * MiB
        for start in range(0, size, MiB):
            s.sendall(block[: min(MiB, size - start)])
    s.settimeout(30)
    head = s.recv(65536).decode("latin1")
    s.close()
    status = int(head.split()[1])
    if refused:
        assert status == 413, head
        assert '"payload_too_large"' in head and "vượt giới hạn" in head.encode("latin1").decode()
    else:
        assert status not in (413, 502, 503, 504), head  # the application judged it (no key: 401/403/404)


def test_static_files_are_served_by_nginx_even_without_the_application(nginx_without_app):
    with proxy.client() as c:
        css = c.get(f"{nginx_without_app.url}/static/app.css")
        page = c.get(f"{nginx_without_app.url}/signin")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff" and "expires" in css.headers
    assert page.status_code == 503
    assert page.json()["error"] == "unavailable" and page.headers["retry-after"] == "10"


def test_metrics_are_not_published(nginx):
    with proxy.client() as c:
        assert c.get(f"{nginx.url}/metrics").status_code == 404


def _rate_keys(server: proxy.ChudongServer, prefix: str) -> set[str]:
    with sqlite3.connect(server.database) as db:
        return {k for (k,) in db.execute("select key from rate_limit_bucket where key like ?", (prefix + "%",))}


def test_rate_limit_sees_the_clients_address_not_the_proxys(nginx, app_server):
    # the citizen connects from 127.0.0.2 and tries to pass for someone else; nginx is at 127.0.0.1
    with proxy.client(source="127.0.0.2") as c:
        c.cookies.set("chudong_csrf", "t0ken")
        r = c.post(f"{nginx.url}/staff/signin", data={"username": "x", "password": "y", "csrf_token": "t0ken"},
                   headers={"accept": "text/html", "x-forwarded-for": "203.0.113.9"})
    assert r.status_code == 401, r.text[:300]
    assert _rate_keys(app_server, "staff-ip:") == {"staff-ip:127.0.0.2"}


def test_forwarded_headers_from_anyone_but_the_proxy_are_ignored(app_server):
    # straight to the web process from an address that is not the proxy: its X-Forwarded-For is not believed
    with proxy.client(source="127.0.0.3") as c:
        c.cookies.set("chudong_csrf", "t0ken")
        r = c.post(f"http://127.0.0.1:{app_server.port}/staff/signin",
                   data={"username": "x", "password": "y", "csrf_token": "t0ken"},
                   headers={"accept": "text/html", "x-forwarded-for": "198.51.100.7"})
    assert r.status_code == 401
    keys = _rate_keys(app_server, "staff-ip:")
    assert "staff-ip:127.0.0.3" in keys and not any("198.51.100.7" in k for k in keys)


def test_a_citizen_cannot_pass_the_ip_limit_by_changing_x_forwarded_for(nginx):
    from chudong.portal.signin import IP_LIMIT

    statuses = []
    with proxy.client(source="127.0.0.4") as c:
        c.cookies.set("chudong_csrf", "t0ken")
        for i in range(IP_LIMIT[0] + 1):
            r = c.post(f"{nginx.url}/staff/signin", data={"username": "x", "password": "y", "csrf_token": "t0ken"},
                       headers={"accept": "text/html", "x-forwarded-for": f"192.0.2.{i}"})
            statuses.append(r.status_code)
    assert statuses[:-1] == [401] * IP_LIMIT[0] and statuses[-1] == 429
