"""TwiML documents for the phone line, built with the Twilio SDK and returned as strings.

Every document the webhooks answer with is made here, so the call flow can be read in one place
and tested by parsing XML, without Flask or a database:

* in business hours a known caller is put through to their dedicated agent (:func:`dial_agent`);
  when the agent does not answer, the caller leaves a message (:func:`busy_voicemail`);
* after hours the caller hears when the line is open and when they will be called back, can press 1
  if their service is down (severity 1: :func:`forward_to_support`), or leaves a message
  (:func:`after_hours_menu`);
* in business hours, when the service has senior agents, the caller may press 2 for a senior
  technical agent before the dedicated agent's phone rings (:func:`in_hours_menu`); every senior on
  duty then rings at once (:func:`dial_seniors`), and when none can take the call the caller leaves
  a message for the senior team (:func:`senior_voicemail`).

Callers are mostly French customers of a French vendor, so each message is said in French, then in
English. Values that reach a document (names, numbers, URLs carrying caller input) are made
XML-safe here: the SDK escapes markup characters, and :func:`_xml_safe` removes the characters XML
1.0 cannot carry at all, which would otherwise produce a document Twilio rejects (the caller would
hear "an application error has occurred").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from typing import Literal

from babel.dates import format_datetime, get_day_names, get_timezone_location
from twilio.twiml.voice_response import Gather, VoiceResponse

__all__ = [
    "DEFAULT_MAX_RECORDING_SECONDS",
    "Greeting",
    "Lang",
    "after_hours_menu",
    "after_hours_voicemail",
    "apology",
    "busy_voicemail",
    "critical_voicemail",
    "dial_agent",
    "dial_seniors",
    "format_when",
    "forward_to_support",
    "hangup",
    "in_hours_menu",
    "leave_message",
    "record_voicemail",
    "senior_voicemail",
    "voicemail_saved",
]

Lang = Literal["fr", "en"]

#: Three minutes: enough to describe an outage, short enough to listen to before calling back.
DEFAULT_MAX_RECORDING_SECONDS = 180

# <Say language=...> values (Twilio's codes) and Babel locales for dates, per message language.
_SAY_LANGUAGE: dict[Lang, str] = {"fr": "fr-FR", "en": "en-US"}
_LOCALE: dict[Lang, str] = {"fr": "fr_FR", "en": "en_GB"}

# Characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets); everything else is dropped.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# Messages, French then English. Kept together so a wording change touches one place.
_GREETING = {
    "fr": (
        "Bonjour, vous êtes bien au support dédié. Nous sommes ouverts {days}, de {opens} à "
        "{closes}{zone}. Nous sommes actuellement fermés : nous vous rappellerons dès notre "
        "réouverture, le {when}."
    ),
    "en": (
        "Hello, you have reached dedicated support. We are open {days}, from {opens} to "
        "{closes}{zone}. We are closed right now: we will call you back as soon as we open, "
        "on {when}."
    ),
}
_PRESS_ONE = {
    "fr": "Si votre service est interrompu, appuyez sur 1.",
    "en": "If your service is down, press 1.",
}
_PRESS_TWO = {
    "fr": (
        "Bonjour, vous êtes bien au support dédié. Pour un ingénieur technique senior, appuyez sur 2. "
        "Sinon, restez en ligne : nous appelons {who}."
    ),
    "en": (
        "Hello, you have reached dedicated support. For a senior technical agent, press 2. "
        "Otherwise, stay on the line: we are calling {who}."
    ),
}
_PRESS_TWO_WHO = {"fr": "votre interlocuteur", "en": "your support agent"}
_CONNECTING_SENIOR = {
    "fr": "Nous vous mettons en relation avec un ingénieur technique senior.",
    "en": "Connecting you to a senior technical agent.",
}
_SENIOR_MESSAGE = {
    "fr": (
        "Aucun ingénieur senior n'est disponible pour le moment. L'ingénieur d'astreinte vient d'être "
        "prévenu et vous rappellera dans l'heure. Décrivez le problème après le bip, puis appuyez sur dièse."
    ),
    "en": (
        "No senior agent is available right now. The on-call engineer has just been alerted and will "
        "call you back within the hour. Describe the problem after the beep, then press the pound key."
    ),
}
_LEAVE_MESSAGE = {
    "fr": "Sinon, laissez votre nom et votre message après le bip, puis appuyez sur dièse.",
    "en": "Otherwise, please leave your name and message after the beep, then press the pound key.",
}
_BUSY = {
    "fr": (
        "{who} n'a pas pu prendre votre appel. Laissez votre nom et votre message après le bip, "
        "puis appuyez sur dièse : nous vous rappellerons au plus vite."
    ),
    "en": (
        "{who} could not take your call. Please leave your name and message after the beep, "
        "then press the pound key: we will call you back as soon as possible."
    ),
}
_BUSY_WHO = {"fr": "Votre interlocuteur", "en": "Your support agent"}
_CONNECTING = {
    "fr": "Nous vous mettons en relation avec un ingénieur de support.",
    "en": "Connecting you to a support engineer.",
}
_CRITICAL = {
    "fr": (
        "L'ingénieur d'astreinte vient d'être prévenu et vous rappellera dans l'heure. Décrivez le "
        "problème après le bip, puis appuyez sur dièse."
    ),
    "en": (
        "The on-call engineer has just been alerted and will call you back within the hour. Describe "
        "the problem after the beep, then press the pound key."
    ),
}
_PLAIN_MESSAGE = {
    "fr": "Laissez votre nom, votre numéro et votre message après le bip, puis appuyez sur dièse.",
    "en": "Please leave your name, number and message after the beep, then press the pound key.",
}
_APOLOGY = {
    "fr": (
        "Nous sommes désolés, un problème technique nous empêche de prendre votre appel. Merci de "
        "rappeler dans quelques minutes ou d'utiliser le chat de support."
    ),
    "en": (
        "We are sorry, a technical problem prevents us from taking your call. Please call again in a "
        "few minutes or use the support chat."
    ),
}
_SAVED = {
    "fr": "Merci, votre message a bien été enregistré. Au revoir.",
    "en": "Thank you, your message has been recorded. Goodbye.",
}


# --------------------------------------------------------------------------------------------------
# Dates and opening hours, in words
# --------------------------------------------------------------------------------------------------


def format_when(dt: datetime, lang: Lang, zone: tzinfo | None = None) -> str:
    """Say a date and time the way a person would on the phone.

    ``"lundi 28 décembre à 9 h"`` / ``"Monday 28 December at 9:00"`` (``"vendredi 1er janvier à
    9 h 30"`` for a first of the month). No year: a callback is days away, never a year. ``dt`` must
    be aware; it is shown in ``zone`` (the business zone) when given, else in its own zone, so a
    UTC timestamp from the database is read out as Paris time.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_when needs an aware datetime")
    local = dt.astimezone(zone) if zone is not None else dt
    if lang == "fr":
        day = "d'er'" if local.day == 1 else "d"
        clock = "H 'h'" if local.minute == 0 else "H 'h' mm"
        pattern = f"EEEE {day} MMMM 'à' {clock}"
    elif lang == "en":
        pattern = "EEEE d MMMM 'at' H:mm"
    else:
        raise ValueError(f"unsupported language {lang!r}")
    return format_datetime(local, pattern, tzinfo=local.tzinfo, locale=_LOCALE[lang])


def _clock(t: time, lang: Lang) -> str:
    """``9 h``/``17 h 30`` in French, ``9:00``/``17:30`` in English (24-hour, as in the offer)."""
    if lang == "fr":
        return f"{t.hour} h" if t.minute == 0 else f"{t.hour} h {t.minute:02d}"
    return f"{t.hour}:{t.minute:02d}"


def _join(items: list[str], lang: Lang) -> str:
    conjunction = " et " if lang == "fr" else " and "
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + conjunction + items[-1]


@dataclass(frozen=True, slots=True)
class Greeting:
    """What an after-hours caller is told: when the line is open and when they will be called back.

    ``next_opening`` is computed by the caller (business calendar, holidays skipped) from ``now``;
    this layer only puts it into words. ``days`` uses Python's weekday numbers (0 = Monday), as
    ``BOOKING_BUSINESS_DAYS`` is parsed; ``opens``/``closes`` are wall-clock times in ``zone``.
    """

    next_opening: datetime
    zone: tzinfo
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    days: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))

    def __post_init__(self) -> None:
        if self.next_opening.tzinfo is None or self.next_opening.utcoffset() is None:
            raise ValueError("Greeting.next_opening must be an aware datetime")
        days = frozenset(self.days)
        if not days or not days <= frozenset(range(7)):
            raise ValueError(f"Greeting.days must be weekday numbers 0-6, got {sorted(self.days)}")
        object.__setattr__(self, "days", days)

    def when(self, lang: Lang) -> str:
        """The next opening in words, in the business zone."""
        return format_when(self.next_opening, lang, self.zone)

    def hours_label(self, lang: Lang) -> tuple[str, str]:
        """Opening and closing time in words."""
        return _clock(self.opens, lang), _clock(self.closes, lang)

    def days_label(self, lang: Lang) -> str:
        """``du lundi au vendredi`` / ``Monday to Friday``; a list when the days are not a run."""
        names = get_day_names("wide", locale=_LOCALE[lang])
        days = sorted(self.days)
        if len(days) == 7:
            return "tous les jours" if lang == "fr" else "every day"
        if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
            first, last = names[days[0]], names[days[-1]]
            return f"du {first} au {last}" if lang == "fr" else f"{first} to {last}"
        if lang == "fr":
            return _join([f"le {names[d]}" for d in days], lang)
        return "on " + _join([names[d] for d in days], lang)

    def zone_label(self, lang: Lang) -> str:
        """``, heure de Paris`` / ``, Paris time``: callers abroad need to know whose 9 h it is.

        Empty for a fixed-offset ``tzinfo`` that has no city to name.
        """
        key = getattr(self.zone, "key", None)
        if not key:
            return ""
        try:
            city = get_timezone_location(self.zone, locale=_LOCALE[lang], return_city=True)
        except (
            LookupError,
            ValueError,
            AttributeError,
        ):  # pragma: no cover - exotic zones
            return ""
        if not city:
            return ""
        if city == "UTC":
            return " UTC"
        if lang == "fr":
            elided = city[0].lower() in "aeiouéèêàâîôû"
            return f", heure d'{city}" if elided else f", heure de {city}"
        return f", {city} time"

    def message(self, lang: Lang) -> str:
        """The full greeting sentence in ``lang``."""
        opens, closes = self.hours_label(lang)
        return _GREETING[lang].format(
            days=self.days_label(lang),
            opens=opens,
            closes=closes,
            zone=self.zone_label(lang),
            when=self.when(lang),
        )


