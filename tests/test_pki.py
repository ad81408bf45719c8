"""The development CA as a small real PKI (issue 11, item 3), production identities trusted
through configured roots (item 4) and the development CA's warning in the stamp.

Certificates name the portal's CRL; /ca.crl serves a CRL signed by the CA; an agency
administrator revokes an official's certificate on a page, with a reason, audited; a revoked
certificate signs nothing (the official is told why) until a new one is issued; letters signed
before stay valid. A PKCS#12 identity issued by a separate CA is trusted once that CA is given
in PORTAL_SIGNING_TRUST_ROOTS, and its letters carry no development warning.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from webclient import Browser, text

from portal.modules.accounts.models import User
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Task
from portal.modules.audit.models import AuditEvent
from portal.modules.demo.data import walk
from portal.modules.letters import keys
from portal.modules.letters.models import Letter
from portal.modules.letters.revocations import CertificateRevocation
from signing.errors import InvalidConfig
from signing.keys import DEV_STAMP_NOTICE, CertificateRevoked, DevCA, Revocation

PASSWORD = "demo-test-password"
ADMIN = "admin@dinkes-bangka.absah.test"
NUMBERER = "sdmk.admin@dinkes-bangka.absah.test"
DEV_LINE = "CA pengembangan - tidak diakui secara hukum"


@pytest.fixture
def app_config(tmp_path):
    # A CA of its own: these tests revoke and re-issue certificates.
    return {"SIGNING_CA_DIR": str(tmp_path / "ca")}


def _letter(storage, code="rekom-nakes", key="rekomendasi") -> Letter:
    application, _ = walk(code, storage)
    assert application.status == "completed"
    return next(lt for lt in application.letters if lt.letter_key == key)


def _embedded(pdf: bytes):
    return next(iter(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures))


def _signer_cert(pdf: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(_embedded(pdf).signer_cert.dump())


def _stamp_text(pdf: bytes) -> str:
    """The text the signature's appearance (the stamp) shows, line after line."""
    embedded = _embedded(pdf)
    widget = embedded.sig_field
    streams, seen, todo = [], set(), [widget["/AP"]["/N"]]
    while todo:
        ref = todo.pop()
        obj = ref.get_object() if hasattr(ref, "get_object") else ref
        if id(obj) in seen or not isinstance(obj, generic.StreamObject):
            continue
        seen.add(id(obj))
        streams.append(obj.data)
        resources = obj.get("/Resources", generic.DictionaryObject()).get_object()
        todo.extend(resources.get("/XObject", generic.DictionaryObject()).get_object().values())
    shown = re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", b"\n".join(streams))
    unescaped = [re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)])
                        if m.group(1).isdigit() else m.group(1), line) for line in shown]
    return b" ".join(unescaped).decode("latin-1")


def _crl(client) -> x509.CertificateRevocationList:
    response = client.get("/ca.crl")
    assert response.status_code == 200 and response.mimetype == "application/pkix-crl"
    return x509.load_der_x509_crl(response.data)


def _signer(letter: Letter) -> User:
    return User.get_by_id(letter.signer_id)


def _revoke(app, official: User, reason="key_compromise", note="Laptop hilang"):
    admin = Browser(app)
    admin.login(ADMIN, PASSWORD)
    return admin, admin.post(f"/admin/signing-certificates/{official.id}/revoke",
                             {"reason": reason, "note": note})


# -- the development CA ------------------------------------------------------------------------

def test_signer_certificates_name_the_portals_crl_and_the_stamp_says_development(
        app, demo, storage):
    pdf = storage.read(_letter(storage).storage_key)
    cert = _signer_cert(pdf)
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for p in points for n in p.full_name] == ["http://portal.test/ca.crl"]
    assert DEV_LINE in _stamp_text(pdf)


def test_the_crl_is_signed_by_the_development_ca_and_fresh(app, demo, storage):
    _letter(storage)
    crl = _crl(app.test_client())
    ca = keys.dev_ca()
    assert crl.is_signature_valid(ca.certificate.public_key())
    assert crl.issuer == ca.certificate.subject and len(crl) == 0
    now = dt.datetime.now(dt.UTC)
    assert crl.last_update_utc <= now < crl.next_update_utc
    assert crl.next_update_utc - crl.last_update_utc == dt.timedelta(days=7)


