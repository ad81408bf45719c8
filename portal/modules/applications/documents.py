"""Documents of a file: which the SOP asks for at a step, screening uploads (size, real
type), storing them with previews, and which were judged incomplete at the last return."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts.models import User
from portal.modules.applications.models import Application, Decision, Document
from portal.modules.applications.previews import MAX_PIXELS, image_size, make_upload_previews
from portal.modules.audit import trail as audit
from portal.modules.sops.spec import (
    DocumentSpec,
    Effect,
    SopSpec,
    StepSpec,
)
from portal.storage import Storage


@dataclass(frozen=True)
class Upload:
    """A file as received: its name, the media type the client claimed, and the bytes."""

    filename: str
    data: bytes
    media_type: str = ""
    previews: tuple[str, ...] | None = None
    """Storage keys of its page previews, made by ``with_previews`` before the transaction
    (None: not made yet)."""


def screen_uploads(spec: SopSpec, uploads: Mapping[str, Upload]):
    known = {d.key: d for d in spec.documents}
    good, errors = {}, {}
    for key, upload in (uploads or {}).items():
        if not upload.data:
            continue
        doc = known.get(key)
        problem = _l("Dokumen ini tidak diminta.") if doc is None else upload_problem(doc, upload)
        if problem is None:
            good[key] = upload
        else:
            errors[key] = problem
    return good, errors


_MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


_ZIP = b"PK\x03\x04"


def sniff(data: bytes, allowed: tuple[str, ...]) -> str | None:
    """The media type the bytes really are, among the allowed ones (clients can lie)."""
    for media_type in allowed:
        prefixes = _MAGIC.get(media_type, (_ZIP,))
        if any(data.startswith(p) for p in prefixes):
            return media_type
    return None


def judged_documents(spec: SopSpec, step: StepSpec, form) -> list[DocumentSpec]:
    """The documents a checking step gives a verdict on (those of its list that apply)."""
    return [d for d in spec.documents if d.key in (step.documents or ()) and d.applies(form)]


def all_complete(spec: SopSpec, step: StepSpec, form) -> dict[str, dict]:
    """Verdicts judging every document a step checks complete (walks, scripts, tests)."""
    return {d.key: {"complete": True, "note": ""} for d in judged_documents(spec, step, form)}


def documents_at_step(spec: SopSpec, step_key: str, form) -> list[DocumentSpec]:
    """The documents uploaded at a step that apply to the form's answers (a document
    without a step is uploaded when the file is opened)."""
    opening = spec.application_steps[0].key
    return [d for d in spec.documents
            if (d.step or opening) == step_key and d.applies(form)]


def correction_documents(spec: SopSpec, step_key: str, form,
                         flagged=frozenset()) -> list[DocumentSpec]:
    """The documents that may be uploaded at a step: those the step asks for, and every one
    a return flagged incomplete (``flagged``), wherever it was first uploaded, as long as it
    still applies to the form's answers."""
    wanted = documents_at_step(spec, step_key, form)
    keys = {d.key for d in wanted}
    return wanted + [d for d in spec.documents
                     if d.key in flagged and d.key not in keys and d.applies(form)]


