"""``/metrics`` gauges of the IMAP poller, read from ``imap_mailboxes`` at scrape time.

The worker polls and the web process serves ``/metrics``: the mailbox row (written by every poll)
is what both see. The label is the mailbox without its user (``host:port/folder``).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.models_imap import ImapMailbox

__all__ = ["imap_gauges"]


def imap_gauges(session: Session) -> Iterator[Metric]:
    ok = GaugeMetricFamily(
        "booking_imap_poll_ok", "1 when the mailbox's last IMAP poll succeeded, else 0.", labels=["mailbox"]
    )
    last = GaugeMetricFamily(
        "booking_imap_last_poll_timestamp_seconds", "When the mailbox was last polled.", labels=["mailbox"]
    )
    failures = GaugeMetricFamily(
        "booking_imap_consecutive_failures", "Failed polls in a row (0 once one succeeds).", labels=["mailbox"]
    )
    imported = GaugeMetricFamily(
        "booking_imap_imported_messages", "Messages ingested from this mailbox, all time.", labels=["mailbox"]
    )
    for box in session.scalars(select(ImapMailbox).order_by(ImapMailbox.key)):
        label = [box.key.rsplit("@", 1)[-1]]
        ok.add_metric(label, 1 if box.failures == 0 and box.last_ok_at is not None else 0)
        if box.last_poll_at is not None:
            last.add_metric(label, box.last_poll_at.timestamp())
        failures.add_metric(label, box.failures)
        imported.add_metric(label, box.imported)
    yield from (ok, last, failures, imported)
