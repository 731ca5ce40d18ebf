"""Write the deploy ``functions/requirements.txt`` from ``pyproject.toml``'s runtime dependencies.

Cloud Functions' Python buildpack installs ``requirements.txt`` beside
``main.py``; ``pyproject.toml`` is the one place the ranges are edited.
Run ``make requirements`` after changing them; a test fails when they drift.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from shared.tools.functions import REPO_ROOT

PYPROJECT = REPO_ROOT / "pyproject.toml"
REQUIREMENTS = REPO_ROOT / "functions" / "requirements.txt"
HEADER = "# Generated from pyproject.toml by `make requirements`; do not edit.\n"


def render(pyproject: Path = PYPROJECT) -> str:
    with pyproject.open("rb") as handle:
        dependencies: list[str] = tomllib.load(handle)["project"]["dependencies"]
    return HEADER + "".join(f"{dependency}\n" for dependency in dependencies)


def main() -> int:
    REQUIREMENTS.write_text(render())
    print(f"wrote {REQUIREMENTS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