def test_an_administrator_revokes_an_officials_certificate_with_a_reason(app, demo, storage):
    letter = _letter(storage)
    official = _signer(letter)
    serial = _signer_cert(storage.read(letter.storage_key)).serial_number
    before = _crl(app.test_client())
    admin, done = _revoke(app, official)
    assert done.status_code == 303
    page = text(admin.get("/admin/signing-certificates"))
    assert "Sertifikat dicabut" in page and format(serial, "X") in page
    assert "kunci hilang, dicuri atau bocor" in page and "Laptop hilang" in page
    revocation = CertificateRevocation.get()
    assert (revocation.serial_number, revocation.official_id, revocation.reason) == (
        serial, official.id, "key_compromise")
    assert revocation.revoked_by.email == ADMIN
    event = AuditEvent.get(AuditEvent.action == "signing_certificate.revoked")
    assert event.data["serial"] == format(serial, "X") and event.data["official"] == official.id
    crl = _crl(app.test_client())  # republished at once
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason \
        is x509.ReasonFlags.key_compromise
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_a_revocation_without_a_reason_is_refused_next_to_the_field(app, demo, storage):
    official = _signer(_letter(storage))
    admin, refused = _revoke(app, official, reason="", note="x")
    assert refused.status_code == 422
    body = text(refused)
    assert "Pilih alasan pencabutan." in body and f'id="e-reason-{official.id}"' in body
    assert CertificateRevocation.select().count() == 0
    too_long = admin.post(f"/admin/signing-certificates/{official.id}/revoke",
                          {"reason": "superseded", "note": "x" * 501})
    assert too_long.status_code == 422 and CertificateRevocation.select().count() == 0


def test_only_the_officials_own_agency_administrator_revokes(app, demo, storage):
    official = _signer(_letter(storage))
    other = Browser(app)
    other.login("admin@dpmptsp-malang.absah.test", PASSWORD)
    assert other.post(f"/admin/signing-certificates/{official.id}/revoke",
                      {"reason": "superseded"}).status_code == 404
    clerk = Browser(app)
    clerk.login(NUMBERER, PASSWORD)
    assert clerk.get("/admin/signing-certificates").status_code == 403
    assert clerk.post(f"/admin/signing-certificates/{official.id}/revoke",
                      {"reason": "superseded"}).status_code == 403
    assert CertificateRevocation.select().count() == 0


def test_a_revoked_certificate_signs_nothing_until_a_new_one_is_issued(app, demo, storage):
    first = _letter(storage)
    official = _signer(first)
    old_serial = _signer_cert(storage.read(first.storage_key)).serial_number
    admin, _ = _revoke(app, official, reason="cessation_of_operation", note="")
    application, _ = walk("rekom-nakes", storage, until="number")
    task = Task.open_for(application)
    clerk = Browser(app)
    clerk.login(NUMBERER, PASSWORD)
    refused = clerk.post(f"/tasks/{task.id}/decide", {"outcome": "numbered"})
    assert refused.status_code == 409
    body = text(refused)
    assert "dicabut" in body and format(old_serial, "X") in body
    assert "berhenti dari jabatan" in body and "sertifikat baru" in body
    assert Task.get_by_id(task.id).status == "open"
    assert Letter.select().where(Letter.application == application).count() == 0
    # The administrator issues a new certificate; the same decision then signs.
    assert admin.post(f"/admin/signing-certificates/{official.id}/reissue").status_code == 303
    event = AuditEvent.get(AuditEvent.action == "signing_certificate.issued")
    assert event.data["replaces"] == format(old_serial, "X")
    assert clerk.post(f"/tasks/{task.id}/decide", {"outcome": "numbered"}).status_code == 303
    second = Letter.get(Letter.application == application)
    new_cert = _signer_cert(storage.read(second.storage_key))
    assert new_cert.serial_number != old_serial
    assert event.data["serial"] == format(new_cert.serial_number, "X")
    assert new_cert.subject == _signer_cert(storage.read(first.storage_key)).subject


def test_a_new_certificate_is_only_issued_after_a_revocation(app, demo, storage):
    official = _signer(_letter(storage))
    admin = Browser(app)
    admin.login(ADMIN, PASSWORD)
    refused = admin.post(f"/admin/signing-certificates/{official.id}/reissue")
    assert refused.status_code == 422 and "setelah sertifikat yang berlaku dicabut" in \
        text(refused)
    assert not AuditEvent.select().where(
        AuditEvent.action == "signing_certificate.issued").exists()


