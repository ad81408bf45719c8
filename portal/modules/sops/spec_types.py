"""The SOP format as data: enums and the frozen dataclasses an SOP file is loaded into.

An SOP (standar operasional prosedur) is data, not code; ``portal.modules.sops.spec``
reads and checks the YAML and builds these. No Flask, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum, StrEnum
from typing import Any

from portal.calendar import duration as durations
from portal.calendar.duration import Duration, Unit, total_minutes

__all__ = [
    "ACCOUNT_ACTIONS", "FIELD_TYPES", "FORMAT", "MEDIA_TYPES", "ActionKind", "ActorKind",
    "ActorSpec", "ComplaintsTo", "Condition", "DocumentSpec", "Effect", "FieldSpec",
    "LetterSpec", "OutcomeSpec", "Phase", "SopHeader", "SopSpec", "StepSpec",
]

FORMAT = "absah-sop/1"


class ActorKind(StrEnum):
    """Who an actor is: the applicant, a position (jabatan) in an agency, or an outside party."""

    APPLICANT = "applicant"
    POSITION = "position"
    EXTERNAL = "external"


class Phase(StrEnum):
    """ACCOUNT steps happen while the applicant's account is made; APPLICATION steps per file."""

    ACCOUNT = "account"
    APPLICATION = "application"


class ActionKind(StrEnum):
    """What a step does; it decides the verbs the portal shows and what is recorded."""

    # account phase
    REGISTER = "register"
    ACTIVATE = "activate"
    CONFIRM_EMAIL = "confirm_email"
    LOGIN = "login"
    # application phase
    SUBMIT = "submit"
    DRAFT = "draft"
    CHECK = "check"
    VERIFY = "verify"
    PARAF = "paraf"
    APPROVE = "approve"
    SIGN = "sign"
    PRINT = "print"
    NUMBER = "number"
    ISSUE = "issue"
    ARCHIVE = "archive"
    DISTRIBUTE = "distribute"
    HAND_OVER = "hand_over"
    COLLECT = "collect"
    RECEIVE = "receive"
    RECORD_EXTERNAL = "record_external"
    PUBLISH = "publish"
    HOLD_EVENT = "hold_event"
    INVOICE = "invoice"
    PAY = "pay"
    NOTIFY = "notify"


ACCOUNT_ACTIONS = frozenset(
    {ActionKind.REGISTER, ActionKind.ACTIVATE, ActionKind.CONFIRM_EMAIL, ActionKind.LOGIN}
)


class Effect(StrEnum):
    """What an outcome does to the file."""

    FORWARD = "forward"  # on to the next step (or the one named by `to`); past the last: done
    RETURN = "return"  # back for correction to step `to`; resumes at `back_to` once corrected
    REJECT = "reject"  # the case ends, refused


FIELD_TYPES = ("text", "textarea", "number", "date", "choice", "email", "phone", "nik")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


# ---------------------------------------------------------------------------------------------
# The spec


@dataclass(frozen=True)
class Condition:
    """A test on the applicant's form data: field equals / in / filled, or all / any / not."""

    op: str  # equals | in | filled | all | any | not
    field: str | None = None
    value: Any = None
    children: tuple[Condition, ...] = ()

    def holds(self, form: Mapping[str, Any]) -> bool:
        """Evaluate on form data (missing fields are empty)."""
        if self.op == "all":
            return all(c.holds(form) for c in self.children)
        if self.op == "any":
            return any(c.holds(form) for c in self.children)
        if self.op == "not":
            return not self.children[0].holds(form)
        current = form.get(self.field)
        if self.op == "filled":
            return (current not in (None, "", [])) == bool(self.value)
        if self.op == "equals":
            return _same(current, self.value)
        if self.op == "in":
            return any(_same(current, v) for v in self.value)
        raise ValueError(f"unknown condition {self.op}")  # unreachable: validated at load

    def fields(self) -> set[str]:
        """Every form field the condition reads."""
        names = {self.field} if self.field else set()
        for child in self.children:
            names |= child.fields()
        return names


def _same(current: Any, expected: Any) -> bool:
    # Form data arrives as text from HTML forms; compare as text so `equals: 2` matches "2".
    return current is not None and str(current) == str(expected)


@dataclass(frozen=True)
class FieldSpec:
    """One input of the applicant's form."""

    key: str
    label: str
    type: str = "text"
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    personal: bool = False  # NIK, health data: never in e-mails, logs or public pages
    when: Condition | None = None
    help: str = ""
    public: bool = False  # a recorded value (step `record`) the applicant also sees
    not_before: str = ""  # a date field: the key of the date field it may not precede

    def applies(self, form: Mapping[str, Any]) -> bool:
        return self.when is None or self.when.holds(form)


