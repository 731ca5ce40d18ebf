from __future__ import annotations

import pytest

from shared.domain.ids import MAX_ID_LENGTH, id_violation, validate_id
from shared.errors import InvalidId


@pytest.mark.parametrize(
    "value", ["42", "CO-100234", "a" * MAX_ID_LENGTH, "ordre-ø-日本", "...", "__x", "x__", "a.b"]
)
def test_valid_ids(value: str) -> None:
    assert id_violation(value) is None
    assert validate_id(value, name="customerOrderId") == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("a" * (MAX_ID_LENGTH + 1), "at most 256"),
        ("a/b", "'/'"),
        (".", "'.' or '..'"),
        ("..", "'.' or '..'"),
        ("__x__", "__name__"),
        ("____", "__name__"),
        ("a\nb", "printable"),
        ("a\x00b", "printable"),
        ("tab\there", "printable"),
    ],
)
def test_invalid_ids_say_why(value: str, reason: str) -> None:
    violation = id_violation(value)
    assert violation is not None
    assert reason in violation
    with pytest.raises(InvalidId, match="businessUnitId"):
        validate_id(value, name="businessUnitId")
