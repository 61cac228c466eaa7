"""Password-less agent sign-in: a one-time link by e-mail, then a session that sign-out revokes.

Why links and not passwords: agents already prove who they are by reading their work mailbox, and
a service that stores no passwords cannot leak any. The rules the links follow:

* **Signed and short-lived.** A link carries ``(agent id, nonce, issued at)`` signed with the app's
  secret key (itsdangerous, salted for this purpose only) and is refused 15 minutes after it was
  issued. The expiry is checked against ``now`` passed in, so tests move the clock instead of waiting.
* **Single use.** The nonce is the agent's current ``sign_in_nonce``; signing in replaces it with a
  conditional ``UPDATE ... WHERE sign_in_nonce = :old``, so of two concurrent uses of one link exactly
  one wins, and every link issued before a successful sign-in (older mails) stops working too.
* **No account enumeration.** Asking for a link answers the same whatever the address; the mail is
  queued in the outbox and sent after the response, so the answer does not take longer for a real
  agent either.
* **Never stored.** The outbox row keeps what is needed to rebuild the link (id, nonce, issue time),
  not the link: it is signed when the mail is written, so the database alone cannot sign anyone in.
  A mail the outbox could only send after the link expired is dropped instead of delivering a dead link.
* **One mail per agent per minute.** The outbox key includes the minute (and the nonce), so hammering
  the form for one address sends one mail a minute at most (the outbox ignores a second row with the
  same key), while an agent who just used a link and signed out can get a new one at once.

Sessions are Flask's signed cookies; they carry the agent's ``session_generation``, which signing out
increments, so signing out ends every session of that agent, including copies of the cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from booking.db_guards import write_transaction
from booking.models import Agent, new_token
from booking.services import outbox

EVENT_SIGN_IN_REQUESTED = "agent.sign_in_requested"
LINK_LIFETIME = timedelta(minutes=15)
#: A session older than this asks for a new link: a lost laptop does not stay signed in for ever.
SESSION_LIFETIME = timedelta(hours=12)
_SALT = "booking.agent-sign-in"


class SignInError(Exception):
    """A sign-in link that cannot be used; ``reason`` says why, in words the page can explain."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "invalid" | "expired" | "used"


@dataclass(frozen=True)
class LinkClaims:
    agent_id: int
    nonce: str
    issued_at: datetime


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=_SALT)


def make_token(secret_key: str, agent_id: int, nonce: str, issued_at: datetime) -> str:
    """The signed part of a sign-in link (URL-safe)."""
    return _serializer(secret_key).dumps([agent_id, nonce, int(issued_at.timestamp())])


def read_token(secret_key: str, token: str, now: datetime) -> LinkClaims:
    """Check the signature and the age of a link; raise SignInError("invalid" | "expired")."""
    try:
        agent_id, nonce, issued = _serializer(secret_key).loads(token)
        claims = LinkClaims(int(agent_id), str(nonce), datetime.fromtimestamp(int(issued), UTC))
    except (BadSignature, ValueError, TypeError, OverflowError) as exc:
        raise SignInError("invalid") from exc
    age = now - claims.issued_at
    if age > LINK_LIFETIME or age < -timedelta(minutes=1):
        raise SignInError("expired")
    return claims


def active_agents_for(session: Session, email: str) -> list[Agent]:
    """Active agents whose address is ``email`` (case-insensitive: people type addresses as they like)."""
    normalized = email.strip().lower()
    if not normalized:
        return []
    return list(
        session.scalars(
            select(Agent).where(func.lower(Agent.email) == normalized, Agent.active.is_(True)).order_by(Agent.id)
        )
    )


def request_sign_in(session: Session, email: str, now: datetime, *, base_url: str, locale: str) -> list[int]:
    """Queue a sign-in mail for each active agent with this address; return the outbox row ids.

    Returns ``[]`` for an unknown address: the caller answers the same page either way.
    """
    agents = active_agents_for(session, email)
    if not agents:
        return []
    ids: list[int] = []
    with write_transaction(session):
        for agent in agents:
            if agent.sign_in_nonce is None:
                agent.sign_in_nonce = new_token()
            minute = now.astimezone(UTC).strftime("%Y%m%dT%H%M")
            payload: dict[str, Any] = {
                "agent_id": agent.id,
                "nonce": agent.sign_in_nonce,
                "issued_at": now.astimezone(UTC).isoformat(),
                "base_url": base_url,
                "locale": locale,
            }
            # Keyed on the nonce too: after a link is used, the next request mails at once.
            key = f"sign-in:{agent.id}:{agent.sign_in_nonce[:12]}:{minute}"
            ids += outbox.emit(session, EVENT_SIGN_IN_REQUESTED, payload, key, now)
    return ids


def check_link(session: Session, secret_key: str, token: str, now: datetime) -> Agent:
    """The agent a link would sign in, without using it up (the confirmation page shows it)."""
    claims = read_token(secret_key, token, now)
    # Always the stored nonce: a fresh transaction (no older snapshot) and no identity-map copy,
    # since the link's mail was queued by another session, after the sign-in page had answered.
    session.commit()
    agent = session.get(Agent, claims.agent_id, populate_existing=True)
    if agent is None or not agent.active:
        raise SignInError("invalid")
    if agent.sign_in_nonce != claims.nonce:
        raise SignInError("used")
    return agent


def use_link(session: Session, secret_key: str, token: str, now: datetime) -> Agent:
    """Use a link once: replace the agent's nonce if it is still the link's, else refuse it as used."""
    claims = read_token(secret_key, token, now)
    with write_transaction(session):
        result = session.execute(
            update(Agent)
            .where(Agent.id == claims.agent_id, Agent.active.is_(True), Agent.sign_in_nonce == claims.nonce)
            .values(sign_in_nonce=new_token(), last_sign_in_at=now)
            .execution_options(synchronize_session=False)
        )
        won = result.rowcount == 1  # type: ignore[attr-defined]
    agent = session.get(Agent, claims.agent_id)
    if agent is None or not agent.active:
        raise SignInError("invalid")
    if not won:
        raise SignInError("used")
    session.refresh(agent)
    return agent


def session_agent(session: Session, agent_id: Any, generation: Any, signed_in_at: Any, now: datetime) -> Agent | None:
    """The agent a session cookie stands for, or None when it was signed out, is too old or is gone."""
    if not isinstance(agent_id, int) or not isinstance(generation, int) or not isinstance(signed_in_at, str):
        return None
    try:
        started = datetime.fromisoformat(signed_in_at)
    except ValueError:
        return None
    if started.tzinfo is None or now - started > SESSION_LIFETIME:
        return None
    agent = session.get(Agent, agent_id, populate_existing=True)  # a sign-out elsewhere must show at once
    if agent is None or not agent.active or agent.session_generation != generation:
        return None
    return agent


def sign_out(session: Session, agent_id: int) -> None:
    """End every session of this agent (the signed cookies become stale at once)."""
    with write_transaction(session):
        session.execute(
            update(Agent)
            .where(Agent.id == agent_id)
            .values(session_generation=Agent.session_generation + 1)
            .execution_options(synchronize_session=False)
        )