@dataclass(frozen=True)
class DocumentSpec:
    """A document of the file: one the applicant uploads (persyaratan), or one an official
    produces at their step (``step`` names it), e.g. a technical recommendation."""

    key: str
    label: str
    required: bool = True
    when: Condition | None = None
    media: tuple[str, ...] = ("pdf", "jpeg", "png")
    max_size_mb: int = 5
    personal: bool = False
    help: str = ""
    step: str | None = None  # uploaded at this step (default: the step that opens the file)
    public: bool = False  # an official's document the applicant sees on the tracking page

    def applies(self, form: Mapping[str, Any]) -> bool:
        return self.when is None or self.when.holds(form)

    @property
    def media_types(self) -> tuple[str, ...]:
        return tuple(MEDIA_TYPES[m] for m in self.media)


@dataclass(frozen=True)
class ActorSpec:
    """A role in the SOP table (pelaksana)."""

    key: str
    title: str
    kind: ActorKind
    office: str | None = None  # another agency's code when the position sits there
    recorded_by: str | None = None  # for external parties: the position that records the result


@dataclass(frozen=True)
class OutcomeSpec:
    """One choice the actor of a step has."""

    key: str
    label: str
    effect: Effect
    to: str | None = None
    back_to: str | None = None
    note_required: bool = False


@dataclass(frozen=True)
class StepSpec:
    """One row of the SOP table."""

    key: str
    ref: str  # the row number in the original ("5", "6a")
    title: str
    actor: str
    action: ActionKind
    time: Duration | None
    outcomes: tuple[OutcomeSpec, ...]
    phase: Phase = Phase.APPLICATION
    until_field: str | None = None  # "sesuai jadwal": due at the end of this date field
    inputs: tuple[str, ...] = ()  # kelengkapan
    output: str = ""
    documents: tuple[str, ...] = ()  # documents judged one by one at this step
    letters: tuple[str, ...] = ()
    when: Condition | None = None  # the step only runs when this holds
    note: str = ""
    record: tuple[FieldSpec, ...] = ()  # what the actor records here (a code, a handover)
    short: str = ""  # a few words for headings on a phone; the title is the SOP's sentence

    def outcome(self, key: str) -> OutcomeSpec | None:
        return next((o for o in self.outcomes if o.key == key), None)

    @property
    def heading(self) -> str:
        """``short``, else the title cut at eight words (the full title stays on the page)."""
        words = self.title.split()
        return self.short or (self.title if len(words) <= 8 else " ".join(words[:8]) + " …")


@dataclass(frozen=True)
class LetterSpec:
    """A document the SOP produces (output)."""

    key: str
    title: str
    signer: str | None = None  # actor key of the signing position
    numbering: str | None = None  # e.g. "445/{seq}/SDMK/{roman_month}/{year}"
    note: str = ""
    notice: str = "issued"  # the applicant's e-mail: "issued", or "collection" (a pickup ticket)


@dataclass(frozen=True)
class ComplaintsTo:
    """Who answers complaints about the service (the header's ``complaints_to``): a position
    actor of the SOP, and the standard time of an answer when the SOP states one."""

    actor: str
    time: Duration | None = None


@dataclass(frozen=True)
class SopHeader:
    """The header block of an SOP document."""

    number: str
    name: str
    created: str = ""
    revised: str = ""
    effective: str = ""
    approved_by: str = ""
    legal_basis: tuple[str, ...] = ()
    qualifications: tuple[str, ...] = ()
    related_sops: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()
    warning: tuple[str, ...] = ()
    records: tuple[str, ...] = ()
    total_time: Duration | None = None
    # The public service standard's components (PermenPANRB 15/2014), shown on the service
    # page: biaya/tarif, produk layanan, penanganan pengaduan, jam pelayanan.
    cost: str = ""
    product: tuple[str, ...] = ()
    complaints: tuple[str, ...] = ()
    service_hours: str = ""
    # Who answers complaints, and how soon; None: the agency's setting decides.
    complaints_to: ComplaintsTo | None = None


