"""Broken SOP files are rejected with file, line, key path and reason; valid ones load."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.modules.sops.spec import SopError, load_sop, load_sop_file

FIXTURES = Path(__file__).parent / "fixtures" / "sop"

# fixture name -> (key path of the first issue, words of its reason)
BROKEN = {
    "unknown_key": ("header.costs", "unknown key 'costs'"),
    "dangling_step": ("steps[2].outcomes[1].to", "no step 'verify'"),
    "undefined_actor": ("steps[2].actor", "undefined actor 'kabid'"),
    "bad_duration": ("steps[1].time", "cannot read 'four hours'"),
    "unknown_unit": ("steps[2].time", "unknown unit 'fortnights'"),
    "unreachable_step": ("steps[3]", "can never be reached"),
    "return_forward": ("steps[1].outcomes[1].to", "a return goes back to an earlier step"),
    "total_mismatch": ("header.total_time", "the steps add up to 480 minutes"),
    "missing_time": ("steps[1].time", "required key is missing"),
    "condition_unknown_field": ("documents[1].when", "undefined field 'workplace'"),
    "numbering_placeholder": ("letters[0].numbering", "unknown placeholder {number}"),
    "external_without_recorder": ("actors.kolegium.recorded_by", "needs the position"),
    "unknown_action": ("steps[2].action", "unknown value 'bless'"),
    "invalid_yaml": ("", "not valid YAML"),
    "account_step_late": ("steps[3].phase", "account steps must come before"),
}


def test_the_documented_example_is_a_valid_sop():
    spec = load_sop_file(FIXTURES / "valid.yaml")
    assert spec.code == "contoh-surat-keterangan"
    assert [s.key for s in spec.steps] == ["submit", "check", "approve", "sign"]
    assert spec.total_minutes == 480 and spec.total_label() == "1 hari kerja"


def test_every_broken_fixture_is_covered():
    assert {p.stem for p in (FIXTURES / "broken").glob("*.yaml")} == set(BROKEN)
    assert len(BROKEN) >= 8


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_sop_is_rejected_naming_file_line_key_and_reason(name):
    path = FIXTURES / "broken" / f"{name}.yaml"
    with pytest.raises(SopError) as caught:
        load_sop_file(path)
    key, reason = BROKEN[name]
    issue = caught.value.issues[0]
    assert issue.path == key
    assert reason in issue.reason
    assert issue.line is not None and issue.line > 0
    text = str(caught.value)
    assert str(path) in text and f":{issue.line}:" in text


def test_issue_line_points_at_the_offending_key():
    path = FIXTURES / "broken" / "undefined_actor.yaml"
    lines = path.read_text().splitlines()
    with pytest.raises(SopError) as caught:
        load_sop_file(path)
    assert lines[caught.value.issues[0].line - 1].strip() == "actor: kabid"


def test_all_problems_are_reported_at_once():
    text = (FIXTURES / "valid.yaml").read_text()
    text = text.replace("    actor: kasi\n", "    actor: kabid\n").replace(
        "  cost: Tidak dipungut biaya\n", "  costs: 0\n")
    with pytest.raises(SopError) as caught:
        load_sop(text, "two.yaml")
    paths = {i.path for i in caught.value.issues}
    assert {"header.costs", "steps[2].actor"} <= paths


def test_cli_validate_exits_1_with_messages(runner):
    path = FIXTURES / "broken" / "dangling_step.yaml"
    result = runner.invoke(args=["sop", "validate", str(path)])
    assert result.exit_code == 1
    assert "dangling_step.yaml:" in result.output and "steps[2].outcomes[1].to" in result.output


def test_cli_validate_accepts_a_valid_file(runner):
    result = runner.invoke(args=["sop", "validate", str(FIXTURES / "valid.yaml")])
    assert result.exit_code == 0, result.output
    assert "OK: contoh-surat-keterangan v1, 4 steps, total 1 hari kerja" in result.output


def test_cli_validate_reports_a_missing_file(runner, tmp_path):
    result = runner.invoke(args=["sop", "validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "cannot read" in result.output
