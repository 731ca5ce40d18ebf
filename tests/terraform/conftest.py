from __future__ import annotations

import pytest

from tests.terraform.tfconfig import TerraformConfig, load


@pytest.fixture(scope="session")
def tf() -> TerraformConfig:
    return load()
