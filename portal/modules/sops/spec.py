"""SOP specifications: the YAML format loaded into frozen dataclasses, with validation.

An SOP (standar operasional prosedur) is data, not code. This module reads one YAML
file, checks it thoroughly (unknown keys, dangling or unreachable steps, undefined
actors, unreadable durations) and returns an immutable :class:`SopSpec` (the dataclasses
are in ``spec_types``, and importable from here too). Errors name the file, the line, the
key path and the reason. No Flask, no database.
The format is documented for agencies in ``docs/sop-format.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import yaml

from portal.calendar.duration import Duration, DurationError, parse_duration
from portal.modules.sops.spec_types import (
    ACCOUNT_ACTIONS,
    FIELD_TYPES,
    FORMAT,
    MEDIA_TYPES,
    ActionKind,
    ActorKind,
    ActorSpec,
    ComplaintsTo,
    Condition,
    DocumentSpec,
    Effect,
    FieldSpec,
    LetterSpec,
    OutcomeSpec,
    Phase,
    SopHeader,
    SopSpec,
    StepSpec,
)

__all__ = [
    "ActionKind", "ActorKind", "ActorSpec", "ComplaintsTo", "Condition", "DocumentSpec",
    "Effect", "FieldSpec", "LetterSpec", "OutcomeSpec", "Phase", "SopError", "SopHeader",
    "SopSpec", "SpecIssue", "StepSpec", "load_sop", "load_sop_file",
]


# ---------------------------------------------------------------------------------------------
# Loading and validation


@dataclass(frozen=True)
class SpecIssue:
    """One problem in an SOP file: where, and why."""

    path: str
    line: int | None
    reason: str

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line else filename
        return f"{where}: {self.path or '(top)'}: {self.reason}"


class SopError(ValueError):
    """An SOP file that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, filename: str, issues: list[SpecIssue]):
        self.filename = filename
        self.issues = issues
        super().__init__("\n".join(i.format(filename) for i in issues))


def load_sop_file(path) -> SopSpec:
    """Load and validate one SOP YAML file; raises SopError."""
    with open(path, encoding="utf-8") as handle:
        return load_sop(handle.read(), filename=str(path))


