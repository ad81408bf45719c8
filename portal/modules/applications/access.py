"""Who may see a file: the applicant, officials whose positions act in its SOP, and its
agency's administrators; and which of its documents the applicant sees. One place for
the rule."""

from __future__ import annotations

from portal.modules.accounts.models import User
from portal.modules.accounts.staff import positions_today
from portal.modules.applications.models import Application
from portal.modules.sops.spec import ActorKind, SopSpec


def sop_positions(spec: SopSpec) -> set[tuple[str, str]]:
    """(agency code, position key) of every position acting in an SOP."""
    return {(a.office or spec.agency, a.key) for a in spec.actors
            if a.kind is ActorKind.POSITION}


def can_view_application(user: User | None, application: Application) -> bool:
    """The applicant, officials whose positions act in its SOP, and its agency's admins."""
    if user is None:
        return False
    if application.applicant_id == user.id:
        return True
    return sees_as_official(user, application)


def sees_as_official(user: User | None, application: Application) -> bool:
    """Officials whose positions act in its SOP and its agency's admins: they see the whole
    file, the officials' own documents and records included (the applicant sees those the
    SOP marks public)."""
    if user is None or application.status == "draft":
        return False
    if user.is_agency_admin and user.agency_id == application.agency_id:
        return True
    pairs = sop_positions(application.sop.spec)
    return any((p.agency.code, p.key) in pairs for p, _c in positions_today(user))


def can_view_document(user: User | None, document) -> bool:
    """Whoever may view the file, except that an official's document the SOP does not mark
    public is for officials only (not for the applicant)."""
    application = document.application
    if not can_view_application(user, application):
        return False
    spec = application.sop.spec
    hidden = {d.key for d in spec.official_documents if not d.public}
    return document.requirement not in hidden or sees_as_official(user, application)