def test_letters_signed_before_the_revocation_stay_valid(app, demo, storage, runner, tmp_path):
    letter = _letter(storage)
    pdf = storage.read(letter.storage_key)
    # A CRL dates a revocation to the second (rounded down): revoke in a later second than
    # the signature, as any real revocation is.
    time.sleep(1 - dt.datetime.now(dt.UTC).microsecond / 1e6)
    _revoke(app, _signer(letter))
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    result = runner.invoke(args=["letters", "verify", str(path)])
    assert result.exit_code == 0, result.output
    # The CRL says since when: judged at its signing time the letter's signature is good;
    # judged now, its certificate is revoked.
    crl = app.test_client().get("/ca.crl").data
    root = translate_pyca_cryptography_cert_to_asn1(keys.dev_ca().certificate)

    def status(moment):
        context = ValidationContext(trust_roots=[root], crls=[crl], allow_fetching=False,
                                    revocation_mode="hard-fail", moment=moment,
                                    retroactive_revinfo=True)
        return validate_pdf_signature(_embedded(pdf), context)

    then = status(letter.issued_at)
    assert then.intact and then.valid and then.trusted and not then.revoked
    now = status(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert now.revoked and not now.trusted


def test_the_certificates_page_lists_officials_and_the_history(app, demo, storage):
    official = _signer(_letter(storage))
    admin, _ = _revoke(app, official, reason="affiliation_changed", note="Mutasi ke Dinas lain")
    page = admin.get("/admin/signing-certificates")
    assert page.status_code == 200
    body = text(page)
    assert official.name in body and "Riwayat pencabutan" in body
    assert "Terbitkan sertifikat baru" in body and "Mutasi ke Dinas lain" in body
    assert 'href="/ca.crl"' in body
    assert 'href="/admin/signing-certificates"' in text(admin.get("/admin/"))


def test_development_ca_keeps_revoked_certificates_out_and_signs_crls(tmp_path):
    ca = DevCA.ensure(tmp_path)
    args = ("kadinkes", "Ratna", None, "Kepala Dinas", "Dinkes")
    first = ca.signer_identity(*args, crl_url="https://absah.test/ca.crl")
    assert first.stamp_notice == DEV_STAMP_NOTICE
    assert ca.signer_identity(*args, crl_url="https://absah.test/ca.crl") is first
    with pytest.raises(CertificateRevoked) as refused:
        ca.signer_identity(*args, crl_url="https://absah.test/ca.crl", revoked={first.serial})
    assert refused.value.serial == first.serial
    # not even a changed subject slips past a revocation
    with pytest.raises(CertificateRevoked):
        ca.signer_identity("kadinkes", "Ratna", None, "Plt. Kepala Dinas", "Dinkes",
                           revoked={first.serial})
    renewed = ca.reissue("kadinkes", crl_url="https://absah.test/ca.crl")
    again = ca.signer_identity(*args, crl_url="https://absah.test/ca.crl", revoked={first.serial})
    assert again.serial == renewed.serial_number != first.serial
    moment = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    der = ca.crl([Revocation(first.serial, moment, "key_compromise")], number=7,
                 this_update=moment)
    crl = x509.load_der_x509_crl(der)
    assert crl.get_revoked_certificate_by_serial_number(first.serial).revocation_date_utc \
        == moment
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    with pytest.raises(InvalidConfig, match="reason"):
        ca.crl([Revocation(1, moment, "bored")], number=8)
    assert ca.published_crl() is None
    published = [ca.publish_crl([]) for _ in range(2)]
    numbers = [x509.load_der_x509_crl(d).extensions.get_extension_for_class(
        x509.CRLNumber).value.crl_number for d in published]
    assert numbers == [1, 2] and ca.published_crl() == published[-1]


def test_a_certificate_without_the_crl_address_is_renewed(tmp_path):
    ca = DevCA.ensure(tmp_path)
    args = ("kabid", "Fajar", None, "Kepala Bidang", "Dinkes")
    old = ca.signer_identity(*args)  # as issued before the CA published CRLs
    new = ca.signer_identity(*args, crl_url="https://absah.test/ca.crl")
    assert new.serial != old.serial


# -- production identities ---------------------------------------------------------------------

def _ca(name: str, issuer=None):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_key, issuer_name = (key, subject) if issuer is None else (issuer[1],
                                                                      issuer[0].subject)
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .sign(signer_key, hashes.SHA256()))
    return cert, key


