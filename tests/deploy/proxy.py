"""Run the shipped nginx configuration (deploy/nginx) in front of a real `chudong serve`, on free local ports.

Used by the deploy tests and by `bench.portal --via-nginx`. nginx runs in the foreground under a private
prefix (its own pid file, logs and temp directories), so several runs can share the machine.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
RENDER = REPO / "deploy" / "nginx" / "render.sh"
SHIPPED_CONF = REPO / "deploy" / "nginx" / "chudong.conf"
CHUDONG = Path(sys.executable).with_name("chudong")


class ProxyUnavailable(RuntimeError):
    """nginx or chudong could not be started; the message says why."""


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary() -> str | None:
    """Return the path of Debian's nginx, or None when it is not installed."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for localhost / 127.0.0.1; return (certificate, key) paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ProxyUnavailable(f"{what} exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise ProxyUnavailable(f"{what} did not listen on port {port} within {seconds:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class ChudongServer:
    """A `chudong serve` process on a local port."""

    port: int
    data_dir: Path
    process: subprocess.Popen

    @property
    def database(self) -> Path:
        """The server's SQLite file."""
        return self.data_dir / "chudong.db"

    def stop(self) -> None:
        """Stop the server."""
        _stop(self.process)


def start_chudong(data_dir: Path, *, forwarded_allow_ips: str, workers: int = 1) -> ChudongServer:
    """Migrate a SQLite database in ``data_dir`` and start `chudong serve` on it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    environ = {**os.environ, "CHUDONG_ENV": "test", "CHUDONG_DATA_DIR": str(data_dir)}
    done = subprocess.run([str(CHUDONG), "db", "upgrade"], env=environ, capture_output=True, text=True)
    if done.returncode:
        raise ProxyUnavailable(f"chudong db upgrade failed: {done.stderr[-2000:]}")
    port = free_port()
    log = data_dir / "serve.log"
    proc = subprocess.Popen([str(CHUDONG), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--forwarded-allow-ips", forwarded_allow_ips],
                            env=environ, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc, "chudong serve", log, seconds=60)
    except ProxyUnavailable:
        _stop(proc)
        raise
    return ChudongServer(port, data_dir, proc)


@dataclass
class Nginx:
    """nginx running the shipped configuration under a private prefix."""

    https_port: int
    http_port: int
    prefix: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        """The HTTPS base URL."""
        return f"https://127.0.0.1:{self.https_port}"

    def stop(self) -> None:
        """Stop nginx."""
        _stop(self.process)


def render(prefix: Path, upstreams: str, cert: Path, key: Path, https_port: int, http_port: int) -> Path:
    """Render deploy/nginx/chudong.conf with render.sh (as an operator does); return the file."""
    from chudong import web

    env = {**os.environ, "CHUDONG_SERVER_NAME": "localhost", "CHUDONG_TLS_CERT": str(cert),
           "CHUDONG_TLS_KEY": str(key), "CHUDONG_UPSTREAMS": upstreams,
           "CHUDONG_STATIC_ROOT": str(Path(web.__file__).parent / "static"),
           "CHUDONG_HTTPS_PORT": str(https_port), "CHUDONG_HTTP_PORT": str(http_port),
           "CHUDONG_NGINX_LOG_DIR": str(prefix / "logs")}
    done = subprocess.run(["bash", str(RENDER)], env=env, capture_output=True, text=True)
    if done.returncode:
        raise ProxyUnavailable(f"render.sh failed: {done.stderr}")
    site = prefix / "chudong.conf"
    site.write_text(done.stdout)
    return site


def start_nginx(prefix: Path, upstreams: str) -> Nginx:
    """Start nginx with the shipped site configuration in front of ``upstreams`` ("host:port ...")."""
    binary = nginx_binary()
    if binary is None:
        raise ProxyUnavailable("nginx is not installed (scripts/services/nginx.sh installs Debian's package)")
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)
    cert, key = self_signed_certificate(prefix)
    https_port, http_port = free_port(), free_port()
    site = render(prefix, upstreams, cert, key, https_port, http_port)
    temp = "".join(f"    {kind}_temp_path {prefix / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read this private prefix
    main = prefix / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'logs/error.log'} warn;\n"
        "events { worker_connections 512; }\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n{temp}"
        f"    include {site};\n}}\n")
    log = prefix / "logs" / "stderr.log"
    proc = subprocess.Popen([binary, "-p", str(prefix), "-e", str(prefix / "logs/error.log"), "-c", str(main)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        _wait_port(https_port, proc, "nginx", log, seconds=15)
    except ProxyUnavailable as exc:
        _stop(proc)
        errors = (prefix / "logs/error.log")
        raise ProxyUnavailable(f"{exc}; {errors.read_text(errors='replace')[-1500:] if errors.exists() else ''}") from None
    return Nginx(https_port, http_port, prefix, proc)


def client(source: str = "127.0.0.1", **kwargs) -> httpx.Client:
    """Return an HTTPS client (self-signed certificate accepted) whose connections come from ``source``."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source, verify=False), verify=False, **kwargs)


def configured_seconds(directive: str) -> int:
    """Return a timeout of the shipped configuration, e.g. ``client_header_timeout`` → 10."""
    import re

    m = re.search(rf"^\s*{directive}\s+(\d+)s;", SHIPPED_CONF.read_text(), re.M)
    assert m, f"{directive} is not set in {SHIPPED_CONF}"
    return int(m.group(1))
