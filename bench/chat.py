"""Chat delivery under many open streams (issue 17): gunicorn (gthread) on PostgreSQL, loopback.

Starts ``gunicorn 'booking:create_app()'`` (``--workers 2 --threads 128`` by default, the serving model
of docs/chat.md) on a scratch PostgreSQL database, opens ``--streams`` concurrent SSE streams (one
visitor conversation each, spread over the workers by the kernel), then posts ``--messages`` visitor
messages into random conversations and measures, per message, the time from the POST leaving this
process to its event arriving on the conversation's stream: the write, the commit, NOTIFY, the
listener of whichever worker holds the stream, the stream's read of the new row, the socket.

Usage: python bench/chat.py --database-url postgresql+psycopg://postgres@127.0.0.1/scratch
       [--streams 200] [--messages 300] [--workers 2] [--threads 128] [--interval 0.02]
The database's public schema is dropped and re-created: give it a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

SECRET = "bench-secret-key-0123456789abcdef"
ADMIN = "bench-admin-token-0123456789abcdefghijkl"
POSTS: list[float] = []  # round trip of each POST (ms): the part of the delay before any fan-out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(url: str, instance: str) -> dict[str, str]:
    return {
        **os.environ,
        "BOOKING_DATABASE_URL": url,
        "BOOKING_SECRET_KEY": SECRET,
        "BOOKING_ADMIN_TOKEN": ADMIN,
        "BOOKING_INSTANCE_PATH": instance,
        "BOOKING_PUBLIC_URL": "",
        # Always open, so the figure does not depend on when it is run.
        "BOOKING_BUSINESS_DAYS": "mon-sun",
        "BOOKING_BUSINESS_HOURS": "00:00-23:59",
        "BOOKING_HOLIDAYS": "",
        "BOOKING_RATE_LIMIT_CHAT": "",
        "BOOKING_SCHEDULER": "false",
    }


def reset_and_migrate(url: str, env: dict[str, str]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    subprocess.run(
        [sys.executable, "-c", "from booking.cli import main; main()", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )


def wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)  # waiting for a real server to start, not for business time
    raise SystemExit("gunicorn did not start")


def seed(base: str, streams: int) -> tuple[str, list[str], int]:
    """One agent, one customer, ``streams`` conversations (each opened by its first message)."""
    auth = {"Authorization": f"Bearer {ADMIN}"}
    http = requests.Session()
    agent = {"slug": "camille", "name": "Camille", "email": "camille@example.com", "phone": "+33140000001"}
    assert http.post(f"{base}/api/agents", json=agent, headers=auth).status_code == 201
    body = {"name": "Acme", "plan": "all-inclusive", "dedicated_support": True, "agent": "camille"}
    token = http.post(f"{base}/api/customers", json=body, headers=auth).json()["chat_token"]
    keys, last = [], 0
    for i in range(streams):
        sent = http.post(f"{base}/api/chat/{token}/messages", json={"name": f"Visitor {i}", "text": "hello"})
        assert sent.status_code == 201, sent.text
        keys.append(sent.json()["visitor_key"])
        last = max(last, sent.json()["id"])
    return token, keys, last


async def stream(
    port: int, token: str, key: str, last: int, received: dict[int, float], ready: asyncio.Event, counter: list[int]
):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"GET /api/chat/{token}/events?visitor={key} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Accept: text/event-stream\r\nLast-Event-ID: {last}\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    connected = False
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            if not connected and line.startswith(b": connected"):
                connected = True
                counter[0] += 1
                if counter[0] == counter[1]:
                    ready.set()
            elif line.startswith(b"id: "):
                received.setdefault(int(line[4:].strip()), time.perf_counter())
    finally:
        writer.close()


def post_messages(base: str, token: str, keys: list[str], count: int, interval: float, sent: dict[int, float]) -> None:
    http = requests.Session()
    rng = random.Random(17)
    for n in range(count):
        key = rng.choice(keys)
        t0 = time.perf_counter()
        response = http.post(
            f"{base}/api/chat/{token}/messages",
            json={"name": "Visitor", "text": f"message {n}"},
            headers={"X-Chat-Visitor": key},
        )
        response.raise_for_status()
        sent[response.json()["id"]] = t0
        POSTS.append((time.perf_counter() - t0) * 1000)
        time.sleep(interval)  # pacing the load generator (real time, not business time)


async def run(
    port: int, token: str, keys: list[str], args: argparse.Namespace
) -> tuple[dict[int, float], dict[int, float]]:
    received: dict[int, float] = {}
    sent: dict[int, float] = {}
    ready = asyncio.Event()
    counter = [0, len(keys)]
    tasks = [asyncio.create_task(stream(port, token, key, args.last, received, ready, counter)) for key in keys]
    await asyncio.wait_for(ready.wait(), timeout=120)
    print(f"{len(keys)} streams open")
    base = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(post_messages, base, token, keys, args.messages, args.interval, sent)
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and not set(sent) <= set(received):
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return sent, received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=128)
    parser.add_argument("--interval", type=float, default=0.02)
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="chat-bench-")
    env = server_env(args.database_url, instance)
    reset_and_migrate(args.database_url, env)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "-w",
        str(args.workers),
        "--threads",
        str(args.threads),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "booking:create_app()",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=Path(__file__).resolve().parent.parent)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_up(base, proc)
        token, keys, last = seed(base, args.streams)
        args.last = last
        sent, received = asyncio.run(run(port, token, keys, args))
    finally:
        proc.terminate()  # open streams hold gunicorn's graceful stop: cut them after a while
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    latencies = sorted((received[i] - t0) * 1000 for i, t0 in sent.items() if i in received)
    lost = len(sent) - len(latencies)
    if not latencies:
        raise SystemExit("no message was delivered")
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"gunicorn gthread {args.workers}x{args.threads}, PostgreSQL LISTEN/NOTIFY, {args.streams} open streams, "
        f"{len(sent)} messages: delivery p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, "
        f"max {latencies[-1]:.1f} ms, lost {lost}"
    )
    posts = sorted(POSTS)
    print(
        f"  of which the POST itself (write, commit, NOTIFY, answer): p50 {statistics.median(posts):.1f} ms, "
        f"p99 {posts[int(len(posts) * 0.99)]:.1f} ms; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