def _p12_for(user: User, issuer, chain, directory: Path, passphrase: bytes) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, user.name)]))
            .issuer_name(issuer[0].subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=730))
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .sign(issuer[1], hashes.SHA256()))
    data = pkcs12.serialize_key_and_certificates(
        user.email.encode(), key, cert, chain,
        serialization.BestAvailableEncryption(passphrase))
    (directory / f"{user.email}.p12").write_bytes(data)


@pytest.fixture
def psre(tmp_path):
    """A separate CA (root and an issuing intermediate), as a PSrE's, and its root as a bundle."""
    root = _ca("PSrE Uji Root CA")
    issuing = _ca("PSrE Uji Issuing CA", issuer=root)
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(root[0].public_bytes(serialization.Encoding.PEM))
    return root, issuing, bundle


def test_a_pkcs12_identity_from_a_separate_ca_is_trusted_through_the_configured_roots(
        app, demo, storage, runner, tmp_path, psre):
    root, issuing, bundle = psre
    p12_dir = tmp_path / "p12"
    p12_dir.mkdir()
    agency = Agency.get(Agency.code == "dinkes-bangka")
    for user in User.select().where(User.agency == agency):
        _p12_for(user, issuing, [issuing[0]], p12_dir, b"rahasia")
    config = app.extensions["portal.config"]
    production = dataclasses.replace(config, signing_p12_dir=str(p12_dir),
                                     signing_p12_passphrase="rahasia")
    app.extensions["portal.config"] = production
    try:
        letter = _letter(storage)
        pdf = storage.read(letter.storage_key)
        path = tmp_path / "letter.pdf"
        path.write_bytes(pdf)
        assert _signer_cert(pdf).issuer == issuing[0].subject
        assert "CA pengembangan" not in _stamp_text(pdf)
        assert "Ditandatangani secara elektronik" in _stamp_text(pdf)
        assert app.test_client().get("/ca.pem").status_code == 404
        assert app.test_client().get("/ca.crl").status_code == 404
        # Without trust anchors a genuine letter cannot be trusted ...
        untrusted = runner.invoke(args=["letters", "verify", str(path)])
        assert untrusted.exit_code == 1 and "NOT valid" in untrusted.output
        # ... with the PSrE's root configured, the page and the CLI trust it.
        app.extensions["portal.config"] = dataclasses.replace(
            production, signing_trust_roots=str(bundle))
        assert keys.trust_roots() == [bundle.read_bytes()]
        trusted = runner.invoke(args=["letters", "verify", str(path)])
        assert trusted.exit_code == 0, trusted.output
        reader = Browser(app)
        reader.get(f"/v/{letter.token}")
        page = reader.post(f"/v/{letter.token}", {"file": (io.BytesIO(pdf), "surat.pdf")},
                           content_type="multipart/form-data")
        assert page.status_code == 200
        assert 'class="verdict ok"' in text(page) and "Sama persis" in text(page)
        # The administrator's page shows each official's PSrE certificate; revoking one
        # stops the portal using it, with the PSrE named as where a new one comes from.
        official = _signer(letter)
        admin, done = _revoke(app, official, reason="key_compromise")
        assert done.status_code == 303
        body = text(admin.get("/admin/signing-certificates"))
        assert "PSrE Uji Issuing CA" in body and "Pasang sertifikat baru dari PSrE." in body
        application, _ = walk("rekom-nakes", storage, until="number")
        task = Task.open_for(application)
        clerk = Browser(app)
        clerk.login(NUMBERER, PASSWORD)
        refused = clerk.post(f"/tasks/{task.id}/decide", {"outcome": "numbered"})
        assert refused.status_code == 409 and "PSrE" in text(refused)
    finally:
        app.extensions["portal.config"] = config


def test_a_damaged_trust_bundle_is_a_clear_configuration_error(app, tmp_path):
    bundle = tmp_path / "roots.pem"
    bundle.write_text("not a certificate")
    config = app.extensions["portal.config"]
    app.extensions["portal.config"] = dataclasses.replace(config,
                                                          signing_trust_roots=str(bundle))
    try:
        with pytest.raises(InvalidConfig, match="PORTAL_SIGNING_TRUST_ROOTS"):
            keys.trust_roots()
        app.extensions["portal.config"] = dataclasses.replace(
            config, signing_trust_roots=str(tmp_path / "missing.pem"))
        with pytest.raises(InvalidConfig, match="cannot read"):
            keys.trust_roots()
    finally:
        app.extensions["portal.config"] = config
