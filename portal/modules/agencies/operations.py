"""The administrator's operations on the agency's days off (the SLA clock stops on them)."""

from __future__ import annotations

from peewee import IntegrityError

from portal.core.db import db
from portal.core.errors import NotFound, ValidationError
from portal.core.forms import NAME_MAX, iso_date, parse_date
from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts.models import User
from portal.modules.accounts.staff import admin_agency
from portal.modules.agencies.models import Agency, DayOff
from portal.modules.audit import trail as audit


def days_off(agency: Agency) -> list[DayOff]:
    """The agency's own days off, by date."""
    return list(DayOff.select().where(DayOff.agency == agency).order_by(DayOff.day))


def add_day_off(actor: User, day, name: str) -> DayOff:
    """Close the agency on a date (cuti bersama, a local holiday): no working time counts."""
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
    return day_off


def remove_day_off(actor: User, day_off_id: int) -> None:
    """Open the agency again on a day it had closed."""
    agency = admin_agency(actor)
    with db.atomic():
        day_off = DayOff.get_or_none((DayOff.id == day_off_id) & (DayOff.agency == agency))
        if day_off is None:
            raise NotFound(_l("Hari libur tidak ditemukan."))
        audit.record(actor, "day_off.removed", day_off, agency=agency.code,
                     day=iso_date(day_off.day), name=day_off.name)
        day_off.delete_instance()

