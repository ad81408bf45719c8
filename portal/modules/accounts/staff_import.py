"""Importing an agency's staff from a CSV file (``flask agency staff CODE FILE.csv`` and the
platform page): positions and officials created or updated, each official given their
position, in one transaction. The same rules as the administrator's forms (``staff``);
an official created here has no password yet and gets an invitation to choose one.

A second run of the same file changes nothing and says so. A bad row is reported with its
line number, and then nothing at all is applied.

(Not in ``staff``: the invitation goes through the outbox, which asks ``staff`` who
administers an agency.)"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from portal.core.db import db
from portal.core.errors import ValidationError
from portal.core.i18n import lazy_gettext as _l
from portal.modules.accounts import notify
from portal.modules.accounts.models import Assignment, Position, User
from portal.modules.accounts.staff import (
    UNUSABLE_PASSWORD,
    may_manage_staff,
    official_fields,
    position_fields,
)
from portal.modules.agencies.models import Agency
from portal.modules.audit import trail as audit

__all__ = ["COLUMNS", "StaffImportError", "StaffReport", "StaffRow", "import_staff"]

COLUMNS = ("email", "name", "nip", "position_key", "position_title")
MAX_ROWS = 5000


@dataclass(frozen=True)
class StaffRow:
    """What one line of the file did: ``created`` (a new account), ``updated`` or
    ``unchanged``, with the changes in words (account, name, nip, position, title, holds)."""

    line: int
    email: str
    outcome: str
    changes: tuple[str, ...] = ()


@dataclass
class StaffReport:
    """What an import did, row by row."""

    agency: Agency
    rows: list[StaffRow] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def changed(self) -> bool:
        return any(row.outcome != "unchanged" for row in self.rows)


class StaffImportError(ValidationError):
    """Lines of a staff file that cannot be applied (nothing was): ``problems`` holds
    (line, column, message) in file order."""

    def __init__(self, problems: list[tuple[int, str, object]]):
        self.problems = problems
        super().__init__({"file": _l("%(n)s baris bermasalah; tidak ada yang diubah.",
                                     n=len({line for line, _c, _m in problems}))})

    def __str__(self) -> str:
        return "\n".join(f"line {line}: {column}: {message}"
                         for line, column, message in self.problems)


def _rows(text: str) -> tuple[list[tuple[int, dict]], list[tuple[int, str, object]]]:
    """(line, row) of every data row, and the problems of the file's shape. Commas or
    semicolons (spreadsheets set to Indonesian write those)."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    if tuple(header) != COLUMNS:
        return [], [(1, "header", _l("Baris judul harus %(columns)s.",
                                     columns=",".join(COLUMNS)))]
    rows, problems = [], []
    line = reader.line_num
    for values in reader:
        start, line = line + 1, reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(COLUMNS):
            problems.append((start, "row", _l("Baris ini punya %(found)s kolom; "
                                              "seharusnya %(n)s.", found=len(values),
                                              n=len(COLUMNS))))
            continue
        rows.append((start, dict(zip(COLUMNS, values, strict=True))))
    if not rows and not problems:
        problems.append((1, "file", _l("Berkas tidak berisi satu baris pegawai pun.")))
    elif len(rows) > MAX_ROWS:
        problems.append((1, "file", _l("Paling banyak %(n)s baris sekali impor.", n=MAX_ROWS)))
    return rows, problems


