"""What starting each function's ``main.py`` does, in a fresh interpreter as Cloud Run would.

Settings are read and checked at start, and the Google clients stay off the
import path: they are built on the first request by the composition root.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shared.tools.functions import FUNCTIONS, REPO_ROOT, main_py

_IMPORT_MAIN = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(name for name in sys.modules if name.startswith("google."))))
"""


def _start(function: str, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GOOGLE_CLOUD_PROJECT", "K_SERVICE", "PUBLISH_TIMEOUT_SECONDS")
        and not key.startswith("POS_")
        and not key.endswith("_EMULATOR_HOST")
    }
    return subprocess.run(
        [sys.executable, "-c", _IMPORT_MAIN, str(main_py(function))],
        env={**inherited, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_importing_main_imports_no_google_client(function: str) -> None:
    started = _start(
        function, GOOGLE_CLOUD_PROJECT="demo-import-check", POS_AUDIENCES="https://pos.example"
    )
    assert started.returncode == 0, started.stderr
    imported = started.stdout.strip()
    assert "google.api_core" not in imported
    assert "google.cloud.firestore" not in imported
    assert "google.pubsub" not in imported


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "GOOGLE_CLOUD_PROJECT must be set"),
        (
            {"GOOGLE_CLOUD_PROJECT": "p", "PUBLISH_TIMEOUT_SECONDS": "soon"},
            "PUBLISH_TIMEOUT_SECONDS must be a number",
        ),
    ],
)
def test_a_bad_deployment_fails_at_start(
    function: str, env: dict[str, str], complaint: str
) -> None:
    started = _start(function, POS_AUDIENCES="https://pos.example", **env)
    assert started.returncode != 0
    assert "ConfigurationError" in started.stderr
    assert complaint in started.stderr


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "POS_AUDIENCES must list"),
        ({"POS_AUDIENCES": "https://pos.example", "POS_GRANTS_CACHE_SECONDS": "90"}, "at most 60"),
        # The local stack's signer outside the emulators: never in production.
        (
            {
                "POS_AUDIENCES": "https://pos.example",
                "POS_LOCAL_ISSUER": "http://127.0.0.1:8092",
                "POS_LOCAL_CERTS_URL": "http://127.0.0.1:8092/certs",
            },
            "never in production",
        ),
    ],
)
def test_a_pos_without_its_access_settings_fails_at_start(
    env: dict[str, str], complaint: str
) -> None:
    started = _start("pos", GOOGLE_CLOUD_PROJECT="p", **env)
    assert started.returncode != 0
    assert "ConfigurationError" in started.stderr
    assert complaint in started.stderr
