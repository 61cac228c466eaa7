"""The agent answers from the request page (CSRF form) or the API; the reply arrives threaded at the
sender (SMTP sink), is stored on the thread, records the first response, and the customer's answer
to it joins the same request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from booking.inbound.models import RequestMessage
from booking.models_requests import SupportRequest
from tests.dashboard.conftest import ask_for_link, csrf, links_in, use_link
from tests.inbound.conftest import AGENT_EMAIL, SUPPORT, fresh, mail

TUESDAY_10 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def browser(app: Any, client: Any, people: Any, smtp_sink: Any, frozen: Any) -> Any:
    """Another client, signed in as the agent through the real link flow (the link read from the SMTP sink).

    ``client`` is the dashboard tests' (a fresh ``g`` per request, as in production): depending on it
    installs that hook before the app handles its first request.
    """
    frozen(TUESDAY_10)
    client = app.test_client()
    ask_for_link(client, AGENT_EMAIL)
    sent = smtp_sink.to(AGENT_EMAIL)[-1]
    link = links_in(_body(sent))[0]
    assert use_link(client, link).status_code == 303
    return client


def _body(msg: Any) -> str:
    """The text/plain part of a message the sink received."""
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    return str(part.get_payload(decode=True).decode())


def test_the_agent_replies_from_the_page_and_it_arrives_threaded(people, send, frozen, smtp_sink, browser):
    frozen(TUESDAY_10)
    send(mail(References="<older@acme.example>"))
    request = fresh().scalars(select(SupportRequest)).one()
    page = browser.get(f"/agent/requests/{request.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "the nightly export fails" in html and "Votre réponse" in html
    posted = browser.post(
        f"/agent/requests/{request.id}/reply",
        data={"csrf_token": csrf(browser, f"/agent/requests/{request.id}"), "text": "Fixed: please retry."},
    )
    assert posted.status_code == 303
    (answer,) = smtp_sink.to("alice@acme.example")
    assert answer["In-Reply-To"] == "<m1@acme.example>"
    assert answer["References"] == "<older@acme.example> <m1@acme.example>"
    assert SUPPORT in answer["From"] and f"[#R{request.id}]" in answer["Subject"]
    assert answer["Auto-Submitted"] is None  # a person's answer
    assert "Fixed: please retry." in _body(answer)
    request = fresh().get(SupportRequest, request.id)
    assert request is not None and request.first_response_at == TUESDAY_10 and request.status == "responded"
    rows = fresh().scalars(select(RequestMessage).where(RequestMessage.request_id == request.id)).all()
    assert [(r.direction, r.kind, r.sent_at is not None) for r in rows] == [
        ("in", "customer", False),
        ("out", "reply", True),
    ]
    assert rows[1].message_id == answer["Message-ID"]
    # The customer answers the reply: it joins the same request.
    send(mail(subject=f"Re: {answer['Subject']}", message_id="<m9@acme.example>", In_Reply_To=answer["Message-ID"]))
    assert len(fresh().scalars(select(SupportRequest)).all()) == 1
    assert "Fixed: please retry." in browser.get(f"/agent/requests/{request.id}").get_data(as_text=True)


def test_the_reply_form_needs_its_csrf_token_and_the_agents_own_request(people, send, frozen, browser, make_agent):
    frozen(TUESDAY_10)
    send(mail())
    request = fresh().scalars(select(SupportRequest)).one()
    refused = browser.post(f"/agent/requests/{request.id}/reply", data={"text": "hi"})
    assert refused.status_code == 400
    empty = browser.post(
        f"/agent/requests/{request.id}/reply",
        data={"csrf_token": csrf(browser, f"/agent/requests/{request.id}"), "text": "   "},
    )
    assert empty.status_code == 400 and "must not be empty" in empty.get_data(as_text=True)
    assert browser.get(f"/agent/requests/{request.id + 1000}").status_code == 404
    assert fresh().scalars(select(RequestMessage).where(RequestMessage.direction == "out")).all() == []


def test_the_api_reply(people, send, frozen, smtp_sink, client, admin):
    frozen(TUESDAY_10)
    send(mail())
    request = fresh().scalars(select(SupportRequest)).one()
    done = client.post(f"/api/requests/{request.id}/reply", json={"text": "On it."}, headers=admin)
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert body["message"]["kind"] == "reply" and body["request"]["first_response_at"] is not None
    (answer,) = smtp_sink.to("alice@acme.example")
    assert answer["In-Reply-To"] == "<m1@acme.example>"
    assert client.post(f"/api/requests/{request.id}/reply", json={"text": ""}, headers=admin).status_code == 400
    assert client.post(f"/api/requests/{request.id}/reply", json={"txt": "x"}, headers=admin).status_code == 400
    assert client.post("/api/requests/99999/reply", json={"text": "x"}, headers=admin).status_code == 404
    assert client.post(f"/api/requests/{request.id}/reply", json={"text": "x"}).status_code == 401
    client.post(f"/api/requests/{request.id}/resolve", headers=admin)
    late = client.post(f"/api/requests/{request.id}/reply", json={"text": "x"}, headers=admin)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "resolved"


def test_the_thread_through_the_api_and_the_page_with_attachments(people, send, frozen, browser, client, admin):
    frozen(TUESDAY_10)
    msg = mail(text="See the log.\n\nOn Monday, Support wrote:\n> earlier answer\n")
    msg.add_attachment(b"ERROR 42", maintype="text", subtype="html", filename="log.html")
    msg.add_attachment(b"\0" * 5000, maintype="application", subtype="zip", filename="dump.zip")
    send(msg)
    request = fresh().scalars(select(SupportRequest)).one()
    thread = client.get(f"/api/requests/{request.id}/messages", headers=admin).get_json()["messages"]
    assert [m["text"] for m in thread] == ["See the log."]
    assert thread[0]["attachments"] == [
        {"filename": "log.html", "content_type": "text/html", "size": 8, "stored": True},
        {"filename": "dump.zip", "content_type": "application/zip", "size": 5000, "stored": False},
    ]
    assert client.get(f"/api/requests/{request.id}/messages").status_code == 401
    queue = browser.get("/agent/queue").get_data(as_text=True)
    assert f'href="/agent/requests/{request.id}"' in queue
    page = browser.get(f"/agent/requests/{request.id}").get_data(as_text=True)
    assert "earlier answer" not in page and "dump.zip" in page
    (stored,) = fresh().scalars(select(RequestMessage)).one().attachments[:1]
    download = browser.get(f"/agent/requests/{request.id}/attachments/{stored.id}")
    assert download.status_code == 200 and download.data == b"ERROR 42"
    assert download.mimetype == "application/octet-stream" and "attachment" in download.headers["Content-Disposition"]
    assert browser.get(f"/agent/requests/{request.id + 1}/attachments/{stored.id}").status_code == 404


def test_an_attachment_named_in_chinese_downloads_with_a_latin_1_header(people, send, frozen, browser):
    """WSGI headers are Latin-1: « 报告.pdf » in ``filename=`` made the server answer 500."""
    frozen(TUESDAY_10)
    msg = mail(text="Report attached.")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="报告 été.pdf")
    send(msg)
    request = fresh().scalars(select(SupportRequest)).one()
    (stored,) = fresh().scalars(select(RequestMessage)).one().attachments
    download = browser.get(f"/agent/requests/{request.id}/attachments/{stored.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4"
    disposition = download.headers["Content-Disposition"]
    disposition.encode("latin-1")  # raises before the fix
    assert "filename*=UTF-8''%E6%8A%A5%E5%91%8A%20%C3%A9t%C3%A9.pdf" in disposition
