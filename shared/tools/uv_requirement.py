"""Print the requirement line that installs uv.lock's own uv, hashes included.

The Makefile installs uv with pip from this line on a machine that lacks it
(``pip install --require-hashes``), so even the installer is the locked,
hash-checked one; uv then installs everything else from the lock. Run with
the system Python before ``.venv`` exists: standard library only.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import Any

LOCK = Path(__file__).resolve().parents[2] / "uv.lock"


def requirement(lock: Path = LOCK) -> str:
    with lock.open("rb") as handle:
        packages: list[dict[str, Any]] = tomllib.load(handle)["package"]
    (uv,) = (package for package in packages if package["name"] == "uv")
    hashes = sorted(file["hash"] for file in [uv["sdist"], *uv["wheels"]])
    return f"uv=={uv['version']} " + " ".join(f"--hash={digest}" for digest in hashes)


def main() -> int:
    print(requirement())
    return 0


if __name__ == "__main__":
    sys.exit(main())
