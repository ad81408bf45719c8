"""The administrator's operations on the agency's days off (the SLA clock stops on them)
and settings; the platform's: creating an agency with its first administrator."""

from __future__ import annotations

import re
from typing import NamedTuple

from peewee import IntegrityError, fn

from portal.calendar.workdays import WEEKDAY_NAMES, WorkCalendar
from portal.core.db import db
from portal.core.errors import NotFound, ValidationError
from portal.core.forms import NAME_MAX, iso_date, parse_date
from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts import notify
from portal.modules.accounts.models import Position, User
from portal.modules.accounts.policy import email_problem
from portal.modules.accounts.staff import (
    UNUSABLE_PASSWORD,
    admin_agency,
    official_fields,
    require_platform_admin,
)
from portal.modules.agencies.logo import LogoError, scaled_logo
from portal.modules.agencies.models import Agency, DayOff
from portal.modules.applications.operations import retime_open_tasks
from portal.modules.audit import trail as audit
from portal.modules.sops.models import SopVersion
from portal.storage import current_storage


def days_off(agency: Agency) -> list[DayOff]:
    """The agency's own days off, by date."""
    return list(DayOff.select().where(DayOff.agency == agency).order_by(DayOff.day))


class DayOffChange(NamedTuple):
    """A day off added or removed, and the open tasks whose due time it moved."""

    day_off: DayOff
    retimed: list[int]  # task ids, audited as "tasks.retimed"


def add_day_off(actor: User, day, name: str) -> DayOffChange:
    """Close the agency on a date (cuti bersama, a local holiday): no working time counts,
    and the open tasks it falls in are due a working day later (same transaction)."""
    agency = admin_agency(actor)
    errors: dict[str, object] = {}
    date = parse_date(day, "day", errors, required=True)
    name = (name or "").strip()
    if not name:
        errors["name"] = _l("Keterangan wajib diisi (mis. Cuti bersama Idulfitri).")
    elif len(name) > NAME_MAX:
        errors["name"] = _l("Keterangan terlalu panjang (maksimal %(n)s karakter).", n=NAME_MAX)
    if errors:
        raise ValidationError(errors)
    taken = ValidationError({"day": _l("Tanggal ini sudah tercatat sebagai hari libur.")})
    with db.atomic():
        if DayOff.select().where((DayOff.agency == agency) & (DayOff.day == date)).exists():
            raise taken
        try:
            with db.atomic():
                day_off = DayOff.create(agency=agency, day=date, name=name)
        except IntegrityError:
            raise taken from None
        audit.record(actor, "day_off.added", day_off, agency=agency.code, day=iso_date(date),
                     name=name)
        retimed = retime_open_tasks(actor, agency, since=date, cause="day_off.added")
    return DayOffChange(day_off, retimed)


def remove_day_off(actor: User, day_off_id: int) -> DayOffChange:
    """Open the agency again on a day it had closed; the open tasks that skipped it are
    due that much earlier (same transaction)."""
    agency = admin_agency(actor)
    with db.atomic():
        day_off = DayOff.get_or_none((DayOff.id == day_off_id) & (DayOff.agency == agency))
        if day_off is None:
            raise NotFound(_l("Hari libur tidak ditemukan."))
        audit.record(actor, "day_off.removed", day_off, agency=agency.code,
                     day=iso_date(day_off.day), name=day_off.name)
        day_off.delete_instance()
        retimed = retime_open_tasks(actor, agency, since=day_off.day, cause="day_off.removed")
    return DayOffChange(day_off, retimed)



# ---------------------------------------------------------------------------------------------
# Settings (/admin/settings): the kop surat, contact, calendar and approval rule

LETTERHEAD_LINES = 4
LETTERHEAD_MAX = 120  # characters of one kop line
ADDRESS_MAX = 300
CONTACT_MAX = 120  # phone, e-mail, website
ZONE_BY_LABEL = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
WEEKDAY_LABELS = (_l("Senin"), _l("Selasa"), _l("Rabu"), _l("Kamis"), _l("Jumat"),
                  _l("Sabtu"), _l("Minggu"))
_PHONE = re.compile(r"^[0-9+() .\-/]{5,40}$")
_WEBSITE = re.compile(r"^(https?://)?[a-z0-9.-]+\.[a-z]{2,}(:\d+)?(/\S*)?$", re.IGNORECASE)
_CLOSED = ("", "closed", "tutup", "libur", "-")


def office_hours_text(agency: Agency) -> dict[str, str]:
    """The office hours as the settings form shows them: weekday key to "07:30-16:00" or
    "" (closed); the national default when the agency has none of its own."""
    hours = agency.calendar().hours
    return {name: (f"{hours[i][0]:%H:%M}-{hours[i][1]:%H:%M}" if i in hours else "")
            for i, name in enumerate(WEEKDAY_NAMES)}


