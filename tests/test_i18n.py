"""Bahasa Indonesia by default, English on request; the English catalogue is complete."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from webclient import text

CATALOGUE = Path(__file__).resolve().parents[1] / "portal" / "translations" / "en" / "LC_MESSAGES"


def test_pages_are_indonesian_by_default_and_english_on_request(client, demo):
    page = text(client.get("/login"))
    assert '<html lang="id">' in page and "Lupa kata sandi?" in page
    client.get("/lang/en")
    page = text(client.get("/login"))
    assert '<html lang="en">' in page and "Forgot your password?" in page
    assert "Apply, follow your files" in text(client.get("/"))


def test_every_message_has_an_english_translation_and_the_mo_matches():
    with open(CATALOGUE / "messages.po", encoding="utf-8") as handle:
        po = read_po(handle)
    missing = [m.id for m in po if m.id and (not m.string or m.fuzzy)]
    assert missing == []
    with open(CATALOGUE / "messages.mo", "rb") as handle:
        mo = read_mo(handle)
    compiled = {m.id: m.string for m in mo if m.id}
    assert {m.id: m.string for m in po if m.id} == compiled, "run: pybabel compile"


def test_the_footer_switches_language_with_a_form_that_works_without_javascript(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'action="/lang/en"' in page and 'name="next" value="/login?"' in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    switched = client.post("/lang/en", data={"csrf_token": token, "next": "/login?"})
    assert switched.status_code == 303 and switched.headers["Location"].startswith("/login")
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english and 'action="/lang/id"' in english
