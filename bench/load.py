"""HTTP load for ``python -m bench``: servers started as the deployment starts them, ``wrk`` as the client.

``wrk`` (C, event loop) is the client so that 32 connections cost the 2-core machine little next to
the server under test; each run gets a generated Lua script holding the exact requests to send
(distinct bookings, distinct signed webhooks), spread over wrk's threads, and reports p50/p99 from
wrk's own latency histogram and the count of each status code.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LoadResult:
    p50_ms: float
    p99_ms: float
    rps: float
    requests: int
    codes: dict[int, int]
    errors: int

    def ok(self, *codes: int) -> bool:
        return self.errors == 0 and set(self.codes) <= set(codes or (200,))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A web server subprocess on a free port: ``gunicorn`` with deploy/gunicorn.conf.py or ``waitress``."""

    def __init__(self, kind: str, app: str, env: dict[str, str], log_dir: Path, **options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"{kind}-{self.port}.log"
        if kind == "gunicorn":
            extra = [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]
            args = ["-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "-b", f"127.0.0.1:{self.port}"]
            args += [*extra, app]
        else:
            threads = options.get("threads", "8")
            if app == "booking:create_app()":  # as `booking serve` runs it: startup heap frozen
                app = "booking.serving:server_app()"
            args = ["-m", "waitress", f"--threads={threads}", f"--port={self.port}", "--host=127.0.0.1"]
            args += ["--call" if app.endswith("()") else "--", app.removesuffix("()")]
            args = [a for a in args if a != "--"]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, *args], env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    def wait(self, path: str, seconds: float = 240) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                requests.get(self.url + path, timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"server did not answer within {seconds} s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


_LUA = """
local reqs = {%(reqs)s}
local built = {}
local counter = 0
tid = 0
nthreads = %(threads)d
codes = {}
local n_threads = 0
local threads = {}

function setup(thread)
  thread:set("tid", n_threads)
  n_threads = n_threads + 1
  table.insert(threads, thread)
end

function init(args)
  for i, r in ipairs(reqs) do
    built[i] = wrk.format(r[1], r[2], r[4], r[3])
  end
end

function request()
  local i = (counter * nthreads + tid) %% #built + 1
  counter = counter + 1
  return built[i]
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    for k, v in pairs(c) do all[k] = (all[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(all) do table.insert(parts, string.format('"%%d": %%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"p50": %%d, "p99": %%d, "requests": %%d, "duration": %%d, "errors": %%d, "codes": {%%s}}\\n',
    latency:percentile(50), latency:percentile(99), summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end
"""


def _lua(reqs: list[Req], threads: int) -> str:
    items = []
    for r in reqs:
        headers = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in r.headers)
        items.append(f"{{{_lua_string(r.method)}, {_lua_string(r.path)}, {_lua_string(r.body)}, {{{headers}}}}}")
    return _LUA % {"reqs": ",\n".join(items), "threads": threads}


def wrk(
    url: str, reqs: list[Req], clients: int, seconds: float, timeout_s: int = 10, warmup: list[Req] | None = None
) -> LoadResult:
    """``clients`` connections for ``seconds``; the requests are sent in order, round robin over threads.

    ``warmup`` (default: the same requests) is sent first for a second over at least 8 connections, so
    every server process has imported, connected and compiled what the measured run needs (a cold
    worker's first request costs tens of milliseconds and would be most of a 1-client run).
    """
    if warmup is None or warmup:
        _run(url, warmup or reqs, max(clients, 8), 1, timeout_s)
    return _run(url, reqs, clients, seconds, timeout_s)


@contextmanager
def background(url: str, reqs: list[Req], clients: int, seconds: float) -> Iterator[None]:
    """Load the server from a second ``wrk`` while the block runs (its figures are not kept)."""
    threads = min(clients, 2)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(reqs, threads))
    process = subprocess.Popen(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "-s", script.name, url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.wait(timeout=seconds + 60)
        os.unlink(script.name)


def _run(url: str, reqs: list[Req], clients: int, seconds: float, timeout_s: int) -> LoadResult:
    threads = min(clients, 2)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(reqs, threads))
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s", f"--timeout={timeout_s}s"]
            + ["-s", script.name, url],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        os.unlink(script.name)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    data = json.loads(line.removeprefix("WRKJSON "))
    return LoadResult(
        p50_ms=data["p50"] / 1000,
        p99_ms=data["p99"] / 1000,
        rps=data["requests"] / (data["duration"] / 1e6),
        requests=data["requests"],
        codes={int(k): v for k, v in data["codes"].items()},
        errors=data["errors"],
    )
