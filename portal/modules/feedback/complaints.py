"""Complaints (pengaduan) about a service: anyone files one with a contact address; it goes
to the position that answers complaints (the one the SOP's header names in
``complaints_to``, else the agency's setting, else the agency's administrators) with a due
time on the agency's working-day calendar (the SOP's own standard time when it states one);
the answer is e-mailed to the complainant. Only those who answer and the complainant
(through a private link) see a complaint."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping

from portal.calendar.duration import Duration, DurationError, Unit, parse_duration
from portal.core.db import db
from portal.core.errors import NotFound, OperationError, PermissionDenied, ValidationError
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts.models import Position, User
from portal.modules.accounts.policy import email_problem
from portal.modules.agencies.models import Agency
from portal.modules.applications.models import Application
from portal.modules.audit import trail as audit
from portal.modules.feedback import notify
from portal.modules.feedback.models import Complaint, ComplaintSetting
from portal.modules.sops.models import SopVersion
from portal.modules.sops.spec_types import ActorKind, SopSpec

__all__ = ["DEFAULT_TIME", "answer_complaint", "file_complaint", "handled_complaint",
           "handler_complaints", "may_handle", "read_complaint", "route", "setting_of",
           "standard_time", "update_setting"]

DEFAULT_TIME = Duration(5, Unit.WORKING_DAYS)
BODY_MAX = 5000
ANSWER_MAX = 5000


def setting_of(agency: Agency) -> ComplaintSetting | None:
    return ComplaintSetting.get_or_none(ComplaintSetting.agency == agency)


def standard_time(agency: Agency, setting: ComplaintSetting | None = None,
                  spec: SopSpec | None = None) -> Duration:
    """The standard time to answer a complaint: the SOP's own when its header states one
    (``complaints_to.time``), else the agency's (5 working days unless set)."""
    channel = spec.header.complaints_to if spec is not None else None
    if channel is not None and channel.time is not None:
        return channel.time
    setting = setting or setting_of(agency)
    if setting is not None and setting.standard_time:
        try:
            return parse_duration(setting.standard_time)
        except DurationError:
            pass
    return DEFAULT_TIME


def route(agency: Agency, spec: SopSpec) -> tuple[Position | None, Duration]:
    """Where a complaint about this SOP goes and how soon it is answered: the position the
    SOP's header names (``complaints_to``), else the agency's setting; a position of None:
    the agency's administrators. (``header.complaints`` is the channels' text for the
    public, shown on the service page; it routes nothing.)"""
    setting = setting_of(agency)
    position = _sop_position(spec)
    key = setting.position_key if setting is not None else None
    if position is None and key:
        position = Position.get_or_none((Position.agency == agency) & (Position.key == key))
    return position, standard_time(agency, setting, spec)


def _sop_position(spec: SopSpec) -> Position | None:
    """The position the SOP names for complaints, in its office (the SOP's agency unless the
    actor sits in a partner office); None when it names none or the position is gone."""
    channel = spec.header.complaints_to
    if channel is None:
        return None
    try:
        actor = spec.actor(channel.actor)
    except KeyError:  # refused by the loader; kept safe for a spec built by hand
        return None
    if actor.kind is not ActorKind.POSITION:
        return None
    return (Position.select(Position).join(Agency)
            .where((Agency.code == (actor.office or spec.agency))
                   & (Position.key == actor.key)).first())


def file_complaint(user: User | None, sop_code: str, form: Mapping[str, str],
                   language: str = "id", now: dt.datetime | None = None) -> Complaint:
    """File a complaint about a service; every problem of the form at once."""
    now = now or utcnow()
    version = SopVersion.current(sop_code)
    if version is None:
        raise NotFound(_l("Layanan %(code)s tidak ditemukan.", code=repr(sop_code)))
    name = " ".join(str(form.get("name") or "").split())[:200]
    email = str(form.get("email") or "").strip().lower()
    body = str(form.get("body") or "").strip()
    number = str(form.get("registration_number") or "").strip()[:100]
    errors: dict[str, object] = {}
    if not name:
        errors["name"] = _l("Nama wajib diisi.")
    if not email:
        errors["email"] = _l("Alamat e-mail wajib diisi: jawaban dikirim ke sana.")
    elif "@" not in email or len(email) > 254:
        errors["email"] = _l("Alamat e-mail tidak valid.")
    elif (problem := email_problem(email)) is not None:
        errors["email"] = problem
    if len(body) < 10:
        errors["body"] = _l("Tuliskan pengaduan Anda (paling sedikit 10 karakter).")
    elif len(body) > BODY_MAX:
        errors["body"] = _l("Pengaduan paling banyak %(n)s karakter.", n=BODY_MAX)
    if errors:
        raise ValidationError(errors)
    application = None
    if number and user is not None and getattr(user, "is_authenticated", False):
        # Linked only to the complainant's own file of this service; another number stays
        # text for those who answer.
        application = (Application.select(Application).join(SopVersion)
                       .where((Application.registration_number == number)
                              & (Application.applicant == user.id)
                              & (SopVersion.code == sop_code)).first())
    agency = version.agency
    position, time = route(agency, version.spec)
    with db.atomic():
        complaint = Complaint.create(
            agency=agency, sop_code=sop_code, application=application,
            registration_number=number, complainant=user if application or (
                user is not None and getattr(user, "is_authenticated", False)) else None,
            name=name, email=email, language=language if language in ("id", "en") else "id",
            body=body, position=position, token=secrets.token_urlsafe(24), status="open",
            filed_at=now, due_at=agency.calendar().due(now, time))
        audit.record(user if complaint.complainant_id else None, "complaint.filed", complaint,
                     sop=sop_code, linked=application is not None)
        notify.complaint_filed(complaint, version.spec, handlers(complaint))
    return complaint


