"""SOPs: the public catalogue and service pages, and the administrator's SOP versions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.core.errors import OperationError, ValidationError
from portal.core.web import current_account, render
from portal.modules.accounts import approvals
from portal.modules.accounts.guards import admin_required, administered_agency
from portal.modules.sops import operations
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec import ActorKind, SopError

bp = Blueprint("sops", __name__)





def _sops_page(status=200, errors=None, issues=None, filename=""):
    agency = administered_agency()
    versions = operations.sop_versions(agency)
    current = {}
    for version in versions:
        if version.code not in current:
            serving = SopVersion.current(version.code)
            current[version.code] = serving.id if serving else None
    return render("admin/sops.html", status=status, agency=agency, versions=versions,
                  current=current, calendar=agency.calendar(), errors=errors or {},
                  issues=issues or [], filename=filename)


@bp.get("/admin/sops")
@admin_required
def sops():
    """The agency's SOP versions, and the form to import one."""
    return _sops_page()


@bp.post("/admin/sops")
@admin_required
def import_sop():
    """Import an SOP version from an uploaded YAML file; every problem is listed."""
    upload = request.files.get("file")
    filename = upload.filename if upload and upload.filename else ""
    data = upload.read() if upload and upload.filename else b""
    try:
        version = operations.import_sop_version(current_account(), data, filename)
    except SopError as exc:
        return _sops_page(422, {"file": _("Berkas SOP tidak dapat dipakai:")}, exc.issues,
                          filename)
    except ValidationError as exc:
        return _sops_page(422, exc.errors, filename=filename)
    except OperationError as exc:  # the version exists, is older, or names unknown positions
        return _sops_page(422, {"file": str(exc)}, filename=filename)
    flash(_("SOP %(code)s versi %(version)s tersimpan.", code=version.code,
            version=version.version), "ok")
    return redirect(url_for("sops.sops"), 303)


@bp.post("/admin/sops/<int:version_id>/activate")
@admin_required
def activate_sop(version_id):
    version = operations.set_sop_active(current_account(), version_id, True)
    flash(_("SOP %(code)s versi %(version)s aktif.", code=version.code,
            version=version.version), "ok")
    return redirect(url_for("sops.sops"), 303)


@bp.post("/admin/sops/<int:version_id>/deactivate")
@admin_required
def deactivate_sop(version_id):
    version = operations.set_sop_active(current_account(), version_id, False)
    flash(_("SOP %(code)s versi %(version)s dinonaktifkan.", code=version.code,
            version=version.version), "ok")
    return redirect(url_for("sops.sops"), 303)


@bp.get("/services/<code>")
def service(code):
    """One service: what it needs, its steps and standard times, and how to apply."""
    version = SopVersion.current(code)
    if version is None:
        abort(404)
    spec = version.spec
    approval = None
    if current_user.is_authenticated and approvals.needs_approval(spec, version.agency):
        from portal.modules.accounts.models import AccountApproval

        approval = AccountApproval.status_of(current_account(), version.agency)
    return render("service.html", version=version, spec=spec, approval=approval,
                  needs_approval=approvals.needs_approval(spec, version.agency),
                  applicant_opens=spec.initiator.kind is ActorKind.APPLICANT)


@bp.get("/")
def index():
    """The catalogue of services, per agency."""
    services = [(version, version.spec) for version in SopVersion.catalogue()]
    return render_template("index.html", services=services)

