"""Read the Terraform configuration offline: python-hcl2 for its structure, ``terraform console`` for
expressions (variable validation, ``fileset()``), which needs no provider and so works here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"

Block = dict[str, Any]


@dataclass(frozen=True)
class TerraformConfig:
    """One module's blocks, keyed the way Terraform addresses them."""

    resources: dict[str, dict[str, Block]]
    data: dict[str, dict[str, Block]]
    variables: dict[str, Block]
    outputs: dict[str, Block]
    locals: dict[str, Any]
    modules: dict[str, Block]
    terraform: list[Block]
    providers: list[dict[str, Block]]

    def resource(self, address: str) -> Block:
        kind, name = address.split(".", 1)
        try:
            return self.resources[kind][name]
        except KeyError:
            raise AssertionError(f"terraform/ declares no {address}") from None

    def resources_of(self, kind: str) -> dict[str, Block]:
        return self.resources.get(kind, {})

    def all_resources(self) -> Iterator[tuple[str, Block]]:
        for kind, named in self.resources.items():
            for name, body in named.items():
                yield f"{kind}.{name}", body

    def default(self, variable: str) -> Any:
        return self.variables[variable]["default"]


def load(directory: Path = TERRAFORM_DIR) -> TerraformConfig:
    resources: dict[str, dict[str, Block]] = {}
    data: dict[str, dict[str, Block]] = {}
    variables: dict[str, Block] = {}
    outputs: dict[str, Block] = {}
    local_values: dict[str, Any] = {}
    modules: dict[str, Block] = {}
    terraform: list[Block] = []
    providers: list[dict[str, Block]] = []
    options = hcl2.utils.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=options)
        for group in parsed.get("resource", []):
            for kind, named in group.items():
                resources.setdefault(kind, {}).update(named)
        for group in parsed.get("data", []):
            for kind, named in group.items():
                data.setdefault(kind, {}).update(named)
        for group in parsed.get("variable", []):
            variables.update(group)
        for group in parsed.get("output", []):
            outputs.update(group)
        for group in parsed.get("locals", []):
            local_values.update(group)
        for group in parsed.get("module", []):
            modules.update(group)
        terraform.extend(parsed.get("terraform", []))
        providers.extend(parsed.get("provider", []))
    return TerraformConfig(
        resources, data, variables, outputs, local_values, modules, terraform, providers
    )


def ref(expression: str) -> str:
    """How python-hcl2 renders a bare reference such as ``var.x``."""
    return f"${{{expression}}}"


def only(blocks: Any) -> Block:
    """The single nested block (hcl2 gives every nested block as a list)."""
    assert isinstance(blocks, list), f"expected a nested block, got {blocks!r}"
    assert len(blocks) == 1, f"expected exactly one block, got {len(blocks)}"
    block = blocks[0]
    assert isinstance(block, dict)
    return block


def scalars(value: Any) -> Iterator[Any]:
    """Every scalar inside a parsed block, comments left out."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key != "__comments__":
                yield from scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from scalars(item)
    else:
        yield value


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class ConsoleResult:
    returncode: int
    output: str

    @property
    def failed(self) -> bool:
        # console reports an invalid variable value but still exits 0.
        return self.returncode != 0 or "Error: " in self.output

    @property
    def text(self) -> str:
        """The output on one line, so a message wrapped by Terraform can be searched."""
        return " ".join(self.output.split())


def terraform_console(
    files: Sequence[Path], expression: str, variables: Mapping[str, str] | None = None
) -> ConsoleResult:
    """Evaluate ``expression`` in a module made of copies of ``files`` (console leaves a state file).

    Input variables are validated first, exactly as ``plan`` would.
    """
    with tempfile.TemporaryDirectory(prefix="tf-console-") as scratch:
        for path in files:
            shutil.copy2(path, Path(scratch) / path.name)
        argv = ["terraform", "console", "-no-color"]
        for name, value in (variables or {}).items():
            argv.append(f"-var={name}={value}")
        completed = subprocess.run(
            argv,
            cwd=scratch,
            input=expression + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1"},
            check=False,
        )
    return ConsoleResult(
        completed.returncode, _ANSI.sub("", completed.stdout + completed.stderr).strip()
    )


# variables.tf's variables without a default: a plan needs them before validating the others.
REQUIRED_VARIABLES = {"project_id": "demo-project", "region": "europe-west1"}


def check_variables(**values: str) -> ConsoleResult:
    """variables.tf's validations of ``values`` (with the required ones), as plan runs them."""
    return terraform_console(
        [TERRAFORM_DIR / "variables.tf"], "true", {**REQUIRED_VARIABLES, **values}
    )
