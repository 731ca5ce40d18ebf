"""The deploy package: Terraform and Python agree on its files, and the artifact itself runs.

The last tests unpack the zip into an empty folder, install its requirements.txt
into a fresh virtual environment and serve real requests from it, so a module
left out by the rule (or a dependency missing from requirements.txt) fails here
rather than in Cloud Build or at the first order.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from google.cloud import firestore

from shared.domain.messages import decode_order
from shared.domain.timestamps import parse_timestamp
from shared.tools.deploy_package import build_zip, package_files
from shared.tools.devstack import LocalStack, free_ports, is_listening
from shared.tools.functions import FUNCTIONS, LOOPBACK, serve_command
from tests.support import (
    create_pull_subscription,
    create_topic,
    order_body,
    order_message,
    pull_all,
    stored_body,
    stored_document,
    unique_id,
    wait_for,
)
from tests.terraform.tfconfig import REPO_ROOT, TERRAFORM_DIR, terraform_console

MODULE = TERRAFORM_DIR / "modules" / "function_source"


def terraform_files(function_dir: str, root: Path) -> dict[str, str]:
    """The archive path => source map Terraform's own fileset() evaluation gives."""
    result = terraform_console(
        [MODULE / "main.tf", MODULE / "deploy-package.json"],
        "jsonencode(local.files)",
        {"repo_root": str(root), "function_dir": function_dir},
    )
    assert not result.failed, result.output
    files: dict[str, str] = json.loads(json.loads(result.output.splitlines()[-1]))
    return files


def python_files(function_dir: str, root: Path) -> dict[str, str]:
    return {name: str(path) for name, path in package_files(function_dir, root).items()}


@pytest.mark.parametrize("function_dir", sorted(FUNCTIONS))
def test_terraform_and_python_package_the_same_files(function_dir: str) -> None:
    assert python_files(function_dir, REPO_ROOT) == terraform_files(function_dir, REPO_ROOT)


def test_terraform_and_python_agree_on_every_kind_of_path(tmp_path: Path) -> None:
    """A tree with each case the rule has to decide, including tool packages not written yet."""
    packaged = {
        "functions/ingest/main.py": "main.py",
        "functions/requirements.txt": "requirements.txt",
        "shared/__init__.py": "shared/__init__.py",
        "shared/py.typed": "shared/py.typed",
        "shared/config.py": "shared/config.py",
        "shared/.hidden.py": "shared/.hidden.py",
        "shared/sub/__init__.py": "shared/sub/__init__.py",
        "shared/sub/deep/module.py": "shared/sub/deep/module.py",
        # Only shared/tools/ is left out; a namesake elsewhere is runtime code.
        "shared/devstack.py": "shared/devstack.py",
        "shared/sub/tools/cli.py": "shared/sub/tools/cli.py",
    }
    left_out = [
        "functions/ingest/helper.py",
        "functions/processor/main.py",
        "shared/notes.txt",
        "shared/tools/__init__.py",
        "shared/tools/devstack.py",
        "shared/tools/dlq/__init__.py",
        "shared/tools/dlq/nested/replay.py",
        "shared/tools/sync/client.py",
        "shared/__pycache__/config.cpython-311.pyc",
        "shared/__pycache__/stray.py",
        "shared/sub/__pycache__/stray.py",
    ]
    for relative in [*packaged, *left_out]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {relative}\n")

    from_terraform = terraform_files("ingest", tmp_path)
    assert python_files("ingest", tmp_path) == from_terraform
    assert from_terraform == {
        archived: str(tmp_path / source) for source, archived in packaged.items()
    }


@pytest.mark.parametrize("function_dir", sorted(FUNCTIONS))
def test_the_real_package_is_shared_without_its_tools(function_dir: str) -> None:
    names = set(package_files(function_dir))
    assert not [name for name in names if name.startswith("shared/tools/") or "__pycache__" in name]
    assert {"main.py", "requirements.txt", "shared/__init__.py", "shared/py.typed"} <= names
    runtime = {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "shared").rglob("*.py")
        if "tools" not in path.relative_to(REPO_ROOT / "shared").parts
        and "__pycache__" not in path.parts
    }
    assert runtime <= names


@pytest.mark.parametrize("function_dir", sorted(FUNCTIONS))
def test_packaged_code_imports_only_packaged_modules(function_dir: str) -> None:
    """Including imports inside functions, which an import-time smoke test would not reach."""
    names = set(package_files(function_dir))
    modules = {
        name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for name in names
        if name.endswith(".py")
    }
    for name, source in package_files(function_dir).items():
        if not name.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(source.read_text(), filename=name)):
            imported: list[str] = []
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported = [node.module]
            for module in imported:
                if module == "shared" or module.startswith("shared."):
                    assert module in modules, f"{name} imports {module}, left out of the package"


