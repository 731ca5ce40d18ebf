"""The API descriptions pass the reference tools, which no one on this project wrote.

Redocly's linter (``@redocly/cli lint``, its recommended rules as
``tests/apidocs/redocly.yaml`` sets them) on ``functions/ingest/openapi.json`` and
``functions/pos/openapi.json``, and the AsyncAPI reference parser (``@asyncapi/parser``) on
``docs/asyncapi.json``: no error and no warning. Both are Node.js packages pinned exactly in
``tests/apidocs/package-lock.json``; ``make test`` installs them with ``npm ci`` before
pytest runs. Each tool also gets a document broken the way the committed ones once were
(no security, no servers; a Pub/Sub binding without its schema settings), and must refuse
it, so a tool that checks nothing cannot pass.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shared.domain.problems import Problem
from shared.tools import asyncapi, openapi
from shared.tools.functions import REPO_ROOT

APIDOCS = REPO_ROOT / "tests" / "apidocs"
NODE_MODULES = APIDOCS / "node_modules"
REDOCLY = NODE_MODULES / ".bin" / "redocly"
OPENAPI_DOCUMENTS = (openapi.OPENAPI_PATH, openapi.POS_OPENAPI_PATH)
# Information and hints (such as "AsyncAPI 3.1.0 exists") are advice; these must be absent.
ASYNCAPI_ERROR, ASYNCAPI_WARNING = 0, 1
TIMEOUT_SECONDS = 120


def _node_tools() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js 20 or newer (with npm) is required: it runs the API checks")
    if not REDOCLY.exists():
        pytest.fail(
            f"{NODE_MODULES.relative_to(REPO_ROOT)} is missing: `make test` installs it, or run "
            "`npm ci --prefix tests/apidocs`"
        )
    return node


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=APIDOCS,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
        env={
            **os.environ,
            "REDOCLY_TELEMETRY": "off",
            "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
            "NO_COLOR": "1",
        },
    )


def _json_stream(text: str) -> list[Any]:
    """The JSON values printed one after another (Redocly prints one per document)."""
    decoder, values, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(text, index)
        values.append(value)
    return values


def _unsecured_without_servers() -> dict[str, Any]:
    document = copy.deepcopy(openapi.build_document())
    del document["servers"]
    operation = next(iter(document["paths"].values()))["put"]
    del operation["security"]
    return document


def _binding_without_schema_settings() -> dict[str, Any]:
    document = copy.deepcopy(asyncapi.build_document())
    channel = document["channels"]["orderEvents"]
    channel["bindings"] = {"googlepubsub": {"bindingVersion": "0.2.0"}}
    return document


@pytest.fixture(scope="module")
def redocly(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Redocly's report of each committed OpenAPI document and of a broken one, by name."""
    _node_tools()
    broken = tmp_path_factory.mktemp("apidocs") / "broken-openapi.json"
    broken.write_text(json.dumps(_unsecured_without_servers()), encoding="utf-8")
    paths = [*OPENAPI_DOCUMENTS, broken]
    run = _run([str(REDOCLY), "lint", "--config=redocly.yaml", "--format=json", *map(str, paths)])
    reports = _json_stream(run.stdout)
    assert len(reports) == len(paths), f"redocly answered {run.returncode}:\n{run.stderr[-3000:]}"
    return {
        path.name if path == broken else str(path): report
        for path, report in zip(paths, reports, strict=True)
    }


