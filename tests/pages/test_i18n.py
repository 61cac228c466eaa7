"""The French catalogue: complete for every string in the sources, and the committed .mo up to date."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po
from babel.support import Translations

from booking.translations.fr import FR, extract

ROOT = Path(__file__).resolve().parents[2]


def test_every_message_in_the_sources_has_a_french_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    extract(pot, ROOT)
    with pot.open("rb") as fh:
        ids = {m.id for m in read_po(fh) if m.id}
    assert ids, "extraction found nothing"
    assert sorted(ids - FR.keys()) == [], "run: python -m booking.translations.fr"


def test_the_committed_mo_matches_the_table():
    translations = Translations.load(str(ROOT / "booking" / "translations"), ["fr"])
    stale = [msgid for msgid, text in FR.items() if translations.gettext(msgid) != text]
    assert stale == [], "run: python -m booking.translations.fr"


def test_server_error_page_is_friendly_html(client, customer, monkeypatch, caplog):
    from booking.routes import pages

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pages, "build_picker", broken)
    response = client.get(f"/book/{customer['booking_token']}", headers={"Accept-Language": "fr"})
    assert response.status_code == 500 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Un problème est survenu de notre côté" in page and "boom" not in page
    # The log names the route, not the path: the customer's booking token stays out of the logs.
    assert "unhandled error on GET /book/<token>" in caplog.text
    assert customer["booking_token"] not in caplog.text


def test_the_language_switch_never_links_off_site(client):
    """``/\\evil.example/x`` is read by browsers as ``//evil.example/x``: the link must not echo it."""
    html = client.get("/%5Cevil.example/x").get_data(as_text=True)
    hrefs = re.findall(r'<a class="lang[^"]*" href="([^"]+)"', html)
    assert hrefs and all(href.startswith("?") for href in hrefs), hrefs