def load_sop(text: str, filename: str = "<sop>") -> SopSpec:
    """Load and validate SOP YAML text; raises SopError naming file, line, key and reason."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise SopError(filename, [SpecIssue("", line, f"not valid YAML: {exc.problem}")]) from None
    if node is None:
        raise SopError(filename, [SpecIssue("", None, "the file is empty")])
    lines: dict[str, int] = {}
    data = _to_data(node, "", lines)
    reader = _Reader(lines)
    spec = reader.sop(data)
    if reader.issues:
        raise SopError(filename, reader.issues)
    return dataclasses.replace(spec, source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


# libyaml's parser when available (about 20x faster); the same nodes and line marks either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.SafeLoader("")  # builds scalars exactly as yaml.safe_load would


def _to_data(node, path: str, lines: dict[str, int]):
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = str(_CONSTRUCTOR.construct_object(key_node, deep=True))
            child = f"{path}.{key}" if path else key
            lines[child] = key_node.start_mark.line + 1
            out[key] = _to_data(value_node, child, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(item, f"{path}[{i}]", lines) for i, item in enumerate(node.value)]
    value = _CONSTRUCTOR.construct_object(node, deep=True)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


_MISSING = object()


class _Reader:
    """Turns plain data into the spec, collecting every issue instead of stopping at the first."""

    def __init__(self, lines: dict[str, int]):
        self.lines = lines
        self.issues: list[SpecIssue] = []

    # -- helpers ------------------------------------------------------------------------------
    def problem(self, path: str, reason: str) -> None:
        line = self.lines.get(path)
        probe = path
        while line is None and probe:
            probe = probe.rsplit(".", 1)[0] if "." in probe else probe.split("[")[0]
            if probe == path:
                break
            line = self.lines.get(probe)
        self.issues.append(SpecIssue(path, line, reason))

    def mapping(self, value, path: str, allowed: set[str], required: set[str] = frozenset()):
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping of keys, got {_kind(value)}")
            return {}
        for key in value:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.problem(_join(path, key), f"unknown key {key!r} (allowed here: {hint})")
        for key in sorted(required - set(value)):
            self.problem(_join(path, key), "required key is missing")
        return value

    def text(self, value, path: str, default: Any = _MISSING) -> str:
        if value is None and default is not _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(path, f"expected text, got {_kind(value)}")
            return "" if default is _MISSING else default
        return str(value).strip()

    def texts(self, value, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, (str, int)):
            return (str(value),)
        if not isinstance(value, list):
            self.problem(path, f"expected a list of texts, got {_kind(value)}")
            return ()
        return tuple(self.text(v, f"{path}[{i}]") for i, v in enumerate(value))

    def flag(self, value, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, f"expected true or false, got {value!r}")
            return default
        return value

    def key(self, value, path: str) -> str:
        text = self.text(value, path, "")
        if not text or not all(c.isalnum() or c in "_-" for c in text) or not text[0].isalpha():
            self.problem(path, f"{value!r} is not a usable key: letters, digits, '_' or '-', "
                         "starting with a letter")
        return text

    def duration(self, value, path: str) -> Duration | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except DurationError as exc:
            self.problem(path, str(exc))
            return None

    def items(self, value, path: str):
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, f"expected a list, got {_kind(value)}")
            return []
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]

    def condition(self, value, path: str) -> Condition | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not value:
            self.problem(path, "expected a condition such as {field: purpose, equals: new}")
            return None
        combinators = {"all", "any", "not"} & set(value)
        if combinators:
            self.mapping(value, path, {"all", "any", "not"})
            op = sorted(combinators)[0]
            if len(value) != 1:
                self.problem(path, "combine conditions with exactly one of all / any / not")
            if op == "not":
                child = self.condition(value["not"], f"{path}.not")
                return Condition("not", children=(child,)) if child else None
            children = tuple(
                c for p, item in self.items(value[op], f"{path}.{op}")
                if (c := self.condition(item, p)) is not None
            )
            return Condition(op, children=children)
        self.mapping(value, path, {"field", "equals", "in", "filled"}, {"field"})
        tests = [k for k in ("equals", "in", "filled") if k in value]
        if len(tests) != 1:
            self.problem(path, "a condition needs exactly one of equals / in / filled")
            return None
        op = tests[0]
        operand = value[op]
        if op == "in" and not isinstance(operand, list):
            self.problem(f"{path}.in", "expected a list of values")
            return None
        if op == "filled" and not isinstance(operand, bool):
            self.problem(f"{path}.filled", "expected true or false")
            return None
        return Condition(op, field=self.text(value.get("field"), f"{path}.field", ""),
                         value=tuple(operand) if op == "in" else operand)

    # -- sections ------------------------------------------------------------------------------
    def sop(self, data) -> SopSpec:
        top = self.mapping(
            data, "",
            {"format", "code", "version", "agency", "title", "header", "actors", "fields",
             "documents", "steps", "letters"},
            {"format", "code", "version", "agency", "title", "header", "actors", "steps"},
        )
        if top.get("format", FORMAT) != FORMAT:
            self.problem("format", f"unsupported format {top.get('format')!r} (expected {FORMAT})")
        version = top.get("version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            self.problem("version", f"expected a whole number from 1, got {version!r}")
            version = 1
        actors = self.actors(top.get("actors"))
        fields = self.fields(top.get("fields"))
        documents = self.documents(top.get("documents"))
        letters = self.letters(top.get("letters"))
        steps = self.steps(top.get("steps"))
        spec = SopSpec(
            code=self.key(top.get("code"), "code"),
            version=version,
            agency=self.key(top.get("agency"), "agency"),
            title=self.text(top.get("title"), "title", ""),
            header=self.header(top.get("header")),
            actors=actors,
            fields=fields,
            documents=documents,
            steps=steps,
            letters=letters,
        )
        _Checker(self, spec).run()
        return spec

    def header(self, value) -> SopHeader:
        path = "header"
        h = self.mapping(value, path, {
            "number", "name", "created", "revised", "effective", "approved_by", "legal_basis",
            "qualifications", "related_sops", "equipment", "warning", "records", "total_time",
            "cost", "product", "complaints", "complaints_to", "service_hours"},
            {"number", "name"})
        return SopHeader(
            number=self.text(h.get("number"), f"{path}.number", ""),
            name=self.text(h.get("name"), f"{path}.name", ""),
            created=self.text(h.get("created"), f"{path}.created", ""),
            revised=self.text(h.get("revised"), f"{path}.revised", ""),
            effective=self.text(h.get("effective"), f"{path}.effective", ""),
            approved_by=self.text(h.get("approved_by"), f"{path}.approved_by", ""),
            legal_basis=self.texts(h.get("legal_basis"), f"{path}.legal_basis"),
            qualifications=self.texts(h.get("qualifications"), f"{path}.qualifications"),
            related_sops=self.texts(h.get("related_sops"), f"{path}.related_sops"),
            equipment=self.texts(h.get("equipment"), f"{path}.equipment"),
            warning=self.texts(h.get("warning"), f"{path}.warning"),
            records=self.texts(h.get("records"), f"{path}.records"),
            total_time=self.duration(h.get("total_time"), f"{path}.total_time"),
            cost=self.stated(h, "cost", path),
            product=self.stated_list(h, "product", path),
            complaints=self.stated_list(h, "complaints", path),
            service_hours=self.stated(h, "service_hours", path),
            complaints_to=self.complaints_to(h, path),
        )

    def complaints_to(self, h: dict, path: str) -> ComplaintsTo | None:
        """Who answers complaints and how soon: ``{actor: <position actor>, time: <duration>}``
        (the actor is checked against the actors once all are read)."""
        if "complaints_to" not in h:
            return None
        path = f"{path}.complaints_to"
        c = self.mapping(h["complaints_to"], path, {"actor", "time"}, {"actor"})
        time = self.duration(c.get("time"), f"{path}.time")
        if time is not None and time.amount == 0:
            self.problem(f"{path}.time", "an answer takes time: give more than 0, or leave the "
                         "time out (the agency's standard time applies)")
        return ComplaintsTo(actor=self.text(c.get("actor"), f"{path}.actor", ""), time=time)

    def stated(self, h: dict, key: str, path: str) -> str:
        """An optional service-standard text: left out, or said (not blank)."""
        before = len(self.issues)
        value = self.text(h.get(key), f"{path}.{key}", "")
        # "empty" only when it is (a wrong kind of value is already named as such)
        if key in h and not value and len(self.issues) == before:
            self.problem(f"{path}.{key}", "empty: say what the SOP states, or leave the key out")
        return value

    def stated_list(self, h: dict, key: str, path: str) -> tuple[str, ...]:
        """An optional service-standard text or list of texts (several products or complaint
        channels), none blank."""
        before = len(self.issues)
        values = self.texts(h.get(key), f"{path}.{key}")
        if key in h and len(self.issues) == before and (
                not values or not all(v.strip() for v in values)):
            self.problem(f"{path}.{key}", "empty: say what the SOP states, or leave the key out")
        return tuple(v.strip() for v in values)

    def actors(self, value) -> tuple[ActorSpec, ...]:
        out = []
        if not isinstance(value, dict) or not value:
            self.problem("actors", "expected a mapping of actor keys to their descriptions")
            return ()
        for key, item in value.items():
            path = f"actors.{key}"
            a = self.mapping(item, path, {"title", "kind", "office", "recorded_by"},
                             {"title", "kind"})
            kind = _enum(self, ActorKind, a.get("kind"), f"{path}.kind", ActorKind.POSITION)
            if kind is ActorKind.EXTERNAL and not a.get("recorded_by"):
                self.problem(f"{path}.recorded_by",
                             "an external party needs the position that records its result")
            if kind is not ActorKind.EXTERNAL and a.get("recorded_by"):
                self.problem(f"{path}.recorded_by", "only external parties are recorded by others")
            if kind is ActorKind.APPLICANT and a.get("office"):
                self.problem(f"{path}.office", "the applicant belongs to no office")
            out.append(ActorSpec(
                key=self.key(key, path), title=self.text(a.get("title"), f"{path}.title", ""),
                kind=kind, office=self.text(a.get("office"), f"{path}.office", None),
                recorded_by=self.text(a.get("recorded_by"), f"{path}.recorded_by", None),
            ))
        return tuple(out)

    def fields(self, value, where: str = "fields") -> tuple[FieldSpec, ...]:
        out = []
        recorded = where != "fields"  # a step's `record`: what an official records
        allowed = {"key", "label", "type", "required", "choices", "personal", "when", "help",
                   "not_before"}
        for path, item in self.items(value, where):
            f = self.mapping(item, path, allowed | ({"public"} if recorded else set()),
                             {"key", "label"})
            ftype = self.text(f.get("type"), f"{path}.type", "text")
            if ftype not in FIELD_TYPES:
                self.problem(f"{path}.type", f"unknown field type {ftype!r} "
                             f"(known: {', '.join(FIELD_TYPES)})")
            choices: tuple[tuple[str, str], ...] = ()
            raw = f.get("choices")
            if ftype == "choice":
                if not isinstance(raw, dict) or not raw:
                    self.problem(f"{path}.choices", "a choice field needs a mapping value: label")
                else:
                    choices = tuple((str(k), self.text(v, f"{path}.choices.{k}"))
                                    for k, v in raw.items())
            elif raw is not None:
                self.problem(f"{path}.choices", "only fields of type choice have choices")
            out.append(FieldSpec(
                key=self.key(f.get("key"), f"{path}.key"),
                label=self.text(f.get("label"), f"{path}.label", ""), type=ftype,
                required=self.flag(f.get("required"), f"{path}.required", True),
                choices=choices,
                personal=self.flag(f.get("personal"), f"{path}.personal", ftype == "nik"),
                when=self.condition(f.get("when"), f"{path}.when"),
                help=self.text(f.get("help"), f"{path}.help", ""),
                public=self.flag(f.get("public"), f"{path}.public", False),
                not_before=self.text(f.get("not_before"), f"{path}.not_before", ""),
            ))
        dates = {f.key for f in out if f.type == "date"}
        for i, f in enumerate(out):
            if f.not_before and (f.type != "date" or f.not_before not in dates - {f.key}):
                self.problem(f"{where}[{i}].not_before",
                             "only a date field may have not_before, naming another date field "
                             f"(date fields: {', '.join(sorted(dates)) or 'none'})")
        return tuple(out)

    def documents(self, value) -> tuple[DocumentSpec, ...]:
        out = []
        for path, item in self.items(value, "documents"):
            d = self.mapping(item, path, {"key", "label", "required", "when", "media",
                                          "max_size_mb", "personal", "help", "step", "public"},
                             {"key", "label"})
            media = self.texts(d.get("media"), f"{path}.media") or ("pdf", "jpeg", "png")
            for i, m in enumerate(media):
                if m not in MEDIA_TYPES:
                    self.problem(f"{path}.media[{i}]", f"unknown media {m!r} "
                                 f"(known: {', '.join(MEDIA_TYPES)})")
            size = d.get("max_size_mb", 5)
            if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 50:
                self.problem(f"{path}.max_size_mb", "expected a whole number of MB, 1 to 50")
                size = 5
            out.append(DocumentSpec(
                key=self.key(d.get("key"), f"{path}.key"),
                label=self.text(d.get("label"), f"{path}.label", ""),
                required=self.flag(d.get("required"), f"{path}.required", True),
                when=self.condition(d.get("when"), f"{path}.when"), media=media,
                max_size_mb=size,
                personal=self.flag(d.get("personal"), f"{path}.personal", False),
                help=self.text(d.get("help"), f"{path}.help", ""),
                step=self.text(d.get("step"), f"{path}.step", None),
                public=self.flag(d.get("public"), f"{path}.public", False),
            ))
        return tuple(out)

    def letters(self, value) -> tuple[LetterSpec, ...]:
        out = []
        for path, item in self.items(value, "letters"):
            lt = self.mapping(item, path, {"key", "title", "signer", "numbering", "note",
                                           "notice"}, {"key", "title"})
            notice = self.text(lt.get("notice"), f"{path}.notice", "issued")
            if notice not in ("issued", "collection"):
                self.problem(f"{path}.notice", "expected 'issued' or 'collection'")
            out.append(LetterSpec(
                key=self.key(lt.get("key"), f"{path}.key"),
                title=self.text(lt.get("title"), f"{path}.title", ""),
                signer=self.text(lt.get("signer"), f"{path}.signer", None),
                numbering=self.text(lt.get("numbering"), f"{path}.numbering", None),
                note=self.text(lt.get("note"), f"{path}.note", ""),
                notice=notice,
            ))
        return tuple(out)

    def steps(self, value) -> tuple[StepSpec, ...]:
        out = []
        items = self.items(value, "steps")
        if not items:
            self.problem("steps", "an SOP needs at least one step")
        for index, (path, item) in enumerate(items):
            s = self.mapping(item, path, {
                "key", "ref", "title", "actor", "action", "phase", "time", "until_field",
                "inputs", "output", "documents", "letters", "when", "outcomes", "note", "record",
                "short"}, {"key", "title", "actor", "action", "time"})
            action = _enum(self, ActionKind, s.get("action"), f"{path}.action", ActionKind.SUBMIT)
            default_phase = Phase.ACCOUNT if action in ACCOUNT_ACTIONS else Phase.APPLICATION
            phase = _enum(self, Phase, s.get("phase"), f"{path}.phase", default_phase)
            if "time" in s and s["time"] is None and not s.get("note"):
                self.problem(f"{path}.time", "no standard time: say why in the step's note "
                             "(e.g. the original states none)")
            outcomes = self.outcomes(s.get("outcomes"), f"{path}.outcomes")
            out.append(StepSpec(
                key=self.key(s.get("key"), f"{path}.key"),
                ref=self.text(s.get("ref"), f"{path}.ref", str(index + 1)),
                title=self.text(s.get("title"), f"{path}.title", ""),
                actor=self.text(s.get("actor"), f"{path}.actor", ""),
                action=action, phase=phase,
                time=self.duration(s.get("time"), f"{path}.time"),
                until_field=self.text(s.get("until_field"), f"{path}.until_field", None),
                inputs=self.texts(s.get("inputs"), f"{path}.inputs"),
                output=self.text(s.get("output"), f"{path}.output", ""),
                documents=self.texts(s.get("documents"), f"{path}.documents"),
                letters=self.texts(s.get("letters"), f"{path}.letters"),
                when=self.condition(s.get("when"), f"{path}.when"),
                outcomes=outcomes,
                note=self.text(s.get("note"), f"{path}.note", ""),
                record=self.fields(s.get("record"), f"{path}.record"),
                short=self.text(s.get("short"), f"{path}.short", ""),
            ))
        return tuple(out)

    def outcomes(self, value, path: str) -> tuple[OutcomeSpec, ...]:
        if value is None:
            return (OutcomeSpec("done", "Selesai", Effect.FORWARD),)
        out = []
        for p, item in self.items(value, path):
            o = self.mapping(item, p, {"key", "label", "effect", "to", "back_to",
                                       "note_required"}, {"key", "label", "effect"})
            effect = _enum(self, Effect, o.get("effect"), f"{p}.effect", Effect.FORWARD)
            if effect is Effect.RETURN and not o.get("to"):
                self.problem(f"{p}.to", "a return needs the step that makes the correction")
            if effect is Effect.REJECT and (o.get("to") or o.get("back_to")):
                self.problem(p, "a rejection ends the case: it takes no 'to' or 'back_to'")
            if effect is Effect.FORWARD and o.get("back_to"):
                self.problem(f"{p}.back_to", "only returns come back")
            out.append(OutcomeSpec(
                key=self.key(o.get("key"), f"{p}.key"),
                label=self.text(o.get("label"), f"{p}.label", ""), effect=effect,
                to=self.text(o.get("to"), f"{p}.to", None),
                back_to=self.text(o.get("back_to"), f"{p}.back_to", None),
                # A return or rejection without a reason leaves the applicant guessing.
                note_required=self.flag(o.get("note_required"), f"{p}.note_required",
                                        effect is not Effect.FORWARD),
            ))
        if not out:
            self.problem(path, "a step needs at least one outcome (or leave 'outcomes' out)")
        return tuple(out)


class _Checker:
    """Checks that need the whole spec: references, reachability, totals."""

    def __init__(self, reader: _Reader, spec: SopSpec):
        self.r, self.spec = reader, spec

    def run(self) -> None:
        spec, r = self.spec, self.r
        _unique(r, "actors", [a.key for a in spec.actors], prefix="actors.")
        _unique(r, "fields", [f.key for f in spec.fields])
        _unique(r, "documents", [d.key for d in spec.documents])
        _unique(r, "letters", [lt.key for lt in spec.letters])
        _unique(r, "steps", [s.key for s in spec.steps])
        actor_keys = {a.key for a in spec.actors}
        field_keys = {f.key for f in spec.fields}
        step_index = {s.key: i for i, s in enumerate(spec.steps)}
        doc_keys = {d.key for d in spec.documents}
        letter_keys = {lt.key for lt in spec.letters}
        official_keys = {d.key for d in spec.official_documents}

        for a in spec.actors:
            if a.recorded_by and (a.recorded_by not in actor_keys
                                  or spec.actor(a.recorded_by).kind is not ActorKind.POSITION):
                r.problem(f"actors.{a.key}.recorded_by",
                          f"{a.recorded_by!r} is not a position actor of this SOP")
        self.complaints_to(actor_keys)
        for i, f in enumerate(spec.fields):
            self.condition_fields(f.when, f"fields[{i}].when", field_keys)
        for i, d in enumerate(spec.documents):
            self.condition_fields(d.when, f"documents[{i}].when", field_keys)
            if d.step is not None and (
                d.step not in step_index
                or spec.steps[step_index[d.step]].phase is Phase.ACCOUNT
                or spec.steps[step_index[d.step]].actor not in actor_keys
            ):
                r.problem(f"documents[{i}].step", f"{d.step!r} is not an application step")
            elif spec.by_official(d) and spec.steps[step_index[d.step]].action is ActionKind.SIGN:
                # Signing asks once more before it is done, and a browser cannot send a
                # chosen file again with that second answer.
                r.problem(f"documents[{i}].step", f"{d.step!r} is a signing step: an "
                          "official's document is uploaded at the step before or after it")
            elif d.public and not spec.by_official(d):
                r.problem(f"documents[{i}].public", "only a document an official uploads at "
                          "their step can be public (the applicant's own are theirs already)")
        for i, lt in enumerate(spec.letters):
            if lt.signer and lt.signer not in actor_keys:
                r.problem(f"letters[{i}].signer", f"undefined actor {lt.signer!r}")
            if lt.numbering:
                _check_numbering(r, lt.numbering, f"letters[{i}].numbering")

        seen_application = False
        for i, s in enumerate(spec.steps):
            p = f"steps[{i}]"
            if s.actor not in actor_keys:
                r.problem(f"{p}.actor", f"undefined actor {s.actor!r} "
                          f"(defined: {', '.join(sorted(actor_keys))})")
            if s.phase is Phase.APPLICATION:
                seen_application = True
            elif seen_application:
                r.problem(f"{p}.phase", "account steps must come before the application steps")
            if s.phase is Phase.ACCOUNT and s.action not in ACCOUNT_ACTIONS:
                r.problem(f"{p}.action", f"{s.action.value!r} is not an account action "
                          f"(account actions: {', '.join(a.value for a in ACCOUNT_ACTIONS)})")
            if s.phase is Phase.APPLICATION and s.action in ACCOUNT_ACTIONS:
                r.problem(f"{p}.action", f"{s.action.value!r} belongs to the account phase")
            if s.until_field is not None:
                if s.until_field not in field_keys:
                    r.problem(f"{p}.until_field", f"undefined field {s.until_field!r}")
                elif next(f for f in spec.fields if f.key == s.until_field).type != "date":
                    r.problem(f"{p}.until_field", f"field {s.until_field!r} is not a date")
                if s.time is not None:
                    r.problem(f"{p}.until_field", "give either a time or an until_field, not both")
            for j, d in enumerate(s.documents):
                if d not in doc_keys:
                    r.problem(f"{p}.documents[{j}]", f"undefined document {d!r}")
                elif d in official_keys:
                    r.problem(f"{p}.documents[{j}]", f"{d!r} is uploaded by an official at "
                              "their step: it is shown to every later actor, not judged for "
                              "correction by the applicant")
            for j, lt in enumerate(s.letters):
                if lt not in letter_keys:
                    r.problem(f"{p}.letters[{j}]", f"undefined letter {lt!r}")
            self.condition_fields(s.when, f"{p}.when", field_keys)
            _unique(r, f"{p}.outcomes", [o.key for o in s.outcomes])
            _unique(r, f"{p}.record", [f.key for f in s.record])
            for j, f in enumerate(s.record):
                if f.when is not None:
                    r.problem(f"{p}.record[{j}].when", "recorded fields take no conditions")
            if s.record and spec.actor(s.actor).kind is ActorKind.APPLICANT if s.actor in \
                    actor_keys else False:
                r.problem(f"{p}.record", "the applicant's data belongs in the form's fields")
            for j, o in enumerate(s.outcomes):
                for attr in ("to", "back_to"):
                    target = getattr(o, attr)
                    if target is None:
                        continue
                    if target not in step_index:
                        r.problem(f"{p}.outcomes[{j}].{attr}", f"no step {target!r} in this SOP")
                    elif spec.steps[step_index[target]].phase is Phase.ACCOUNT:
                        r.problem(f"{p}.outcomes[{j}].{attr}",
                                  f"step {target!r} is an account step; files cannot go there")
                    elif o.effect is Effect.RETURN and attr == "to" and step_index[target] >= i:
                        r.problem(f"{p}.outcomes[{j}].to",
                                  "a return goes back to an earlier step")
            if s.phase is Phase.APPLICATION and not s.outcomes:
                r.problem(f"{p}.outcomes", "a step needs at least one outcome")
        if not spec.application_steps:
            r.problem("steps", "an SOP needs at least one application step")
            return
        first = spec.application_steps[0]
        if first.when is not None:
            r.problem(f"steps[{step_index[first.key]}].when",
                      "the first application step opens the file and cannot be skipped")
        if spec.actor(first.actor).kind is ActorKind.EXTERNAL:
            r.problem(f"steps[{step_index[first.key]}].actor",
                      "an external party cannot open a file")
        if r.issues:
            return
        self.reachability(step_index)
        self.total()

    def complaints_to(self, actor_keys: set[str]) -> None:
        """Complaints go to an official: a position actor of this SOP."""
        channel = self.spec.header.complaints_to
        if channel is None or not channel.actor:  # a missing actor is reported already
            return
        positions = ", ".join(a.key for a in self.spec.actors
                              if a.kind is ActorKind.POSITION) or "none"
        where = "header.complaints_to.actor"
        if channel.actor not in actor_keys:
            self.r.problem(where, f"undefined actor {channel.actor!r} "
                           f"(positions of this SOP: {positions})")
        elif (kind := self.spec.actor(channel.actor).kind) is not ActorKind.POSITION:
            who = "the applicant" if kind is ActorKind.APPLICANT else "an external party"
            self.r.problem(where, f"{channel.actor!r} is {who}: complaints go to an official "
                           f"position of this SOP ({positions})")

    def condition_fields(self, cond: Condition | None, path: str, field_keys: set[str]) -> None:
        if cond is None:
            return
        for name in sorted(cond.fields() - field_keys):
            self.r.problem(path, f"condition reads undefined field {name!r}")

    def reachability(self, step_index: dict[str, int]) -> None:
        steps = self.spec.application_steps
        keys = [s.key for s in steps]
        reached, stack = set(), [keys[0]]
        while stack:
            key = stack.pop()
            if key in reached:
                continue
            reached.add(key)
            position = keys.index(key)
            step = steps[position]
            following = keys[position + 1] if position + 1 < len(keys) else None
            if step.when is not None and following:
                stack.append(following)  # the step may be skipped
            for o in step.outcomes:
                if o.effect is Effect.FORWARD:
                    target = o.to or following
                    if target:
                        stack.append(target)
                elif o.effect is Effect.RETURN:
                    stack.extend(t for t in (o.to, o.back_to) if t)
        for key in keys:
            if key not in reached:
                self.r.problem(f"steps[{step_index[key]}]",
                               f"step {key!r} can never be reached from {keys[0]!r}")
        if not any(o.effect is Effect.FORWARD and o.to is None for o in steps[-1].outcomes):
            self.r.problem(f"steps[{step_index[keys[-1]]}].outcomes",
                           "the last step needs a forward outcome that completes the file")

    def total(self) -> None:
        stated = self.spec.header.total_time
        if stated is None:
            return
        if stated.nominal_minutes != self.spec.total_minutes:
            self.r.problem("header.total_time", (
                f"the steps add up to {self.spec.total_minutes} minutes, but the total says "
                f"{stated} ({stated.nominal_minutes} minutes)"))


def _check_numbering(r: _Reader, fmt: str, path: str) -> None:
    import string

    allowed = {"seq", "year", "month", "roman_month", "agency"}
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(fmt) if name is not None]
    except ValueError as exc:
        r.problem(path, f"cannot read the numbering format: {exc}")
        return
    for name in names:
        if name not in allowed:
            r.problem(path, f"unknown placeholder {{{name}}} (known: {', '.join(sorted(allowed))})")
    if "seq" not in names:
        r.problem(path, "a numbering format needs {seq}")


def _unique(r: _Reader, path: str, keys: list[str], prefix: str | None = None) -> None:
    seen = set()
    for i, key in enumerate(keys):
        if key in seen:
            where = f"{prefix}{key}" if prefix else f"{path}[{i}].key"
            r.problem(where, f"duplicate key {key!r}")
        seen.add(key)


def _enum(r: _Reader, enum_cls, value, path: str, default):
    if value is None and default is not None and enum_cls is Phase:
        return default
    try:
        return enum_cls(value)
    except ValueError:
        known = ", ".join(e.value for e in enum_cls)
        r.problem(path, f"unknown value {value!r} (known: {known})")
        return default


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value) -> str:
    return {dict: "a mapping", list: "a list", str: "text", type(None): "nothing"}.get(
        type(value), type(value).__name__)
