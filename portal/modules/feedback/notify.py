"""The e-mails of the survey and of complaints, queued in the caller's transaction. A
complainant may have no account: their messages are addressed to the contact they gave,
in the language of the page they filed from. No complaint text goes to those who answer
by e-mail (they read it on the portal)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from portal.config import current_config
from portal.core.db import db
from portal.core.model import utcnow
from portal.mail import outbox
from portal.mail.models import OutboxMessage
from portal.modules.applications.models import Application
from portal.modules.audit import trail as audit
from portal.modules.feedback.models import SurveyInvitation

__all__ = ["complaint_answered", "complaint_filed", "invite_completed"]

INVITE_DAYS = 30  # files completed this recently are invited (once)


def _to_address(event: str, name: str, address: str, language: str, context: dict) -> None:
    """Queue one message to an address that is not an account."""
    recipient = SimpleNamespace(name=name, email=address, language=language)
    subject, text, html = outbox.render(event, {"base_url": current_config().base_url,
                                                **context, "recipient": recipient}, language)
    OutboxMessage.create(event=event, recipient=None, to_address=address, subject=subject,
                         body_text=text, body_html=html)


def complaint_filed(complaint, spec, handlers) -> None:
    """The complainant gets the due time and their private link; those who answer, the
    service, the due time and the link to the complaint (not its text)."""
    calendar = complaint.agency.calendar()
    context = {"service": spec.title, "agency": complaint.agency.name,
               "due": calendar.format(complaint.due_at) if complaint.due_at else None}
    _to_address("complaint_filed", complaint.name, complaint.email, complaint.language,
                {**context, "link": current_config().url(f"/complaints/t/{complaint.token}")})
    outbox.queue("complaint_received", handlers,
                 {**context, "link": current_config().url(f"/complaints/{complaint.id}")})


def complaint_answered(complaint, version) -> None:
    """The answer, to the complainant."""
    _to_address("complaint_answered", complaint.name, complaint.email, complaint.language,
                {"service": version.spec.title if version else complaint.sop_code,
                 "agency": complaint.agency.name, "answer": complaint.answer,
                 "link": current_config().url(f"/complaints/t/{complaint.token}")})


def invite_completed(now: dt.datetime | None = None) -> int:
    """Invite the applicant of every file completed in the last 30 days and not invited
    yet to the survey (e-mail; the file's page offers it too). Returns how many."""
    now = now or utcnow()
    files = (Application.select(Application.id)
             .where((Application.status == "completed")
                    & (Application.closed_at >= now - dt.timedelta(days=INVITE_DAYS))
                    & Application.id.not_in(SurveyInvitation.select(
                        SurveyInvitation.application)))
             .order_by(Application.id))
    count = 0
    for (file_id,) in files.tuples():
        with db.atomic():
            application = Application.get_by_id(file_id)
            if SurveyInvitation.get_or_none(SurveyInvitation.application == file_id):
                continue
            SurveyInvitation.create(application=application, invited_at=now)
            link = current_config().url(f"/applications/{file_id}/survey")
            outbox.queue("survey_invitation", [application.applicant],
                         {"service": application.sop.spec.title,
                          "agency": application.agency.name,
                          "registration_number": application.registration_number,
                          "link": link},
                         application=application, dedupe_key=f"survey_invitation:{file_id}")
            audit.record(None, "survey.invited", application)
            count += 1
    return count
