"""Letters: public verification (/v/<token>), downloads, the register, and the agency's
letter wording."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.db import db
from portal.core.errors import NotFound, ValidationError
from portal.core.limits import limited
from portal.core.web import current_account, render
from portal.modules.accounts.guards import admin_required, administered_agency
from portal.modules.applications import access
from portal.modules.applications.models import Application, Decision, Task
from portal.modules.audit import trail as audit
from portal.modules.letters import (
    certificates,
    drafts,
    issuance,
    keys,
    operations,
    pages,
    verification,
    wording,
)
from portal.modules.letters.models import Letter, LetterRevision
from portal.modules.letters.revocations import CertificateRevocation
from portal.modules.sops.models import SopVersion
from portal.storage import send as send_stored

bp = Blueprint("letters", __name__)





@bp.get("/admin/letter-templates")
@admin_required
def letter_templates():
    """The wording of every letter the agency's SOPs issue: shipped or the agency's own."""
    return render("admin/letter_templates.html",
                  rows=wording.letter_templates(administered_agency()))


@bp.route("/admin/letter-templates/<sop_code>/<letter_key>", methods=["GET", "POST"])
@admin_required
def letter_template(sop_code, letter_key):
    """Edit one letter's wording: the page shows it rendered with the SOP's sample values
    ("Pratinjau" shows the text being edited) and the variables it may use; "Simpan" stores
    it after the same check (wording.check_letter_template)."""
    from portal.modules.letters.wording import letter_source

    agency = administered_agency()
    spec, letter = wording._agency_letter(agency, sop_code, letter_key)
    errors, source, preview = {}, None, None
    action = request.form.get("action") if request.method == "POST" else None
    if action in ("save", "reset", None) and request.method == "POST":
        source = request.form.get("source", "")
        try:
            if action == "reset":
                wording.reset_letter_template(current_account(), sop_code, letter_key)
            else:
                wording.save_letter_template(current_account(), sop_code, letter_key, source)
        except ValidationError as exc:
            errors = exc.errors
        else:
            return redirect(url_for("letters.letter_template", sop_code=sop_code,
                                    letter_key=letter_key, saved=1), 303)
    else:  # a look at the wording (GET), or at the text being edited ("Pratinjau")
        source = (request.form.get("source", "") if action == "preview"
                  else letter_source(agency, sop_code, letter_key))
        try:
            _stored, headers, body = wording.check_letter_template(spec, letter, source, agency)
            preview = {"headers": headers, "body": body}
        except ValidationError as exc:
            errors = exc.errors
    return render("admin/letter_template.html", status=422 if errors and action else 200,
                  spec=spec, letter=letter, errors=errors, saved=request.args.get("saved"),
                  source=source, preview=preview, previewed=action == "preview",
                  variables=wording.template_variables(spec, letter, agency))


MAX_PRESENTED = 20 * 1024 * 1024


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/v/<token>", methods=["GET", "POST"])
@limited("verify_view", methods=("GET",))
@limited("verify_check", methods=("POST",))
def verify(token):
    """Is this letter genuine, unaltered and still valid? No account, no JavaScript. The
    record's status and the verdict on an uploaded file are shown apart."""
    letter = Letter.by_token(token)
    if letter is None:
        return _no_store(render("verify.html", status=404, letter=None, verdict=None))
    verdict, error = None, None
    if request.method == "POST":
        upload = request.files.get("file")
        data = upload.read(MAX_PRESENTED + 1) if upload else b""
        if not data:
            error = _("Pilih berkas PDF surat yang ingin diperiksa.")
        elif len(data) > MAX_PRESENTED:
            error = _("Berkas terlalu besar (maksimal 20 MB).")
        else:
            verdict = verification.verify_presented(data, letter)
    with db.atomic():
        audit.record(None, "letter.verified" if verdict else "letter.viewed_public", letter,
                     presented=bool(verdict), exact=bool(verdict and verdict.exact),
                     **({"verdict": verdict.kind} if verdict else {}))
    return _no_store(render("verify.html", "result", status=422 if error else 200,
                            letter=letter, verdict=verdict, error=error,
                            calendar=letter.agency.calendar(),
                            holder=wording.mask_name(letter.holder_name),
                            pages=pages.LetterPage.of(letter),
                            replacement=letter.replaced_by,
                            dev_ca=keys.uses_dev_ca()))


