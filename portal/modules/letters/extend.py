"""Long-term validation of issued letters: the timestamp and validation data a letter gets at
issuance (``sign``), every file stored as a revision, and `letters extend` (cron), which adds
document timestamps so letters stay verifiable after their signers' certificates expire.

Which letters `letters extend` takes (``LetterRevision.due_for_extension``):
- B-B and B-T letters: no timestamp or no validation data yet (the TSA was down when they
  were signed, or they were issued before a TSA was configured);
- letters whose newest timestamp is older than PORTAL_SIGNING_EXTEND_AFTER_DAYS (365);
- letters whose newest timestamp's TSA certificate ends within ``RENEW_BEFORE_TSA_END``.
Revoked and replaced letters are extended too: their page keeps saying they *were* genuine.

Each new file is stored as a ``LetterRevision``; downloads serve the newest, and every stored
digest is one the verification accepts as this letter (``LetterRevision.accepted_digests``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from peewee import IntegrityError

import signing
from portal.config import current_config
from portal.core.db import db
from portal.core.model import utcnow
from portal.modules.audit import trail as audit
from portal.modules.letters import certificates, keys
from portal.modules.letters.models import Letter, LetterRevision
from portal.storage import StorageError, current_storage
from signing import ltv

__all__ = ["RENEW_BEFORE_TSA_END", "ExtendRun", "extend_due", "ltv_settings", "record_revision",
           "sign"]

log = logging.getLogger(__name__)

RENEW_BEFORE_TSA_END = dt.timedelta(days=90)
"""A timestamp is renewed this long before its TSA certificate ends: time for a cron that
failed for weeks, or a TSA that was down, to catch up."""


def ltv_settings() -> ltv.LtvSettings | None:
    """Where timestamps and validation data come from (None: no TSA configured). The trust
    roots are the verifier's: the TSA's root belongs among them (PORTAL_SIGNING_TRUST_ROOTS)."""
    config = current_config()
    if not config.signing_tsa_url:
        return None
    # The development CA's CRL is the portal's own (/ca.crl): handed over, never fetched from
    # ourselves (a one-worker portal would wait on itself).
    crls = (certificates.current_crl(),) if keys.uses_dev_ca() else ()
    return ltv.LtvSettings(tsa_url=config.signing_tsa_url, trust_roots=tuple(keys.trust_roots()),
                           crls=crls)


def sign(pdf: bytes, identity: signing.SignerIdentity, box, qr_url: str, lines,
         signing_time: dt.datetime) -> ltv.LongTermResult:
    """Sign a rendered letter at the highest level reachable now (B-LT with a TSA). A TSA or
    revocation source that does not answer lowers the level, never stops the letter: the
    result's ``problem`` says why, and `letters extend` catches up."""
    result = ltv.sign_long_term(pdf, identity, box, qr_url, lines, signing_time, ltv_settings())
    if result.problem:
        log.warning("letter signed at %s only: %s", result.level, result.problem)
    return result


def record_revision(letter: Letter, seq: int, storage_key: str, digest: str,
                    result: ltv.LongTermResult) -> LetterRevision:
    """Store one revision's facts (inside the caller's transaction) and the letter's level."""
    revision = LetterRevision.create(
        letter=letter, seq=seq, storage_key=storage_key, sha256=digest, size=len(result.pdf),
        level=result.level, timestamped_at=result.timestamped_at,
        timestamp_expires_at=result.timestamp_expires_at, created_at=utcnow())
    if letter.level != result.level:
        Letter.update(level=result.level).where(Letter.id == letter.id).execute()
        letter.level = result.level
    return revision


@dataclass
class ExtendRun:
    """What one `letters extend` run did."""

    due: int = 0
    extended: list[tuple[Letter, str, str]] = field(default_factory=list)
    """(letter, level before, level after) for each letter given a new revision."""
    failed: list[tuple[Letter, str]] = field(default_factory=list)
    """(letter, why) for each letter that could not be extended; tried again next run."""
    stopped: str = ""
    """Why the run stopped before the end (the TSA is down, none is configured)."""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped


def extend_due(now: dt.datetime | None = None, limit: int | None = None) -> ExtendRun:
    """Extend every letter due (see the module's docstring), oldest first; each letter in its
    own transaction, audited as ``letter.extended``. Stops at the first TSA failure (the next
    run resumes); any other failure is reported for that letter and the run goes on."""
    now = now or utcnow()
    config = current_config()
    run = ExtendRun()
    due = list(LetterRevision.due_for_extension(
        renew_before=now - dt.timedelta(days=config.signing_extend_after_days),
        expiring_before=now + RENEW_BEFORE_TSA_END, limit=limit))
    run.due = len(due)
    if not due:
        return run
    settings = ltv_settings()
    if settings is None:
        run.stopped = ("no timestamp authority configured (PORTAL_SIGNING_TSA_URL): "
                       f"{len(due)} letter(s) wait for one")
        return run
    storage = current_storage()
    for revision in due:
        letter = revision.letter
        try:
            result = ltv.extend(storage.read(revision.storage_key), settings)
        except StorageError as e:
            run.failed.append((letter, f"stored file unreadable: {e}"))
            continue
        except signing.TimestampUnavailable as e:
            run.stopped = str(e)
            break
        except signing.SigningError as e:
            run.failed.append((letter, str(e)))
            continue
        # A letter signed during a TSA outage first gets its signature timestamp written in
        # (a file of its own, which the result extends): both are stored, in order.
        files = [f for f in (result.timestamped_copy, result) if f is not None]
        try:
            with db.atomic():
                seq = revision.seq
                for produced in files:
                    seq += 1
                    key, digest = storage.put_after_commit(produced.pdf)
                    record_revision(letter, seq, key, digest, produced)
                audit.record(None, "letter.extended", letter, seq=seq, sha256=digest,
                             level_before=revision.level, level=result.level,
                             revisions=len(files),
                             timestamped_at=result.timestamped_at.isoformat()
                             if result.timestamped_at else None)
        except IntegrityError:  # another run extended it meanwhile: its revision stands
            run.failed.append((letter, "extended by another run at the same time"))
            continue
        run.extended.append((letter, revision.level, result.level))
    return run
