"""The wording of letters: shipped templates, an agency's own, rendered in a sandbox;
the administrator's operations that edit them."""

from __future__ import annotations

import datetime as dt
from difflib import get_close_matches

from jinja2 import TemplateError, TemplateSyntaxError, meta, nodes
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


def letter_templates(agency: Agency) -> list[tuple[SopSpec, object, bool, bool]]:
    """(spec, letter spec, the agency has its own wording, the wording fails the check of
    check_letter_template, e.g. a field the SOP's new version dropped) for every letter of
    its SOPs."""
    from portal.modules.letters.models import LetterTemplate

    own = {(t.sop_code, t.letter_key): t.source for t in
           LetterTemplate.select().where(LetterTemplate.agency == agency)}
    rows = []
    for version in SopVersion.select().where((SopVersion.agency == agency)
                                             & SopVersion.active).order_by(SopVersion.code):
        spec = version.spec
        for letter in spec.letters:
            source = own.get((spec.code, letter.key))
            try:
                check_letter_template(spec, letter, source if source is not None
                                      else shipped_source(spec.code, letter.key), agency)
            except ValidationError:
                broken = True
            else:
                broken = False
            rows.append((spec, letter, source is not None, broken))
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
    """Store the agency's wording of a letter, after checking it (check_letter_template): a
    template that names a value the SOP does not provide, or that does not render, is
    refused here, not at the moment an official signs."""

    from portal.modules.letters.models import LetterTemplate

    agency = admin_agency(actor)
    spec, letter = _agency_letter(agency, sop_code, letter_key)
    source, _headers, _body = check_letter_template(spec, letter, source, agency)
    with db.atomic():
        row, created = LetterTemplate.get_or_create(
            agency=agency, sop_code=sop_code, letter_key=letter_key,
            defaults={"source": source, "updated_by": actor})
        if not created:
            row.source, row.updated_by, row.updated_at = source, actor, dt.datetime.now(dt.UTC)
            row.save()
        audit.record(actor, "letter_template.saved", row, sop=sop_code, letter=letter_key)
    return row


def check_letter_template(spec: SopSpec, letter: LetterSpec, source: str,
                          agency=None) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """The template as it is stored, and its wording (headers, paragraphs) rendered with the
    SOP's sample values in the sandbox that issues letters. ValidationError (on "source")
    when it is empty or too long, does not parse or render, or uses a variable the SOP does
    not provide (each named with its line): Jinja would print that as nothing."""
    text = (source or "").replace("\r\n", "\n")
    stored = text.strip() + "\n"
    if len(stored) > 20000 or not stored.strip():
        raise ValidationError({"source": _l("Isi templat antara 1 dan 20.000 karakter.")})
    context = sample_context(spec, letter, agency)
    try:
        problems = unknown_variables(text, context)  # lines as the administrator typed them
        # Named with their lines before rendering: a misspelt step in record.<step>.<field>
        # would otherwise stop the rendering with Jinja's own words.
        if problems:
            raise ValidationError({"source": " ".join(str(p) for p in problems)})
        rendered = SANDBOX.from_string(stored).render(context)
    except TemplateSyntaxError as exc:
        raise ValidationError({"source": _l(
            "Templat tidak dapat dipakai (baris %(line)s): %(problem)s",
            line=exc.lineno, problem=exc.message or str(exc))}) from None
    except TemplateError as exc:
        raise ValidationError({"source": _l("Templat tidak dapat dipakai: %(problem)s",
                                            problem=str(exc))}) from None
    headers, body = parse_wording(rendered)
    return stored, headers, body


_OPAQUE = object()  # a value the check cannot follow (a loop variable, form[key], x.items())


