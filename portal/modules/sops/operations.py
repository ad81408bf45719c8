"""Importing SOP versions (validated; one active version per code serves new files) and
activating or deactivating them."""

from __future__ import annotations

from portal.core.db import db
from portal.core.errors import NotFound, OperationError, ValidationError
from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts.models import Position, User
from portal.modules.accounts.staff import admin_agency
from portal.modules.agencies.models import Agency
from portal.modules.audit import trail as audit
from portal.modules.sops import operations
from portal.modules.sops.models import SopVersion
from portal.modules.sops.registry import sha256_hex, spec_from_source
from portal.modules.sops.spec import (
    ActorKind,
    SopError,
    SopSpec,
    load_sop,
)


def import_sop(text: str, filename: str = "<upload>", actor: User | None = None) -> SopVersion:
    """Validate and store an SOP version; the newest active version serves new files.

    Importing the same source again returns the stored version unchanged.
    """
    try:
        spec = spec_from_source(text, sha256_hex(text))
    except SopError as exc:  # name the file the user gave, not the cache key
        raise SopError(filename, exc.issues) from None
    with db.atomic():
        agency = Agency.get_or_none(Agency.code == spec.agency)
        if agency is None:
            raise OperationError(_l("%(file)s: instansi %(agency)s belum diatur di portal.",
                                    file=filename, agency=repr(spec.agency)))
        existing = SopVersion.get_or_none((SopVersion.code == spec.code)
                                          & (SopVersion.version == spec.version))
        if existing is not None:
            if existing.sha256 == spec.source_sha256:
                return existing
            raise OperationError(_l("%(file)s: %(code)s versi %(version)s sudah ada dengan isi "
                                    "lain; naikkan nomor versinya.", file=filename,
                                    code=spec.code, version=spec.version))
        latest = SopVersion.current(spec.code)
        if latest is not None and latest.version > spec.version:
            raise OperationError(_l("%(file)s: versi %(version)s lebih lama daripada versi "
                                    "yang berlaku (%(current)s).", file=filename,
                                    version=spec.version, current=latest.version))
        _check_positions(spec, filename)
        version = SopVersion.create(agency=agency, code=spec.code, version=spec.version,
                                    title=spec.title, source=text, sha256=spec.source_sha256)
        # One version serves new files; files under way keep the version they started with.
        deactivate_others(actor, version, reason="superseded")
        audit.record(actor, "sop.imported", version, code=spec.code, version=spec.version)
    return version


def _check_positions(spec: SopSpec, filename: str) -> None:
    """Every position actor must exist in its agency, or no one could ever act for it."""
    missing = []
    for actor in spec.actors:
        if actor.kind is not ActorKind.POSITION:
            continue
        code = actor.office or spec.agency
        agency = Agency.get_or_none(Agency.code == code)
        if agency is None or not Position.select().where(
                (Position.agency == agency) & (Position.key == actor.key)).exists():
            missing.append(f"{actor.key} ({actor.title}, {code})")
    if missing:
        raise OperationError(_l("%(file)s: jabatan belum diatur: %(positions)s.", file=filename,
                                positions=", ".join(missing)))


SOP_MAX_BYTES = 512 * 1024


def sop_versions(agency: Agency) -> list[SopVersion]:
    """Every imported version of the agency's SOPs, by code, the newest version first."""
    return list(SopVersion.select().where(SopVersion.agency == agency)
                .order_by(SopVersion.code, SopVersion.version.desc()))


def _sop_text(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data:
        raise ValidationError({"file": _l("Pilih berkas SOP (YAML).")})
    if len(data) > SOP_MAX_BYTES:
        raise ValidationError({"file": _l("Berkas terlalu besar (maksimal %(size)s KB).",
                                          size=SOP_MAX_BYTES // 1024)})
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError({"file": _l("Berkas harus berupa teks UTF-8 (YAML).")}) from None


def import_sop_version(actor: User, data: bytes | str, filename: str) -> SopVersion:
    """Validate and store a version of one of the actor's agency's SOPs.

    Raises ``SopError`` (every issue with line and key) for an unusable file. A new version
    becomes the only active one of its code, so new files use it and the catalogue lists it
    once; files already under way keep the version they started with.
    """
    agency = admin_agency(actor)
    text = _sop_text(data)
    filename = (filename or "").strip() or "<upload>"
    spec: SopSpec = load_sop(text, filename)
    if spec.agency != agency.code:
        raise ValidationError({"file": _l("SOP ini milik instansi %(owner)s, bukan %(agency)s; "
                                          "hanya SOP instansi sendiri yang dapat diimpor.",
                                          owner=repr(spec.agency), agency=repr(agency.code))})
    with db.atomic():
        others = SopVersion.select().where((SopVersion.code == spec.code)
                                           & (SopVersion.agency != agency))
        if others.exists():
            raise ValidationError({"file": _l("Kode SOP %(code)s sudah dipakai instansi lain.",
                                              code=repr(spec.code))})
        # import_sop makes the new version the only active one, auditing what it replaces.
        version = operations.import_sop(text, filename, actor)
    return version


def deactivate_others(actor: User | None, version: SopVersion, reason: str) -> None:
    """Deactivate every other active version of the same SOP code, each audited."""
    for other in SopVersion.select().where((SopVersion.code == version.code)
                                           & (SopVersion.id != version.id) & SopVersion.active):
        other.active = False
        other.save()
        audit.record(actor, "sop.deactivated", other, code=other.code, version=other.version,
                     reason=reason, by_version=version.version)


def set_sop_active(actor: User, version_id: int, active: bool) -> SopVersion:
    """Activate a version (it alone then serves new files) or deactivate it."""
    agency = admin_agency(actor)
    with db.atomic():
        version = SopVersion.get_or_none((SopVersion.id == version_id)
                                         & (SopVersion.agency == agency))
        if version is None:
            raise NotFound(_l("Versi SOP tidak ditemukan."))
        if active:
            deactivate_others(actor, version, reason="another version activated")
        if bool(version.active) != active:
            version.active = active
            version.save()
            audit.record(actor, "sop.activated" if active else "sop.deactivated", version,
                         code=version.code, version=version.version)
    return version

