"""The README's quick start is two commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\s+```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no Quick start bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands():
    cmds = quick_start()
    assert len(cmds) == 2
    assert cmds[0].startswith("pip install .") and cmds[0].endswith("needlesim")
    assert "[test]" in cmds[1] and "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert quick_start()[1] in [line.strip() for line in ci]


def test_quick_start_says_what_linux_needs_and_ci_installs_it():
    text = (ROOT / "README.md").read_text()
    after = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    apt = re.search(r"apt-get install ([^`]+)`", after)
    assert apt and "display" in after, "the quick start must say what Linux needs"
    ci = (ROOT / ".ci" / "run").read_text()
    for package in apt.group(1).split():
        assert package in ci, f"{package} is in the README but .ci/run does not install it"