# --------------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------------


def _xml_safe(value: object) -> str:
    """``value`` as text XML can carry: control characters and lone surrogates removed."""
    return _XML_INVALID.sub("", str(value))


def _check_range(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}, got {value!r}")
    return value


def _say_both(target: VoiceResponse | Gather, messages: dict[str, str]) -> None:
    """Append one ``<Say>`` per language to ``target``, French first."""
    for lang in ("fr", "en"):
        target.say(_xml_safe(messages[lang]), language=_SAY_LANGUAGE[lang])


def _append_record(
    response: VoiceResponse,
    record_action_url: str,
    recording_status_url: str,
    max_length: int,
) -> None:
    """``<Record>`` then ``<Hangup/>``.

    The recording is stored from the *status callback* (``completed`` only), not from ``action``:
    Twilio calls the status callback even when the caller hangs up mid-message, and only once the
    file is downloadable. The trailing ``<Hangup/>`` ends the call when nothing was recorded
    (silence), in which case Twilio skips ``action`` and moves on to the next verb.
    """
    response.record(
        action=_xml_safe(record_action_url),
        method="POST",
        max_length=_check_range("max_length", max_length, 1, 14400),
        finish_on_key="#",
        play_beep=True,
        recording_status_callback=_xml_safe(recording_status_url),
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    response.hangup()


def dial_agent(agent_phone: str, caller_id: str, action_url: str, timeout: int = 20) -> str:
    """Put the caller through to their dedicated agent's phone.

    ``action_url`` is the dial-status webhook: Twilio requests it when the dial ends with
    ``DialCallStatus`` (``completed``, ``no-answer``, ``busy``, ``failed``...), which is where a
    missed call turns into a voicemail. ``timeout`` is how long the agent's phone rings (seconds);
    20 s leaves the agent's own voicemail (usually ~25 s) out of the way, so the message lands in
    ours and a callback is queued.
    """
    response = VoiceResponse()
    dial = response.dial(
        action=_xml_safe(action_url),
        method="POST",
        timeout=_check_range("timeout", timeout, 5, 600),
        caller_id=_xml_safe(caller_id),
    )
    dial.number(_xml_safe(agent_phone))
    return str(response)


#: Seconds the in-hours menu waits for the key after its prompt: short, the dedicated agent is next.
IN_HOURS_MENU_WAIT = 3


def in_hours_menu(
    gather_action_url: str,
    agent_phone: str,
    caller_id: str,
    dial_action_url: str,
    *,
    agent_name: str | None = None,
    timeout: int = 20,
) -> str:
    """The business-hours answer when senior agents exist: "press 2 for a senior", else the dedicated agent.

    A ``<Gather numDigits=1>`` posts the key to ``gather_action_url``; when no key is pressed Twilio
    falls through to the next verb, the same ``<Dial>`` :func:`dial_agent` returns, so a caller who
    does nothing reaches their dedicated agent as before, a few seconds later.
    """
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, timeout=IN_HOURS_MENU_WAIT, action=_xml_safe(gather_action_url), method="POST"
    )
    name = (agent_name or "").strip()
    _say_both(gather, {lang: _PRESS_TWO[lang].format(who=name or _PRESS_TWO_WHO[lang]) for lang in ("fr", "en")})
    dial = response.dial(
        action=_xml_safe(dial_action_url),
        method="POST",
        timeout=_check_range("timeout", timeout, 5, 600),
        caller_id=_xml_safe(caller_id),
    )
    dial.number(_xml_safe(agent_phone))
    return str(response)


