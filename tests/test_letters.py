"""Letters end to end: issued by the seed walks, checked by an independent validator,
verified on the public page and the CLI, tampered with, revoked, replaced; signing failures
issue nothing; parallel issuance keeps numbers consecutive."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from webclient import Browser, text, verdicts

from portal.core.db import db
from portal.core.errors import ValidationError
from portal.core.numbering import Counter
from portal.mail.models import OutboxMessage
from portal.modules.accounts import staff
from portal.modules.accounts.models import User
from portal.modules.applications import operations as applications_operations
from portal.modules.applications.models import Application, Task
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import (
    DEMO_APPLICANT,
    sample_form,
    sample_uploads,
    sample_values,
    walk,
)
from portal.modules.letters.keys import ca_certificate_pem
from portal.modules.letters.models import Letter
from portal.modules.sops.registry import seed_files
from portal.modules.sops.spec import Effect, load_sop_file


def _check_letter() -> Path:
    """The shared independent checker beside the checkout, else the copy kept in tests/tools
    (same script: poppler's pdfsig and zbarimg, nothing of ours), so CI runs it wherever
    the clone lives."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "shared" / "tools" / "check-letter",
                      Path("/work/shared/tools/check-letter"),
                      here.parent / "tools" / "check-letter"):
        if candidate.is_file():
            return candidate
    return here.parent / "tools" / "check-letter"


CHECK_LETTER = _check_letter()
TOOLS = all(shutil.which(t) for t in ("pdfsig", "pdftoppm", "zbarimg", "certutil"))
SEEDS = {path.stem: load_sop_file(path) for path in seed_files()}
LETTER_TYPES = [(code, lt.key) for code, spec in sorted(SEEDS.items()) for lt in spec.letters]
PASSWORD = "demo-test-password"


def _walked(storage, code):
    application, _ = walk(code, storage)
    assert application.status == "completed"
    return {lt.letter_key: lt for lt in application.letters}


def _pdf(storage, letter) -> bytes:
    return storage.read(letter.storage_key)


@pytest.mark.skipif(not TOOLS or not CHECK_LETTER.exists(),
                    reason="needs poppler-utils, zbar-tools, libnss3-tools and check-letter")
@pytest.mark.parametrize("code", sorted(SEEDS))
def test_every_letter_of_every_seed_passes_the_independent_check(demo, storage, tmp_path,
                                                                 code):
    issued = _walked(storage, code)
    assert set(issued) == {lt.key for lt in SEEDS[code].letters}
    ca = tmp_path / "ca.pem"
    ca.write_bytes(ca_certificate_pem())
    for key, letter in issued.items():
        path = tmp_path / f"{key}.pdf"
        path.write_bytes(_pdf(storage, letter))
        result = subprocess.run([str(CHECK_LETTER), str(path), "--ca", str(ca),
                                 "--expect-url", "http://portal.test/v/"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{code}/{key}:\n{result.stdout}\n{result.stderr}"
        assert f"http://portal.test/v/{letter.token}" in result.stdout


def test_letter_numbers_follow_the_seed_formats_and_tokens_are_long(demo, storage):
    letter = _walked(storage, "rekom-nakes")["rekomendasi"]
    assert re.fullmatch(r"445/1/SDMK/[IVX]+/20\d\d", letter.number)
    # 128 random bits, URL-safe: 22 characters, the shortest that keeps 128 bits
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", letter.token)
    sik = _walked(storage, "sik-perekam-medis")["sik"]
    assert re.fullmatch(r"503/0001/SIK-PM/20\d\d", sik.number)
    assert sik.signer_title and sik.signer_nip


def _verify_page(app, token, data: bytes | None = None):
    browser = Browser(app)
    page = browser.get(f"/v/{token}")
    if data is None:
        return page
    return browser.post(f"/v/{token}", {"file": (io.BytesIO(data), "surat.pdf")},
                        content_type="multipart/form-data")


def test_public_page_shows_the_letter_without_personal_data(app, demo, storage):
    letter = _walked(storage, "sik-perekam-medis")["sik"]
    page = _verify_page(app, letter.token)
    body = text(page)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "BERLAKU" in body and letter.number in body and letter.sha256 in body
    assert letter.signer_name in body and "WIB" in body
    holder = letter.holder_name
    assert holder not in body and holder.split()[0][0] + "***" in body
    nik = letter.application.form_data.get("nik")
    assert nik and nik not in body
    assert "CA pengembangan" in body and "/ca.pem" in body
    assert app.test_client().get("/ca.pem").data.startswith(b"-----BEGIN CERTIFICATE")


def test_the_issued_file_is_confirmed_byte_for_byte(app, demo, storage):
    letter = _walked(storage, "rekom-nakes")["rekomendasi"]
    body = text(_verify_page(app, letter.token, _pdf(storage, letter)))
    assert "Sama persis" in body


def test_one_changed_byte_is_not_intact_on_the_page_and_the_cli(app, demo, storage, runner,
                                                                tmp_path):
    letter = _walked(storage, "rekom-nakes")["rekomendasi"]
    pdf = bytearray(_pdf(storage, letter))
    at = pdf.index(b"/Contents") // 2  # inside the signed content, before the signature
    pdf[at] = ord("A") if pdf[at] != ord("A") else ord("B")
    body = text(_verify_page(app, letter.token, bytes(pdf)))
    assert 'data-verdict="changed"' in body and "DIUBAH SETELAH DITANDATANGANI" in body
    assert "isi yang ditandatangani telah diubah" in body
    path = tmp_path / "tampered.pdf"
    path.write_bytes(bytes(pdf))
    result = runner.invoke(args=["letters", "verify", str(path)])
    assert result.exit_code == 1 and "VERDICT: NOT valid" in result.output


def _append_annotation(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = writer.find_page_for_modification(0)
    writer.register_annotation(page_ref, writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/FreeText"),
        pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v)
                                                for v in (72, 700, 300, 730)]),
        pdf_name("/Contents"): pdf_string("BERLAKU SAMPAI 2099"),
        pdf_name("/DA"): pdf_string("/Helv 14 Tf 1 0 0 rg")})))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_update_appended_after_signing_is_flagged(app, demo, storage, runner, tmp_path):
    letter = _walked(storage, "info-kompetensi-teknis")["surat_penawaran"]
    changed = _append_annotation(_pdf(storage, letter))
    body = text(_verify_page(app, letter.token, changed))
    assert 'data-verdict="changed"' in body and "(anotasi) ditambahkan" in body
    path = tmp_path / "appended.pdf"
    path.write_bytes(changed)
    result = runner.invoke(args=["letters", "verify", str(path)])
    assert result.exit_code == 1 and "outcome: changed" in result.output
    assert "an annotation was added" in result.output


