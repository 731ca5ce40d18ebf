"""How a function of this repository is started: its folder, entry point and command line.

The local stack, the tests, the bench and the deploy package all start the
functions the way Cloud Run does (functions-framework on gunicorn, one
``main.py`` per function folder); Terraform deploys the same pairs
(``terraform/functions.tf``, a test keeps them equal).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
# Folder under functions/ => the entry point functions-framework serves.
FUNCTIONS = {"ingest": "ingest", "processor": "process", "pos": "pos"}


def main_py(function: str, root: Path = REPO_ROOT) -> Path:
    return root / "functions" / function / "main.py"


def serve_command(
    target: str,
    source: Path | str,
    *,
    port: int,
    host: str = LOOPBACK,
    python: Path | str = sys.executable,
) -> list[str]:
    """functions-framework serving ``target`` of ``source`` on ``host:port``."""
    return [
        str(python), "-m", "functions_framework",
        f"--target={target}",
        f"--source={source}",
        f"--host={host}",
        f"--port={port}",
    ]  # fmt: skip


def function_command(function: str, *, port: int, host: str = LOOPBACK) -> list[str]:
    """The command that serves ``functions/<function>/main.py`` as Cloud Run would."""
    return serve_command(FUNCTIONS[function], main_py(function), port=port, host=host)
