"""E-mails about letters: issued (ready to download or collect) and revoked."""

from __future__ import annotations

from portal.mail import outbox
from portal.modules.applications.notify import file_context


def letter_issued(letter, notice: str = "issued") -> None:
    """The applicant learns the letter is ready (a link, never the PDF or personal data)."""
    application = letter.application
    outbox.queue("letter_ready_for_collection" if notice == "collection" else "letter_issued",
                 [application.applicant],
                 {**file_context(application), "letter": letter.title, "number": letter.number},
                 application=application)


def letter_revoked(letter) -> None:
    application = letter.application
    outbox.queue("letter_revoked", [application.applicant],
                 {**file_context(application), "letter": letter.title, "number": letter.number,
                  "reason": letter.revoke_reason, "replaced": letter.status == "replaced"},
                 application=application)