def handlers(complaint: Complaint) -> list[User]:
    """Who answers: the holders of the complaint's position today (Plh/Plt included), or
    the agency's administrators when no position was set."""
    agency = complaint.agency
    if complaint.position_id is not None:
        from portal.modules.accounts.models import Assignment

        return [user for user, _capacity in Assignment.holders(complaint.position,
                                                               agency.today())]
    return list(User.select().where((User.agency == agency) & User.is_agency_admin
                                    & User.active))


def may_handle(user, complaint: Complaint) -> bool:
    """The agency's administrators, and whoever holds the complaint's position today."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_agency_admin and user.agency_id == complaint.agency_id:
        return True
    if complaint.position_id is None:
        return False
    held = Position.held_by(user, complaint.agency.today())
    return any(position.id == complaint.position_id for position, _capacity in held)


def handler_complaints(user: User, status: str = ""):
    """The complaints the user answers, the most urgent first."""
    condition = Complaint.id.is_null()  # nothing, unless one of the below holds
    if user.is_agency_admin and user.agency_id:
        condition |= Complaint.agency == user.agency_id
    today = user.agency.today() if user.agency_id else dt.date.today()
    positions = [p.id for p, _capacity in Position.held_by(user, today)]
    if positions:
        condition |= Complaint.position.in_(positions)
    query = Complaint.select().where(condition)
    if status in ("open", "answered"):
        query = query.where(Complaint.status == status)
    return query.order_by(Complaint.status.desc(), Complaint.due_at, Complaint.id)


def handled_complaint(user: User, complaint_id: int) -> Complaint:
    """A complaint the user answers; NotFound for anyone else (it is not theirs to see)."""
    complaint = Complaint.get_or_none(Complaint.id == complaint_id)
    if complaint is None or not may_handle(user, complaint):
        raise NotFound(_l("Pengaduan tidak ditemukan."))
    return complaint


def read_complaint(user: User, complaint_id: int) -> Complaint:
    """A complaint opened by one who answers it: its reading is audited (it holds the
    complainant's contact)."""
    with db.atomic():
        complaint = handled_complaint(user, complaint_id)
        audit.record(user, "complaint.viewed", complaint)
    return complaint


def answer_complaint(user: User, complaint_id: int, answer: str,
                     now: dt.datetime | None = None) -> Complaint:
    """Answer a complaint once (the first answer wins) and e-mail it to the complainant."""
    now = now or utcnow()
    answer = (answer or "").strip()
    with db.atomic():
        complaint = handled_complaint(user, complaint_id)
        if not answer:
            raise ValidationError({"answer": _l("Jawaban wajib diisi.")})
        if len(answer) > ANSWER_MAX:
            raise ValidationError({"answer": _l("Jawaban paling banyak %(n)s karakter.",
                                                n=ANSWER_MAX)})
        taken = (Complaint.update(status="answered", answered_at=now, answered_by=user,
                                  answer=answer)
                 .where((Complaint.id == complaint.id) & (Complaint.status == "open"))
                 .execute())
        if taken != 1:
            raise OperationError(_l("Pengaduan ini sudah dijawab; tidak ada yang diubah."))
        complaint = Complaint.get_by_id(complaint.id)
        audit.record(user, "complaint.answered", complaint,
                     on_time=complaint.due_at is None or now <= complaint.due_at)
        notify.complaint_answered(complaint, SopVersion.current(complaint.sop_code))
    return complaint


def update_setting(user: User, agency: Agency, position_key: str,
                   time_text: str) -> ComplaintSetting:
    """Set where the agency's complaints go and their standard time (administrators)."""
    if not (user.is_agency_admin and user.agency_id == agency.id):
        raise PermissionDenied(_l("Halaman ini hanya untuk admin instansi."))
    errors: dict[str, object] = {}
    key = (position_key or "").strip() or None
    if key and Position.get_or_none((Position.agency == agency) & (Position.key == key)) is None:
        errors["position_key"] = _l("Jabatan ini tidak ada di instansi.")
    text = (time_text or "").strip()
    try:
        duration = parse_duration(text)
        if duration.amount == 0:
            raise DurationError(text)
    except DurationError:
        errors["standard_time"] = _l("Tulis jumlah dan satuan, mis. \"5 hari kerja\".")
    if errors:
        raise ValidationError(errors)
    with db.atomic():
        setting = setting_of(agency) or ComplaintSetting(agency=agency)
        before = (setting.position_key, setting.standard_time) if setting.id else None
        setting.position_key, setting.standard_time = key, text
        setting.save()
        audit.record(user, "complaint.settings_changed", agency, position=key, time=text,
                     before=list(before) if before else None)
    return setting
