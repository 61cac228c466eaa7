"""A serving process freezes its startup heap (issue 19: the p99 of ``/twilio/voice`` at one client).

Every full garbage collection walked the ~170,000 objects the app is built of; about every 200
requests one request stalled ~150 ms inside the collector (p50 3.4 ms, p99 131 ms). After
``gc.freeze()`` the collector walks only what was allocated since. Checked in a fresh interpreter
(freezing this test process would keep every later test's garbage), for the three ways a server
builds the app: ``booking serve`` (``serve_gracefully``), a WSGI server's factory (``server_app``)
and gunicorn (``post_worker_init`` in deploy/gunicorn.conf.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import gc, json, runpy, sys
from booking import create_app
how = sys.argv[1]
if how == "server_app":
    from booking.serving import server_app
    server_app()
elif how == "gunicorn":
    create_app()
    runpy.run_path(sys.argv[2])["post_worker_init"](None)
else:
    create_app()
print(json.dumps({"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}))
"""


def _probe(how: str, tmp_path: Path) -> dict[str, int]:
    env = {
        "PATH": "/usr/bin:/bin",
        "BOOKING_SECRET_KEY": "k" * 40,
        "BOOKING_INSTANCE_PATH": str(tmp_path),
        "BOOKING_DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, how, str(ROOT / "deploy" / "gunicorn.conf.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("how", ["server_app", "gunicorn"])
def test_a_serving_process_leaves_its_startup_objects_out_of_the_collector(how, tmp_path):
    plain = _probe("plain", tmp_path)
    frozen = _probe(how, tmp_path)
    assert plain["frozen"] == 0 and plain["tracked"] > 50_000, plain  # what every full collection walked
    assert frozen["frozen"] >= plain["tracked"] * 0.9, frozen
    assert frozen["tracked"] < plain["tracked"] * 0.1, (plain, frozen)
