"""Letters signed through the portal with keys on a PKCS#11 token (SoftHSM), issue 11 item 4.

The test initialises a SoftHSM token (its own SOFTHSM2_CONF in tmp), generates each signer's
RSA key inside it (not extractable), has a separate CA (a PSrE's stand-in: root and issuing CA)
certify the public keys, stores the certificates on the token, and runs the portal as its
operators would: ``flask --app wsgi db upgrade``, ``demo``, ``demo walk rekom-nakes`` with
PORTAL_SIGNING_PKCS11_* and PORTAL_SIGNING_TRUST_ROOTS set. The letter is then verified by
``letters verify`` and by the public page, and its signer certificate is the token's.

Everything touching the token runs in separate processes: SoftHSM reads SOFTHSM2_CONF once per
process, and other tests may have loaded it with theirs.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from webclient import Browser, text

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = next((p for p in ("/usr/lib/softhsm/libsofthsm2.so",
                            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                            "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so")
                if os.path.exists(p)), None)
PIN, SO_PIN, TOKEN = "246810", "13579111", "absah-bangka"

pytestmark = pytest.mark.skipif(
    shutil.which("softhsm2-util") is None or LIBRARY is None,
    reason="SoftHSM is not installed (Debian: apt-get install softhsm2)")

# Runs in a child process: make a key pair on the token for each label, private key sensitive
# and not extractable; print each public key (modulus, exponent).
KEYGEN = """
import json, sys, pkcs11
from pkcs11 import Attribute, KeyType
lib, token, pin, labels = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
out = {}
with pkcs11.lib(lib).get_token(token_label=token).open(rw=True, user_pin=pin) as session:
    for i, label in enumerate(labels):
        public, private = session.generate_keypair(
            KeyType.RSA, 2048, label=label, id=bytes([i + 1]), store=True,
            private_template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True})
        assert private[Attribute.EXTRACTABLE] is False
        out[label] = [public[Attribute.MODULUS].hex(), public[Attribute.PUBLIC_EXPONENT].hex()]
print(json.dumps(out))
"""

# Runs in a child process: store each certificate (DER, hex) beside its key, same label and id.
STORE = """
import json, sys, pkcs11
from pkcs11 import Attribute, CertificateType, ObjectClass
lib, token, pin, certs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
with pkcs11.lib(lib).get_token(token_label=token).open(rw=True, user_pin=pin) as session:
    for i, (label, (der, subject)) in enumerate(certs.items()):
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509, Attribute.TOKEN: True,
            Attribute.LABEL: label, Attribute.ID: bytes([i + 1]),
            Attribute.VALUE: bytes.fromhex(der), Attribute.SUBJECT: bytes.fromhex(subject)})
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PSrE Uji"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, public_key, issuer_name, issuer_key, ca: bool, days=3650):
    now = dt.datetime.now(dt.UTC)
    usage = dict(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                 data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                 encipher_only=False, decipher_only=False)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1))
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(**usage), critical=True))
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _ca(common_name, issuer=None):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _name(common_name)
    issuer_name, issuer_key = (name, key) if issuer is None else (issuer[0].subject, issuer[1])
    return _certificate(name, key.public_key(), issuer_name, issuer_key, ca=True), key


@pytest.fixture
def token_env(tmp_path):
    """A fresh SoftHSM token and the environment of a portal instance configured for it."""
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({
        "SOFTHSM2_CONF": str(conf),
        "PORTAL_INSTANCE_DIR": str(tmp_path / "instance"),
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'absah.db'}",
        "PORTAL_STORAGE_DIR": str(tmp_path / "files"),
        "PORTAL_SIGNING_CA_DIR": str(tmp_path / "dev-ca"),
        "PORTAL_BASE_URL": "http://portal.test",
        "PORTAL_SECRET_KEY": "pkcs11-test",
        "PORTAL_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "PORTAL_DEMO_PASSWORD": "demo-test-password",
        "PORTAL_OUTBOX_AFTER_REQUEST": "0",
        "PORTAL_SIGNING_PKCS11_LIBRARY": LIBRARY,
        "PORTAL_SIGNING_PKCS11_TOKEN": TOKEN,
        "PORTAL_SIGNING_PKCS11_PIN": PIN,
        "PORTAL_SIGNING_TRUST_ROOTS": str(tmp_path / "psre-roots.pem"),
    })
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN,
                    "--so-pin", SO_PIN], check=True, env=env, capture_output=True, timeout=60)
    return env


def _run(env, *args, check=True):
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    if check:
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def _flask(env, *args, check=True):
    return _run(env, "-m", "flask", "--app", "wsgi", *args, check=check)


