"""Issuing letters inside the decision that produces them: the number from the agency's
series, the wording, the PDF, the signature (development CA, PKCS#12 or PKCS#11), storage
and the "letter ready" e-mail. A failure rolls the whole decision back."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from jinja2 import TemplateError
from peewee import JOIN

import signing
from portal.config import current_config
from portal.core.i18n import lazy_gettext as _l
from portal.core.numbering import format_number, next_value
from portal.modules.accounts.models import Position, User, capacity_prefix
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application, Decision
from portal.modules.audit import trail as audit
from portal.modules.letters import extend, keys, notify, pages
from portal.modules.letters.models import Letter
from portal.modules.letters.wording import SANDBOX, date_id, letter_source, parse_wording
from portal.modules.sops.spec import ActionKind, ActorKind, LetterSpec, SopSpec, StepSpec
from portal.storage import current_storage

DEFAULT_NUMBERING = "{seq}/{letter}/{agency}/{roman_month}/{year}"


class LetterError(Exception):
    """A letter could not be issued; the message says why, fit to show to the official."""


@dataclass(frozen=True)
class _Signer:
    user: User
    position: Position | None
    capacity: str
    title: str


def _signer(application: Application, spec: SopSpec, letter: LetterSpec, step: StepSpec,
            decider: User, decider_position: Position | None,
            decider_capacity: str | None) -> _Signer:
    """Who signs: whoever decided the signer position's step in this file (Plh/Plt kept);
    the deciding official when the letter has no separate signer."""
    actor = signing_actor(spec, letter)
    if actor.kind is not ActorKind.POSITION:
        if decider_position is None:
            raise LetterError(_l("%(letter)s: tidak ada pejabat penanda tangan",
                                 letter=letter.title))
        return _Signer(decider, decider_position, decider_capacity or "definitive",
                       decider_position.title)
    steps_of_actor = [s.key for s in spec.application_steps if s.actor == actor.key]
    signed = (_with_people(Decision.select(Decision, User, Position))
              .where((Decision.application == application)
                     & Decision.step_key.in_(steps_of_actor)
                     & (Decision.effect == "forward"))
              .order_by(Decision.id.desc()).first())
    if signed is not None:
        return _Signer(signed.actor, signed.position, signed.capacity or "definitive",
                       signed.position.title if signed.position_id else actor.title)
    if decider_position is not None and decider_position.key == actor.key:
        return _Signer(decider, decider_position, decider_capacity or "definitive",
                       decider_position.title)
    raise LetterError(_l("%(letter)s: %(actor)s belum memutuskan berkas ini", letter=letter.title,
                         actor=actor.title))


def _own_title(user: User, agency: Agency, moment: dt.datetime) -> str:
    """The definitive position an official signing a.n. (on behalf) signs under."""
    on = agency.calendar().local(moment).date()
    own = [p.title for p, capacity in Position.held_by(user, on)
           if capacity == "definitive" and p.agency_id == agency.id]
    if not own:
        raise LetterError(_l("%(name)s menandatangani a.n. tetapi tidak memegang jabatan "
                             "definitif di instansi ini", name=user.name))
    return own[0]


def _with_people(query):
    """Decisions with their actor and position in the same statement (no query per row)."""
    return (query.join(User, on=(Decision.actor == User.id)).switch(Decision)
            .join(Position, JOIN.LEFT_OUTER, on=(Decision.position == Position.id))
            .switch(Decision))


def _producing_step(spec: SopSpec, letter_key: str) -> str:
    return next(s.key for s in spec.application_steps if letter_key in s.letters)


def paraf_steps(spec: SopSpec, letter_key: str) -> tuple[str, ...]:
    """The steps whose paraf/approve decisions are this letter's trail.

    An official who initials (paraf) or approves does so on the draft of the letter the file
    is on its way to: the first letter produced at or after that step. Pickup tickets
    (``notice: collection``) are not what anyone initials: they are counter receipts
    (sik-perekam-medis issues its Tiket Pengambilan at publication, after the SIK was
    initialled and signed; a ticket may equally be issued at registration or at handover),
    so a paraf step initials the first *non-ticket* letter produced at or after it, and a
    ticket only carries paraf/approve steps that lead to no other letter (none in the seeds:
    a ticket's trail is empty, not the permit's). Only steps up to the letter's own producing
    step count: a paraf after the letter was produced is not on the way to it."""
    steps = spec.application_steps
    producing = {i: set(s.letters) for i, s in enumerate(steps) if s.letters}
    tickets = {lt.key for lt in spec.letters if lt.notice == "collection"}
    mine = []
    for i, step in enumerate(steps):
        if step.action not in (ActionKind.PARAF, ActionKind.APPROVE):
            continue
        ahead = [keys for j, keys in sorted(producing.items()) if j >= i]
        letters = next((keys - tickets for keys in ahead if keys - tickets), None)
        if letters is None:  # no letter ahead but tickets: the first ticket step's tickets
            letters = next(iter(ahead), set())
        if letter_key in letters:
            mine.append(step.key)
    return tuple(mine)


def _paraf(application: Application, spec: SopSpec, letter: LetterSpec,
           calendar) -> tuple[signing.Paraf, ...]:
    """The officials who initialled or approved on the way to this letter (see
    ``paraf_steps``): the latest forward decision of each such step (a file sent back and
    initialled again shows the initials of the draft as it now is), in the order given."""
    keys = paraf_steps(spec, letter.key)
    if not keys:
        return ()
    rows = (_with_people(Decision.select(Decision, User, Position))
            .where((Decision.application == application)
                   & Decision.step_key.in_(keys)
                   & (Decision.effect == "forward"))
            .order_by(Decision.id))
    latest = {d.step_key: d for d in rows}
    return tuple(signing.Paraf(position=d.position.title if d.position_id else "",
                               name=d.actor.name, time=calendar.format(d.decided_at))
                 for d in sorted(latest.values(), key=lambda d: d.id))


def _context(application: Application, spec: SopSpec, letter: LetterSpec, number: str,
             local_now: dt.datetime) -> dict:
    # What the applicant filled in and the officials recorded, as the letter prints it: a
    # choice by its label, a date in words (wording.sample_context gives the same names).
    fields = (*spec.fields, *(f for s in spec.steps for f in s.record))
    labels = {f.key: dict(f.choices) for f in fields}
    dates = {f.key for f in fields if f.type == "date"}

    def shown(k, v):
        if k in dates and isinstance(v, str) and v:
            return date_id(dt.date.fromisoformat(v))
        return labels.get(k, {}).get(v, v) if isinstance(v, str) else v

    form = {k: shown(k, v) for k, v in application.form_data.items()}
    # record.<step>.<field>: what was recorded at that step (its latest decision), blank
    # until the step is decided; recorded.<field>: the same, by field key alone.
    record = {s.key: dict.fromkeys((f.key for f in s.record), "")
              for s in spec.steps if s.record}
    recorded: dict[str, str] = {}
    for decision in Decision.history(application):
        values = {k: shown(k, v) for k, v in ((decision.data or {}).get("record", {})).items()}
        recorded.update(values)
        if decision.step_key in record:
            record[decision.step_key].update(values)
    return {"applicant": {"name": application.applicant.name},
            "form": form, "recorded": recorded, "record": record,
            "agency": {"name": application.agency.name, "city": application.agency.city},
            "application": {"registration_number": application.registration_number},
            "service": spec.title, "letter": {"title": letter.title, "key": letter.key},
            "number": number, "date": date_id(local_now.date())}


def letter_content(application: Application, spec: SopSpec, letter_spec: LetterSpec,
                   number: str, local_now: dt.datetime, signature: signing.SignatureBlock,
                   footer_note: str, watermark: str = "") -> signing.LetterContent:
    """What a letter of this file prints (kop, number, wording, signature block, paraf
    trail): the same for the letter issued and for its draft. ``local_now`` is its date and
    the PDF's creation date (the issuance time; a draft's: now). Raises LetterError when the
    agency's wording cannot be rendered."""
    agency = application.agency
    try:
        headers, body = parse_wording(SANDBOX.from_string(
            letter_source(agency, spec.code, letter_spec.key)).render(
            _context(application, spec, letter_spec, number, local_now)))
    except TemplateError as exc:
        raise LetterError(_l("%(letter)s: templat surat tidak dapat dipakai: %(problem)s",
                             letter=letter_spec.title, problem=str(exc))) from None
    return signing.LetterContent(
        letterhead=tuple(agency.letterhead[:4]) or (agency.name,),
        number=number,
        place_date=f"{agency.city or agency.name}, {date_id(local_now.date())}",
        title=headers.get("title", ""), subject=headers.get("subject", ""),
        addressee=tuple(p.strip() for p in headers.get("addressee", "").split("|") if p.strip()),
        body=body, signature=signature,
        paraf=_paraf(application, spec, letter_spec, agency.calendar()),
        footer_note=footer_note, watermark=watermark, created_at=local_now,
        logo=_logo(agency), contact=agency.contact_lines())


