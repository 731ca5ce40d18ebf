from __future__ import annotations

from shared.tools import requirements


def test_deploy_requirements_match_pyproject() -> None:
    assert requirements.REQUIREMENTS.read_text() == requirements.render(), (
        "functions/requirements.txt is out of date: run `make requirements`"
    )
