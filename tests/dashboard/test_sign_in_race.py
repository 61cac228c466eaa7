"""One link, two browsers pressing "Sign in" at the same instant: exactly one session starts.

Real HTTP against the app served by waitress, on SQLite and PostgreSQL: the single use rests on the
conditional UPDATE of the agent's nonce, which the database serializes (BEGIN IMMEDIATE on SQLite, the
row lock on PostgreSQL), not on a check in Python that two requests could both pass.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.dashboard.conftest import ask_for_link, last_logged_link
from tests.pages.forms import hidden


def test_two_concurrent_uses_of_one_link_sign_in_once(app, client, team, live_server):
    ask_for_link(client, "camille@vendor.example")
    path = last_logged_link(app)
    browsers = [requests.Session() for _ in range(4)]
    tokens = [hidden(b.get(live_server.url + path, timeout=10).text, "csrf_token") for b in browsers]
    barrier = threading.Barrier(len(browsers))

    def press(index: int) -> int:
        barrier.wait(timeout=10)
        response = browsers[index].post(
            live_server.url + path, data={"csrf_token": tokens[index]}, allow_redirects=False, timeout=30
        )
        return response.status_code

    with ThreadPoolExecutor(len(browsers)) as pool:
        statuses = sorted(pool.map(press, range(len(browsers))))
    assert statuses == [303, 410, 410, 410]
    dashboards = [b.get(live_server.url + "/agent", allow_redirects=False, timeout=10) for b in browsers]
    assert sorted(r.status_code for r in dashboards) == [200, 303, 303, 303]
