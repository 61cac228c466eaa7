"""Admins in the browser (issue 13, item 5 and 6): every agent's queue, the triage queue, and the SLA
report page with its server-drawn chart and CSV — all behind the agent session and the ``admin`` flag."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from booking.extensions import db
from booking.models import Agent
from tests.sla_queue.conftest import UNKNOWN_CALLER, fresh
from tests.voicemail.conftest import paris


def _make_admin(make_agent) -> None:
    make_agent(slug="ada", name="Ada Admin", phone="+33140000009", email="ada@example.com")
    fresh().query(Agent).filter_by(slug="ada").update({"admin": True})
    db.session.commit()


def test_an_admin_sees_every_queue_and_triage_and_an_agent_only_theirs(
    app, client, line, voicemail, sign_in, make_agent, frozen
):
    _make_admin(make_agent)
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")  # Acme, Camille's customer
    voicemail(paris(2026, 11, 30, 10, 5), "CA2", caller=UNKNOWN_CALLER)  # nobody matched: triage
    ada, camille = app.test_client(), app.test_client()
    sign_in(ada, "ada@example.com")
    sign_in(camille, "camille@example.com")

    assert "Acme SA" not in ada.get("/agent/queue?lang=en").get_data(as_text=True)  # her own: empty
    every = ada.get("/agent/queue?scope=all&lang=en").get_data(as_text=True)
    assert "Acme SA" in every and "Unknown sender (triage)" in every and "Camille Martin" in every
    triage = ada.get("/agent/queue?scope=triage&lang=en").get_data(as_text=True)
    assert "Unknown sender (triage)" in triage and "Acme SA" not in triage

    mine = camille.get("/agent/queue?scope=all&lang=en").get_data(as_text=True)  # not an admin: her own only
    assert "Acme SA" in mine and "Unknown sender (triage)" not in mine
    assert 'name="scope"' not in mine


def test_the_report_page_is_for_admins_and_shows_the_month(app, client, line, voicemail, sign_in, make_agent, frozen):
    _make_admin(make_agent)
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    ada, camille = app.test_client(), app.test_client()
    sign_in(ada, "ada@example.com")
    sign_in(camille, "camille@example.com")

    page = ada.get("/agent/queue/report?month=2026-11&lang=fr")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Rapport SLA" in html and "<svg" in html and "Acme SA" in html
    assert 'id="report-severities"' in html and 'href="/agent/queue/report.csv?month=2026-11"' in html
    csv = ada.get("/agent/queue/report.csv?month=2026-11")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "Acme SA" in csv.get_data(as_text=True)

    assert ada.get("/agent/queue/report?month=2026-13").status_code == 400  # a friendly page, not a 500
    assert camille.get("/agent/queue/report").status_code == 404
    assert camille.get("/agent/queue/report.csv").status_code == 404


def test_migration_0006_adds_and_removes_the_admin_flag(app):
    def columns() -> set[str]:
        return {c["name"] for c in inspect(db.engine).get_columns("agents")}

    assert "admin" in columns()
    try:
        downgrade(revision="0005")
        db.engine.dispose()
        assert "admin" not in columns()
    finally:
        upgrade()  # PostgreSQL's schema is shared by the session: always back at head
        db.engine.dispose()
    assert "admin" in columns()
