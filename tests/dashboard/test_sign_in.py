"""Password-less sign-in: the link arrives by real SMTP, signs in once, expires, and reveals nothing.

The clock is moved with ``frozen`` (itsdangerous and the session checks read the same patched clock).
"""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header

from sqlalchemy import select

from booking import create_app
from booking.extensions import db
from booking.models import Agent
from tests.conftest import MONDAY, base_env
from tests.dashboard.conftest import ask_for_link, csrf, last_logged_link, links_in, use_link
from tests.pages.forms import hidden


def test_the_mail_arrives_over_smtp_and_its_link_signs_in(client, team, smtp_sink):
    response = ask_for_link(client, "Camille@Vendor.example")  # addresses are matched case-insensitively
    assert response.status_code == 200
    assert len(smtp_sink.messages) == 1
    mail = smtp_sink.messages[0]
    assert mail["To"] == "camille@vendor.example"
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject == "Votre lien de connexion au tableau de bord du support dédié"  # asked in French
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "Bonjour Camille Martin," in text and "15 minutes" in text
    (path,) = links_in(text)
    assert path in html

    confirm = client.get(path)  # opening the link (or a mail scanner fetching it) uses nothing up
    assert confirm.status_code == 200 and confirm.headers["Referrer-Policy"] == "no-referrer"
    assert "Se connecter en tant que Camille Martin" in confirm.get_data(as_text=True)
    signed_in = client.post(path, data={"csrf_token": hidden(confirm.get_data(as_text=True), "csrf_token")})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/agent"
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http in tests

    dashboard = client.get("/agent")
    assert dashboard.status_code == 200
    assert "Bonjour Camille Martin" in dashboard.get_data(as_text=True)
    agent = db.session.scalar(select(Agent).where(Agent.slug == "camille"))
    assert agent.last_sign_in_at == MONDAY


def test_a_link_works_once(app, client, team):
    ask_for_link(client, "camille@vendor.example")
    path = last_logged_link(app)
    assert use_link(client, path).status_code == 303

    other = app.test_client()
    again = use_link(other, path)
    assert again.status_code == 410
    page = again.get_data(as_text=True)
    assert "Ce lien de connexion a déjà été utilisé" in page
    assert 'name="email"' in page  # the friendly page offers a new link at once
    assert other.get("/agent").status_code == 303
    # ...and pressing the button of a confirmation page opened before the link was used fails too.
    stale = other.post(path, data={"csrf_token": csrf(other)})
    assert stale.status_code == 410


def test_a_link_expires_after_15_minutes(app, client, team, frozen):
    ask_for_link(client, "camille@vendor.example")
    path = last_logged_link(app)
    frozen(MONDAY + timedelta(minutes=15))
    assert client.get(path).status_code == 200  # still good at exactly 15 minutes
    frozen(MONDAY + timedelta(minutes=15, seconds=1))
    refused = use_link(client, path)
    assert refused.status_code == 410
    assert "Ce lien de connexion a expiré" in refused.get_data(as_text=True)
    assert client.post(path, data={"csrf_token": csrf(client)}).status_code == 410
    assert client.get("/agent").status_code == 303


def test_a_tampered_link_is_refused(app, client, team):
    ask_for_link(client, "camille@vendor.example")
    path = last_logged_link(app)
    refused = client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))
    assert refused.status_code == 400
    assert "Ce lien de connexion n’est pas valide" in refused.get_data(as_text=True)


def test_using_a_newer_link_retires_the_older_ones(app, client, team, frozen):
    ask_for_link(client, "camille@vendor.example")
    older = last_logged_link(app)
    frozen(MONDAY + timedelta(minutes=2))
    ask_for_link(client, "camille@vendor.example")
    newer = last_logged_link(app)
    assert newer != older
    assert use_link(client, newer).status_code == 303
    assert use_link(app.test_client(), older).status_code == 410


def test_an_unknown_address_gets_the_same_page_and_no_mail(app, client, team, smtp_sink):
    known = ask_for_link(client, "camille@vendor.example")
    unknown = ask_for_link(app.test_client(), "nobody@vendor.example")
    assert unknown.status_code == known.status_code == 200
    assert unknown.get_data(as_text=True).replace("nobody@", "X@") == known.get_data(as_text=True).replace(
        "camille@", "X@"
    )
    assert [m["To"] for m in smtp_sink.messages] == ["camille@vendor.example"]


def test_an_inactive_agent_gets_no_mail(app, client, team):
    agent = db.session.scalar(select(Agent).where(Agent.slug == "camille"))
    agent.active = False
    db.session.commit()
    assert ask_for_link(client, "camille@vendor.example").status_code == 200
    assert app.extensions["booking.mailer"].sent == []


def test_a_malformed_address_is_asked_again(app, client, team):
    for odd in ("camille@vendor.example\r\nBcc: x@evil.example", "camille\x00@vendor.example"):
        response = client.post("/agent/sign-in", data={"email": odd, "csrf_token": csrf(client)})
        assert response.status_code == 400, repr(odd)
    assert app.extensions["booking.mailer"].sent == []
    response = client.post("/agent/sign-in", data={"email": "camille", "csrf_token": csrf(client)})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in page and 'id="email-error"' in page and 'value="camille"' in page