def dial_seniors(numbers: list[str], caller_id: str, action_url: str, timeout: int = 20) -> str:
    """Ring every senior on duty at once: one ``<Dial>`` with one ``<Number>`` per phone.

    Twilio rings the numbers in parallel and connects the first to answer, hanging up the others;
    ``action_url`` (the dial-status hook) hears how it ended, where a call nobody took becomes a
    voicemail for the senior team.
    """
    if not numbers:
        raise ValueError("dial_seniors needs at least one number")
    response = VoiceResponse()
    _say_both(response, _CONNECTING_SENIOR)
    dial = response.dial(
        action=_xml_safe(action_url),
        method="POST",
        timeout=_check_range("timeout", timeout, 5, 600),
        caller_id=_xml_safe(caller_id),
    )
    for number in numbers:
        dial.number(_xml_safe(number))
    return str(response)


def forward_to_support(number: str, caller_id: str, *, action_url: str | None = None, timeout: int = 30) -> str:
    """Connect a caller whose service is down to the second-level support line.

    Pass the dial-status webhook as ``action_url`` so that an unanswered support line still ends in
    a voicemail rather than a dropped call; without it the call ends when the dial does.
    """
    response = VoiceResponse()
    _say_both(response, _CONNECTING)
    dial = response.dial(
        action=_xml_safe(action_url) if action_url is not None else None,
        method="POST" if action_url is not None else None,
        timeout=_check_range("timeout", timeout, 5, 600),
        caller_id=_xml_safe(caller_id),
    )
    dial.number(_xml_safe(number))
    return str(response)


