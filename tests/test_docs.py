"""Generated reference pages stay in step with the code; README and CI agree on the test command."""

from __future__ import annotations

import re
from pathlib import Path

from deadstock.config import settings_markdown
from deadstock.schema import nomenclature_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_nomenclature_page_is_current() -> None:
    page = (ROOT / "docs" / "nomenclature.md").read_text(encoding="utf-8")
    assert page == nomenclature_markdown(), (
        "docs/nomenclature.md is stale: python -m deadstock.schema > docs/nomenclature.md"
    )


def test_settings_page_is_current() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == settings_markdown(), (
        "docs/settings.md is stale: python -m deadstock.config > docs/settings.md"
    )


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    first_screen = blocks[0].splitlines()
    test_line = next(line for line in first_screen if "pytest" in line)
    command = test_line.split("#")[0].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci.splitlines(), f"CI must run the README's test command: {command}"
