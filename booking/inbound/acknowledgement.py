"""The one honest acknowledgement's words, in French or English (issue 15, item 3).

It says what the offer says: mail received outside business hours is read, but nothing is promised
before the next business opening, which it names (date and time in the business zone, from
``core.business_time``). Severity 1-2 run on the wall clock (``core.sla``): their acknowledgement
names the first-response due time instead, which is what the request's clock promises.

Kept as data here rather than in the gettext catalogue: it is rendered outside any request, in the
customer's language chosen per message, and both texts read together.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime, format_time

from booking.config import Settings
from booking.core.sla import Severity

_PATTERNS = {"fr": "EEEE d MMMM y 'à' HH:mm", "en": "EEEE d MMMM y 'at' HH:mm"}

_SUBJECT = {"fr": "Bien reçu : {subject} [#R{id}]", "en": "Received: {subject} [#R{id}]"}

_URGENT = {
    "fr": (
        "Bonjour,\n\n"
        "Nous avons bien reçu votre message « {subject} » (demande n° {id}), en dehors de nos heures de "
        "support ({opens}-{closes}, {zone}, jours ouvrés). Vous l’avez classé en gravité {severity} : "
        "une première réponse vous est due au plus tard le {opening} ({zone}).\n\n"
        "Inutile de nous réécrire : votre demande est dans notre file. Pour ajouter une précision, "
        "répondez simplement à ce message.\n\n"
        "Ce message est un accusé de réception automatique, envoyé une seule fois par demande.\n"
    ),
    "en": (
        "Hello,\n\n"
        "We have received your message \u201c{subject}\u201d (request #{id}) outside our support hours "
        "({opens}-{closes}, {zone}, business days). You marked it severity {severity}: a first response is "
        "due by {opening} ({zone}) at the latest.\n\n"
        "There is no need to write again: your request is in our queue. To add anything, just reply "
        "to this message.\n\n"
        "This is an automatic acknowledgement, sent once per request.\n"
    ),
}

_BODY = {
    "fr": (
        "Bonjour,\n\n"
        "Nous avons bien reçu votre message « {subject} » (demande n° {id}).\n\n"
        "Il nous est parvenu en dehors de nos heures de support ({opens}-{closes}, {zone}, jours ouvrés) : "
        "il sera traité à partir de la prochaine ouverture, le {opening} ({zone}). "
        "Aucune action n’est garantie avant.\n\n"
        "Inutile de nous réécrire : votre demande est dans notre file. Pour ajouter une précision, "
        "répondez simplement à ce message.\n\n"
        "Ce message est un accusé de réception automatique, envoyé une seule fois par demande.\n"
    ),
    "en": (
        "Hello,\n\n"
        "We have received your message \u201c{subject}\u201d (request #{id}).\n\n"
        "It reached us outside our support hours ({opens}-{closes}, {zone}, business days): it will be "
        "handled from our next opening, {opening} ({zone}). No action is guaranteed before then.\n\n"
        "There is no need to write again: your request is in our queue. To add anything, just reply "
        "to this message.\n\n"
        "This is an automatic acknowledgement, sent once per request.\n"
    ),
}


def opening_text(opening: datetime, settings: Settings, language: str) -> str:
    """``lundi 28 décembre 2026 à 09:00`` / ``Monday 28 December 2026 at 09:00`` in the business zone."""
    locale = language if language in _PATTERNS else "fr"
    return format_datetime(opening, _PATTERNS[locale], tzinfo=settings.timezone, locale=locale)


def render(
    language: str, request_id: int, subject: str, opening: datetime, settings: Settings, severity: int = 3
) -> tuple[str, str]:
    """(subject, text) of the acknowledgement of request ``request_id``, first opened with ``subject``.

    ``opening`` is the next business opening, or for a wall-clock severity (1-2) the first-response due time.
    """
    locale = language if language in _BODY else "fr"
    short = (subject or "-")[:120]
    values = {
        "subject": short,
        "id": request_id,
        "opening": opening_text(opening, settings, locale),
        "zone": settings.timezone.key,
        "opens": format_time(settings.opens, "HH:mm", locale=locale),
        "closes": format_time(settings.closes, "HH:mm", locale=locale),
        "severity": severity,
    }
    body = _URGENT if Severity(severity).wall_clock else _BODY
    return _SUBJECT[locale].format(**values), body[locale].format(**values)