def after_hours_menu(
    greeting: Greeting,
    gather_action_url: str,
    record_action_url: str,
    recording_status_url: str,
    max_length: int = DEFAULT_MAX_RECORDING_SECONDS,
) -> str:
    """The after-hours answer: opening hours and callback time, "press 1 if down", then voicemail.

    The ``<Gather>`` waits 5 s for one digit and posts it to ``gather_action_url``. Without a digit
    Twilio falls through to the next verbs, so a caller who does nothing still reaches the
    voicemail, which is what most after-hours callers want.
    """
    response = VoiceResponse()
    _say_both(response, {lang: greeting.message(lang) for lang in ("fr", "en")})
    gather = response.gather(num_digits=1, timeout=5, action=_xml_safe(gather_action_url), method="POST")
    _say_both(gather, _PRESS_ONE)
    _say_both(response, _LEAVE_MESSAGE)
    _append_record(response, record_action_url, recording_status_url, max_length)
    return str(response)


def record_voicemail(
    prompt_fr: str,
    prompt_en: str,
    record_action_url: str,
    recording_status_url: str,
    max_length: int = DEFAULT_MAX_RECORDING_SECONDS,
) -> str:
    """Say a prompt in French and English, record a message, then hang up."""
    response = VoiceResponse()
    _say_both(response, {"fr": prompt_fr, "en": prompt_en})
    _append_record(response, record_action_url, recording_status_url, max_length)
    return str(response)


