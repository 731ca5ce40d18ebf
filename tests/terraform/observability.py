"""terraform/observability.tf evaluated as Terraform itself would, offline.

That file holds only locals (every log filter, extractor, SLO filter and the variables of
the runbooks and the dashboard), and so does webhooks.tf, so ``terraform console`` can
evaluate both without the providers, next to variables.tf, the templates they render, and
the few plain-string locals of main.tf they refer to (the functions' names).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.terraform.tfconfig import REPO_ROOT, TERRAFORM_DIR, load

REQUIRED_VARIABLES = {"project_id": "demo-project", "region": "europe-west1"}
# What the dashboard resource adds to local.dashboard_vars (terraform/dashboard.tf).
SLO_NAMES = {
    "availability_slo": "projects/demo-project/services/customer-orders-order-events/serviceLevelObjectives/put-availability",
    "freshness_slo": "projects/demo-project/services/customer-orders-order-events/serviceLevelObjectives/order-freshness",
}


def _borrowed_locals(source: str) -> str:
    """main.tf's locals that observability.tf uses, copied as the strings they are."""
    defined = set(re.findall(r"^  (\w+)\s*=", source, re.MULTILINE))
    used = set(re.findall(r"\blocal\.(\w+)", source)) - defined
    module_locals = load().locals
    lines = []
    for name in sorted(used):
        value = module_locals.get(name)
        plain = isinstance(value, str) and '"' not in value
        assert plain, f"observability.tf uses local.{name}, not a plain string: define it there"
        lines.append(f'  {name} = "{value}"')
    return "locals {\n" + "\n".join(lines) + "\n}\n"


def evaluate(expression: str, variables: Mapping[str, str] | None = None) -> Any:
    """The value of ``expression`` (any HCL over var. and local.), decoded from JSON."""
    evaluated = ("variables.tf", "observability.tf", "webhooks.tf")
    source = "".join((TERRAFORM_DIR / name).read_text() for name in evaluated[1:])
    with tempfile.TemporaryDirectory(prefix="tf-observability-") as scratch:
        root = Path(scratch)
        for name in evaluated:
            shutil.copy2(TERRAFORM_DIR / name, root)
        (root / "borrowed.tf").write_text(_borrowed_locals(source))
        for folder in ("runbooks", "dashboards"):
            shutil.copytree(TERRAFORM_DIR / folder, root / folder)
        argv = ["terraform", "console", "-no-color"]
        for name, value in {**REQUIRED_VARIABLES, **(variables or {})}.items():
            argv.append(f"-var={name}={value}")
        completed = subprocess.run(
            argv,
            cwd=root,
            input=f"jsonencode({expression})\n",
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1"},
            check=False,
        )
    output = completed.stdout.strip()
    assert completed.returncode == 0, completed.stderr
    assert "Error" not in completed.stderr, completed.stderr
    # console prints the JSON text as an HCL string literal, which is a JSON string too.
    return json.loads(json.loads(output))


def rendered_dashboard(variables: Mapping[str, str] | None = None) -> Any:
    """terraform/dashboards/operations.json as the dashboard resource renders it, parsed."""
    slo_names = ", ".join(f'{key} = "{value}"' for key, value in SLO_NAMES.items())
    return evaluate(
        'jsondecode(templatefile("dashboards/operations.json", '
        f"merge(local.dashboard_vars, {{{slo_names}}})))",
        variables,
    )


def operations_document() -> str:
    """docs/operations.md, where every runbook's commands are written out."""
    return (REPO_ROOT / "docs" / "operations.md").read_text()


def runbook_commands(runbook: str) -> list[str]:
    """The commands of a rendered runbook: its lines indented as code."""
    return [line.strip() for line in runbook.splitlines() if line.startswith("       ")]


def documented_form(command: str) -> str:
    """A rendered command as docs/operations.md writes it, for any project and region."""
    return command.replace("demo-project", "PROJECT_ID").replace("europe-west1", "REGION")
