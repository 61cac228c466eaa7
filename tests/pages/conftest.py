"""Fixtures for the customer pages: an eligible customer with a named agent, and form helpers."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def customer(make_agent, make_customer, frozen) -> dict[str, Any]:
    agent = make_agent(name="Camille Martin", email="camille@vendor.example", language="fr")
    return make_customer(agent["slug"], name="Acme Industries")
