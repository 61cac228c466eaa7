"""IMAP IDLE against the real Dovecot: new mail wakes the watcher at once, stop() is prompt, a broken
mailbox is retried without raising. Every wait below waits for an event, with a deadline only in
case it never comes (no fixed sleeps)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from booking.inbound.imap_idle import IdleWatcher, worker_watcher
from booking.inbound.imap_url import parse_imap_url
from booking.models_requests import SupportRequest
from tests.fixtures.dovecot import *  # noqa: F403  (the dovecot_server / imap_mailbox fixtures)
from tests.fixtures.dovecot import DovecotMailbox
from tests.inbound.conftest import fresh, mail

WAIT = 15.0  # seconds before a test gives up on an event that should come at once


class Calls:
    """An ``on_new`` that counts and lets the test wait for the n-th call."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for(self, n: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count >= n, timeout=WAIT)


@pytest.fixture
def watch() -> Iterator[Callable[..., IdleWatcher]]:
    started: list[IdleWatcher] = []

    def start(target: Any, on_new: Callable[[], object], **kwargs: Any) -> IdleWatcher:
        watcher = IdleWatcher(target, on_new, timeout=10, **kwargs).start()
        started.append(watcher)
        return watcher

    yield start
    for watcher in started:
        watcher.stop()


def test_new_mail_wakes_the_watcher_at_once(imap_mailbox: DovecotMailbox, watch):
    calls = Calls()
    watcher = watch(parse_imap_url(imap_mailbox.url()), calls)
    assert calls.wait_for(1), "a catch-up call on connecting"
    assert watcher.idling.wait(WAIT) and watcher.offered is True

    imap_mailbox.append(mail().as_bytes())

    assert calls.wait_for(2), "IDLE did not report the new message"
    assert watcher.idling.wait(WAIT), "IDLE resumed after the poll"
    imap_mailbox.append(mail(message_id="<m2@acme.example>").as_bytes())
    assert calls.wait_for(3)


def test_stop_ends_an_idling_watcher_promptly(imap_mailbox: DovecotMailbox, watch):
    watcher = watch(parse_imap_url(imap_mailbox.url()), Calls())
    assert watcher.idling.wait(WAIT)
    began = time.monotonic()
    watcher.stop()
    assert watcher._thread is not None and not watcher._thread.is_alive()
    assert time.monotonic() - began < 5  # not the 25-minute renewal, nor the 10 s timeout


def test_idle_is_renewed_before_the_server_drops_it(imap_mailbox: DovecotMailbox, watch, dovecot_server):
    calls = Calls()
    watcher = watch(parse_imap_url(imap_mailbox.url()), calls, renew_seconds=0.2)
    assert watcher.idling.wait(WAIT)
    watcher.idling.clear()
    assert watcher.idling.wait(WAIT), "a second IDLE after the renewal"
    imap_mailbox.append(mail().as_bytes())
    assert calls.wait_for(2)  # still listening on the same connection after renewals


def test_a_wrong_password_is_retried_with_back_off_never_raised(imap_mailbox: DovecotMailbox, watch, caplog):
    calls = Calls()
    watcher = watch(parse_imap_url(imap_mailbox.url(password="s3cret-not-it")), calls, retry_seconds=0.01)
    deadline = time.monotonic() + WAIT
    while caplog.text.count("reconnecting in") < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # polling the log for the thread's second failure, not a timing assumption
    assert caplog.text.count("reconnecting in") >= 2 and "AUTHENTICATIONFAILED" in caplog.text
    assert "s3cret-not-it" not in caplog.text
    assert watcher._thread is not None and watcher._thread.is_alive()
    assert calls.count == 0


@pytest.fixture
def env_overrides(env_overrides: dict[str, str], imap_mailbox: DovecotMailbox) -> dict[str, str]:
    return {**env_overrides, "BOOKING_IMAP_URL": imap_mailbox.url()}


def test_the_worker_watcher_runs_the_poll_job_when_mail_arrives(app, people, imap_mailbox):
    watcher = worker_watcher(app)
    assert watcher is not None
    polls = Calls()
    job = watcher.on_new
    watcher.on_new = lambda: (job(), polls())
    watcher.start()
    try:
        assert polls.wait_for(1) and watcher.idling.wait(WAIT)
        imap_mailbox.append(mail().as_bytes())
        assert polls.wait_for(2)
    finally:
        watcher.stop()
    (request,) = fresh().scalars(select(SupportRequest)).all()
    assert request.channel == "email" and request.customer_id == people["acme"]["id"]


def test_no_watcher_without_a_mailbox(app):
    off = replace(app.extensions["booking.settings"], imap=None)
    app.extensions["booking.settings"] = off
    assert worker_watcher(app) is None