@pytest.fixture(scope="module")
def asyncapi_parser(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The AsyncAPI parser's result for the committed document and a broken one, by name."""
    node = _node_tools()
    broken = tmp_path_factory.mktemp("apidocs") / "broken-asyncapi.json"
    broken.write_text(json.dumps(_binding_without_schema_settings()), encoding="utf-8")
    paths = [asyncapi.ASYNCAPI_PATH, broken]
    run = _run([node, "check-asyncapi.mjs", *map(str, paths)])
    assert run.returncode == 0, f"the parser answered {run.returncode}:\n{run.stderr[-3000:]}"
    results = json.loads(run.stdout)
    return {
        Path(result["path"]).name if Path(result["path"]) == broken else result["path"]: result
        for result in results
    }


@pytest.mark.parametrize("document", OPENAPI_DOCUMENTS, ids=lambda path: path.parent.name)
def test_redocly_finds_nothing_in_the_openapi_document(
    redocly: dict[str, dict[str, Any]], document: Path
) -> None:
    report = redocly[str(document)]
    problems = [
        f"{problem['severity']} {problem['ruleId']}: {problem['message']}"
        for problem in report["problems"]
    ]
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, problems


def test_redocly_refuses_an_operation_without_security_and_a_document_without_servers(
    redocly: dict[str, dict[str, Any]],
) -> None:
    rules = {problem["ruleId"] for problem in redocly["broken-openapi.json"]["problems"]}
    assert {"security-defined", "no-empty-servers"} <= rules


def test_the_asyncapi_parser_accepts_the_events_document(
    asyncapi_parser: dict[str, dict[str, Any]],
) -> None:
    result = asyncapi_parser[str(asyncapi.ASYNCAPI_PATH)]
    serious = [
        diagnostic
        for diagnostic in result["diagnostics"]
        if diagnostic["severity"] in (ASYNCAPI_ERROR, ASYNCAPI_WARNING)
    ]
    assert result["parsed"], result["diagnostics"]
    assert not serious


def test_the_asyncapi_parser_refuses_a_pubsub_binding_without_schema_settings(
    asyncapi_parser: dict[str, dict[str, Any]],
) -> None:
    result = asyncapi_parser["broken-asyncapi.json"]
    assert not result["parsed"]
    assert any(
        diagnostic["severity"] == ASYNCAPI_ERROR and "schemaSettings" in diagnostic["message"]
        for diagnostic in result["diagnostics"]
    ), result["diagnostics"]


@pytest.mark.parametrize("build", [openapi.build_document, openapi.build_pos_document])
def test_every_operation_needs_the_google_id_token(build: Any) -> None:
    document = build()
    scheme = document["components"]["securitySchemes"][openapi.SECURITY_SCHEME]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "JWT"
    assert "Google-signed ID token" in scheme["description"]
    operations = [
        operation
        for path_item in document["paths"].values()
        for method, operation in path_item.items()
        if method != "parameters"
    ]
    assert len(operations) >= 3
    assert all(op["security"] == [{openapi.SECURITY_SCHEME: []}] for op in operations)
    urls = [server["url"] for server in document["servers"]]
    assert urls[0] == "https://{host}"
    assert urls[1].startswith("http://localhost:")


def test_every_pos_operation_declares_the_function_s_own_401_and_403() -> None:
    """The pos function refuses whom it cannot verify and what the caller does not hold;
    ingest has no authenticator, and Cloud Run's own refusals carry no problem body."""
    pos, ingest = openapi.build_pos_document(), openapi.build_document()
    operations = [
        operation
        for path_item in pos["paths"].values()
        for method, operation in path_item.items()
        if method != "parameters"
    ]
    assert len(operations) == 4
    for operation in operations:
        assert operation["responses"]["401"] == {"$ref": "#/components/responses/Problem401"}
        assert operation["responses"]["403"] == {"$ref": "#/components/responses/Problem403"}
    responses = pos["components"]["responses"]
    for status, slug in ((401, "unauthenticated"), (403, "forbidden")):
        [_, narrowed] = responses[f"Problem{status}"]["content"]["application/problem+json"][
            "schema"
        ]["allOf"]
        assert narrowed["properties"]["type"]["enum"] == [Problem(status, slug, "").type]
    assert "WWW-Authenticate" in responses["Problem401"]["headers"]
    assert (
        "X-Serverless-Authorization"
        in pos["components"]["securitySchemes"][openapi.SECURITY_SCHEME]["description"]
    )
    assert not {"Problem401", "Problem403"} & set(ingest["components"]["responses"])
