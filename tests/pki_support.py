"""A real test PKI on loopback: certomancer's animator (TSA, OCSP responder, CRLs) in its own
process, described by tests/pki/certomancer.yml.

    pki = TestPki.start(workdir)     # resolves the dates, picks a port, starts the animator
    pki.tsa_url, pki.root_pem, pki.signer_identity(), pki.crl_at(...)
    pki.stop(); pki.restart()        # an outage, and the same service back on the same port
    pki.close()

The pytest fixture ``pki`` (session-wide) and ``pki_factory`` (one per test, for outages) live
in tests/test_ltv.py; bench/sign_bench.py uses the same class. Run as a script, this module is
the animator process itself: ``python tests/pki_support.py serve CONFIG KEY_DIR PORT``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from services import ServerProcess, free_port, listens

PKI_DIR = Path(__file__).resolve().parent / "pki"
SOURCE = PKI_DIR / "certomancer.yml"
ARCH = "absah-test"
_RELATIVE = re.compile(r"^now([+-])(\d+)d$")


def resolve_config(source: Path, today: dt.datetime, url_prefix: str) -> str:
    """The certomancer YAML with "now±Nd" validity dates made absolute (from ``today``, 00:00
    UTC) and the service URL prefix set: what the animator and the tests both load."""
    config = yaml.safe_load(source.read_text(encoding="utf-8"))

    def walk(node):
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str) and (match := _RELATIVE.match(node)):
            days = int(match.group(2)) * (1 if match.group(1) == "+" else -1)
            return (today + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+0000")
        return node

    resolved = walk(config)
    resolved["external-url-prefix"] = url_prefix
    return yaml.safe_dump(resolved, sort_keys=False)


def load_architecture(config_path: Path):
    """certomancer's view of the resolved PKI (certificates, keys, CRLs at any time)."""
    from certomancer.registry import ArchLabel, CertomancerConfig

    config = CertomancerConfig.from_file(str(config_path), key_search_dir=str(PKI_DIR))
    return config.get_pki_arch(ArchLabel(ARCH))


class TestPki:
    """The animator process of one resolved PKI, and that PKI's material for the tests."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, config_path: Path, port: int, log_path: Path):
        self.config_path = config_path
        self.server = ServerProcess(log_path, port)
        self._arch = None

    @classmethod
    def start(cls, workdir: Path, port: int | None = None) -> TestPki:
        """Resolve the PKI into ``workdir`` and start its animator on a free loopback port."""
        workdir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        config_path = workdir / "certomancer-resolved.yml"
        config_path.write_text(resolve_config(SOURCE, today, f"http://127.0.0.1:{port}"),
                               encoding="utf-8")
        pki = cls(config_path=config_path, port=port, log_path=workdir / "animator.log")
        pki.restart()
        return pki

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def log_path(self) -> Path:
        return self.server.log

    @property
    def process(self) -> subprocess.Popen | None:
        return self.server.process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/{ARCH}/tsa/tsa"

    @property
    def running(self) -> bool:
        return self.server.running

    def restart(self, timeout: float = 30.0) -> None:
        """Start the animator (again, on the same port) and wait until it listens."""
        if self.running:
            return
        self.server.launch([sys.executable, str(Path(__file__).resolve()), "serve",
                            str(self.config_path), str(PKI_DIR), str(self.port)],
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.server.wait_until(lambda: listens(self.port), timeout,
                               f"certomancer animator on port {self.port}")

    def stop(self) -> None:
        """Stop the animator (its port then refuses connections: an outage)."""
        self.server.stop()

    close = stop

    # -- the PKI's material, computed in this process from the same resolved description ----

    @property
    def arch(self):
        if self._arch is None:
            self._arch = load_architecture(self.config_path)
        return self._arch

    def cert_der(self, label: str) -> bytes:
        from certomancer.registry import CertLabel

        return self.arch.get_cert(CertLabel(label)).dump()

    @property
    def root_pem(self) -> bytes:
        from asn1crypto import pem

        return pem.armor("CERTIFICATE", self.cert_der("root"))

    def cert_pem_file(self, label: str, path: Path) -> Path:
        from asn1crypto import pem

        path.write_bytes(pem.armor("CERTIFICATE", self.cert_der(label)))
        return path

    def signer_identity(self, label: str = "signer"):
        """The signer's key and certificate (with its issuing CA) as a signing identity."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        from signing import SignerIdentity

        key = serialization.load_pem_private_key(
            (PKI_DIR / "keys" / f"{label}.key.pem").read_bytes(), None)
        cert = x509.load_der_x509_certificate(self.cert_der(label))
        chain = [x509.load_der_x509_certificate(self.cert_der("interm"))]
        return SignerIdentity.from_private_key(key, cert, chain)

    def certificate_end(self, label: str) -> dt.datetime:
        from certomancer.registry import CertLabel

        return self.arch.get_cert(CertLabel(label)).not_valid_after

    def crl_at(self, repo: str, moment: dt.datetime) -> bytes:
        """The CRL that ``repo`` publishes at ``moment`` (past or future), DER."""
        from certomancer.registry import ServiceLabel

        return self.arch.service_registry.get_crl(ServiceLabel(repo), at_time=moment).dump()


def _serve(config_path: str, key_dir: str, port: str) -> None:
    """The animator process: certomancer's WSGI app under werkzeug, on 127.0.0.1:port."""
    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from certomancer.registry import CertomancerConfig
    from werkzeug.serving import make_server

    config = CertomancerConfig.from_file(config_path, key_search_dir=key_dir)
    app = Animator(AnimatorArchStore(config.pki_archs), with_web_ui=False,
                   allow_time_override=False)
    server = make_server("127.0.0.1", int(port), app, threaded=True)
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        _serve(*sys.argv[2:])
    else:
        sys.exit("usage: pki_support.py serve CONFIG KEY_DIR PORT")
