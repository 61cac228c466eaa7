"""TwiML documents: parsed back with ElementTree and checked element by element."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from booking.voicemail import twiml
from booking.voicemail.twiml import Greeting, format_when

PARIS = ZoneInfo("Europe/Paris")
# Monday 28 December 2026, 09:00 in Paris (winter: UTC+1).
NEXT_OPENING = datetime(2026, 12, 28, 8, 0, tzinfo=UTC)

RECORD_ATTRS = {
    "action": "https://book.example.com/twilio/voicemail/done",
    "method": "POST",
    "maxLength": "180",
    "finishOnKey": "#",
    "playBeep": "true",
    "recordingStatusCallback": "https://book.example.com/twilio/voicemail",
    "recordingStatusCallbackMethod": "POST",
    "recordingStatusCallbackEvent": "completed",
}
HOSTILE = 'x"/><Hangup/><Say>pwned</Say>&amp;]]><!--'


def parse(document: str) -> ET.Element:
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(document.encode("utf-8"))
    assert root.tag == "Response"
    return root


def tags(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def says(element: ET.Element) -> list[tuple[str | None, str]]:
    return [(say.get("language"), say.text or "") for say in element.iter("Say")]


# -- dial_agent --------------------------------------------------------------------------------------


def test_dial_agent() -> None:
    root = parse(twiml.dial_agent("+33612345678", "+33900000000", "https://h/twilio/voice/dial-status"))
    assert tags(root) == ["Dial"]
    dial = root[0]
    assert dial.attrib == {
        "action": "https://h/twilio/voice/dial-status",
        "method": "POST",
        "timeout": "20",
        "callerId": "+33900000000",
    }
    assert tags(dial) == ["Number"]
    assert dial[0].text == "+33612345678"
    assert dial[0].attrib == {}


def test_dial_agent_custom_timeout() -> None:
    root = parse(twiml.dial_agent("+33612345678", "+33900000000", "/a", timeout=35))
    assert root[0].get("timeout") == "35"


@pytest.mark.parametrize("timeout", [0, -1, 601, True])
def test_dial_agent_rejects_absurd_timeouts(timeout: int) -> None:
    with pytest.raises(ValueError, match="timeout"):
        twiml.dial_agent("+33612345678", "+33900000000", "/a", timeout=timeout)


# -- forward_to_support ----------------------------------------------------------------------------


def test_forward_to_support_without_action() -> None:
    root = parse(twiml.forward_to_support("+33100000000", "+33612345678"))
    assert tags(root) == ["Say", "Say", "Dial"]
    assert [lang for lang, _ in says(root)] == ["fr-FR", "en-US"]
    dial = root[2]
    assert dial.attrib == {"callerId": "+33612345678", "timeout": "30"}
    assert [(n.tag, n.text) for n in dial] == [("Number", "+33100000000")]


def test_forward_to_support_with_action() -> None:
    root = parse(twiml.forward_to_support("+33100000000", "+33612345678", action_url="/ds", timeout=25))
    assert root[2].attrib == {
        "callerId": "+33612345678",
        "timeout": "25",
        "action": "/ds",
        "method": "POST",
    }


# -- after_hours_menu ------------------------------------------------------------------------------


def menu(greeting: Greeting) -> ET.Element:
    return parse(
        twiml.after_hours_menu(
            greeting,
            "https://book.example.com/twilio/voice/menu",
            RECORD_ATTRS["action"],
            RECORD_ATTRS["recordingStatusCallback"],
        )
    )


def test_after_hours_menu_structure() -> None:
    root = menu(Greeting(NEXT_OPENING, PARIS))
    assert tags(root) == ["Say", "Say", "Gather", "Say", "Say", "Record", "Hangup"]
    assert [root[0].get("language"), root[1].get("language")] == ["fr-FR", "en-US"]

    gather = root[2]
    assert gather.attrib == {
        "numDigits": "1",
        "timeout": "5",
        "action": "https://book.example.com/twilio/voice/menu",
        "method": "POST",
    }
    assert says(gather) == [
        ("fr-FR", "Si votre service est interrompu, appuyez sur 1."),
        ("en-US", "If your service is down, press 1."),
    ]
    assert [root[3].get("language"), root[4].get("language")] == ["fr-FR", "en-US"]
    assert "bip" in (root[3].text or "")
    assert "beep" in (root[4].text or "")
    assert root[5].attrib == RECORD_ATTRS
    assert len(root[5]) == 0
    assert root[6].attrib == {}
    assert len(root[6]) == 0


def test_after_hours_greeting_says_hours_and_callback_time() -> None:
    root = menu(Greeting(NEXT_OPENING, PARIS))
    fr, en = root[0].text or "", root[1].text or ""
    assert "du lundi au vendredi, de 9 h à 17 h, heure de Paris" in fr
    assert "le lundi 28 décembre à 9 h." in fr
    assert "Monday to Friday, from 9:00 to 17:00, Paris time" in en
    assert "on Monday 28 December at 9:00." in en


def test_after_hours_greeting_in_summer_time() -> None:
    # 07:00 UTC is 09:00 in Paris in June (UTC+2): the zone, not the UTC hour, is read out.
    root = menu(Greeting(datetime(2026, 6, 29, 7, 0, tzinfo=UTC), PARIS))
    assert "le lundi 29 juin à 9 h." in (root[0].text or "")
    assert "on Monday 29 June at 9:00." in (root[1].text or "")


def test_after_hours_greeting_custom_hours_and_days() -> None:
    greeting = Greeting(
        datetime(2027, 1, 1, 7, 30, tzinfo=UTC),  # Friday 1 January 2027, 08:30 Paris
        PARIS,
        opens=time(8, 30),
        closes=time(18, 0),
        days=frozenset({0, 2, 4}),
    )
    root = menu(greeting)
    fr, en = root[0].text or "", root[1].text or ""
    assert "le lundi, le mercredi et le vendredi, de 8 h 30 à 18 h, heure de Paris" in fr
    assert "le vendredi 1er janvier à 8 h 30." in fr
    assert "on Monday, Wednesday and Friday, from 8:30 to 18:00, Paris time" in en
    assert "on Friday 1 January at 8:30." in en


def test_after_hours_menu_custom_max_length() -> None:
    document = twiml.after_hours_menu(Greeting(NEXT_OPENING, PARIS), "/g", "/r", "/s", max_length=60)
    assert parse(document).find("Record").get("maxLength") == "60"  # type: ignore[union-attr]


# -- Greeting and format_when ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "fr", "en"),
    [
        (frozenset(range(5)), "du lundi au vendredi", "Monday to Friday"),
        (frozenset(range(6)), "du lundi au samedi", "Monday to Saturday"),
        (frozenset(range(7)), "tous les jours", "every day"),
        (frozenset({0, 1}), "le lundi et le mardi", "on Monday and Tuesday"),
        (frozenset({3}), "le jeudi", "on Thursday"),
    ],
)
def test_days_label(days: frozenset[int], fr: str, en: str) -> None:
    greeting = Greeting(NEXT_OPENING, PARIS, days=days)
    assert greeting.days_label("fr") == fr
    assert greeting.days_label("en") == en


def test_zone_label() -> None:
    assert Greeting(NEXT_OPENING, PARIS).zone_label("fr") == ", heure de Paris"
    assert Greeting(NEXT_OPENING, ZoneInfo("Europe/Amsterdam")).zone_label("fr") == ", heure d'Amsterdam"
    assert Greeting(NEXT_OPENING, ZoneInfo("America/New_York")).zone_label("en") == ", New York time"
    assert Greeting(NEXT_OPENING, UTC).zone_label("fr") == ""  # fixed offset: no city to name


def test_greeting_validates_its_input() -> None:
    with pytest.raises(ValueError, match="aware"):
        Greeting(datetime(2026, 12, 28, 9, 0), PARIS)  # naive on purpose
    with pytest.raises(ValueError, match="weekday"):
        Greeting(NEXT_OPENING, PARIS, days=frozenset({7}))
    with pytest.raises(ValueError, match="weekday"):
        Greeting(NEXT_OPENING, PARIS, days=frozenset())


def test_format_when() -> None:
    assert format_when(NEXT_OPENING, "fr", PARIS) == "lundi 28 décembre à 9 h"
    assert format_when(NEXT_OPENING, "en", PARIS) == "Monday 28 December at 9:00"
    # Without a zone, the datetime's own zone is used.
    assert format_when(NEXT_OPENING, "en") == "Monday 28 December at 8:00"
    afternoon = datetime(2027, 3, 1, 14, 5, tzinfo=PARIS)
    assert format_when(afternoon, "fr") == "lundi 1er mars à 14 h 05"
    assert format_when(afternoon, "en") == "Monday 1 March at 14:05"


def test_format_when_rejects_naive_datetimes_and_unknown_languages() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_when(datetime(2026, 12, 28, 9, 0), "fr")  # naive on purpose
    with pytest.raises(ValueError, match="language"):
        format_when(NEXT_OPENING, "de")  # type: ignore[arg-type]


# -- record_voicemail, busy_voicemail, voicemail_saved, hangup -------------------------------------


def test_record_voicemail() -> None:
    root = parse(
        twiml.record_voicemail(
            "Laissez un message.",
            "Leave a message.",
            RECORD_ATTRS["action"],
            RECORD_ATTRS["recordingStatusCallback"],
        )
    )
    assert tags(root) == ["Say", "Say", "Record", "Hangup"]
    assert says(root) == [
        ("fr-FR", "Laissez un message."),
        ("en-US", "Leave a message."),
    ]
    assert root[2].attrib == RECORD_ATTRS


def test_record_voicemail_max_length() -> None:
    root = parse(twiml.record_voicemail("a", "b", "/r", "/s", max_length=300))
    assert root[2].get("maxLength") == "300"
    with pytest.raises(ValueError, match="max_length"):
        twiml.record_voicemail("a", "b", "/r", "/s", max_length=0)


def test_busy_voicemail_names_the_agent() -> None:
    root = parse(
        twiml.busy_voicemail(
            RECORD_ATTRS["action"],
            RECORD_ATTRS["recordingStatusCallback"],
            agent_name="Zoé",
        )
    )
    assert tags(root) == ["Say", "Say", "Record", "Hangup"]
    (fr_lang, fr), (en_lang, en) = says(root)
    assert (fr_lang, en_lang) == ("fr-FR", "en-US")
    assert fr.startswith("Zoé n'a pas pu prendre votre appel.")
    assert en.startswith("Zoé could not take your call.")
    assert root[2].attrib == RECORD_ATTRS


def test_busy_voicemail_without_a_name() -> None:
    root = parse(twiml.busy_voicemail("/r", "/s", agent_name="  ", max_length=90))
    (_, fr), (_, en) = says(root)
    assert fr.startswith("Votre interlocuteur n'a pas pu prendre votre appel.")
    assert en.startswith("Your support agent could not take your call.")
    assert root[2].get("maxLength") == "90"


def test_voicemail_saved() -> None:
    root = parse(twiml.voicemail_saved())
    assert tags(root) == ["Say", "Say", "Hangup"]
    assert [lang for lang, _ in says(root)] == ["fr-FR", "en-US"]


def test_hangup() -> None:
    root = parse(twiml.hangup())
    assert tags(root) == ["Hangup"]
    assert root[0].attrib == {}
    assert len(root[0]) == 0


# -- hostile values ----------------------------------------------------------------------------------


def test_markup_in_values_stays_data() -> None:
    url = "https://h/cb?x=1&y=<2>&z=" + HOSTILE
    root = parse(twiml.dial_agent(HOSTILE, HOSTILE, url))
    assert tags(root) == ["Dial"]
    dial = root[0]
    assert dial.get("callerId") == HOSTILE
    assert dial.get("action") == url
    assert [(n.tag, n.text) for n in dial] == [("Number", HOSTILE)]
    assert root.find(".//Hangup") is None


def test_markup_in_agent_name_stays_data() -> None:
    root = parse(twiml.busy_voicemail("/r", "/s", agent_name=HOSTILE))
    assert tags(root) == ["Say", "Say", "Record", "Hangup"]
    assert (root[0].text or "").startswith(HOSTILE + " n'a pas pu")


def test_characters_xml_cannot_carry_are_dropped() -> None:
    nasty = "Zo\x00é\x1b\ud800\ufffe\n\t!"
    root = parse(twiml.busy_voicemail("/r\x07", "/s\x0b", agent_name=nasty))
    assert (root[0].text or "").startswith("Zoé\n\t! n'a pas pu")
    assert root[2].get("action") == "/r"
    assert root[2].get("recordingStatusCallback") == "/s"
    root = parse(twiml.dial_agent("+33\x00612345678", "+33\x1f900000000", "/d\ud83d"))
    assert root[0].get("callerId") == "+33900000000"
    assert root[0].get("action") == "/d"
    assert root[0][0].text == "+33612345678"


def test_prompts_are_escaped_and_keep_emoji() -> None:
    root = parse(twiml.record_voicemail("<b>&é 📞", "a & b < c", "/r", "/s"))
    assert says(root) == [("fr-FR", "<b>&é 📞"), ("en-US", "a & b < c")]


# -- critical_voicemail, leave_message, after_hours_voicemail, apology -----------------------------


def _recording(document: str) -> ET.Element:
    root = parse(document)
    assert tags(root)[-2:] == ["Record", "Hangup"]
    assert root.find("Record").attrib == RECORD_ATTRS
    return root


def test_critical_voicemail_promises_the_on_call_engineer() -> None:
    root = _recording(twiml.critical_voicemail(RECORD_ATTRS["action"], RECORD_ATTRS["recordingStatusCallback"]))
    (fr_lang, fr), (en_lang, en) = says(root)
    assert (fr_lang, en_lang) == ("fr-FR", "en-US")
    assert "astreinte" in fr and "within the hour" in en


def test_leave_message_is_a_plain_bilingual_prompt() -> None:
    root = _recording(twiml.leave_message(RECORD_ATTRS["action"], RECORD_ATTRS["recordingStatusCallback"]))
    assert tags(root) == ["Say", "Say", "Record", "Hangup"]
    assert "numéro" in says(root)[0][1] and "number" in says(root)[1][1]


def test_after_hours_voicemail_has_the_greeting_but_no_menu() -> None:
    root = _recording(
        twiml.after_hours_voicemail(
            Greeting(NEXT_OPENING, PARIS), RECORD_ATTRS["action"], RECORD_ATTRS["recordingStatusCallback"]
        )
    )
    assert root.find("Gather") is None
    (_, fr), (_, en) = says(root)
    assert "lundi 28 décembre à 9 h" in fr and "Monday 28 December at 9:00" in en
    assert "appuyez sur 1" not in fr and "press 1" not in en


def test_apology_hangs_up_cleanly() -> None:
    root = parse(twiml.apology())
    assert tags(root) == ["Say", "Say", "Hangup"]
    assert [lang for lang, _ in says(root)] == ["fr-FR", "en-US"]


# -- press 2 for a senior (issue 16) ---------------------------------------------------------------


def test_in_hours_menu_gathers_one_key_then_falls_through_to_the_agent() -> None:
    root = parse(
        twiml.in_hours_menu("https://h/menu", "+33140000001", "+33612345678", "https://h/dial", agent_name="Camille")
    )
    assert tags(root) == ["Gather", "Dial"]
    gather, dial = root
    assert gather.attrib == {"numDigits": "1", "timeout": "3", "action": "https://h/menu", "method": "POST"}
    assert [lang for lang, _ in says(gather)] == ["fr-FR", "en-US"]
    assert all("2" in text and "Camille" in text for _, text in says(gather))
    assert dial.attrib == {"action": "https://h/dial", "method": "POST", "timeout": "20", "callerId": "+33612345678"}
    assert [n.text for n in dial] == ["+33140000001"]


def test_in_hours_menu_markup_in_the_agent_name_stays_data() -> None:
    root = parse(twiml.in_hours_menu("/m", "+33140000001", "+336", "/d", agent_name=HOSTILE))
    assert tags(root) == ["Gather", "Dial"] and tags(root[0]) == ["Say", "Say"]
    assert HOSTILE in says(root)[0][1]


def test_dial_seniors_rings_every_number_in_one_dial() -> None:
    root = parse(twiml.dial_seniors(["+33140000010", "+12125550001"], "+33612345678", "https://h/dial"))
    assert tags(root) == ["Say", "Say", "Dial"]
    dial = root[2]
    assert dial.attrib == {"action": "https://h/dial", "method": "POST", "timeout": "20", "callerId": "+33612345678"}
    assert tags(dial) == ["Number", "Number"]
    assert [n.text for n in dial] == ["+33140000010", "+12125550001"]
    with pytest.raises(ValueError, match="at least one"):
        twiml.dial_seniors([], "+336", "/d")


def test_senior_voicemail_promises_the_on_call_engineer_and_records() -> None:
    root = parse(twiml.senior_voicemail(RECORD_ATTRS["action"], RECORD_ATTRS["recordingStatusCallback"]))
    assert tags(root) == ["Say", "Say", "Record", "Hangup"]
    assert root.find("Record").attrib == RECORD_ATTRS
    assert "astreinte" in says(root)[0][1] and "on-call" in says(root)[1][1]