def _enrol(env, labels, issuing) -> dict[str, x509.Certificate]:
    """Keys generated on the token, certified by the issuing CA, certificates stored back."""
    keys = json.loads(_run(env, "-c", KEYGEN, LIBRARY, TOKEN, PIN, *labels).stdout)
    certificates = {}
    for label, (modulus, exponent) in keys.items():
        public = rsa.RSAPublicNumbers(int(exponent, 16), int(modulus, 16)).public_key()
        certificates[label] = _certificate(_name(label.split("@")[0]), public,
                                           issuing[0].subject, issuing[1], ca=False, days=730)
    _run(env, "-c", STORE, LIBRARY, TOKEN, PIN, json.dumps({
        label: [c.public_bytes(serialization.Encoding.DER).hex(), c.subject.public_bytes().hex()]
        for label, c in certificates.items()}))
    return certificates


def _letter(output: str) -> tuple[Path, str]:
    match = re.search(r"^letter .*: (\S+)\n\s+verify at (\S+)$", output, re.M)
    assert match, output
    return Path(match.group(1)), match.group(2).rsplit("/v/", 1)[1]


def test_a_letter_signed_on_a_softhsm_token_through_the_portal_verifies(token_env, tmp_path):
    root = _ca("PSrE Uji Root CA")
    issuing = _ca("PSrE Uji CA Penanda Tangan", issuer=root)
    unrelated = _ca("CA Lain")
    # The bundle: the PSrE's root and issuing CA (the chain embedded in letters) and another CA.
    Path(token_env["PORTAL_SIGNING_TRUST_ROOTS"]).write_bytes(b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c, _ in (root, issuing, unrelated)))
    _flask(token_env, "db", "upgrade")
    accounts = _flask(token_env, "demo").stdout
    signers = sorted(set(re.findall(r"^\s+(\S+@dinkes-bangka\.absah\.test)", accounts, re.M))
                     - {"admin@dinkes-bangka.absah.test"})
    assert signers, accounts
    certificates = _enrol(token_env, signers, issuing)

    walked = _flask(token_env, "demo", "walk", "rekom-nakes")
    path, token = _letter(walked.stdout)
    pdf = path.read_bytes()
    signature = next(iter(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures))
    signer = x509.load_der_x509_certificate(signature.signer_cert.dump())
    assert signer in certificates.values()  # the key on the token signed it
    embedded = [c.chosen.subject.native["common_name"]
                for c in signature.signed_data["certificates"]]
    # the signer's own path goes in, not every CA of the bundle
    assert "PSrE Uji CA Penanda Tangan" in embedded and "PSrE Uji Root CA" in embedded
    assert "CA Lain" not in embedded

    # The portal configured for the token verifies it (CLI, its own process) ...
    verified = _flask(token_env, "letters", "verify", str(path))
    assert "VERDICT: genuine, unaltered and valid" in verified.stdout

    # ... and so does the public page of a portal that only has the trust anchors.
    from portal import create_app

    app = create_app({
        "TESTING": True, "SECRET_KEY": "pkcs11-test", "BASE_URL": "http://portal.test",
        "DATABASE_URL": token_env["PORTAL_DATABASE_URL"],
        "STORAGE_DIR": token_env["PORTAL_STORAGE_DIR"],
        "SIGNING_CA_DIR": token_env["PORTAL_SIGNING_CA_DIR"],
        "SIGNING_P12_DIR": str(tmp_path / "none"),
        "SIGNING_TRUST_ROOTS": token_env["PORTAL_SIGNING_TRUST_ROOTS"]})
    with app.app_context():
        reader = Browser(app)
        assert reader.get(f"/v/{token}").status_code == 200
        page = reader.post(f"/v/{token}", {"file": (io.BytesIO(pdf), "surat.pdf")},
                           content_type="multipart/form-data")
        assert page.status_code == 200
        body = text(page)
        assert 'class="verdict ok"' in body and "Sama persis" in body
        assert "CA pengembangan" not in body
    from portal.core.db import release

    release(app.extensions["database"])


def test_a_wrong_pin_issues_nothing_and_says_why(token_env):
    root = _ca("PSrE Uji Root CA")
    Path(token_env["PORTAL_SIGNING_TRUST_ROOTS"]).write_bytes(
        root[0].public_bytes(serialization.Encoding.PEM))
    _flask(token_env, "db", "upgrade")
    _flask(token_env, "demo")
    failed = _flask({**token_env, "PORTAL_SIGNING_PKCS11_PIN": "000000"},
                    "demo", "walk", "rekom-nakes", check=False)
    assert failed.returncode == 1
    assert "gagal ditandatangani" in failed.stderr and "cannot open PKCS#11 token" in \
        failed.stderr
    assert "letter " not in failed.stdout