def unknown_variables(source: str, context: dict) -> list:
    """The variables a template reads that ``context`` does not hold, each as a message with
    its name and line, in the template's order: a misspelt top-level name ({{ servise }}) or
    a key missing under one ({{ form.facilty_name }}, {{ form['facilty_name'] }}). Names the
    template sets itself (for, set, macro) and Jinja's own (loop, range) are not checked;
    TemplateSyntaxError when it does not parse."""
    ast = SANDBOX.parse(source)
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    undeclared = meta.find_undeclared_variables(ast) - set(context) - set(SANDBOX.globals)

    def value_of(node):
        """What an expression reaches in the context: a dict or a value, _OPAQUE when the
        check cannot tell, None when it is not there (reported where it happens)."""
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and node.name in context and node.name not in assigned:
                return context[node.name]
            return _OPAQUE
        key = _key(node)
        if key is None:
            return _OPAQUE
        base = value_of(node.node)
        if base is None or base is _OPAQUE:
            return base
        return _member(base, key)

    found, reported = [], set()
    for node in ast.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and node.name in undeclared and node.name not in reported:
                reported.add(node.name)
                found.append((node.lineno, node.name, _closest(node.name, context, "")))
            continue
        key = _key(node)
        base = value_of(node.node)
        if key is None or base is None or base is _OPAQUE or _member(base, key) is not None:
            continue
        name = _dotted(node)
        if (name, node.lineno) not in reported:
            reported.add((name, node.lineno))
            found.append((node.lineno, name, _closest(key, base, f"{_dotted(node.node)}.")))
    found.sort(key=lambda problem: problem[0])
    return [_l("Baris %(line)s: %(name)s tidak disediakan layanan ini (maksud Anda "
               "%(close)s?).", line=line, name=name, close=close) if close
            else _l("Baris %(line)s: %(name)s tidak disediakan layanan ini.", line=line,
                    name=name) for line, name, close in found]


def _key(node):
    """The key a Getattr or a Getitem with a constant reads (None for form[name])."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return node.arg.value
    return None


def _member(value, key):
    """value's key as Jinja reads it, _OPAQUE for a method (form.items()), None if absent."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        return _OPAQUE if isinstance(key, str) and not key.startswith("_") \
            and hasattr(dict, key) else None
    if isinstance(key, str):
        return _OPAQUE if not key.startswith("_") and hasattr(value, key) else None
    return _OPAQUE  # date[0]


def _dotted(node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    key, base = _key(node), _dotted(node.node)
    if key is None:
        return f"{base}[…]"
    return f"{base}.{key}" if isinstance(key, str) else f"{base}[{key!r}]"


def _closest(key, value, prefix: str) -> str | None:
    """The name the administrator probably meant (form.facility_name for facilty_name)."""
    if not isinstance(key, str) or not isinstance(value, dict):
        return None
    close = get_close_matches(key, list(value), n=1, cutoff=0.75)
    return f"{prefix}{close[0]}" if close else None


def template_variables(spec: SopSpec, letter: LetterSpec, agency=None) -> list[tuple[str, str]]:
    """Every variable a template of this letter may use, with its sample value, as the
    administrator writes it: [("applicant.name", "<Nama Pemohon>"), ("form.purpose", ...)]."""
    rows = []

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        else:
            rows.append((prefix, str(value)))

    walk("", sample_context(spec, letter, agency))
    return rows


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
    return shipped_source(sop_code, letter_key)


def shipped_source(sop_code: str, letter_key: str) -> str:
    """The template shipped with the portal (templates/letters/<sop>/<letter>.txt), else the
    default wording."""
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


def sample_context(spec: SopSpec, letter: LetterSpec, agency=None) -> dict:
    """Values shaped like an issued letter's (issuance._context), for checking a template
    before it is used and for its preview: every variable a template may use."""
    form = {f.key: (f.choices[0][1] if f.choices else f"<{f.label}>") for f in spec.fields}
    record = {s.key: {f.key: (f.choices[0][1] if f.choices else f"<{f.label}>")
                      for f in s.record} for s in spec.steps if s.record}
    recorded = {key: value for values in record.values() for key, value in values.items()}
    return {"applicant": {"name": "<Nama Pemohon>"}, "form": form, "recorded": recorded,
            "record": record,
            "agency": {"name": agency.name if agency else "<Nama Instansi>",
                       "city": (agency.city if agency else None) or "<Kota>"},
            "application": {"registration_number": "<NOMOR REGISTRASI>"},
            "service": spec.title, "letter": {"title": letter.title, "key": letter.key},
            "number": "<NOMOR SURAT>", "date": date_id(dt.date.today())}