def import_staff(actor: User | None, agency: Agency, text: str) -> StaffReport:
    """Create or update the agency's positions and officials from a CSV text with the
    header ``email,name,nip,position_key,position_title``; each official holds the row's
    position definitively from today unless they hold it already. Positions and people
    are never removed. Raises StaffImportError (nothing applied) on any bad line."""
    may_manage_staff(actor, agency)
    rows, problems = _rows(text)
    if problems:
        raise StaffImportError(problems)
    report = StaffReport(agency)
    today = agency.today()
    titles: dict[str, tuple[str, int]] = {}  # position key -> (title, line) set by the file
    with db.atomic():  # raising inside undoes every row
        for line, values in rows:
            row_problems: list[tuple[int, str, object]] = []
            row = _apply(actor, agency, today, line, values, titles, row_problems)
            if row_problems:
                problems.extend(row_problems)
            elif row is not None:
                report.rows.append(row)
        if problems:
            raise StaffImportError(problems)
        audit.record(actor, "staff.imported", agency, agency=agency.code,
                     created=report.count("created"), updated=report.count("updated"),
                     unchanged=report.count("unchanged"))
    return report


def _apply(actor, agency, today, line, values, titles, problems) -> StaffRow | None:
    email, name, nip, errors = official_fields(values["email"], values["name"], values["nip"])
    key = values["position_key"].strip()
    title = values["position_title"].strip()
    position = None
    if key:
        key, title, position_errors = position_fields(key, title)
        if "key" in position_errors:
            errors["position_key"] = position_errors["key"]
        elif "title" in position_errors and title:
            errors["position_title"] = position_errors["title"]
        else:
            position = Position.get_or_none((Position.agency == agency) & (Position.key == key))
            earlier = titles.get(key)
            if position is None and not title:
                errors["position_title"] = _l("Jabatan baru: nama jabatannya wajib diisi.")
            elif earlier and title and title != earlier[0]:
                errors["position_title"] = _l("Baris %(line)s memberi jabatan ini nama lain "
                                              "(%(title)s).", line=earlier[1], title=earlier[0])
    elif title:
        errors["position_key"] = _l("Nama jabatan tanpa kuncinya: isi position_key.")
    user = User.by_email(email) if "email" not in errors else None
    if user is not None and user.agency_id != agency.id:
        errors["email"] = _l("Alamat ini milik akun di luar instansi ini.")
    if errors:
        problems.extend((line, column, message) for column, message in errors.items())
        return None

    changes: list[str] = []
    outcome = "unchanged"
    if user is None:
        user = User.create(email=email, name=name, nip=nip or None, agency=agency,
                           password_hash=UNUSABLE_PASSWORD)
        audit.record(actor, "account.created", user, agency=agency.code, email=email,
                     imported=True)
        notify.invitation(user, "official", agency)
        changes.append("account created, invitation sent")
        outcome = "created"
    else:
        update = {}
        if user.name != name:
            update["name"] = name
        if nip and user.nip != nip:
            update["nip"] = nip
        if update:
            User.update(**update).where(User.id == user.id).execute()
            for column, value in update.items():
                setattr(user, column, value)
            audit.record(actor, "account.updated", user, agency=agency.code, imported=True,
                         **update)
            changes.extend(update)
    if key:
        if position is None:
            position = Position.create(agency=agency, key=key, title=title)
            audit.record(actor, "position.created", position, agency=agency.code, key=key,
                         imported=True)
            changes.append(f"position {key} created")
        elif title and position.title != title:
            position.title = title
            position.save()
            audit.record(actor, "position.updated", position, agency=agency.code, key=key,
                         title=title, imported=True)
            changes.append(f"position {key} renamed")
        titles[key] = (position.title, line)
        holds = Assignment.select().where(
            (Assignment.user == user) & (Assignment.position == position)
            & (Assignment.capacity == "definitive")
            & (Assignment.ends_on.is_null() | (Assignment.ends_on >= today))).exists()
        if not holds:
            assignment = Assignment.create(user=user, position=position,
                                           capacity="definitive", starts_on=today)
            audit.record(actor, "assignment.created", assignment, user=email, position=key,
                         capacity="definitive", starts_on=today.isoformat(), ends_on=None,
                         imported=True)
            changes.append(f"holds {key}")
    if changes and outcome == "unchanged":
        outcome = "updated"
    return StaffRow(line, email, outcome, tuple(changes))