def _zone_key(text: str) -> str | None:
    text = (text or "").strip()
    key = ZONE_BY_LABEL.get(text.upper(), text)
    try:
        WorkCalendar.from_config(key)
    except ValueError:
        return None
    return key


def _office_hours(form, errors: dict[str, object]) -> dict[str, str]:
    hours: dict[str, str] = {}
    for i, name in enumerate(WEEKDAY_NAMES):
        text = " ".join((form.get(f"hours_{name}") or "").split())
        if text.lower() in _CLOSED:
            continue
        try:
            span = WorkCalendar.from_config("Asia/Jakarta", {name: text}).hours[i]
        except ValueError:
            errors[f"hours_{name}"] = _l(
                "Jam kerja hari %(day)s tidak terbaca: tulis seperti 07:30-16:00 (jam buka "
                "sebelum jam tutup), atau kosongkan bila kantor tutup.", day=WEEKDAY_LABELS[i])
            continue
        hours[name] = f"{span[0]:%H:%M}-{span[1]:%H:%M}"
    if not hours and not any(f"hours_{n}" in errors for n in WEEKDAY_NAMES):
        errors["hours_mon"] = _l("Kantor harus buka sedikitnya satu hari dalam seminggu.")
    return hours


def _settings_from_form(agency: Agency, form) -> tuple[dict[str, object], dict[str, object]]:
    """The settings the form asks for, checked: (values by column, errors by field)."""
    errors: dict[str, object] = {}

    def text(name: str, limit: int) -> str:
        value = " ".join((form.get(name) or "").split())
        if len(value) > limit:
            errors[name] = _l("Terlalu panjang (maksimal %(n)s karakter).", n=limit)
        return value

    letterhead = [text(f"letterhead_{i}", LETTERHEAD_MAX)
                  for i in range(1, LETTERHEAD_LINES + 1)]
    if not letterhead[0]:
        errors["letterhead_1"] = _l("Baris pertama kop surat wajib diisi.")
    values: dict[str, object] = {
        "letterhead": [line for line in letterhead if line],
        "city": text("city", NAME_MAX),
        "address": text("address", ADDRESS_MAX),
        "phone": text("phone", CONTACT_MAX),
        "email": text("email", CONTACT_MAX).lower(),
        "website": text("website", CONTACT_MAX),
    }
    if values["phone"] and "phone" not in errors and not _PHONE.match(values["phone"]):
        errors["phone"] = _l("Nomor telepon hanya berisi angka, spasi dan + ( ) - . /")
    if values["email"] and "email" not in errors:
        problem = email_problem(values["email"])
        if problem:
            errors["email"] = problem
    if values["website"] and "website" not in errors and not _WEBSITE.match(values["website"]):
        errors["website"] = _l("Alamat situs tidak valid (mis. dinkes.bangka.go.id).")
    zone = _zone_key(form.get("timezone") or "")
    if zone is None:
        errors["timezone"] = _l("Zona waktu tidak dikenal: pilih WIB, WITA atau WIT, atau tulis "
                                "nama zona IANA (mis. Asia/Pontianak).")
    values["timezone"] = zone
    values["office_hours"] = _office_hours(form, errors)
    supervisor = (form.get("supervisor_position") or "").strip() or None
    if supervisor is not None and not Position.select().where(
            (Position.agency == agency) & (Position.key == supervisor)).exists():
        errors["supervisor_position"] = _l("Jabatan ini tidak ada di instansi.")
    values["supervisor_position"] = supervisor
    values["requires_account_approval"] = form.get("requires_account_approval") in (
        "1", "on", "true", "yes", True)
    return values, errors