def _logo(agency: Agency) -> bytes | None:
    """The agency's kop logo (stored scaled by the settings page), or None."""
    if not agency.logo_key:
        return None
    return current_storage().read(agency.logo_key)


def collection_ticket(application: Application) -> Letter | None:
    """The pickup ticket of this file (its valid letter whose notice is ``collection``), the
    one its handover takes in; None when its SOP issues none or it is not issued (yet)."""
    keys = [lt.key for lt in application.sop.spec.letters if lt.notice == "collection"]
    if not keys:
        return None
    return (Letter.select().where((Letter.application == application)
                                  & Letter.letter_key.in_(keys) & (Letter.status == "valid"))
            .order_by(Letter.id.desc()).first())


def signing_actor(spec: SopSpec, letter: LetterSpec):
    """The SOP actor whose official signs the letter (an external party's recorder)."""
    actor = spec.actor(letter.signer or spec.step(_producing_step(spec, letter.key)).actor)
    if actor.kind is ActorKind.EXTERNAL:
        actor = spec.actor(actor.recorded_by)
    return actor


def issue_letters(application: Application, spec: SopSpec, step: StepSpec, decider: User,
                  position: Position | None, capacity: str | None,
                  now: dt.datetime) -> list[Letter]:
    """Number, render, sign and store every letter issued at this step; inside the caller's
    transaction. Raises LetterError with the reason when one cannot be issued."""
    issued = []
    for letter_spec in spec.letters_issued_at(step.key):
        exists = Letter.get_or_none((Letter.application == application)
                                    & (Letter.letter_key == letter_spec.key)
                                    & (Letter.status == "valid"))
        if exists is not None:
            continue  # a file that came back through this step keeps its letter
        issued.append(_issue_one(application, spec, letter_spec, step, decider, position,
                                 capacity, now))
    return issued


