"""Demo data: the agencies of the five seed SOPs, their positions, one account per actor,
and ``walk``, which runs one file of an SOP through every step as those accounts."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from dataclasses import dataclass

from portal.config import current_config
from portal.core.db import db
from portal.core.errors import NotFound, OperationError
from portal.modules.accounts.models import AccountApproval, Assignment, Position, User
from portal.modules.agencies.models import Agency
from portal.modules.applications import documents
from portal.modules.applications import operations as applications_operations
from portal.modules.applications.models import Application, Task
from portal.modules.audit import trail as audit
from portal.modules.sops import operations as sops_operations
from portal.modules.sops.models import SopVersion
from portal.modules.sops.registry import seed_files, sha256_hex, spec_from_source
from portal.modules.sops.spec import ActorKind, Effect
from portal.storage import Storage

__all__ = ["AGENCIES", "DEMO_APPLICANT", "WalkStep", "load_demo", "sample_pdf", "walk"]

DEMO_APPLICANT = "pemohon@absah.test"
# The demo accounts' password unless `flask demo --password` (PORTAL_DEMO_PASSWORD) says
# otherwise: demo data only, never a product default.
DEMO_PASSWORD = "demo-absah-2026"

# The agencies the seeds name, including the partner offices whose positions act in them.
AGENCIES = (
    dict(code="poltekkes-surakarta", name="Poltekkes Kemenkes Surakarta",
         government="Kementerian Kesehatan Republik Indonesia", city="Surakarta",
         timezone="Asia/Jakarta",
         letterhead=["KEMENTERIAN KESEHATAN REPUBLIK INDONESIA",
                     "DIREKTORAT JENDERAL TENAGA KESEHATAN",
                     "POLITEKNIK KESEHATAN KEMENKES SURAKARTA"]),
    dict(code="dinkes-bangka", name="Dinas Kesehatan Kabupaten Bangka",
         government="Pemerintah Kabupaten Bangka", city="Sungailiat", timezone="Asia/Jakarta",
         requires_account_approval=True,
         letterhead=["PEMERINTAH KABUPATEN BANGKA", "DINAS KESEHATAN"]),
    dict(code="dpmptsp-malang",
         name="Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu Kabupaten Malang",
         government="Pemerintah Kabupaten Malang", city="Kepanjen", timezone="Asia/Jakarta",
         letterhead=["PEMERINTAH KABUPATEN MALANG",
                     "DINAS PENANAMAN MODAL DAN PELAYANAN TERPADU SATU PINTU"]),
    dict(code="dinkes-malang", name="Dinas Kesehatan Kabupaten Malang",
         government="Pemerintah Kabupaten Malang", city="Kepanjen", timezone="Asia/Jakarta",
         letterhead=["PEMERINTAH KABUPATEN MALANG", "DINAS KESEHATAN"]),
    dict(code="bpsdm-kalbar",
         name="Badan Pengembangan Sumber Daya Manusia Provinsi Kalimantan Barat",
         government="Pemerintah Provinsi Kalimantan Barat", city="Pontianak",
         timezone="Asia/Pontianak",
         letterhead=["PEMERINTAH PROVINSI KALIMANTAN BARAT",
                     "BADAN PENGEMBANGAN SUMBER DAYA MANUSIA"]),
    dict(code="dinkes-muba", name="Dinas Kesehatan Kabupaten Musi Banyuasin",
         government="Pemerintah Kabupaten Musi Banyuasin", city="Sekayu", timezone="Asia/Jakarta",
         requires_account_approval=True,
         letterhead=["PEMERINTAH KABUPATEN MUSI BANYUASIN", "DINAS KESEHATAN"]),
    dict(code="dinkes-sumsel", name="Dinas Kesehatan Provinsi Sumatera Selatan",
         government="Pemerintah Provinsi Sumatera Selatan", city="Palembang",
         timezone="Asia/Jakarta",
         letterhead=["PEMERINTAH PROVINSI SUMATERA SELATAN", "DINAS KESEHATAN"]),
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: str


# Plausible people, so demo letters read like real ones (signature blocks print the name).
DEMO_NAMES = (
    "Rina Kartika", "Budi Santoso", "Dewi Lestari", "Agus Salim", "Sri Wahyuni",
    "Hendra Gunawan", "Maria Ulfa", "Yusuf Maulana", "Nur Aisyah", "Bambang Priyono",
    "Lina Marlina", "Fajar Nugroho", "Ratna Sari", "Imam Syafii", "Wulan Dari",
    "Teguh Prasetyo", "Ayu Puspita", "Rudi Hartono", "Eka Putri", "Joko Susilo",
    "Siska Amelia", "Dedi Kurniawan", "Fitri Handayani", "Arif Rahman", "Yanti Susanti",
)


def _email(agency_code: str, position_key: str) -> str:
    return f"{position_key.replace('_', '.')}@{agency_code}.absah.test"


def load_demo(password: str) -> list[DemoAccount]:
    """Create (or complete) the demo agencies, positions, accounts and seed SOPs. Idempotent."""
    accounts: list[DemoAccount] = []
    digest = current_config().hash_password(password)
    now = dt.datetime.now(dt.UTC)
    with db.atomic():
        for spec in AGENCIES:
            agency = Agency.get_or_none(Agency.code == spec["code"])
            if agency is None:
                agency = Agency.create(**spec)
                audit.record(None, "agency.created", agency, code=agency.code)
        sources = [path.read_text(encoding="utf-8") for path in seed_files()]
        for spec in (spec_from_source(text, sha256_hex(text)) for text in sources):
            for actor in spec.actors:
                if actor.kind is not ActorKind.POSITION:
                    continue
                agency = Agency.get(Agency.code == (actor.office or spec.agency))
                position, created = Position.get_or_create(
                    agency=agency, key=actor.key, defaults={"title": actor.title})
                if created:
                    audit.record(None, "position.created", position, key=actor.key)
                email = _email(agency.code, actor.key)
                user = User.by_email(email)
                if user is None:
                    user = User.create(email=email,
                                       name=DEMO_NAMES[len(accounts) % len(DEMO_NAMES)],
                                       password_hash=digest, agency=agency,
                                       nip=_demo_nip(len(accounts)), email_verified_at=now)
                    Assignment.create(user=user, position=position)
                    audit.record(None, "account.created", user, demo=True)
                accounts.append(DemoAccount(email, user.name, f"{actor.title} · {agency.name}"))
        for spec in AGENCIES:
            email = f"admin@{spec['code']}.absah.test"
            if User.by_email(email) is None:
                agency = Agency.get(Agency.code == spec["code"])
                user = User.create(email=email, name=f"Admin {agency.name}", password_hash=digest,
                                   agency=agency, is_agency_admin=True, email_verified_at=now)
                audit.record(None, "account.created", user, demo=True)
            accounts.append(DemoAccount(email, f"Admin {spec['code']}", "Admin instansi"))
        applicant = User.by_email(DEMO_APPLICANT)
        if applicant is None:
            applicant = User.create(email=DEMO_APPLICANT, name="Siti Pemohon",
                                    password_hash=digest, email_verified_at=now)
            audit.record(None, "account.created", applicant, demo=True)
        accounts.append(DemoAccount(DEMO_APPLICANT, "Siti Pemohon", "Pemohon"))
        for path, text in zip(seed_files(), sources, strict=True):
            sops_operations.import_sop(text, path.name)
        # The demo applicant may apply everywhere, including where accounts need approval.
        for agency in Agency.select():
            AccountApproval.get_or_create(user=applicant, agency=agency, defaults={
                "status": "approved", "decided_at": now})
    # De-duplicate (several SOPs may share a position) while keeping the order.
    seen, unique = set(), []
    for account in accounts:
        if account.email not in seen:
            seen.add(account.email)
            unique.append(account)
    return unique


def _demo_nip(index: int) -> str:
    return f"19800101 200501 1 {index + 1:03d}"


def sample_pdf(text: str = "Dokumen contoh Absah") -> bytes:
    """A small, valid one-page PDF (for demo uploads)."""
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def sample_png(width: int = 30, height: int = 40) -> bytes:
    """A small, valid grey PNG (for demo photo uploads)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\xb0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def sample_form(spec, today: dt.date) -> dict[str, str]:
    """Plausible answers for every field of an SOP's form."""
    return sample_values(spec.fields, today)


