"""The platform administrator's page (/platform): every agency with its counts, a form to
create an agency with its first administrator, and one to import an agency's staff."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from portal.core.errors import ValidationError
from portal.core.i18n import lazy_gettext as _l
from portal.core.web import current_account, render
from portal.modules.accounts.guards import platform_admin_required
from portal.modules.accounts.staff_import import COLUMNS, StaffImportError, import_staff
from portal.modules.agencies import operations
from portal.modules.agencies.models import Agency

bp = Blueprint("platform", __name__)

# The zones a new agency is offered (any IANA zone is accepted by the command line).
ZONE_CHOICES = (("Asia/Jakarta", "WIB · Asia/Jakarta"), ("Asia/Pontianak", "WIB · Asia/Pontianak"),
                ("Asia/Makassar", "WITA · Asia/Makassar"), ("Asia/Jayapura", "WIT · Asia/Jayapura"))
STAFF_FILE_MAX = 2 * 1024 * 1024  # bytes of a staff CSV


def _page(status=200, errors=None, values=None, problems=()):
    rows = operations.agency_rows()
    return render("platform/index.html", status=status, rows=rows,
                  agency_choices=[(r.agency.code, f"{r.agency.code} · {r.agency.name}")
                                  for r in rows],
                  zone_choices=ZONE_CHOICES, columns=",".join(COLUMNS), errors=errors or {},
                  values=values or {}, problems=problems)


@bp.get("/platform")
@platform_admin_required
def index():
    """Every agency, and the forms that add one or import its staff."""
    return _page()


@bp.post("/platform/agencies")
@platform_admin_required
def create_agency():
    form = request.form
    try:
        agency = operations.create_agency(current_account(), form.get("code", ""),
                                          form.get("name", ""), form.get("zone", ""),
                                          form.get("admin_email", ""),
                                          form.get("admin_name", ""))
    except ValidationError as exc:
        return _page(422, {"agency": exc.errors}, {"agency": form})
    flash(_("Instansi %(code)s dibuat; undangan dikirim ke %(email)s.", code=agency.code,
            email=form.get("admin_email", "").strip().lower()), "ok")
    return redirect(url_for("platform.index"), 303)


def _staff_text(errors: dict) -> str:
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read(STAFF_FILE_MAX + 1)
        if len(data) > STAFF_FILE_MAX:
            errors["file"] = _l("Berkas terlalu besar (maksimal 2 MB).")
            return ""
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors["file"] = _l("Berkas bukan teks UTF-8: simpan lembar kerja sebagai CSV UTF-8.")
            return ""
    text = request.form.get("csv", "")
    if not text.strip():
        errors["file"] = _l("Pilih berkas CSV atau tempelkan isinya.")
    return text


@bp.post("/platform/staff")
@platform_admin_required
def import_staff_file():
    form = request.form
    errors: dict[str, object] = {}
    agency = Agency.get_or_none(Agency.code == form.get("agency", ""))
    if agency is None:
        errors["agency"] = _l("Pilih instansinya.")
    text = _staff_text(errors)
    if errors:
        return _page(422, {"staff": errors}, {"staff": form})
    try:
        report = import_staff(current_account(), agency, text)
    except StaffImportError as exc:
        return _page(422, {"staff": exc.errors}, {"staff": form}, exc.problems)
    if report.changed:
        flash(_("Pegawai %(code)s: %(created)s dibuat, %(updated)s diperbarui, %(unchanged)s "
                "tidak berubah.", code=agency.code, created=report.count("created"),
                updated=report.count("updated"), unchanged=report.count("unchanged")), "ok")
    else:
        flash(_("Pegawai %(code)s: tidak ada yang berubah (%(n)s baris sudah sesuai).",
                code=agency.code, n=len(report.rows)), "ok")
    return redirect(url_for("platform.index"), 303)
