"""The README stays a newcomer's page: short, its links lead somewhere, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import script

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("README.md", "docs/guide.md", "docs/results.md")


def test_the_readme_is_at_most_150_lines_and_says_what_the_project_is_first():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150
    assert "neuroevolution of **learning rules**" in " ".join(lines[:4])
    assert "make run" in "\n".join(lines[:20]) and "make test" in "\n".join(lines[:20])


def test_every_relative_link_of_the_pages_leads_to_a_file():
    for page in PAGES:
        path = ROOT / page
        for target in re.findall(r"\]\(([^)#]+)\)", path.read_text()):
            if "://" not in target:
                assert (path.parent / target).exists(), f"{page}: {target}"


def test_every_command_the_readme_names_is_installed():
    commands = set(re.findall(r"\b(island-[a-z]+)\b", (ROOT / "README.md").read_text()))
    assert {"island-node", "island-cluster", "island-dashboard", "island-report"} <= commands
    for command in commands - {"island-network"}:
        assert Path(script(command)).exists(), command
    for example in re.findall(r"examples/[\w.-]+\.toml", (ROOT / "README.md").read_text()):
        assert (ROOT / example).exists(), example
