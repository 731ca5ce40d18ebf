"""Build a function's deploy zip exactly as Terraform does, from the same rule file.

``terraform/modules/function_source/deploy-package.json`` says which files go
into the zip; Terraform's ``fileset()`` and :func:`package_files` both read it,
and ``tests/terraform`` checks that they list the same files. Development
tooling only: the deploy package leaves this module out.

``python -m shared.tools.deploy_package ingest build/ingest.zip`` writes one zip.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

from shared.tools.errors import PackageError
from shared.tools.functions import FUNCTIONS, REPO_ROOT

RULES = REPO_ROOT / "terraform" / "modules" / "function_source" / "deploy-package.json"
# A fixed timestamp and mode, so the same sources always give the same bytes.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_ZIP_FILE_MODE = 0o644


def load_rules(rules: Path = RULES) -> list[dict[str, Any]]:
    sources: list[dict[str, Any]] = json.loads(rules.read_text())["sources"]
    return sources


def _fileset(base: Path, pattern: str) -> set[str]:
    """Terraform's ``fileset(base, pattern)``: files only, ``/``-separated, relative to ``base``.

    ``pathlib`` globs agree with Terraform's doublestar globs for the patterns
    the rule file uses (``**`` spans zero or more folders, ``*`` one name part,
    hidden names included); the tests compare both on a tree with every case.
    """
    if not base.is_dir():
        return set()
    return {path.relative_to(base).as_posix() for path in base.glob(pattern) if path.is_file()}


def package_files(function_dir: str, root: Path = REPO_ROOT) -> dict[str, Path]:
    """Archive path => source file for ``functions/<function_dir>``'s deploy package."""
    files: dict[str, Path] = {}
    for rule in load_rules():
        base = root / str(rule["from"]).replace("{function}", function_dir)
        included = set().union(*(_fileset(base, pattern) for pattern in rule["include"]))
        excluded = set().union(*(_fileset(base, pattern) for pattern in rule["exclude"]))
        for relative in included - excluded:
            files[f"{rule['to']}{relative}"] = base / relative
    missing = {"main.py", "requirements.txt"} - files.keys()
    if missing:
        raise PackageError(
            f"the deploy package of functions/{function_dir} lacks {', '.join(sorted(missing))}"
        )
    return dict(sorted(files.items()))


def build_zip(function_dir: str, output: Path, root: Path = REPO_ROOT) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, source in package_files(function_dir, root).items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            info.external_attr = _ZIP_FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.tools.deploy_package",
        description="Write a function's deploy zip (the files Terraform uploads).",
    )
    parser.add_argument("function", choices=sorted(FUNCTIONS))
    parser.add_argument("output", type=Path)
    args = parser.parse_args(argv)
    try:
        written = build_zip(args.function, args.output)
    except PackageError as exc:
        print(f"deploy_package: {exc}", file=sys.stderr)
        return 1
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