def busy_voicemail(
    record_action_url: str,
    recording_status_url: str,
    *,
    agent_name: str | None = None,
    max_length: int = DEFAULT_MAX_RECORDING_SECONDS,
) -> str:
    """Voicemail during business hours, after the agent did not answer (no-answer, busy, failed).

    Naming the agent (``agent_name``) tells the caller they did reach their own contact; without a
    name a neutral wording is used.
    """
    name = (agent_name or "").strip()
    prompts = {lang: _BUSY[lang].format(who=name or _BUSY_WHO[lang]) for lang in ("fr", "en")}
    return record_voicemail(
        prompts["fr"],
        prompts["en"],
        record_action_url,
        recording_status_url,
        max_length,
    )


def voicemail_saved() -> str:
    """Answer to the ``<Record action>`` request: thank the caller and hang up."""
    response = VoiceResponse()
    _say_both(response, _SAVED)
    response.hangup()
    return str(response)


def hangup() -> str:
    """End the call (e.g. the dial-status hook after an answered call)."""
    response = VoiceResponse()
    response.hangup()
    return str(response)


def critical_voicemail(
    record_action_url: str,
    recording_status_url: str,
    max_length: int = DEFAULT_MAX_RECORDING_SECONDS,
) -> str:
    """After the caller pressed 1 (service down): say the on-call engineer is alerted, then record.

    The page has already been queued when this is said, so the promise is true even if the caller
    hangs up without leaving a message.
    """
    return record_voicemail(_CRITICAL["fr"], _CRITICAL["en"], record_action_url, recording_status_url, max_length)


def senior_voicemail(
    record_action_url: str,
    recording_status_url: str,
    max_length: int = DEFAULT_MAX_RECORDING_SECONDS,
) -> str:
    """Pressed 2 and no senior could take the call: the on-call senior is paged, the caller records.

    As with :func:`critical_voicemail`, the page is queued before this is said.
    """
    return record_voicemail(
        _SENIOR_MESSAGE["fr"], _SENIOR_MESSAGE["en"], record_action_url, recording_status_url, max_length
    )


def leave_message(
    record_action_url: str,
    recording_status_url: str,
    max_length: int = DEFAULT_MAX_RECORDING_SECONDS,
) -> str:
    """A plain voicemail (no agent to name, no menu): for callers we cannot route anywhere else."""
    return record_voicemail(
        _PLAIN_MESSAGE["fr"], _PLAIN_MESSAGE["en"], record_action_url, recording_status_url, max_length
    )


def after_hours_voicemail(
    greeting: Greeting,
    record_action_url: str,
    recording_status_url: str,
    max_length: int = DEFAULT_MAX_RECORDING_SECONDS,
) -> str:
    """The after-hours greeting without the "press 1" menu, then a voicemail.

    For callers without dedicated support: paging the on-call senior is part of the add-on, so
    offering the menu to anyone who dials the number would let strangers wake an engineer.
    """
    return record_voicemail(
        greeting.message("fr") + " " + _PLAIN_MESSAGE["fr"],
        greeting.message("en") + " " + _PLAIN_MESSAGE["en"],
        record_action_url,
        recording_status_url,
        max_length,
    )


def apology() -> str:
    """What a caller hears when the service itself failed: an apology and a clean hang-up.

    Twilio would otherwise play its generic "an application error has occurred" on a 500.
    """
    response = VoiceResponse()
    _say_both(response, _APOLOGY)
    response.hangup()
    return str(response)
