"""The letter as it will be issued, for the officials who initial (paraf), approve and sign
it: rendered from the same wording and kop as the issued letter, marked DRAF across every
page, unsigned, the number not yet given ("(nomor)"). Nothing is stored: a draft follows
the file as it is now (form data, paraf trail)."""

from __future__ import annotations

from dataclasses import dataclass

import signing
from portal.core.model import utcnow
from portal.modules.accounts.models import Assignment, Position
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application, Task
from portal.modules.applications.previews import make_previews
from portal.modules.letters.issuance import (
    LetterError,
    letter_content,
    paraf_steps,
    signing_actor,
)
from portal.modules.letters.models import Letter
from portal.modules.sops.spec import ActionKind, ActorKind, LetterSpec

__all__ = ["DRAFT_STEPS", "PAGE_BUDGET", "Draft", "draft_pages", "draft_pdf", "drafts_at"]

# Steps whose official puts their name to the letter: they see the draft first.
DRAFT_STEPS = (ActionKind.PARAF, ActionKind.APPROVE, ActionKind.SIGN)
PAGE_BUDGET = 40_000  # bytes of one page image: a few seconds on a 2G line
NUMBER_PLACEHOLDER = "(nomor)"


@dataclass(frozen=True)
class Draft:
    """A letter of the file not issued yet, as its draft shows it."""

    key: str
    title: str
    pages: int
    problem: str = ""  # why it cannot be shown (the agency's wording is broken), if so


def drafts_at(task: Task) -> list[Draft]:
    """The drafts an official sees at this task: at paraf and approve steps the letters the
    step leads to, at sign steps every letter but pickup tickets; only those not issued yet
    (empty elsewhere)."""
    application = task.application
    spec = application.sop.spec
    step = spec.step(task.step_key)
    if step.action not in DRAFT_STEPS:
        return []
    issued = {key for key, in Letter.select(Letter.letter_key).where(
        (Letter.application == application) & (Letter.status == "valid")).tuples()}
    drafts = []
    for letter in spec.letters:
        # A paraf or approval is put on the letter it leads to (issuance.paraf_steps); a
        # signature on every letter but the counter's pickup tickets.
        concerns = (task.step_key in paraf_steps(spec, letter.key)
                    if step.action is not ActionKind.SIGN else letter.notice != "collection")
        if letter.key not in issued and concerns:
            try:
                pages = signing.render_letter(_content(application, letter)).page_count
            except (LetterError, signing.SigningError) as exc:  # the task page still works
                drafts.append(Draft(letter.key, letter.title, 0, str(exc)))
                continue
            drafts.append(Draft(letter.key, letter.title, pages))
    return drafts


def draft_pdf(application: Application, letter_key: str) -> bytes:
    """The draft of one letter of the file as a PDF (KeyError for an unknown letter)."""
    letter = application.sop.spec.letter(letter_key)
    return signing.render_letter(_content(application, letter)).pdf


def draft_pages(application: Application, letter_key: str) -> list[bytes]:
    """The draft's pages as grey JPEG images of at most PAGE_BUDGET bytes each."""
    return make_previews(draft_pdf(application, letter_key), "application/pdf", PAGE_BUDGET)


def _content(application: Application, letter: LetterSpec) -> signing.LetterContent:
    spec = application.sop.spec
    agency = application.agency
    local_now = agency.calendar().local(utcnow())
    return letter_content(application, spec, letter, NUMBER_PLACEHOLDER, local_now,
                          _prospective_signature(application, letter),
                          footer_note="DRAF: belum ditandatangani; nomor diberikan saat "
                                      "surat diterbitkan.",
                          watermark="DRAF")


def _prospective_signature(application: Application, letter: LetterSpec):
    """The signature block as it will read: the signing position, and its holder's name
    when one official holds it definitively today (else left to be filled)."""
    spec = application.sop.spec
    actor = signing_actor(spec, letter)
    name = nip = ""
    if actor.kind is ActorKind.POSITION:
        position = (Position.select().join(Agency)
                    .where((Position.key == actor.key)
                           & (Agency.code == (actor.office or spec.agency))).first())
        if position is not None:
            holders = [u for u, capacity in
                       Assignment.holders(position, application.agency.today())
                       if capacity == "definitive"]
            if len(holders) == 1:
                name, nip = holders[0].name, holders[0].nip
    return signing.SignatureBlock(position=actor.title, name=name or "(nama pejabat)",
                                  nip=nip)

