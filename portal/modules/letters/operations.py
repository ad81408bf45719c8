"""Revoking or replacing an issued letter, with a reason; the holder is told."""

from __future__ import annotations

from portal.core.db import db
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts.models import User
from portal.modules.audit import trail as audit
from portal.modules.letters import notify
from portal.modules.letters.issuance import _issue_one
from portal.modules.letters.models import Letter


def revoke_letter(actor: User, letter: Letter, reason: str, replace: bool = False) -> Letter:
    """Revoke an issued letter (or replace it with a newly signed one); audited; the
    verification page shows it at once and the holder is told."""
    from portal.core.errors import PermissionDenied, ValidationError

    if not (reason or "").strip():
        raise ValidationError({"reason": _l("Sebutkan alasan pencabutan.")})
    with db.atomic():
        if not (actor.is_agency_admin and actor.agency_id == letter.agency_id):
            raise PermissionDenied(_l("Hanya admin instansi penerbit yang dapat mencabut "
                                      "surat."))
        if letter.status != "valid":
            raise ValidationError({"reason": _l("Surat ini sudah tidak berlaku.")})
        letter.revoke_reason = reason.strip()
        letter.revoked_by = actor
        letter.revoked_at = utcnow()
        if replace:
            application = letter.application
            spec = application.sop.spec
            letter_spec = spec.letter(letter.letter_key)
            step = spec.issuing_step(letter.letter_key)
            new = _issue_one(application, spec, letter_spec, step, actor,
                             letter.signer_position, letter.capacity, utcnow(), replaces=letter)
            audit.record(actor, "letter.replaced", letter, by=new.id, reason=reason.strip())
        else:
            letter.status = "revoked"
            letter.save()
            audit.record(actor, "letter.revoked", letter, reason=reason.strip())
        notify.letter_revoked(letter)
    return Letter.get_by_id(letter.id)