def test_letter_a_against_letter_bs_token_is_not_this_letter(app, demo, storage):
    issued = _walked(storage, "kso-lms")
    a, b = issued["kso"], issued["invoice"]
    body = text(_verify_page(app, b.token, _pdf(storage, a)))
    assert "BUKAN SURAT INI" in body and a.number in body


def test_cli_confirms_a_genuine_letter(demo, storage, runner, tmp_path):
    letter = _walked(storage, "registrasi-praktek-mandiri")["bukti_registrasi"]
    path = tmp_path / "letter.pdf"
    path.write_bytes(_pdf(storage, letter))
    result = runner.invoke(args=["letters", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "exactly the issued file" in result.output and letter.number in result.output


def test_revoked_letter_shows_revoked_at_once_and_the_holder_is_told(app, demo, storage):
    letter = _walked(storage, "rekom-nakes")["rekomendasi"]
    admin = Browser(app)
    admin.login("admin@dinkes-bangka.absah.test", PASSWORD)
    refused = admin.post(f"/letters/{letter.id}", {"action": "revoke"})
    assert refused.status_code == 422 and "alasan" in text(refused).lower()
    done = admin.post(f"/letters/{letter.id}", {"action": "revoke",
                                                "reason": "Data STR keliru"})
    assert done.status_code == 303
    body = text(_verify_page(app, letter.token))
    assert "DICABUT" in body and "Data STR keliru" in body
    assert OutboxMessage.select().where(OutboxMessage.event == "letter_revoked").count() == 1
    assert AuditEvent.select().where(AuditEvent.action == "letter.revoked").count() == 1


def test_replacement_points_from_the_old_letter_to_the_new_one(app, demo, storage):
    letter = _walked(storage, "rekom-nakes")["rekomendasi"]
    admin = Browser(app)
    admin.login("admin@dinkes-bangka.absah.test", PASSWORD)
    assert admin.post(f"/letters/{letter.id}", {"action": "replace",
                                                "reason": "Salah ketik nama"}).status_code == 303
    old = Letter.get_by_id(letter.id)
    new = old.replaced_by
    assert old.status == "replaced" and new.status == "valid" and new.number != old.number
    assert new.signer_id == old.signer_id
    body = text(_verify_page(app, old.token))
    assert "DIGANTI" in body and new.number in body


def test_an_official_of_another_agency_cannot_revoke(app, demo, storage):
    letter = _walked(storage, "rekom-nakes")["rekomendasi"]
    other = Browser(app)
    other.login("admin@dpmptsp-malang.absah.test", PASSWORD)
    assert other.post(f"/letters/{letter.id}", {"action": "revoke",
                                                "reason": "x"}).status_code == 404
    assert Letter.get_by_id(letter.id).status == "valid"


def _file_at_number_step(storage):
    spec = SEEDS["rekom-nakes"]
    import datetime as dt

    form = sample_form(spec, dt.date.today())
    application = applications_operations.submit_application(
        User.by_email(DEMO_APPLICANT), "rekom-nakes", form,
        sample_uploads(spec, "submit", form), storage)
    while application.current_step != "number":
        task = Task.open_for(application)
        step = spec.step(task.step_key)
        holder = task.position.assignments[0].user
        applications_operations.decide(task.id, holder, next(o.key for o in step.outcomes
                                                             if o.effect is Effect.FORWARD),
                                       verdicts=verdicts(task),
                                       record=sample_values(step.record, dt.date.today()))
        application = Application.get_by_id(application.id)
    return application


def test_a_signing_failure_issues_nothing_and_a_retry_works(app, demo, storage, tmp_path):
    application = _file_at_number_step(storage)
    task = Task.open_for(application)
    admin = Browser(app)
    admin.login("sdmk.admin@dinkes-bangka.absah.test", PASSWORD)
    mails = OutboxMessage.select().count()
    config = app.extensions["portal.config"]
    # Production keys configured, the file missing.
    app.extensions["portal.config"] = dataclasses.replace(
        config, signing_p12_dir=str(tmp_path / "no-keys"))
    try:
        failed = admin.post(f"/tasks/{task.id}/decide", {"outcome": "numbered"})
    finally:
        app.extensions["portal.config"] = config
    assert failed.status_code == 409
    assert "gagal ditandatangani" in text(failed) and "PKCS#12" in text(failed)
    assert Task.get_by_id(task.id).status == "open"
    assert Letter.select().count() == 0 and OutboxMessage.select().count() == mails
    assert not Counter.select().where(Counter.series.startswith("letter:")
                                      & (Counter.value > 0)).exists()
    retried = admin.post(f"/tasks/{task.id}/decide", {"outcome": "numbered"})
    assert retried.status_code == 303
    letter = Letter.get(Letter.application == application)
    assert letter.seq == 1 and letter.number.startswith("445/1/")
    assert OutboxMessage.select().where(OutboxMessage.event == "letter_issued").count() == 1


def test_the_applicant_downloads_the_letter_and_nobody_else_does(app, demo, storage,
                                                                 make_applicant):
    letter = _walked(storage, "rekom-nakes")["rekomendasi"]
    owner = Browser(app)
    owner.login(DEMO_APPLICANT, PASSWORD)
    page = text(owner.get(f"/applications/{letter.application_id}"))
    assert f"/letters/{letter.id}.pdf" in page
    download = owner.get(f"/letters/{letter.id}.pdf")
    assert download.status_code == 200
    assert hashlib.sha256(download.data).hexdigest() == letter.sha256
    stranger = make_applicant()
    stranger.password_hash = User.by_email(DEMO_APPLICANT).password_hash
    stranger.save()
    other = Browser(app)
    other.login(stranger.email, PASSWORD)
    assert other.get(f"/letters/{letter.id}.pdf").status_code == 404


def test_unknown_token_is_404_and_lookups_are_rate_limited(app, demo):
    client = app.test_client()
    assert client.get("/v/not-a-token").status_code == 404
    codes = [client.get("/v/not-a-token").status_code for _ in range(70)]
    assert 429 in codes


def test_parallel_issuance_gives_consecutive_numbers_without_duplicates(app, demo, storage):
    files = [_file_at_number_step(storage) for _ in range(6)]
    tasks = [Task.open_for(f).id for f in files]
    admin = User.by_email("sdmk.admin@dinkes-bangka.absah.test")
    db.close()
    errors = []
    barrier = threading.Barrier(len(tasks))

    def issue(task_id):
        try:
            barrier.wait(10)
            with app.app_context():  # as each request of a server has its own
                applications_operations.decide(task_id, admin, "numbered")
        except Exception as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=issue, args=(t,)) for t in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    seqs = sorted(lt.seq for lt in Letter.select().where(Letter.letter_key == "rekomendasi"))
    assert seqs == list(range(1, len(tasks) + 1))
    assert Letter.select().count() == len({lt.number for lt in Letter.select()})


def test_an_agency_edits_a_letter_wording_and_the_next_letter_uses_it(app, demo, storage):
    admin = Browser(app)
    admin.login("admin@dinkes-bangka.absah.test", PASSWORD)
    url = "/admin/letter-templates/rekom-nakes/rekomendasi"
    assert "SURAT REKOMENDASI" in text(admin.get(url))
    broken = admin.post(url, {"action": "save", "source": "title: X\n---\n{{ form.purpose "})
    assert broken.status_code == 422 and "tidak dapat dipakai" in text(broken)
    escape = admin.post(url, {"action": "save",
                              "source": "---\n{{ ''.__class__.__mro__[1].__subclasses__() }}"})
    assert escape.status_code == 422  # the sandbox refuses to reach Python internals
    saved = admin.post(url, {"action": "save", "source": (
        "title: REKOMENDASI KHUSUS\n---\nDiberikan kepada {{ applicant.name }} untuk "
        "{{ form.purpose }}.\n")})
    assert saved.status_code == 303
    letter = _walked(storage, "rekom-nakes")["rekomendasi"]
    from portal.modules.applications.previews import make_previews

    assert make_previews(_pdf(storage, letter), "application/pdf")  # renders as a PDF
    import pypdfium2

    pdf = pypdfium2.PdfDocument(_pdf(storage, letter))
    words = pdf[0].get_textpage().get_text_range()
    pdf.close()
    assert "REKOMENDASI KHUSUS" in words
    assert AuditEvent.select().where(AuditEvent.action == "letter_template.saved").count() == 1


def test_a_letter_signed_on_behalf_prints_a_n_above_the_signer_s_own_title(app, demo, storage):
    """The Sekretaris signs a.n. Kepala Dinas: the letter, its verification page and the
    file's history say so; the signature block carries the Sekretaris's own title."""
    import datetime as dt

    from portal.modules.accounts.models import Position
    from portal.modules.agencies.models import Agency

    agency = Agency.get(Agency.code == "dinkes-bangka")
    today = agency.calendar().local(dt.datetime.now(dt.UTC)).date()
    sekretaris = User.by_email("sekretaris@dinkes-bangka.absah.test")
    kadin = Position.get((Position.agency == agency) & (Position.key == "kadin"))
    admin = Browser(app)
    admin.login("admin@dinkes-bangka.absah.test", PASSWORD)
    response = admin.post("/admin/acting", {"user": sekretaris.id, "position": kadin.id,
                                            "capacity": "an", "starts_on": today.isoformat(),
                                            "ends_on": (today + dt.timedelta(days=5)).isoformat()})
    assert response.status_code == 303
    assert "a.n. Kepala Dinas Kesehatan" in text(admin.get("/admin/acting"))

    application, _path = walk("rekom-nakes", storage, deciders={kadin.id: sekretaris})
    letter = Letter.get(Letter.application == application)
    assert (letter.signer_id, letter.capacity) == (sekretaris.id, "an")
    own = next(p.title for p, c in Position.held_by(sekretaris, today) if c == "definitive")
    assert letter.signed_as == f"a.n. Kepala Dinas Kesehatan · {own}"
    assert letter.signed_as in text(_verify_page(app, letter.token))
    if shutil.which("pdftotext"):
        printed = subprocess.run(["pdftotext", "-layout", "-", "-"], input=_pdf(storage, letter),
                                 capture_output=True, check=True).stdout.decode()
        lines = [line.strip() for line in printed.splitlines() if line.strip()]
        at = next(i for i, line in enumerate(lines) if line.endswith("a.n. Kepala Dinas Kesehatan"))
        assert lines[at + 1].endswith(own)
    applicant = Browser(app)
    applicant.login(DEMO_APPLICANT, PASSWORD)
    history = text(applicant.get(f"/applications/{application.id}"))
    assert f"{sekretaris.name} (a.n. Kepala Dinas Kesehatan)" in history


def test_a_n_needs_a_definitive_position_of_one_s_own(app, demo):
    import datetime as dt

    from portal.modules.accounts.models import Position
    from portal.modules.agencies.models import Agency

    agency = Agency.get(Agency.code == "dinkes-bangka")
    admin = User.by_email("admin@dinkes-bangka.absah.test")
    kadin = Position.get((Position.agency == agency) & (Position.key == "kadin"))
    newcomer = staff.create_official(admin, "baru@dinkes-bangka.absah.test",
                                     "Pegawai Baru", None, "kata-sandi-panjang-1")
    today = agency.today()
    with pytest.raises(ValidationError) as refused:
        staff.assign_acting(admin, newcomer.id, kadin.id, "an", today.isoformat(),
                            (today + dt.timedelta(days=1)).isoformat())
    assert "jabatan definitif" in refused.value.errors["user"]


def _pdf_words(data: bytes) -> str:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def _pdf_dates(data: bytes) -> dict[str, object]:
    """CreationDate and ModDate of the PDF (its latest revision) as aware datetimes."""
    import datetime as dt

    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        meta = pdf.get_metadata_dict()
    finally:
        pdf.close()
    dates = {}
    for key in ("CreationDate", "ModDate"):
        match = re.fullmatch(r"D:(\d{14})(?:Z|([+-])(\d\d)'(\d\d)'?)", meta[key])
        assert match, meta[key]
        offset = dt.timedelta(hours=int(match[3] or 0), minutes=int(match[4] or 0))
        dates[key] = dt.datetime.strptime(match[1], "%Y%m%d%H%M%S").replace(
            tzinfo=dt.timezone(-offset if match[2] == "-" else offset))
    return dates


def test_a_letter_s_pdf_is_dated_at_its_issuance(demo, storage):
    """CreationDate and ModDate are the instant the letter was issued (to the second), not
    reportlab's invariant 2000-01-01; the signature's signing time is that instant too."""
    issued = _walked(storage, "sik-perekam-medis")
    for letter in issued.values():
        dates = _pdf_dates(_pdf(storage, letter))
        moment = letter.issued_at.replace(microsecond=0)
        assert dates["CreationDate"] == moment, letter.letter_key
        assert dates["ModDate"] == moment, letter.letter_key


def test_a_ticket_carries_its_own_paraf_trail_not_the_permit_s(demo, storage):
    """The SIK prints the three paraf of its draft; the pickup ticket, issued at publication
    after the SIK was initialled and signed, prints none of them."""
    from portal.modules.applications.models import Decision
    from portal.modules.letters.issuance import paraf_steps

    spec = SEEDS["sik-perekam-medis"]
    assert paraf_steps(spec, "sik") == ("paraf_analis_muda", "paraf_analis_madya",
                                        "paraf_sekretaris")
    assert paraf_steps(spec, "tiket_pengambilan") == ()
    issued = _walked(storage, "sik-perekam-medis")
    names = {d.actor.name for d in Decision.select().where(
        (Decision.application == issued["sik"].application)
        & Decision.step_key.in_(paraf_steps(spec, "sik")))}
    assert len(names) == 3
    permit = _pdf_words(_pdf(storage, issued["sik"]))
    ticket = _pdf_words(_pdf(storage, issued["tiket_pengambilan"]))
    assert "Paraf:" in permit and all(name in permit for name in names)
    assert "Paraf:" not in ticket and not any(name in ticket for name in names)


def test_the_handover_shows_the_issued_ticket_and_asks_no_number(app, demo, storage):
    """At the handover register the task names the ticket the system issued, beside the
    decision; the official records who collects, types no ticket number, and the decision
    keeps the ticket. The letter register still shows the handover."""
    application, _path = walk("sik-perekam-medis", storage, until="register_handover")
    task = Task.open_for(application)
    assert task.step_key == "register_handover"
    ticket = Letter.get((Letter.application == application)
                        & (Letter.letter_key == "tiket_pengambilan"))
    step = SEEDS["sik-perekam-medis"].step("register_handover")
    assert "ticket_number" not in {f.key for f in step.record}
    official = Browser(app)
    official.login(task.position.assignments[0].user.email, PASSWORD)
    page = official.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"Tiket: <strong>{ticket.number}</strong>" in page
    assert "record_ticket_number" not in page and "Nomor tiket" not in page
    decided = official.post(f"/tasks/{task.id}/decide", {
        "outcome": "registered", "record_collected_by": "applicant",
        "record_collector_name": "Rina Wulandari", "record_identity_document": "ktp_copy"})
    assert decided.status_code == 303
    from portal.modules.applications.models import Decision

    decision = Decision.get(Decision.task == task)
    assert decision.data["ticket"] == {"letter": ticket.id, "number": ticket.number}
    assert decision.data["record"]["collector_name"] == "Rina Wulandari"
    done = official.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f"Tiket: <strong>{ticket.number}</strong>" in done
    admin = Browser(app)
    admin.login("admin@dpmptsp-malang.absah.test", PASSWORD)
    assert "Rina Wulandari" in text(admin.get("/letters"))