def sample_values(fields, today: dt.date) -> dict[str, str]:
    """Plausible answers for a list of field specs."""
    values = {}
    for field in fields:
        if field.type == "choice":
            values[field.key] = field.choices[0][0]
        elif field.type == "date":
            values[field.key] = (today + dt.timedelta(days=30)).isoformat()
        elif field.type == "number":
            values[field.key] = "25"
        elif field.type == "email":
            values[field.key] = "kontak@contoh.test"
        elif field.type == "phone":
            values[field.key] = "0812-3456-7890"
        elif field.type == "nik":
            values[field.key] = "3507010101900001"
        else:
            values[field.key] = f"Contoh {field.label}"
    return values


def sample_uploads(spec, step_key: str, form) -> dict[str, documents.Upload]:
    """A sample file for every document the step asks for."""
    uploads = {}
    for doc in documents.documents_at_step(spec, step_key, form):
        if "pdf" in doc.media:
            uploads[doc.key] = documents.Upload(f"{doc.key}.pdf", sample_pdf(doc.label))
        elif "png" in doc.media:
            uploads[doc.key] = documents.Upload(f"{doc.key}.png", sample_png())
    return uploads


@dataclass(frozen=True)
class WalkStep:
    """One decision of a demo walk, for printing."""

    ref: str
    step: str
    title: str
    actor: str
    by: str
    outcome: str
    due: str


