"""The wording of letters: shipped templates, an agency's own, rendered in a sandbox;
the administrator's operations that edit them."""

from __future__ import annotations

import datetime as dt

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from portal.core.db import db
from portal.core.errors import NotFound, ValidationError
from portal.core.i18n import lazy_gettext as _l
from portal.core.paths import TEMPLATES_DIR
from portal.modules.accounts.models import (
    User,
)
from portal.modules.accounts.staff import admin_agency
from portal.modules.agencies.models import Agency
from portal.modules.audit import trail as audit
from portal.modules.letters.models import LetterTemplate
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import LetterSpec, SopSpec


def letter_templates(agency: Agency) -> list[tuple[SopSpec, object, bool]]:
    """(spec, letter spec, the agency has its own wording) for every letter of its SOPs."""
    from portal.modules.letters.models import LetterTemplate

    own = {(t.sop_code, t.letter_key) for t in
           LetterTemplate.select().where(LetterTemplate.agency == agency)}
    rows = []
    for version in SopVersion.select().where((SopVersion.agency == agency)
                                             & SopVersion.active).order_by(SopVersion.code):
        spec = version.spec
        rows.extend((spec, letter, (spec.code, letter.key) in own) for letter in spec.letters)
    return rows


def _agency_letter(agency: Agency, sop_code: str, letter_key: str):
    version = SopVersion.get_or_none((SopVersion.code == sop_code) & (SopVersion.agency == agency)
                                     & SopVersion.active)
    if version is None:
        raise NotFound(_l("Layanan tidak ditemukan."))
    try:
        return version.spec, version.spec.letter(letter_key)
    except KeyError:
        raise NotFound(_l("Surat tidak ditemukan.")) from None


def save_letter_template(actor: User, sop_code: str, letter_key: str, source: str):
    """Store the agency's wording of a letter, after rendering it once with sample values in
    the same sandbox that issues letters (a broken template is refused here, not at the
    moment an official signs)."""

    from portal.modules.letters.models import LetterTemplate
    from portal.modules.letters.wording import SANDBOX, sample_context

    agency = admin_agency(actor)
    spec, letter = _agency_letter(agency, sop_code, letter_key)
    source = (source or "").replace("\r\n", "\n").strip() + "\n"
    if len(source) > 20000 or not source.strip():
        raise ValidationError({"source": _l("Isi templat antara 1 dan 20.000 karakter.")})
    try:
        SANDBOX.from_string(source).render(sample_context(spec, letter, agency))
    except TemplateError as exc:
        raise ValidationError({"source": _l("Templat tidak dapat dipakai: %(problem)s",
                                            problem=str(exc))}) from None
    with db.atomic():
        row, created = LetterTemplate.get_or_create(
            agency=agency, sop_code=sop_code, letter_key=letter_key,
            defaults={"source": source, "updated_by": actor})
        if not created:
            row.source, row.updated_by, row.updated_at = source, actor, dt.datetime.now(dt.UTC)
            row.save()
        audit.record(actor, "letter_template.saved", row, sop=sop_code, letter=letter_key)
    return row


def reset_letter_template(actor: User, sop_code: str, letter_key: str) -> None:
    """Go back to the shipped wording."""
    from portal.modules.letters.models import LetterTemplate

    agency = admin_agency(actor)
    _agency_letter(agency, sop_code, letter_key)
    with db.atomic():
        row = LetterTemplate.get_or_none((LetterTemplate.agency == agency)
                                         & (LetterTemplate.sop_code == sop_code)
                                         & (LetterTemplate.letter_key == letter_key))
        if row is not None:
            audit.record(actor, "letter_template.reset", row, sop=sop_code, letter=letter_key)
            row.delete_instance()


TEMPLATES = TEMPLATES_DIR / "letters"


MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
             "September", "Oktober", "November", "Desember")


DEFAULT_TEMPLATE = """title: {{ letter.title|upper }}
---
Berdasarkan permohonan nomor registrasi {{ application.registration_number }} atas nama
{{ applicant.name }}, dengan ini {{ agency.name }} menerbitkan {{ letter.title }} untuk
layanan {{ service }}.

Demikian untuk dipergunakan sebagaimana mestinya.
"""


# The agency edits these; render them where they can reach nothing but the given values.
SANDBOX = SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)


def letter_source(agency, sop_code: str, letter_key: str) -> str:
    """The agency's own template for a letter, else the shipped default."""
    own = LetterTemplate.get_or_none((LetterTemplate.agency == agency)
                                     & (LetterTemplate.sop_code == sop_code)
                                     & (LetterTemplate.letter_key == letter_key))
    if own is not None:
        return own.source
    path = TEMPLATES / sop_code / f"{letter_key}.txt"
    return path.read_text(encoding="utf-8") if path.is_file() else DEFAULT_TEMPLATE


def parse_wording(text: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Header lines (key: value) until '---', then paragraphs separated by blank lines."""
    head, sep, body = text.partition("\n---")
    if not sep:
        head, body = "", text
    headers: dict[str, str] = {}
    for line in head.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    paragraphs, current = [], []
    for line in body.lstrip("-\n").splitlines():
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(_join(current))
            current = []
    if current:
        paragraphs.append(_join(current))
    return headers, tuple(paragraphs)


def _join(lines: list[str]) -> str:
    # "key: value" lines stay lines (signing/render prints them as a list); prose joins up.
    if all(": " in line for line in lines):
        return "\n".join(lines)
    return " ".join(lines)


def date_id(day: dt.date) -> str:
    """'23 November 2026'."""
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def mask_name(name: str) -> str:
    """'Siti Rahmawati' -> 'S*** R*********': enough to match a person, not to find one."""
    return " ".join(w[0] + "*" * (len(w) - 1) if len(w) > 1 else w for w in name.split())


def sample_context(spec: SopSpec, letter: LetterSpec, agency) -> dict:
    """Values shaped like an issued letter's, for checking a template before it is used."""
    form = {f.key: (f.choices[0][1] if f.choices else f"<{f.label}>") for f in spec.fields}
    recorded = {f.key: f"<{f.label}>" for s in spec.steps for f in s.record}
    return {"applicant": {"name": "<Nama Pemohon>"}, "form": form, "recorded": recorded,
            "agency": {"name": agency.name, "city": agency.city},
            "application": {"registration_number": "<NOMOR REGISTRASI>"},
            "service": spec.title, "letter": {"title": letter.title, "key": letter.key},
            "number": "<NOMOR SURAT>", "date": date_id(dt.date.today())}

