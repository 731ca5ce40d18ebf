"""Write the deploy ``functions/requirements.txt``: uv.lock's runtime set, pinned, with hashes.

Cloud Functions' Python buildpack installs ``requirements.txt`` beside
``main.py`` with pip; with a hash on every line pip checks them all, so Cloud
Build installs exactly the files ``make test`` passed with. ``pyproject.toml``
holds the ranges, ``uv.lock`` the versions (``make lock``); this file is
exported from the lock by ``make requirements``, and a test fails when they drift.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from uv import find_uv_bin

from shared.tools.functions import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "functions" / "requirements.txt"
HEADER = "# Generated from uv.lock by `make requirements`; do not edit.\n"
# The project's own dependencies without its extras (tools and dev are never deployed) and
# without the project itself (the zip carries shared/). --frozen: the lock as committed;
# whether it still matches pyproject.toml is `uv lock --check`'s question, not this file's.
EXPORT = [
    "export",
    "--frozen",
    "--offline",
    "--format=requirements-txt",
    "--no-dev",
    "--no-emit-project",
    "--no-header",
]


def render(project: Path = REPO_ROOT) -> str:
    exported = subprocess.run(  # noqa: S603 - the installed uv, fixed arguments
        [find_uv_bin(), *EXPORT],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return HEADER + exported


def main() -> int:
    REQUIREMENTS.write_text(render())
    print(f"wrote {REQUIREMENTS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