def _issue_one(application, spec, letter_spec, step, decider, position, capacity, now,
               replaces: Letter | None = None) -> Letter:
    agency = application.agency
    calendar = agency.calendar()
    local_now = calendar.local(now)
    signer = _signer(application, spec, letter_spec, step, decider, position, capacity)
    # Letters whose numbers share a format share its series, as an agency's agenda does:
    # two kinds of letter can never be given the same number.
    fmt = (letter_spec.numbering or DEFAULT_NUMBERING).replace("{letter}",
                                                               letter_spec.key.upper())
    series = f"letter:{fmt}"
    seq = next_value(agency.code, series, local_now.year)
    number = format_number(fmt, seq, local_now, agency.code.upper())
    token = secrets.token_urlsafe(16)  # 128 random bits in 22 characters: a sparser QR code
    url = current_config().url(f"/v/{token}")
    prefix, own_title = capacity_prefix(signer.capacity), signer.title
    if signer.capacity == "an":  # "a.n. Kepala Dinas" above the signer's own title
        prefix, own_title = f"a.n. {signer.title}", _own_title(signer.user, agency, local_now)
    content = letter_content(
        application, spec, letter_spec, number, local_now,
        signing.SignatureBlock(position=own_title, name=signer.user.name,
                               nip=signer.user.nip, capacity=prefix),
        footer_note=f"Dokumen ini ditandatangani secara elektronik. Periksa keasliannya di {url}")
    try:
        rendered = signing.render_letter(content)
        identity = keys.signer_identity(signer.user, own_title, agency.name)
        # B-LT with a TSA configured; a TSA outage costs a level (B-B, queued for
        # `letters extend`), never the letter (extend.py).
        signed = extend.sign(
            rendered.pdf, identity, rendered.signature_box, qr_url=url,
            lines=signing.stamp_lines(signer.user.name, local_now, calendar.zone_label),
            signing_time=now)
    except (signing.SigningError, ValueError) as exc:
        raise LetterError(_l("%(letter)s gagal ditandatangani: %(problem)s",
                             letter=letter_spec.title, problem=str(exc))) from None
    pdf = signed.pdf
    # Stored under a staging name now and promoted to its key only once this transaction
    # commits: a crash or a rollback before the commit leaves no signed PDF at a key (the
    # number it carries goes to the next letter), only a staging object that is never
    # served or backed up and that `flask storage sweep` deletes (portal/storage/).
    storage_key, digest = current_storage().put_after_commit(pdf)
    letter = Letter.create(
        application=application, agency=agency, letter_key=letter_spec.key,
        title=letter_spec.title, number=number, series=series, seq=seq, year=local_now.year,
        token=token, storage_key=storage_key, sha256=digest, size=len(pdf),
        signer=signer.user, signer_position=signer.position, capacity=signer.capacity,
        signer_name=signer.user.name, signer_nip=signer.user.nip or "",
        signer_title=own_title, issued_at=now, level=signed.level,
        # An internal letter (opened by an official) is not issued to a person.
        holder_name=(application.applicant.name
                     if spec.initiator.kind is ActorKind.APPLICANT else ""))
    extend.record_revision(letter, 1, storage_key, digest, signed)  # every stored file
    pages.record_print(letter, pdf, content)  # page images, subject, name: the public page
    audit.record(decider, "letter.issued", letter, number=number, sha256=digest,
                 letter=letter_spec.key, signer=signer.user.id, level=signed.level,
                 **({"level_problem": signed.problem} if signed.problem else {}))
    notify.letter_issued(letter, letter_spec.notice)
    if replaces is not None:
        replaces.status, replaces.replaced_by = "replaced", letter
        replaces.revoked_at = now
        replaces.save()
    return letter