def upload_problem(doc: DocumentSpec, upload: Upload):
    """Why an uploaded file cannot serve as this document (too large, not really of an
    allowed type), or None."""
    if len(upload.data) > doc.max_size_mb * 1024 * 1024:
        return _l("%(label)s melebihi %(size)s MB.", label=doc.label, size=doc.max_size_mb)
    media_type = sniff(upload.data, doc.media_types)
    if media_type is None:
        return _l("%(label)s harus berupa berkas %(types)s.", label=doc.label,
                  types=", ".join(doc.media).upper())
    size = image_size(upload.data, media_type) if media_type.startswith("image/") else None
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        # A decompression bomb or an over-sized scan: refused from the header, undecoded.
        return _l("%(label)s: gambar %(width)s×%(height)s piksel terlalu besar (paling banyak "
                  "%(max)s juta piksel). Perkecil resolusinya lalu unggah lagi.",
                  label=doc.label, width=size[0], height=size[1], max=MAX_PIXELS // 1_000_000)
    return None


PREVIEWABLE = ("application/pdf", "image/jpeg", "image/png")


def with_previews(uploads: Mapping[str, Upload], storage: Storage) -> dict[str, Upload]:
    """The uploads with their page previews rendered and stored: call it before the
    transaction that records them, so no lock is held while a file renders (an image over
    MAX_PIXELS gets none: ``upload_problem`` refuses it)."""
    prepared = {}
    for key, upload in (uploads or {}).items():
        media_type = sniff(upload.data, PREVIEWABLE) if upload.data else None
        if media_type is None or upload.previews is not None:
            prepared[key] = upload
            continue
        size = image_size(upload.data, media_type) if media_type.startswith("image/") else None
        images = ([] if size is not None and size[0] * size[1] > MAX_PIXELS
                  else make_upload_previews(upload.data, media_type))
        keys = tuple(storage.put(image)[0] for image in images)
        prepared[key] = dataclasses.replace(upload, previews=keys)
    return prepared


def upload_problems(spec: SopSpec, step: StepSpec, form, uploads: Mapping[str, Upload],
                    existing: Mapping[str, Document], must_replace=frozenset()
                    ) -> dict[str, object]:
    """Each document's problem with what was uploaded at a step (missing, refused, not
    replaced though returned), keyed by document; empty when all is well.

    Every document in ``must_replace`` (flagged incomplete by the return being corrected)
    that still applies must come with a new version, whether or not it is required and
    whichever step first asked for it; each one missing is named."""
    wanted = {d.key: d for d in correction_documents(spec, step.key, form, must_replace)}

    def missing(key: str, doc: DocumentSpec):
        if key in must_replace:
            return _l("%(label)s dikembalikan untuk perbaikan: unggah versi baru.",
                      label=doc.label)
        if doc.required and key not in existing:
            return _l("%(label)s wajib diunggah.", label=doc.label)
        return None

    return _screened(wanted, uploads, missing)


def _screened(wanted: Mapping[str, DocumentSpec], uploads: Mapping[str, Upload],
              missing) -> dict[str, object]:
    """The problems of uploads against the documents a step wants: a file it does not ask
    for, a file the screen refuses, or ``missing(key, doc)`` for a document without one."""
    errors: dict[str, object] = {}
    for key, upload in uploads.items():
        if key not in wanted and upload.data:
            errors[key] = _l("Dokumen ini tidak diminta pada langkah ini.")
    for key, doc in wanted.items():
        upload = uploads.get(key)
        if upload is None or not upload.data:
            if (problem := missing(key, doc)) is not None:
                errors[key] = problem
        elif (problem := upload_problem(doc, upload)) is not None:
            errors[key] = problem
    return errors


def store_uploads(application: Application, uploads: Mapping[str, Upload], user: User,
                  storage: Storage, now: dt.datetime) -> None:
    spec = application.sop.spec
    known = {d.key: d for d in spec.documents}
    latest = Document.latest_for(application)
    for key, upload in uploads.items():
        if not upload.data:
            continue
        key_, digest = storage.put(upload.data)
        media_type = sniff(upload.data, known[key].media_types)
        version = latest[key].version + 1 if key in latest else 1
        if upload.previews is None:  # a caller that did not prepare them: render here
            upload = with_previews({key: upload}, storage)[key]
        previews = list(upload.previews or ())
        document = Document.create(
            application=application, requirement=key, version=version,
            filename=_safe_name(upload.filename), media_type=media_type, size=len(upload.data),
            sha256=digest, storage_key=key_, uploaded_by=user, uploaded_at=now,
            previews=previews)
        audit.record(user, "document.uploaded", document, requirement=key, version=version,
                     sha256=digest)


def _safe_name(filename: str) -> str:
    name = re.sub(r"[^\w.\- ]+", "_", (filename or "dokumen").rsplit("/", 1)[-1]).strip()
    return name[:120] or "dokumen"


def last_return(application: Application) -> Decision | None:
    """The decision that last sent the file back for correction, if any."""
    return (Decision.select().where((Decision.application == application)
                                    & (Decision.effect == Effect.RETURN.value))
            .order_by(Decision.id.desc()).first())


def failed_verdicts(decision: Decision | None) -> dict[str, dict]:
    """The verdicts of a return on the documents it judged not complete (with the note)."""
    if decision is None:
        return {}
    return {k: v for k, v in (decision.data or {}).get("verdicts", {}).items()
            if not v.get("complete", True)}


def failed_documents(application: Application) -> frozenset[str]:
    """Documents judged not complete by the decision that returned the file."""
    return frozenset(failed_verdicts(last_return(application)))



def replaced_since_return(application: Application) -> frozenset[str]:
    """Documents of which a new version was uploaded after the file was last sent back."""
    returned = last_return(application)
    if returned is None:
        return frozenset()
    return frozenset(key for key, doc in Document.latest_for(application).items()
                     if doc.version > 1 and doc.uploaded_at >= returned.decided_at)


def official_documents_at_step(spec: SopSpec, step_key: str, form) -> list[DocumentSpec]:
    """The documents the official acting at a step uploads there (a technical
    recommendation, the scan of a signed permit), those that apply to the form's answers."""
    return [d for d in documents_at_step(spec, step_key, form) if spec.by_official(d)]


def official_upload_problems(spec: SopSpec, step: StepSpec, form, uploads: Mapping[str, Upload],
                             forward: bool) -> dict[str, object]:
    """Each problem with what an official uploaded with a decision, keyed by document: a
    file the step does not ask for, one refused by the same screen as the applicant's
    (size, real type), or a required one missing. A document is the product of the step's
    forward decision: every forward brings its required documents anew; a return or a
    rejection needs none (but what comes with it is screened and kept)."""
    wanted = {d.key: d for d in official_documents_at_step(spec, step.key, form)}
    return _screened(wanted, uploads, lambda _key, doc: (
        _l("%(label)s wajib diunggah.", label=doc.label) if forward and doc.required
        else None))
