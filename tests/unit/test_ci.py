"""CI (.ci/run) runs the linter with the project's settings before the suites."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_ci_runs_the_linter_first_and_stops_on_a_finding():
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as fh:
        script = fh.read()
    assert "\nset -euo pipefail\n" in script  # a failing step (ruff exits 1 on a finding) ends it
    steps = [line.strip() for line in script.splitlines() if line.strip().startswith("make ")]
    assert steps == ["make lint", "make test", "make test"]


def test_make_lint_is_ruff_with_the_project_settings():
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    out = subprocess.run(["make", "--no-print-directory", "-n", "lint"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == ".venv/bin/ruff check ."  # reads pyproject.toml
