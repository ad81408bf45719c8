"""The verdict on a presented PDF, for the public page (/v/<token>) and ``letters verify``
alike: which issued letter it is, byte for byte (signing.verdict decides whether what follows
the issued bytes is only validation data), and what that letter's record says (valid, revoked,
replaced).

A file is named as *another letter* only when it is itself, byte for byte, a file this portal
issued: never from the link in its QR code, which a forger chooses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.core.i18n import lazy_gettext as _l
from portal.modules.letters.keys import trust_roots
from portal.modules.letters.models import Letter, LetterRevision
from signing.verdict import Accepted, FileVerdict, Outcome, candidate_digests, judge

__all__ = ["FINDINGS", "KINDS", "TIME_SOURCES", "Verdict", "accepted_revisions", "summary_en",
           "verify_presented"]

# What each verdict is called and what it means for the reader, in plain words.
KINDS = {
    "valid": (_l("SAH"), _l("Berkas ini adalah surat yang diterbitkan, tidak diubah sejak "
                            "ditandatangani, dan surat ini masih berlaku. Anda dapat "
                            "mengandalkannya.")),
    "revoked": (_l("TIDAK BERLAKU (DICABUT)"),
                _l("Berkas ini pernah sah, tetapi surat ini telah dicabut. Jangan "
                   "mengandalkannya.")),
    "replaced": (_l("TIDAK BERLAKU (DIGANTI)"),
                 _l("Berkas ini pernah sah, tetapi surat ini telah diganti dengan surat lain. "
                    "Mintalah surat penggantinya.")),
    "other_letter": (_l("BUKAN SURAT INI"),
                     _l("Berkas ini adalah surat lain yang diterbitkan melalui Absah, bukan "
                        "surat yang sedang Anda periksa.")),
    "not_this_letter": (_l("BUKAN SURAT INI"),
                        _l("Berkas ini bukan surat yang sedang Anda periksa.")),
    "changed": (_l("TIDAK SAH: DIUBAH SETELAH DITANDATANGANI"),
                _l("Seseorang mengubah berkas ini setelah surat ditandatangani. Isinya tidak "
                   "dapat dipercaya, walaupun tampak benar. Mintalah berkas asli kepada "
                   "pemegang surat atau instansi penerbit.")),
    "unchecked": (_l("TIDAK DAPAT DIPERIKSA"),
                  _l("Tanda tangan elektronik berkas ini tidak dapat diperiksa karena terjadi "
                     "kesalahan pada pemeriksaan. Ini tidak berarti berkasnya diubah, tetapi "
                     "keasliannya juga belum terbukti: jangan mengandalkannya dulu. Cobalah "
                     "lagi nanti atau hubungi instansi penerbit.")),
    "untrusted": (_l("TIDAK SAH: PENANDA TANGAN TIDAK DIKENAL"),
                  _l("Tanda tangan elektronik berkas ini utuh, tetapi sertifikatnya tidak "
                     "diterbitkan oleh penerbit yang dipercaya portal ini. Berkas ini tidak "
                     "diterbitkan oleh Absah.")),
    "not_issued": (_l("TIDAK SAH: TIDAK DITERBITKAN MELALUI ABSAH"),
                   _l("Berkas ini ditandatangani dengan kunci yang dipercaya, tetapi tidak "
                      "pernah diterbitkan sebagai surat melalui portal ini.")),
    "unsigned": (_l("TIDAK SAH: TANPA TANDA TANGAN"),
                 _l("Berkas ini tidak memiliki tanda tangan elektronik. Surat Absah selalu "
                    "ditandatangani secara elektronik.")),
    "damaged": (_l("TIDAK DAPAT DIPERIKSA"),
                _l("Berkas PDF ini rusak atau tidak dapat dibaca.")),
    "not_pdf": (_l("TIDAK DAPAT DIPERIKSA"), _l("Berkas ini bukan dokumen PDF.")),
}

FINDINGS = {
    "signed_bytes_altered": _l("isi yang ditandatangani telah diubah"),
    "signature_dictionary": _l("tanda tangannya sendiri dirusak atau dipalsukan"),
    "signature_added": _l("tanda tangan lain ditambahkan setelah surat ditandatangani"),
    "annotation_added": _l("catatan atau coretan (anotasi) ditambahkan di atas surat"),
    "form_field_added": _l("isian formulir ditambahkan"),
    "content_changed": _l("isi halaman diubah atau ditimpa"),
    "pages_changed": _l("halaman surat diganti atau disusun ulang"),
    "structure": _l("riwayat revisi berkas ditulis ulang"),
    "listed_twice": _l("satu objek dicantumkan dua kali dalam revisi tambahan, sehingga "
                       "program pembaca PDF dapat menampilkan isi yang berbeda"),
    "timestamp_broken": _l("cap waktu yang ditambahkan tidak sah"),
    "unchecked": _l("tanda tangan tidak dapat diperiksa: pemeriksaannya gagal, dan ini bukan "
                    "bukti adanya perubahan"),
    "unreadable_update": _l("tambahan yang tidak dapat dibaca"),
    "other": _l("perubahan lain setelah ditandatangani"),
}

TIME_SOURCES = {
    "timestamp": _l("waktu yang dibuktikan cap waktu di berkas"),
    "recorded": _l("waktu terbit yang tercatat di Absah"),
    "requested": _l("tanggal yang diminta"),
    "now": _l("saat ini"),
}


@dataclass(frozen=True)
class Verdict:
    """What a third party learns about a file they present (against a letter's token on the
    page, or on its own with ``letters verify``)."""

    kind: str
    """A key of :data:`KINDS`: ``valid`` only for a genuine file of a letter still valid."""

    file: FileVerdict
    """The strict verdict on the file itself (signing.verdict)."""

    letter: Letter | None
    """The letter whose page the file was presented on (None for the CLI)."""

    matched: Letter | None
    """The issued letter the file is (begins with, byte for byte), if any."""

    @property
    def ok(self) -> bool:
        return self.kind == "valid"

    @property
    def exact(self) -> bool:
        """Byte for byte the file issued (or a revision the portal stored) under the token."""
        return self.file.exact and self.matched is not None and (
            self.letter is None or self.matched.id == self.letter.id)

    @property
    def label(self):
        return KINDS[self.kind][0]

    @property
    def meaning(self):
        return KINDS[self.kind][1]

    @property
    def findings(self) -> list[tuple[object, str]]:
        """(the finding in the reader's language, its specifics) for each."""
        return [(FINDINGS.get(f.code, f.code), f.detail) for f in self.file.findings]

    @property
    def time_source(self):
        return TIME_SOURCES.get(self.file.time_source, self.file.time_source)


def _stored_revisions(letters: list[Letter]) -> list[tuple[int, str, int]]:
    """(letter id, sha256, size) of every file the portal stored for these letters (the
    issued file, and each one `letters extend` wrote)."""
    if not letters:
        return []
    rows = (LetterRevision.select(LetterRevision.letter, LetterRevision.sha256,
                                  LetterRevision.size)
            .where(LetterRevision.letter.in_([lt.id for lt in letters])).tuples())
    return [(letter_id, digest, size) for letter_id, digest, size in rows]


def accepted_revisions(letters: list[Letter]) -> list[Accepted]:
    """Every revision of these letters the portal itself produced: the issued file, and the
    later revisions it stored; each validated as of its letter's recorded issuance."""
    by_id = {letter.id: letter for letter in letters}
    accepted = [Accepted(letter.sha256, letter.size, letter.issued_at, letter.id)
                for letter in letters]
    accepted += [Accepted(digest, size, by_id[lid].issued_at, lid)
                 for lid, digest, size in _stored_revisions(letters)]
    return accepted


def _candidates(pdf: bytes) -> list[Letter]:
    """The issued letters the file could begin with (by digest; the verdict checks)."""
    digests = list(candidate_digests(pdf)) if isinstance(pdf, bytes | bytearray) else []
    if not digests:
        return []
    found = {lt.id: lt for lt in Letter.select().where(Letter.sha256.in_(digests))}
    found.update((lt.id, lt) for lt in LetterRevision.letters_for_digests(digests))
    return list(found.values())


def verify_presented(pdf: bytes, letter: Letter | None = None,
                     at: dt.datetime | None = None) -> Verdict:
    """The verdict on a presented PDF: against the letter of the page (``letter``) or, for
    the CLI, against every letter issued; ``at`` validates certificates as of that moment."""
    candidates = _candidates(pdf)
    if letter is not None and all(c.id != letter.id for c in candidates):
        candidates.append(letter)  # its stored revisions may be what the file begins with
    file = judge(pdf, trust_roots(), accepted_revisions(candidates), at=at)
    matched = (Letter.get_or_none(Letter.id == file.matched.key)
               if file.matched is not None else None)
    return Verdict(_kind(file, letter, matched), file, letter, matched)


def _kind(file: FileVerdict, letter: Letter | None, matched: Letter | None) -> str:
    if file.outcome is not Outcome.GENUINE:
        return file.outcome.value
    if matched is None:  # not expected: a genuine outcome always has its revision
        return "not_issued"
    if letter is not None and matched.id != letter.id:
        # named only when the file is that letter byte for byte, never from its QR link
        return "other_letter" if file.exact else "not_this_letter"
    return {"valid": "valid", "revoked": "revoked", "replaced": "replaced"}.get(
        matched.status, "revoked")


def summary_en(verdict: Verdict) -> str:
    """One English sentence for the CLI (the page words it through the catalogue)."""
    matched = verdict.matched
    if verdict.kind == "valid":
        return verdict.file.en
    if verdict.kind == "revoked" and matched is not None:
        return (f"Was genuine; revoked on {matched.revoked_at:%Y-%m-%d} because "
                f"{matched.revoke_reason or 'no reason recorded'}; NOT valid.")
    if verdict.kind == "replaced" and matched is not None:
        new = matched.replaced_by
        return (f"Was genuine; replaced on {matched.revoked_at:%Y-%m-%d}"
                + (f" by letter {new.number}" if new is not None else "") + "; NOT valid.")
    if verdict.kind == "other_letter" and matched is not None:
        return f"This file is another letter (number {matched.number}), not this one."
    return verdict.file.en