@dataclass(frozen=True)
class SopSpec:
    """A whole SOP: header, actors, form, documents, steps and letters."""

    code: str
    version: int
    agency: str
    title: str
    header: SopHeader
    actors: tuple[ActorSpec, ...]
    fields: tuple[FieldSpec, ...]
    documents: tuple[DocumentSpec, ...]
    steps: tuple[StepSpec, ...]
    letters: tuple[LetterSpec, ...]
    source_sha256: str = field(default="", compare=False)

    def step(self, key: str) -> StepSpec:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)

    def actor(self, key: str) -> ActorSpec:
        for actor in self.actors:
            if actor.key == key:
                return actor
        raise KeyError(key)

    def document(self, key: str) -> DocumentSpec:
        for document in self.documents:
            if document.key == key:
                return document
        raise KeyError(key)

    def letter(self, key: str) -> LetterSpec:
        for letter in self.letters:
            if letter.key == key:
                return letter
        raise KeyError(key)

    def issuing_step(self, letter_key: str) -> StepSpec:
        """Where a letter is numbered, signed and issued: the step that produces it, or the
        first later numbering step (a digital signature must cover the number, so a letter
        "signed, then numbered" on paper is issued once numbered)."""
        steps = self.application_steps
        start = next(i for i, s in enumerate(steps) if letter_key in s.letters)
        for step in steps[start:]:
            if step.action is ActionKind.NUMBER:
                return step
        return steps[start]

    def letters_issued_at(self, step_key: str) -> tuple[LetterSpec, ...]:
        """The letters issued when this step is decided."""
        produced = {k for s in self.application_steps for k in s.letters}
        return tuple(lt for lt in self.letters
                     if lt.key in produced and self.issuing_step(lt.key).key == step_key)

    def by_official(self, document: DocumentSpec) -> bool:
        """True for a document an official produces at their step (not the applicant's, nor
        one uploaded when the file is opened)."""
        steps = self.application_steps
        if document.step is None or not steps or document.step == steps[0].key:
            return False
        try:
            return self.actor(self.step(document.step).actor).kind is not ActorKind.APPLICANT
        except KeyError:  # a dangling reference, reported by the check
            return False

    @property
    def requirements(self) -> tuple[DocumentSpec, ...]:
        """The documents the applicant (or the official opening the file) provides."""
        return tuple(d for d in self.documents if not self.by_official(d))

    @property
    def official_documents(self) -> tuple[DocumentSpec, ...]:
        """The documents officials produce at their steps, in the SOP's order."""
        return tuple(d for d in self.documents if self.by_official(d))

    @property
    def account_steps(self) -> tuple[StepSpec, ...]:
        return tuple(s for s in self.steps if s.phase is Phase.ACCOUNT)

    @property
    def application_steps(self) -> tuple[StepSpec, ...]:
        return tuple(s for s in self.steps if s.phase is Phase.APPLICATION)

    @property
    def initiator(self) -> ActorSpec:
        """Who opens a file: the actor of the first application step."""
        return self.actor(self.application_steps[0].actor)

    @property
    def requires_account_approval(self) -> bool:
        """True when an official must activate an applicant's account before they apply."""
        return any(s.action is ActionKind.ACTIVATE for s in self.account_steps)

    @property
    def stated_times(self) -> tuple[Duration, ...]:
        return tuple(s.time for s in self.steps if s.time is not None)

    @property
    def total_minutes(self) -> int:
        """Sum of the stated standard times, in the SOP authors' nominal minutes."""
        return total_minutes(self.stated_times)

    def total_label(self, language: str | None = "id") -> str:
        """The total standard time as the SOP states it, else its stated times added per unit,
        in the reader's language ("id" or "en"): '7 hari kerja', '49 jam 45 menit'.

        Units are not converted into each other when the SOP gives no total: a month of an
        outside party and fifteen office minutes do not add up to a meaningful number.
        """
        if self.header.total_time is not None:
            return self.header.total_time.label(language)
        sums: dict[Unit, int] = {}
        for duration in self.stated_times:
            sums[duration.unit] = sums.get(duration.unit, 0) + duration.amount
        minutes = sums.pop(Unit.MINUTES, 0) + 60 * sums.pop(Unit.HOURS, 0)
        parts = [durations.amount_label(sums[u], u, language) for u in
                 (Unit.MONTHS, Unit.DAYS, Unit.WORKING_DAYS) if sums.get(u)]
        if minutes:
            parts.append(durations.minutes_label(minutes, language))
        if not parts:
            return durations.no_standard_time(language)
        partly = any(s.time is None and s.until_field is None for s in self.application_steps)
        return " + ".join(parts) + (durations.some_steps_untimed(language) if partly else "")

    def to_data(self) -> dict:
        """Plain data (dicts, lists, strings), e.g. for JSON."""
        return _plain(asdict(self))


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
