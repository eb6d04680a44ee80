"""`hub policy lint` and `hub policy test`: the seed agreements' example cases all pass, and a
case the agreements contradict, or an invalid agreement, fails the command naming it."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from hub.cli import main

SEEDS = Path(__file__).resolve().parents[2] / "policies" / "agreements"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_every_seed_case_passes() -> None:
    code, output = _run("policy", "test")
    assert code == 0, output
    assert "FAIL" not in output
    cases = sum(p.read_text().count("[[cases]]") for p in SEEDS.glob("*.cases.toml"))
    assert f"{cases} passed, 0 failed" in output and cases >= 20


def test_a_contradicted_case_fails_the_run(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path, dirs_exist_ok=True)
    cases = tmp_path / "prison-releases.cases.toml"
    cases.write_text(cases.read_text().replace('expect = "permit"', 'expect = "deny"', 1))
    code, output = _run("policy", "test", "--dir", str(tmp_path))
    assert code == 1
    assert "FAIL prison-releases.cases.toml: probation receives the release" in output
    assert "expected deny, got permit" in output


def test_lint_names_the_invalid_file(tmp_path: Path) -> None:
    shutil.copy(SEEDS / "prison-releases.toml", tmp_path)
    bad = tmp_path / "prison-releases.toml"
    bad.write_text(
        bad.read_text()
        .replace("condition", "x")
        .replace(
            'lawful_basis = "statutory_duty"',
            'lawful_basis = "statutory_duty"\ncondition = "principal.colour == 1"',
        )
    )
    code, output = _run("policy", "lint", "--dir", str(tmp_path))
    assert code == 1
    assert "prison-releases.toml" in output and "schema" in output
    ok_code, ok_output = _run("policy", "lint")
    assert ok_code == 0 and "agreements; policy set" in ok_output