@bp.get("/v/<token>/pages/<int:page>.jpg")
@limited("verify_view", methods=("GET",))  # no token oracle that escapes the page's limit
def verify_page_image(token, page):
    """One page of the issued letter as a small grey image, to compare with a paper copy:
    public under the letter's token (it shows nothing the paper does not)."""
    letter = Letter.by_token(token)
    image = (pages.LetterPage.get_or_none((pages.LetterPage.letter == letter)
                                          & (pages.LetterPage.page == page))
             if letter is not None else None)
    if image is None:
        abort(404)
    if page == 0:  # the images were looked at: once per view, not once per page
        with db.atomic():
            audit.record(None, "letter.pages_viewed", letter)
    response = send_stored(image.storage_key, mimetype="image/jpeg", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/ca.pem")
def ca_certificate():
    """The development CA certificate, for checking letters with other tools."""
    pem = keys.ca_certificate_pem()
    if pem is None:
        abort(404)
    return Response(pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": "attachment; filename=absah-dev-ca.pem"})


@bp.get("/ca.crl")
def ca_crl():
    """The development CA's certificate revocation list (DER), named in its certificates."""
    if not keys.uses_dev_ca():
        abort(404)
    response = Response(certificates.current_crl(), mimetype="application/pkix-crl",
                        headers={"Content-Disposition": "inline; filename=absah-dev-ca.crl"})
    response.headers["Cache-Control"] = "public, max-age=300"  # a revocation shows in minutes
    return response


def _certificates_page(status: int = 200, errors: dict | None = None, official_id=None,
                       form=None):
    agency = administered_agency()
    return render("admin/certificates.html", status=status, agency=agency,
                  rows=certificates.certificate_rows(agency),
                  revocations=CertificateRevocation.of_agency(agency),
                  reasons=list(certificates.REASON_LABELS.items()), source=keys.source(),
                  calendar=agency.calendar(), errors=errors or {}, official_id=official_id,
                  form=form or {})


@bp.get("/admin/signing-certificates")
@admin_required
def signing_certificates():
    """The officials' signing certificates: revoke one, or (development CA) issue a new one."""
    return _certificates_page()


@bp.post("/admin/signing-certificates/<int:user_id>/revoke")
@admin_required
def revoke_certificate(user_id):
    try:
        certificates.revoke(current_account(), user_id, request.form.get("reason", ""),
                            request.form.get("note", ""))
    except ValidationError as exc:
        return _certificates_page(422, exc.errors, user_id, request.form)
    except NotFound:
        abort(404)
    flash(_("Sertifikat dicabut. Pejabat ini tidak dapat menandatangani dengannya lagi."), "ok")
    return redirect(url_for("letters.signing_certificates"), 303)


@bp.post("/admin/signing-certificates/<int:user_id>/reissue")
@admin_required
def reissue_certificate(user_id):
    try:
        certificates.reissue(current_account(), user_id)
    except ValidationError as exc:
        return _certificates_page(422, exc.errors, user_id, request.form)
    except NotFound:
        abort(404)
    flash(_("Sertifikat baru diterbitkan."), "ok")
    return redirect(url_for("letters.signing_certificates"), 303)


def _entitled(letter_id) -> Letter:
    letter = Letter.get_or_none(Letter.id == letter_id)
    if letter is None or not access.can_view_application(current_user._get_current_object(),
                                                         letter.application):
        abort(404)
    return letter


@bp.get("/letters/<int:letter_id>.pdf")
@login_required
def download(letter_id):
    """The signed PDF, for the applicant to download and officials to print."""
    letter = _entitled(letter_id)
    with db.atomic():
        audit.record(current_user._get_current_object(), "letter.downloaded", letter)
    # the newest stored revision: the issued file plus the timestamps `letters extend` added
    response = send_stored(LetterRevision.current_key(letter), mimetype="application/pdf",
                           as_attachment=True,
                           download_name=f"{letter.number.replace('/', '-')}.pdf", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/letters")
@login_required
def register():
    """The agency's register of letters issued (and handed over), for its administrator."""
    user = current_user._get_current_object()
    if not user.is_agency_admin or not user.agency_id:
        abort(403)
    rows = list(Letter.select().where(Letter.agency == user.agency)
                .order_by(Letter.issued_at.desc()).limit(500))
    handovers = {}
    for decision in (Decision.select(Decision, Application, SopVersion)
                     .join(Application).join(SopVersion)
                     .where(Decision.application.in_([r.application_id for r in rows] or [0]))):
        record = (decision.data or {}).get("record")
        if record and "collected_by" in record:
            handovers[decision.application_id] = (_handover_label(decision, record), decision)
    return render("letters.html", rows=rows, handovers=handovers,
                  calendar=user.agency.calendar())


def _handover_label(decision, record: dict) -> str:
    """Who collected, and in what capacity with which document, in the SOP's own words:
    'Budi (Pemohon sendiri, Fotokopi KTP)', never the stored codes."""
    try:
        fields = decision.application.sop.spec.step(decision.step_key).record
    except KeyError:
        fields = ()
    chosen = [dict(f.choices).get(str(record.get(f.key)), record.get(f.key))
              for f in fields if f.type == "choice" and record.get(f.key)]
    name = record.get("collector_name", "")
    return f"{name} ({', '.join(chosen)})" if chosen else name


@bp.route("/letters/<int:letter_id>", methods=["GET", "POST"])
@login_required
def detail(letter_id):
    """One letter; its agency's administrator may revoke or replace it with a reason."""
    letter = _entitled(letter_id)
    user = current_user._get_current_object()
    may_revoke = user.is_agency_admin and user.agency_id == letter.agency_id
    errors = {}
    if request.method == "POST":
        if not may_revoke:
            abort(403)
        try:
            letter = operations.revoke_letter(user, letter, request.form.get("reason", ""),
                                              replace=request.form.get("action") == "replace")
        except ValidationError as exc:
            errors = exc.errors
        except issuance.LetterError as exc:
            errors = {"reason": str(exc)}
        else:
            return redirect(url_for("letters.detail", letter_id=letter.id), 303)
    return render("letter.html", "panel", status=422 if errors else 200, letter=letter,
                  may_revoke=may_revoke, errors=errors, calendar=letter.agency.calendar(),
                  form=request.form)



def _draft_of(task_id: int, letter_key: str):
    """The task's file and the letter key, for an official who may see the file, while
    the task is open at a step that shows drafts; 404 otherwise."""
    task = Task.get_or_none(Task.id == task_id)
    user = current_account()
    if (task is None or task.status != "open"
            or not access.can_view_application(user, task.application)
            or task.application.applicant_id == user.id
            or letter_key not in {d.key for d in drafts.drafts_at(task) if not d.problem}):
        abort(404)
    return task.application


def _private(response, seconds: int = 60):
    """A draft follows the file: the browser may keep it only briefly, and only for itself."""
    response.headers["Cache-Control"] = f"private, max-age={seconds}"
    return response


@bp.get("/tasks/<int:task_id>/draft/<letter_key>.pdf")
@login_required
def draft_pdf(task_id, letter_key):
    """The draft of a letter as a PDF, marked DRAF, unsigned and unnumbered."""
    application = _draft_of(task_id, letter_key)
    pdf = drafts.draft_pdf(application, letter_key)
    with db.atomic():
        audit.record(current_account(), "letter.draft_viewed", application, letter=letter_key)
    return _private(Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="draf-{letter_key}.pdf"'}))


@bp.get("/tasks/<int:task_id>/draft/<letter_key>/<int:page>.jpg")
@login_required
def draft_page(task_id, letter_key, page):
    """One page of the draft as a light grey image (a few seconds on 2G)."""
    application = _draft_of(task_id, letter_key)
    pages = drafts.draft_pages(application, letter_key)
    if not 0 <= page < len(pages):
        abort(404)
    if page == 0:  # the draft was looked at: once per view, not once per page
        with db.atomic():
            audit.record(current_account(), "letter.draft_viewed", application,
                         letter=letter_key, as_images=True)
    return _private(Response(pages[page], mimetype="image/jpeg"))