def walk(sop_code: str, storage: Storage, applicant_email: str = DEMO_APPLICANT,
         deciders: dict[int, User] | None = None,
         until: str | None = None) -> tuple[Application, list[WalkStep]]:
    """Run one new file of an SOP through every step (or until it reaches step ``until``,
    left open), each decided by a demo account (for the positions in ``deciders``, by the
    user given there: an acting official, say).

    Takes the first forward outcome at each step; returns the file and the path it took.
    """
    version = SopVersion.current(sop_code)
    if version is None:
        raise NotFound(f"no SOP {sop_code!r}; load the demo data first")
    spec = version.spec
    today = version.agency.today()
    form = sample_form(spec, today)
    initiator = spec.initiator
    if initiator.kind is ActorKind.APPLICANT:
        user = User.by_email(applicant_email)
    else:
        user = _holder(Agency.get(Agency.code == (initiator.office or spec.agency)), initiator.key)
    opening = spec.application_steps[0]
    application = applications_operations.submit_application(
        user, sop_code, form, sample_uploads(spec, opening.key, form), storage)
    path = [WalkStep(opening.ref, opening.key, opening.title, initiator.title, user.email,
                     "submitted", "-")]
    for _ in range(len(spec.steps) * 3):
        task = Task.open_for(application)
        if task is None or task.step_key == until:
            break
        step = spec.step(task.step_key)
        outcome = next(o for o in step.outcomes if o.effect is Effect.FORWARD)
        if task.assignee_id:
            actor = task.assignee
        elif task.position_id in (deciders or {}):
            actor = deciders[task.position_id]
        else:
            actor = _holder(task.position.agency, task.position.key)
        # The applicant's documents at their steps, an official's (a recommendation) at theirs.
        uploads = sample_uploads(spec, step.key, application.form_data)
        due = version.agency.calendar().format(task.due_at) if task.due_at else "-"
        applications_operations.decide(task.id, actor, outcome.key, uploads=uploads,
                                       storage=storage,
                                       verdicts=documents.all_complete(
                                           spec, step, application.form_data),
                                       record=sample_values(step.record, today))
        path.append(WalkStep(step.ref, step.key, step.title, spec.actor(step.actor).title,
                             actor.email, outcome.key, due))
        application = Application.get_by_id(application.id)
    return Application.get_by_id(application.id), path


def _holder(agency: Agency, key: str) -> User:
    position = Position.get((Position.agency == agency) & (Position.key == key))
    holders = Assignment.holders(position, dt.date.today())
    if not holders:
        raise OperationError(f"no one holds {key} in {agency.code}")
    return holders[0][0]
