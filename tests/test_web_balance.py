"""gunicorn as deployed (deploy/gunicorn.conf.py) spreads kept-alive connections evenly (issue 19).

Plain ``gthread`` let the first worker awake accept most connections: under the bookings bench one
process held 25 of 32 and its requests waited 4-8x the median while the other core idled. The
balanced worker (``booking.web_balance``) accepts only while no live worker holds fewer. Counted
from the kernel's socket table (Linux ``/proc``): which worker process holds each established
connection to the server's port. No timing is asserted.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import base_env

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 4
CONNECTIONS = 32

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc socket table")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def _established_inodes(port: int) -> set[str]:
    """Socket inodes of established connections whose local end is ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if int(local.split(":")[1], 16) == port and state == "01":
            inodes.add(inode)
    return inodes


def _held(pid: int, inodes: set[str]) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            count += 1
    return count


@pytest.mark.slow
def test_kept_alive_connections_spread_evenly_over_the_workers(tmp_path: Path) -> None:
    port = _free_port()
    env = base_env(f"sqlite:///{tmp_path / 'booking.sqlite3'}", tmp_path, BOOKING_WEB_WORKERS=str(WORKERS))
    log = tmp_path / "gunicorn.log"
    config = str(ROOT / "deploy" / "gunicorn.conf.py")
    args = [sys.executable, "-m", "gunicorn", "-c", config, "-b", f"127.0.0.1:{port}"]
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [*args, "booking:create_app()"], env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    connections: list[http.client.HTTPConnection] = []
    try:
        deadline = time.monotonic() + 60
        while True:  # every worker loaded (and so live in the balance) before the clients connect
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200 and (
                    log.read_text().count("Worker ready") >= WORKERS  # post_worker_init: about to serve
                ):
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)

        def connect(_: int) -> http.client.HTTPConnection:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/healthz")  # HTTP/1.1: the connection is kept alive afterwards
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            return conn

        with ThreadPoolExecutor(CONNECTIONS) as pool:
            connections = list(pool.map(connect, range(CONNECTIONS)))
        inodes = _established_inodes(port)
        held = sorted((_held(pid, inodes) for pid in _children(server.pid)), reverse=True)
        assert sum(held) == CONNECTIONS, held
        assert held[0] - held[-1] <= 1, f"connections per worker: {held}"
    finally:
        for conn in connections:
            conn.close()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
