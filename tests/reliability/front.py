"""The reliability stage's nginx: the configuration documented in docs/deployment.md, on ports of
its own, in front of the stage's gunicorn; and the probes that need it (slow bodies, refusals).

Only addresses change between the documented configuration and the one run here: the listening
ports (no TLS: the stage has no certificate), the upstream (the stage's gunicorn) and the host
name (127.0.0.1). Everything else - buffering, timeouts, limits, error pages - is run as written.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "deployment.md"


def documented_config() -> str:
    """The ```nginx block of docs/deployment.md."""
    found = re.search(r"```nginx\n(.*?)```", DOCUMENT.read_text(), re.S)
    if not found:
        raise RuntimeError(f"{DOCUMENT}: no ```nginx block")
    return found.group(1)


def local_config(*, https_port: int, http_port: int, upstream: str, workdir: Path) -> str:
    """The documented configuration on local ports, wrapped in a main context of its own."""
    text = documented_config()
    replacements = [
        (r"listen 443 ssl( default_server)?;", rf"listen 127.0.0.1:{https_port}\1;"),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"\n\s*ssl_certificate(_key)? [^;]*;", ""),
        (r"server 127\.0\.0\.1:8000;", f"server {upstream};"),
        (r"rmos\.example\.com", "127.0.0.1"),
    ]
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        if not count:
            raise RuntimeError(f"docs/deployment.md's nginx block has no {pattern!r} to adapt any more")
    temp = workdir / "nginx-temp"
    temp.mkdir(exist_ok=True)
    os.chmod(workdir, 0o755)
    os.chmod(temp, 0o777)  # nginx's workers run as another user when the stage runs as root
    return "\n".join(
        [
            "worker_processes 1;",
            f"pid {workdir / 'nginx.pid'};",
            f"error_log {workdir / 'nginx-error.log'} warn;",
            "events { worker_connections 1024; }",
            "http {",
            "  access_log off;",
            f"  client_body_temp_path {temp / 'body'};",
            f"  proxy_temp_path {temp / 'proxy'};",
            f"  fastcgi_temp_path {temp / 'fastcgi'};",
            f"  uwsgi_temp_path {temp / 'uwsgi'};",
            f"  scgi_temp_path {temp / 'scgi'};",
            text,
            "}",
            "",
        ]
    )


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not found:
        raise RuntimeError("nginx is not installed: apt-get install nginx (./dev reliability does it as root)")
    return found


class Front:
    """nginx, started with the local configuration and stopped by :meth:`stop`."""

    def __init__(self, *, upstream_port: int, workdir: Path, port: int, http_port: int):
        self.port = port
        self.workdir = workdir
        self.config = workdir / "nginx.conf"
        self.config.write_text(
            local_config(https_port=port, http_port=http_port, upstream=f"127.0.0.1:{upstream_port}", workdir=workdir)
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = nginx_binary()
        subprocess.run([binary, "-t", "-q", "-c", str(self.config), "-p", str(self.workdir)], check=True)
        self.process = subprocess.Popen([binary, "-c", str(self.config), "-p", str(self.workdir), "-g", "daemon off;"])
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _healthz_seconds(port: int, timeout: float) -> float:
    """Seconds one GET /healthz took (``timeout`` when it did not answer in time)."""
    started = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
        ok = conn.getresponse().status == 200
        conn.close()
    except (OSError, http.client.HTTPException):
        return timeout
    return time.perf_counter() - started if ok else timeout


def slow_body_probe(port: int, *, token: str, sockets: int, seconds: float, body_bytes: int = 100_000) -> dict:
    """``sockets`` clients each announce a ``body_bytes`` ingestion POST with a valid ``token`` (so
    that the app reads the body rather than refusing it at once) and send it a byte every 50 ms
    (``seconds`` long, then they give up), while /healthz is asked every 100 ms. Returns the
    healthz latencies' p50/p99/max and how many did not answer within 2 s."""
    stop = threading.Event()

    def trickle() -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            return
        with sock:
            head = (
                "POST /api/rmos/logs/ai/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Authorization: Token {token}\r\nContent-Length: {body_bytes}\r\n\r\n"
            )
            try:
                sock.sendall(head.encode())
                while not stop.is_set():
                    sock.send(b" ")
                    time.sleep(0.05)
            except OSError:
                return

    slow = [threading.Thread(target=trickle, daemon=True) for _ in range(sockets)]
    for thread in slow:
        thread.start()
    time.sleep(1.0)  # let every slow body get going first
    latencies: list[float] = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        latencies.append(_healthz_seconds(port, timeout=2.0))
        time.sleep(0.1)
    stop.set()
    for thread in slow:
        thread.join(timeout=5)
    latencies.sort()
    return {
        "slow_sockets": sockets,
        "healthz_requests": len(latencies),
        "healthz_p50_s": round(latencies[len(latencies) // 2], 3),
        "healthz_p99_s": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 3),
        "healthz_max_s": round(latencies[-1], 3),
        "healthz_over_2s": sum(1 for latency in latencies if latency >= 2.0),
    }


def refusals(port: int) -> dict:
    """nginx's own refusals through the documented configuration: status and body shape."""
    out = {}
    for name, path, host in (
        ("uri_too_long", "/api/rmos/ai/catalog?q=" + "x" * 20_000, "127.0.0.1"),
        ("bad_host", "/api/rmos/ai/catalog", "evil.example"),
    ):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        try:
            parsed = json.loads(body)
            shaped = (
                response.getheader("Content-Type", "").startswith("application/json")
                and {"status", "code", "detail", "errors"} <= set(parsed)
                and parsed["status"] == response.status
                and parsed["errors"][0]["rule"] == parsed["code"]
            )
        except (ValueError, KeyError, IndexError, TypeError):
            shaped = False
        out[name] = {"status": response.status, "json_error_shape": shaped}
    return out
