"""gunicorn settings for booking (``gunicorn --config deploy/gunicorn.conf.py 'booking:create_app()'``).

Why each value: see docs/deploy.md ("Web processes").
"""

import os

bind = os.environ.get("BOOKING_BIND", "127.0.0.1:8000")  # nginx in front; never expose gunicorn directly
workers = int(os.environ.get("BOOKING_WEB_WORKERS", "4"))  # about 2 x cores
# Threads per worker: with sync workers, four requests waiting on the database or a third party held
# all four processes and every other request queued behind them (a Twilio webhook then waited a
# second, issue 19); and the chat's open event streams (issue 17, docs/chat.md) each sleep in a thread
# of their own instead of holding a whole worker. Size BOOKING_WEB_THREADS for the open streams; the
# GIL still bounds CPU work to one core per process.
# The webhook pool (deploy/booking-webhooks.service) sets BOOKING_WEB_WORKER_CLASS=sync: it serves no
# event streams, and 64 threads in 2 processes took turns on one GIL per process - a thread holding an
# agent's row lock waited for the GIL after each database round trip, so every voicemail for that agent
# waited too (16 clients, one run of `python -m bench`, bench/README.md: /twilio/voice p99 88 ms on 4
# sync workers vs 179 ms on 2 x 64 threads, /twilio/voicemail 277 vs 460 ms; issue 19). A sync worker
# runs one request alone in its process; its after-response drain goes to a thread
# (BOOKING_OUTBOX_DRAIN_THREAD).
worker_class = os.environ.get("BOOKING_WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("BOOKING_WEB_THREADS", "64"))
# A request never waits on a third party for long (database: BOOKING_DB_*_TIMEOUT, outbound calls:
# their own deadlines), so 30 s is a ceiling for bugs, not a budget.
timeout = 30
graceful_timeout = 25  # SIGTERM: in-flight requests get this long to finish
keepalive = 5
# The app logs one access line per request itself (route pattern, no tokens, request id):
# BOOKING_ACCESS_LOG=true in booking.env. gunicorn's own access log would print paths with tokens.
accesslog = None
errorlog = "-"
# X-Forwarded-* are trusted from the local nginx only.
forwarded_allow_ips = "127.0.0.1"
# Don't run the scheduler inside web workers: booking worker does it (BOOKING_SCHEDULER only
# concerns `booking serve`; gunicorn never starts one).


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """The worker has built the app: freeze the startup heap (booking.serving.freeze_startup_heap:
    full garbage collections walked ~170,000 long-lived objects, a 150 ms stall every ~200 requests)."""
    from booking.serving import freeze_startup_heap

    freeze_startup_heap()


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Forget a dead worker's live gauges in Prometheus' multiprocess directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