def test_one_mail_a_minute_per_agent(app, client, team, frozen):
    for _ in range(3):
        ask_for_link(client, "camille@vendor.example")
    assert len(app.extensions["booking.mailer"].sent) == 1
    frozen(MONDAY + timedelta(minutes=1))
    ask_for_link(client, "camille@vendor.example")
    assert len(app.extensions["booking.mailer"].sent) == 2


def test_after_using_a_link_a_new_one_comes_at_once(app, client, team):
    ask_for_link(client, "camille@vendor.example")
    assert use_link(client, last_logged_link(app)).status_code == 303
    ask_for_link(app.test_client(), "camille@vendor.example")  # same minute, e.g. from another device
    assert len(app.extensions["booking.mailer"].sent) == 2
    assert use_link(app.test_client(), last_logged_link(app)).status_code == 303


def test_the_sign_in_form_is_csrf_protected(client, team):
    response = client.post("/agent/sign-in", data={"email": "camille@vendor.example"})
    assert response.status_code == 400
    assert "Ce formulaire a expiré" in response.get_data(as_text=True)


def test_the_dashboard_and_its_actions_require_sign_in(client, team, leave_voicemail):
    callback = leave_voicemail(team["acme"], "CA1")
    response = client.get("/agent")
    assert response.status_code == 303 and response.headers["Location"] == "/agent/sign-in"
    token = csrf(client)
    for action in ("done", "move"):
        response = client.post(f"/agent/callbacks/{callback.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 303 and response.headers["Location"] == "/agent/sign-in"
    db.session.rollback()
    assert db.session.get(type(callback), callback.id).status == "pending"


def test_signing_out_ends_every_copy_of_the_session(app, client, team, sign_in):
    sign_in(client, "camille@vendor.example")
    copy = app.test_client()
    cookie = client.get_cookie("session")
    copy.set_cookie("session", cookie.value)
    assert copy.get("/agent").status_code == 200

    assert client.post("/agent/sign-out").status_code == 400  # CSRF-protected
    page = client.get("/agent").get_data(as_text=True)
    out = client.post("/agent/sign-out", data={"csrf_token": hidden(page, "csrf_token")})
    assert out.status_code == 303 and out.headers["Location"] == "/agent/sign-in?notice=signed_out"
    assert "Vous êtes déconnecté" in client.get(out.headers["Location"]).get_data(as_text=True)
    assert client.get("/agent").status_code == 303

    stale = copy.get("/agent")  # the copied cookie (another browser, or a stolen one) is dead too
    assert stale.status_code == 303 and stale.headers["Location"] == "/agent/sign-in?notice=expired"


def test_a_session_lasts_12_hours(client, team, sign_in, frozen):
    sign_in(client, "camille@vendor.example")
    frozen(MONDAY + timedelta(hours=12))
    assert client.get("/agent").status_code == 200
    frozen(MONDAY + timedelta(hours=12, seconds=1))
    assert client.get("/agent").status_code == 303


def test_the_session_cookie_is_secure_when_published_on_https(sqlite_url, tmp_path):
    app = create_app(
        {"TESTING": True}, env=base_env(sqlite_url, tmp_path, BOOKING_PUBLIC_URL="https://support.example")
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_the_mail_speaks_the_language_of_the_sign_in_page(app, client, team):
    client.get("/agent/sign-in?lang=en")  # the switch is remembered in a cookie, as on every page
    ask_for_link(client, "camille@vendor.example")
    mail = app.extensions["booking.mailer"].sent[-1]
    assert mail["Subject"] == "Your sign-in link for the dedicated support dashboard"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Hello Camille Martin,") and "within 15 minutes" in text


def test_without_a_public_url_no_link_is_built_from_a_foreign_host_header(database_url, tmp_path, team):
    """The Host header is the client's choice: a link built from it would mail the token elsewhere."""
    app = create_app({"TESTING": True}, env=base_env(database_url, tmp_path, BOOKING_PUBLIC_URL=""))
    mailer = app.extensions["booking.mailer"]
    attacker = app.test_client()
    page = attacker.get("/agent/sign-in", base_url="http://evil.example")
    response = attacker.post(
        "/agent/sign-in",
        base_url="http://evil.example",
        data={"email": "camille@vendor.example", "csrf_token": hidden(page.get_data(as_text=True), "csrf_token")},
    )
    response.close()
    assert response.status_code == 503 and not mailer.sent
    # In development, on loopback, the request's own root is trusted (the link goes to the log).
    local = app.test_client()
    page = local.get("/agent/sign-in", base_url="http://127.0.0.1:8000")
    response = local.post(
        "/agent/sign-in",
        base_url="http://127.0.0.1:8000",
        data={"email": "camille@vendor.example", "csrf_token": hidden(page.get_data(as_text=True), "csrf_token")},
    )
    response.close()
    assert response.status_code == 200
    assert "http://127.0.0.1:8000/agent/sign-in/" in mailer.sent[-1].get_body(preferencelist=("plain",)).get_content()
