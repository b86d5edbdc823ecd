"""The README's Operator CLI section documents every command and every exit code there is."""

from __future__ import annotations

import re
from pathlib import Path

from execution_client.ctl.arguments import build_parser
from execution_client.ctl.exit_codes import ExitCode

README = Path(__file__).parents[2] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## The operator CLI", 1)[1].split("\n## ", 1)[0]


def test_the_readme_lists_every_exit_code() -> None:
    documented = {int(number) for number in re.findall(r"^\| (\d+) \|", _section(), flags=re.MULTILINE)}
    assert documented == {int(code) for code in ExitCode}


def test_the_readme_shows_every_command() -> None:
    commands = build_parser({})._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    shown = set(re.findall(r"^execution-ctl ([a-z-]+)", _section(), flags=re.MULTILINE))
    assert shown == set(commands)
