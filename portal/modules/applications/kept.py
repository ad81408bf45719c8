"""Files an official already uploaded with a decision that was refused (a missing value, a
missing verdict, another file of the wrong type), kept so that the next try does not send
them again: on a slow line the upload is the costliest thing to repeat.

A kept file is stored by content (``Storage.put``) but gets no Document row: only a decision
that is taken records it. The re-rendered form carries, per document, a signed reference
(itsdangerous, the app's secret key) bound to the task and the official, which the next post
turns back into an Upload unless a new file was chosen for that document. A stored object
that no decision ever records is counted as unreferenced by ``storage check``, nothing more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.config import current_config
from portal.core.errors import PermissionDenied
from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts.models import User
from portal.modules.applications.documents import (
    Upload,
    official_documents_at_step,
    official_upload_problems,
    upload_problem,
)
from portal.modules.applications.models import Task
from portal.modules.applications.operations import acting_capacity
from portal.modules.sops.spec import DocumentSpec
from portal.storage import Storage, check_key, key_for

__all__ = ["FIELD_PREFIX", "MAX_AGE", "KeptUpload", "keep", "offered_documents", "references",
           "refused", "restore"]

FIELD_PREFIX = "kept_"
MAX_AGE = 6 * 3600
"""Seconds a reference stays good: a working session, not an archive."""


@dataclass(frozen=True)
class KeptUpload:
    """A file kept for the next try: what the form shows, and the reference it posts."""

    doc: str
    name: str
    size: int
    reference: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_config().secret_key, salt="absah-kept-upload")


def offered_documents(task: Task) -> dict[str, DocumentSpec]:
    """The documents the official deciding this task uploads with the decision (none on an
    applicant's correction)."""
    if task.kind == "correction" or task.assignee_id is not None:
        return {}
    application = task.application
    return {d.key: d for d in official_documents_at_step(application.sop.spec, task.step_key,
                                                         application.form_data)}


def keep(task: Task, user: User, uploads: Mapping[str, Upload],
         storage: Storage) -> dict[str, KeptUpload]:
    """Store every upload that passes its own screening for a document offered here, and
    return a reference to each, keyed by document. A refused file is not kept, nor any
    file of someone who may not decide the task."""
    if task.status != "open":
        return {}
    try:
        acting_capacity(user, task, task.application.agency)
    except PermissionDenied:
        return {}
    offered = offered_documents(task)
    kept = {}
    for key, upload in uploads.items():
        doc = offered.get(key)
        if doc is None or not upload.data or upload_problem(doc, upload) is not None:
            continue
        storage_key, digest = storage.put(upload.data)
        reference = _serializer().dumps({
            "task": task.id, "user": user.id, "doc": key, "storage_key": storage_key,
            "sha256": digest, "name": upload.filename, "size": len(upload.data)})
        kept[key] = KeptUpload(key, upload.filename, len(upload.data), reference)
    return kept


def refused(task: Task, uploads: Mapping[str, Upload]) -> dict[str, object]:
    """Why files sent with a decision cannot serve (not asked for here, too large, of the
    wrong type), keyed by document: told with any refusal, since what refuses a decision
    first (a missing reason, a verdict) is checked before the files."""
    if task.kind == "correction" or task.assignee_id is not None:
        return {}
    application = task.application
    spec = application.sop.spec
    return official_upload_problems(spec, spec.step(task.step_key), application.form_data,
                                    uploads, False)


def references(form: Mapping[str, str]) -> dict[str, str]:
    """The kept references a form posted, keyed by document."""
    return {name[len(FIELD_PREFIX):]: value for name, value in form.items()
            if name.startswith(FIELD_PREFIX) and value}


def restore(task: Task, user: User, refs: Mapping[str, str], storage: Storage,
            replaced=frozenset()) -> tuple[dict[str, Upload], dict[str, object]]:
    """The uploads the references stand for, read back from storage, skipping documents
    ``replaced`` by a newly chosen file; and, keyed by document, why a reference was ignored
    (tampered with, too old, made for another task or official, its file gone)."""
    uploads: dict[str, Upload] = {}
    problems: dict[str, object] = {}
    for key, reference in refs.items():
        if key in replaced:
            continue
        try:
            data = _serializer().loads(reference, max_age=MAX_AGE)
        except SignatureExpired:
            problems[key] = _l("Berkas yang sudah diunggah tadi kedaluwarsa; pilih berkasnya "
                               "lagi.")
            continue
        except BadSignature:
            data = None
        upload = _read(task, user, key, data, storage)
        if upload is None:
            problems[key] = _l("Berkas yang sudah diunggah tadi tidak dapat dipakai; pilih "
                               "berkasnya lagi.")
        else:
            uploads[key] = upload
    return uploads, problems


def _read(task: Task, user: User, key: str, data, storage: Storage) -> Upload | None:
    if not isinstance(data, dict) or (data.get("task"), data.get("user"), data.get("doc")) \
            != (task.id, user.id, key):
        return None
    digest = str(data.get("sha256") or "")
    try:
        storage_key = check_key(str(data.get("storage_key") or ""))
        if storage_key != key_for(digest):
            return None
        content = storage.read(storage_key)
    except (ValueError, FileNotFoundError):  # not a key; gone (an outage is an error)
        return None
    if hashlib.sha256(content).hexdigest() != digest:
        return None
    return Upload(str(data.get("name") or ""), content)