def test_the_zip_holds_exactly_the_packaged_files(tmp_path: Path) -> None:
    archive = build_zip("processor", tmp_path / "processor.zip")
    expected = package_files("processor")
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == sorted(expected)
        assert opened.read("main.py") == (REPO_ROOT / "functions/processor/main.py").read_bytes()
    # Same sources, same bytes: an unchanged tree never looks like a new release.
    assert build_zip("processor", tmp_path / "again.zip").read_bytes() == archive.read_bytes()


# --- The artifact, run ---------------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    python: Path
    folders: dict[str, Path]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    """Both zips unpacked into empty folders, and one fresh venv from their requirements.txt."""
    root = tmp_path_factory.mktemp("artifact")
    folders: dict[str, Path] = {}
    for name in FUNCTIONS:
        folder = root / name
        folder.mkdir()
        with zipfile.ZipFile(build_zip(name, root / f"{name}.zip")) as archive:
            archive.extractall(folder)
        folders[name] = folder
    requirements = folders["ingest"] / "requirements.txt"
    assert requirements.read_bytes() == (folders["processor"] / "requirements.txt").read_bytes()
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install_requirements(python, requirements)
    return Artifact(python, folders)


def install_requirements(python: Path, requirements: Path) -> None:
    """Install the package's requirements.txt into a fresh venv, every hash checked.

    Hash checking is on, as it is in Cloud Build (every line has hashes), so a wheel
    the lock does not name fails here. uv, the lock's own installer in .venv, rather
    than pip: pip downloaded every wheel again on a fresh clone, most of the file's time
    (docs/development.md#set-up).
    """
    subprocess.run(
        [
            str(Path(sys.executable).parent / "uv"),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "--require-hashes",
            "-r",
            str(requirements),
        ],
        check=True,
        timeout=300,
    )


@contextlib.contextmanager
def serve(artifact: Artifact, name: str, stack: LocalStack, **env: str) -> Iterator[str]:
    """Run one function from its unpacked folder, as Cloud Functions would; yields its URL."""
    port = free_ports(1)[0]
    # Nothing of the repository may leak in: only the unpacked folder and the fresh venv.
    inherited = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    process = subprocess.Popen(
        serve_command(FUNCTIONS[name], "main.py", port=port, python=artifact.python),
        cwd=artifact.folders[name],
        env={**inherited, **stack.config.emulator_env(), "PYTHONDONTWRITEBYTECODE": "1", **env},
        start_new_session=True,
    )
    try:
        wait_for(lambda: process.poll() is None and is_listening(port), timeout=30)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


@pytest.mark.integration
def test_the_packaged_ingest_publishes_a_put_order(
    artifact: Artifact, stack: LocalStack, http: requests.Session
) -> None:
    topic, subscription = unique_id("artifact-orders"), unique_id("artifact-pull")
    create_topic(stack, topic)
    create_pull_subscription(stack, topic, subscription)
    order_id = unique_id()
    body = order_body(order_id)

    with serve(artifact, "ingest", stack, ORDERS_TOPIC=topic) as url:
        response = http.put(
            f"{url}/business-units/BU7/customer-orders/{order_id}", json=body, timeout=30
        )
        assert response.status_code == 202, response.text

    (message,) = pull_all(stack, subscription)
    published = decode_order(
        base64.b64decode(message["data"]), message["attributes"], message["messageId"]
    )
    assert (published.business_unit_id, published.customer_order_id) == ("BU7", order_id)
    assert json.loads(published.body) == body
    assert message["messageId"] == response.json()["messageId"]


@pytest.mark.integration
def test_the_packaged_processor_stores_a_pushed_order_and_ingest_serves_it(
    artifact: Artifact,
    stack: LocalStack,
    http: requests.Session,
    firestore_client: firestore.Client,
) -> None:
    order_id = unique_id()
    body = order_body(order_id)
    received_at = datetime.now(UTC).replace(microsecond=123456)
    message = order_message("BU7", order_id, received_at, body)
    message_id = unique_id("m")
    envelope = {
        "subscription": f"projects/{stack.config.project_id}/subscriptions/artifact-push",
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": message.attributes,
            "messageId": message_id,
            "publishTime": received_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    }

    with serve(artifact, "processor", stack) as url:
        pushed = http.post(url, json=envelope, timeout=30)
        assert pushed.status_code in (200, 204), pushed.text

    document = stored_document(firestore_client, "BU7", order_id)
    assert document is not None
    assert stored_body(document) == body
    assert document["receivedAt"] == received_at
    assert document["messageId"] == message_id

    with serve(artifact, "ingest", stack) as url:
        served = http.get(f"{url}/business-units/BU7/customer-orders/{order_id}", timeout=30)
    assert served.status_code == 200, served.text
    assert served.content == message.body
    assert parse_timestamp(served.headers["Received-At"]) == received_at
