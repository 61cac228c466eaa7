"""Issue 12 item 7: booking tokens, manage tokens and feed keys are stored hashed and sealed, never in clear.

The dump test reads every column of every table as text, the way a leaked backup would be read, and
looks for the live tokens. The migration test starts from a database of the previous schema with clear
tokens in it: after the upgrade the very same links still work, and the dump no longer contains them.
"""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from booking import create_app
from booking.extensions import db
from tests.conftest import base_env


def _dump() -> str:
    """Every value of every column of every table, as text (what a stolen backup shows)."""
    parts = []
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            select = ", ".join(f'CAST("{c}" AS TEXT)' for c in columns)
            for row in conn.execute(text(f'SELECT {select} FROM "{table}"')):
                parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


def test_a_database_dump_contains_no_live_token(client, admin, make_agent, make_customer, frozen):
    agent = make_agent()
    customer = make_customer(agent["slug"])
    booking = client.post(
        "/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": "2026-12-01T10:00:00+01:00",
            "topic": "help",
            "name": "Alice",
            "email": "alice@customer.example",
        },
    ).get_json()
    feed_key = agent["feed_url"].rsplit("key=", 1)[1]
    secrets = [customer["booking_token"], booking["manage_token"], feed_key]
    assert all(len(s) >= 32 for s in secrets)
    dump = _dump()
    assert customer["name"] in dump and "alice@customer.example" in dump  # the dump does hold the data
    assert [s for s in secrets if s in dump] == []
    # ... and every link still works.
    assert client.get(f"/book/{customer['booking_token']}").status_code == 200
    assert client.get(f"/bookings/{booking['id']}/manage?token={booking['manage_token']}").status_code == 200
    assert client.get(f"/agents/{agent['slug']}/calendar.ics?key={feed_key}").status_code == 200
    assert client.get(f"/agents/{agent['slug']}/calendar.ics?key={feed_key[:-1]}x").status_code == 404


def test_rotated_feed_key_is_stored_hashed_too(client, admin, make_agent):
    agent = make_agent()
    rotated = client.post(f"/api/agents/{agent['slug']}/feed-key", headers=admin).get_json()
    new_key = rotated["feed_url"].rsplit("key=", 1)[1]
    assert new_key != agent["feed_url"].rsplit("key=", 1)[1]
    assert new_key not in _dump()


def test_caldav_copy_and_feed_carry_no_manage_link(app, client, make_agent, make_customer, frozen):
    from booking.calendar_sync.invitations import calendar_object_ics, invitation_ics
    from booking.models import Booking

    customer = make_customer(make_agent()["slug"])
    client.post(
        "/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": "2026-12-01T10:00:00+01:00",
            "topic": "help",
            "name": "Alice",
            "email": "alice@customer.example",
        },
    )
    booking = db.session.query(Booking).one()
    settings = app.extensions["booking.settings"]
    from booking import clock

    def unfolded(ics: bytes) -> str:
        return ics.decode().replace("\r\n ", "")

    assert booking.manage_token in unfolded(invitation_ics(booking, settings, clock.now()))  # the customer's own
    assert booking.manage_token not in unfolded(calendar_object_ics(booking, settings, clock.now()))


