from __future__ import annotations

import pytest

from shared.domain.ids import id_violation, validate_id
from shared.domain.limits import MAX_ID_BYTES, PUBSUB_MAX_ORDERING_KEY_BYTES
from shared.errors import InvalidId


@pytest.mark.parametrize(
    "value",
    [
        "42",
        "CO-100234",
        "a" * MAX_ID_BYTES,
        "€" * (MAX_ID_BYTES // 3),
        "ordre-ø-日本",
        "...",
        "__x",
        "x__",
        "a.b",
    ],
)
def test_valid_ids(value: str) -> None:
    assert id_violation(value) is None
    assert validate_id(value, name="customerOrderId") == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("a" * (MAX_ID_BYTES + 1), "at most 511 bytes"),
        ("€" * (MAX_ID_BYTES // 3 + 1), "at most 511 bytes"),
        ("\U0001f600" * 256, "not 1024"),
        ("a\ud800b", "printable"),
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


def test_two_ids_of_the_largest_size_make_an_ordering_key_pubsub_accepts() -> None:
    key = "a" * MAX_ID_BYTES + "/" + "b" * MAX_ID_BYTES
    assert len(key.encode()) <= PUBSUB_MAX_ORDERING_KEY_BYTES
