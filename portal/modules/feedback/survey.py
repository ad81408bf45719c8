"""The Survei Kepuasan Masyarakat of PermenPANRB 14/2017: nine elements answered on the
regulation's 1-4 scale, one response per completed file, and the index of a service over
a period (the mean of the elements' averages, equal weights, times 25) with its quality
category. The index and the categories are pure; the response is an operation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from peewee import IntegrityError, fn

from portal.core.db import db
from portal.core.errors import NotFound, OperationError, PermissionDenied, ValidationError
from portal.core.i18n import lazy_gettext as _l
from portal.core.model import utcnow
from portal.modules.accounts.models import User
from portal.modules.applications.models import Application
from portal.modules.audit import trail as audit
from portal.modules.feedback.models import SurveyResponse

__all__ = ["ELEMENTS", "SCALE", "SurveyIndex", "category", "comments", "index_of",
           "invitation_state", "submit_response", "survey_index"]

# The nine elements (unsur) of PermenPANRB 14/2017, in its order.
ELEMENTS = (
    ("u1", _l("Persyaratan")),
    ("u2", _l("Sistem, mekanisme, dan prosedur")),
    ("u3", _l("Waktu penyelesaian")),
    ("u4", _l("Biaya/tarif")),
    ("u5", _l("Produk spesifikasi jenis pelayanan")),
    ("u6", _l("Kompetensi pelaksana")),
    ("u7", _l("Perilaku pelaksana")),
    ("u8", _l("Penanganan pengaduan, saran, dan masukan")),
    ("u9", _l("Sarana dan prasarana")),
)
SCALE = ((1, _l("Tidak baik")), (2, _l("Kurang baik")), (3, _l("Baik")), (4, _l("Sangat baik")))
COMMENT_MAX = 2000

# The regulation's converted-value intervals (nilai interval konversi), lowest bound of
# each quality category (mutu pelayanan): 88.31-100 A, 76.61-88.30 B, 65.00-76.60 C,
# 25.00-64.99 D. The index is rounded to two decimals first, as the regulation writes it.
CATEGORIES = (
    (Decimal("88.31"), "A", _l("sangat baik")),
    (Decimal("76.61"), "B", _l("baik")),
    (Decimal("65.00"), "C", _l("kurang baik")),
    (Decimal("25.00"), "D", _l("tidak baik")),
)


@dataclass(frozen=True)
class SurveyIndex:
    """The index of a set of responses: how many, each element's average, the index
    (25-100, two decimals) and the quality category (A-D) with its words."""

    responses: int
    element_means: tuple[float, ...]
    index: Decimal
    grade: str
    label: object  # lazily translated words of the category


def category(index: Decimal | float) -> tuple[str, object]:
    """(letter, words) of the quality category of an index already rounded to two
    decimals (88.31 -> A; 88.30 -> B; 76.60 -> C; 64.99 -> D)."""
    value = Decimal(str(index)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    for lowest, grade, words in CATEGORIES:
        if value >= lowest:
            return grade, words
    return CATEGORIES[-1][1], CATEGORIES[-1][2]


def survey_index(responses: Iterable[Sequence[int]]) -> SurveyIndex | None:
    """The index of responses (each the nine scores in element order); None without any.

    Each element's average over the responses, their mean with equal weights (1/9: the
    regulation's 0.111 rounded), times 25, rounded half up to two decimals."""
    sums = [0] * len(ELEMENTS)
    count = 0
    for scores in responses:
        count += 1
        for i, score in enumerate(scores):
            sums[i] += score
    return _index(count, sums) if count else None


def _index(count: int, sums: Sequence[int]) -> SurveyIndex:
    """The index of ``count`` responses whose scores per element add up to ``sums``: the
    one place the regulation's formula is written."""
    means = tuple(Decimal(int(s)) / count for s in sums)
    index = (sum(means) / len(means) * 25).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    grade, label = category(index)
    return SurveyIndex(count, tuple(float(m) for m in means), index, grade, label)


def index_of(agency_id: int | None = None, sop_code: str | None = None,
             since: dt.datetime | None = None, until: dt.datetime | None = None
             ) -> dict[str, SurveyIndex]:
    """The index per SOP code of the responses answered in [since, until) (sums in the
    database: one statement however many responses)."""
    columns = [getattr(SurveyResponse, name) for name, _label in ELEMENTS]
    query = SurveyResponse.select(SurveyResponse.sop_code, fn.COUNT(SurveyResponse.id),
                                  *(fn.SUM(c) for c in columns))
    if agency_id is not None:
        query = query.where(SurveyResponse.agency == agency_id)
    if sop_code:
        query = query.where(SurveyResponse.sop_code == sop_code)
    if since is not None:
        query = query.where(SurveyResponse.answered_at >= since)
    if until is not None:
        query = query.where(SurveyResponse.answered_at < until)
    return {code: _index(count, sums)
            for code, count, *sums in query.group_by(SurveyResponse.sop_code).tuples()}


def invitation_state(user, application: Application) -> str | None:
    """What the file's page offers its applicant: "open" (invited, not answered yet),
    "answered", or None (not the applicant's completed file)."""
    if (not getattr(user, "is_authenticated", False) or application.applicant_id != user.id
            or application.status != "completed"):
        return None
    answered = SurveyResponse.select().where(
        SurveyResponse.application == application.id).exists()
    return "answered" if answered else "open"


def submit_response(user: User, application_id: int, answers: Mapping[str, object],
                    comment: str = "", now: dt.datetime | None = None) -> SurveyResponse:
    """Record the applicant's answers for a completed file, once; every element 1-4."""
    now = now or utcnow()
    application = Application.get_or_none(Application.id == application_id)
    if application is None or application.applicant_id != user.id:
        raise NotFound(_l("Berkas tidak ditemukan."))
    if application.status != "completed":
        raise PermissionDenied(_l("Survei dibuka setelah berkas selesai."))
    scores, errors = {}, {}
    for name, label in ELEMENTS:
        raw = str(answers.get(name) or "").strip()
        if raw not in {"1", "2", "3", "4"}:
            errors[name] = _l("Pilih nilai 1 sampai 4 untuk %(element)s.", element=label)
            continue
        scores[name] = int(raw)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = _l("Saran paling banyak %(n)s karakter.", n=COMMENT_MAX)
    if errors:
        raise ValidationError(errors)
    try:
        with db.atomic():
            response = SurveyResponse.create(
                application=application, agency=application.agency_id,
                sop_code=application.sop.code, answered_at=now, comment=comment, **scores)
            # Who answered is kept (one response per file); what they answered is not.
            audit.record(user, "survey.answered", application)
    except IntegrityError:
        raise OperationError(_l("Survei untuk berkas ini sudah diisi. Terima kasih.")) \
            from None
    return response


def comments(agency_id: int, sop_code: str | None, since: dt.datetime, until: dt.datetime,
             limit: int = 20) -> list[str]:
    """The newest comments answered in [since, until), text only (nothing of who wrote)."""
    query = (SurveyResponse.select(SurveyResponse.comment)
             .where((SurveyResponse.agency == agency_id) & (SurveyResponse.comment != "")
                    & (SurveyResponse.answered_at >= since)
                    & (SurveyResponse.answered_at < until))
             .order_by(SurveyResponse.answered_at.desc()).limit(limit))
    if sop_code:
        query = query.where(SurveyResponse.sop_code == sop_code)
    return [text for text, in query.tuples()]