def test_migration_keeps_existing_links_working_and_removes_them_from_the_dump(tmp_path):
    booking_token, manage_token, feed_key = "b" * 32, "m" * 32, "f" * 32
    app = create_app({"TESTING": True}, env=base_env(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path))
    with app.app_context():
        upgrade(revision="0002")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO agents (slug, name, email, phone, timezone, tier, on_call, active, feed_key, "
                    "created_at, session_generation) VALUES ('camille', 'Camille', 'c@example.com', '+33140000001', "
                    f"'Europe/Paris', 'dedicated', 0, 1, '{feed_key}', '2026-11-01 00:00:00', 0)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO customers (name, plan, dedicated_support, agent_id, booking_token, created_at) "
                    f"VALUES ('Acme', 'all-inclusive', 1, 1, '{booking_token}', '2026-11-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO bookings (uid, kind, agent_id, customer_id, start_at, end_at, topic, status, "
                    "sequence, manage_token, contact_name, contact_email, created_at, updated_at) VALUES "
                    "('u1@booking', 'call', 1, 1, '2026-12-01 09:00:00', '2026-12-01 09:30:00', 'help', "
                    f"'confirmed', 0, '{manage_token}', 'Alice', 'a@example.com', '2026-11-01 00:00:00', "
                    "'2026-11-01 00:00:00')"
                )
            )
        upgrade()
        dump = _dump()
        assert [t for t in (booking_token, manage_token, feed_key) if t in dump] == []
        client = app.test_client()
        assert client.get(f"/book/{booking_token}").status_code == 200
        assert client.get(f"/bookings/1/manage?token={manage_token}").status_code == 200
        assert client.get(f"/agents/camille/calendar.ics?key={feed_key}").status_code == 200
        from booking.models import Agent, Booking, Customer

        # The clear tokens can still be handed out (mails, admin API): the sealed copies open.
        assert db.session.get(Customer, 1).booking_token == booking_token
        assert db.session.get(Booking, 1).manage_token == manage_token
        assert db.session.get(Agent, 1).feed_key == feed_key
        db.session.remove()

        downgrade(revision="0002")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT booking_token FROM customers")).scalar() == booking_token
            assert conn.execute(text("SELECT manage_token FROM bookings")).scalar() == manage_token
            assert conn.execute(text("SELECT feed_key FROM agents")).scalar() == feed_key
        db.engine.dispose()


def test_a_leaked_booking_link_can_be_replaced(client, admin, make_agent, make_customer):
    customer = make_customer(make_agent()["slug"])
    response = client.post(f"/api/customers/{customer['id']}/booking-token", headers=admin)
    assert response.status_code == 200
    rotated = response.get_json()
    assert rotated["booking_token"] != customer["booking_token"] and rotated["booking_url"].endswith(
        rotated["booking_token"]
    )
    assert client.get(f"/book/{customer['booking_token']}").status_code == 404
    assert client.get(f"/book/{rotated['booking_token']}").status_code == 200
    assert client.post("/api/customers/999/booking-token", headers=admin).get_json()["error"]["code"] == (
        "unknown_customer"
    )
    assert client.post(f"/api/customers/{customer['id']}/booking-token").status_code == 401


def test_secret_key_rotation_with_reseal(database_url, tmp_path, client, make_agent, make_customer):
    """New key configured, old key in BOOKING_OLD_SECRET_KEY: `booking reseal` moves every sealed value."""
    from booking.models import Customer

    customer = make_customer(make_agent()["slug"])
    env = base_env(database_url, tmp_path, BOOKING_SECRET_KEY="the-new-secret-key-0123456789abcdef")
    rotated = create_app({"TESTING": True}, env=env)
    with rotated.app_context():
        assert rotated.test_client().get(f"/book/{customer['booking_token']}").status_code == 200  # hash: still valid
        result = rotated.test_cli_runner().invoke(args=["reseal"], env={"BOOKING_OLD_SECRET_KEY": ""})
        assert result.exit_code != 0 and "BOOKING_OLD_SECRET_KEY" in result.output
        from tests.conftest import SECRET

        result = rotated.test_cli_runner().invoke(args=["reseal"], env={"BOOKING_OLD_SECRET_KEY": SECRET})
        assert result.exit_code == 0, result.output
        # the customer's booking and chat tokens and the agent's feed key
        assert "resealed 3 link tokens" in result.output
        assert db.session.get(Customer, customer["id"]).booking_token == customer["booking_token"]
        again = rotated.test_cli_runner().invoke(args=["reseal"], env={"BOOKING_OLD_SECRET_KEY": SECRET})
        assert "resealed 0 link tokens" in again.output
        db.session.remove()
        db.engine.dispose()