def update_settings(actor: User, form, logo_upload: bytes | None = None) -> list[str]:
    """Save the agency's settings from the settings form (a mapping of its fields): kop
    lines, contact, city on letters, zone, office hours, the supervisor position, whether
    accounts need approval; a new logo (PNG/JPEG bytes, scaled here) or ``remove_logo``.
    Returns the names of what changed (audited as ``agency.settings_updated``)."""
    agency = admin_agency(actor)
    values, errors = _settings_from_form(agency, form)
    logo_key: str | None = None
    if logo_upload:
        try:
            logo = scaled_logo(logo_upload)
        except LogoError as exc:
            errors["logo"] = exc.message
    if errors:
        raise ValidationError(errors)
    if logo_upload:
        logo_key, _digest = current_storage().put(logo)
    with db.atomic():
        query = Agency.select().where(Agency.id == agency.id)
        if db.obj.for_update:
            query = query.for_update()
        row = query.get()
        if logo_key is not None:
            values["logo_key"] = logo_key
        elif form.get("remove_logo") in ("1", "on", "true", "yes", True):
            values["logo_key"] = None
        if row.office_hours is None and values["office_hours"] == {
                k: v for k, v in office_hours_text(row).items() if v}:
            values["office_hours"] = None  # still the national default
        changes = {name: [getattr(row, name), value] for name, value in values.items()
                   if getattr(row, name) != value}
        if not changes:
            return []
        for name, (_old, new) in changes.items():
            setattr(row, name, new)
        row.save(only=[getattr(Agency, name) for name in changes])
        audit.record(actor, "agency.settings_updated", row, agency=row.code, changes=changes)
        if {"timezone", "office_hours"} & set(changes):
            # The clock of running tasks follows the new zone or hours at once.
            retime_open_tasks(actor, row, cause="settings.updated")
    return sorted(changes)


# -- the platform: agencies and their first administrators -----------------------------

_AGENCY_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")  # what SOP files name


def create_agency(actor: User | None, code: str, name: str, zone: str, admin_email: str,
                  admin_name: str = "") -> Agency:
    """Put a new agency on the portal with its first administrator, whose account has no
    password yet: an invitation e-mail carries the link that sets it. ``zone``: WIB, WITA,
    WIT or an IANA zone (Asia/Pontianak). For the platform's administrators (``None``: the
    command line)."""
    require_platform_admin(actor)
    code = (code or "").strip()
    name = " ".join((name or "").split())
    errors: dict[str, object] = {}
    if not _AGENCY_CODE.match(code):
        errors["code"] = _l("Kode hanya huruf, angka, '-' dan '_', diawali huruf, maksimal "
                            "64 karakter (mis. dinkes-bangka).")
    if not name:
        errors["name"] = _l("Nama instansi wajib diisi.")
    elif len(name) > NAME_MAX:
        errors["name"] = _l("Nama instansi terlalu panjang (maksimal %(n)s karakter).",
                            n=NAME_MAX)
    timezone = _zone_key(zone)
    if timezone is None:
        errors["zone"] = _l("Zona waktu: WIB, WITA, WIT atau nama zona IANA "
                            "(mis. Asia/Pontianak).")
    default_name = f"Admin {name}"[:NAME_MAX].strip()
    email, admin_name, _nip, problems = official_fields(admin_email, admin_name.strip()
                                                        or default_name, "")
    errors.update({f"admin_{field}": problem for field, problem in problems.items()})
    if errors:
        raise ValidationError(errors)
    with db.atomic():
        if Agency.select().where(Agency.code == code).exists():
            raise ValidationError({"code": _l("Kode %(code)s sudah dipakai instansi lain.",
                                              code=code)})
        if User.by_email(email):
            raise ValidationError({"admin_email": _l("Alamat e-mail ini sudah terdaftar.")})
        try:
            with db.atomic():
                agency = Agency.create(code=code, name=name, timezone=timezone)
                admin = User.create(email=email, name=admin_name, agency=agency,
                                    is_agency_admin=True, password_hash=UNUSABLE_PASSWORD)
        except IntegrityError:  # the same code or address, created meanwhile
            raise ValidationError({"code": _l("Kode atau alamat e-mail ini sudah dipakai.")}
                                  ) from None
        audit.record(actor, "agency.created", agency, code=code, name=name, timezone=timezone)
        audit.record(actor, "account.created", admin, agency=code, email=email,
                     agency_admin=True)
        notify.invitation(admin, "admin", agency)
    return agency


class AgencyRow(NamedTuple):
    """One agency as the platform lists it."""

    agency: Agency
    admins: int
    officials: int
    sops: int


def agency_rows() -> list[AgencyRow]:
    """Every agency by code, with its administrators, other officials and active SOPs."""
    people: dict[int, list[int]] = {}
    for agency_id, is_admin, count in (User.select(User.agency, User.is_agency_admin,
                                                   fn.COUNT(User.id))
                                       .where(User.agency.is_null(False) & User.active)
                                       .group_by(User.agency, User.is_agency_admin).tuples()):
        people.setdefault(agency_id, [0, 0])[0 if is_admin else 1] += count
    sops = dict(SopVersion.select(SopVersion.agency, fn.COUNT(fn.DISTINCT(SopVersion.code)))
                .where(SopVersion.active).group_by(SopVersion.agency).tuples())
    return [AgencyRow(agency, *people.get(agency.id, [0, 0]), sops.get(agency.id, 0))
            for agency in Agency.select().order_by(Agency.code)]
