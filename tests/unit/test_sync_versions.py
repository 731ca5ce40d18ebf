"""Where a record's source version is read, what counts as one, and how it ranks."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.conflict import MAX_SOURCE_VERSION
from shared.tools.sync.versions import (
    DEFAULT_SOURCE,
    BadVersion,
    VersionSource,
    parse_pointer,
    read_version,
    reading_fingerprint,
    stored_is_current,
    stored_is_newer,
)

REVISION = VersionSource.from_pointer("/customerOrder/revision")


def record(**members: Any) -> dict[str, Any]:
    order = {"customerOrderId": "CO-1", **members.pop("order", {})}
    return {"businessUnitId": "BU1", "customerOrder": order, **members}


@pytest.mark.parametrize(
    ("pointer", "tokens"),
    [
        ("/sourceVersion", ("sourceVersion",)),
        ("/customerOrder/revision", ("customerOrder", "revision")),
        ("/meta/a~1b/m~0n", ("meta", "a/b", "m~n")),
        # RFC 6901 unescapes ~1 before ~0: "~01" is "~1", not "/".
        ("/~01", ("~1",)),
        ("/", ("",)),
    ],
)
def test_pointers_are_split_and_unescaped(pointer: str, tokens: tuple[str, ...]) -> None:
    assert parse_pointer(pointer) == tokens


@pytest.mark.parametrize("pointer", ["", "customerOrder/revision", "/a~2", "/a~", "/~~1"])
def test_what_is_no_pointer_is_refused(pointer: str) -> None:
    with pytest.raises(ValueError, match="RFC 6901"):
        parse_pointer(pointer)


@pytest.mark.parametrize(
    ("members", "version"),
    [
        ({"sourceVersion": 7}, 7),
        ({"sourceVersion": "0042"}, 42),
        ({"sourceVersion": 0}, 0),
        ({"sourceVersion": MAX_SOURCE_VERSION}, MAX_SOURCE_VERSION),
        ({"sourceVersion": str(MAX_SOURCE_VERSION)}, MAX_SOURCE_VERSION),
        ({}, None),
        # Without --version-pointer, the order's own fields are the OMS's business.
        ({"order": {"revision": 3}}, None),
    ],
)
def test_the_default_is_an_optional_sourceversion_member(
    members: dict[str, Any], version: int | None
) -> None:
    assert read_version(record(**members), DEFAULT_SOURCE) == version


@pytest.mark.parametrize(
    "value",
    [-1, MAX_SOURCE_VERSION + 1, 1.0, 1.5, True, None, "", " 5", "5 ", "+5", "1e3", "٣",
     "1" * 20, [1], {"v": 1}],
)  # fmt: skip
def test_what_is_no_version_is_a_bad_version_at_its_pointer(value: Any) -> None:
    with pytest.raises(BadVersion) as raised:
        read_version(record(sourceVersion=value), DEFAULT_SOURCE)

    assert raised.value.violation.pointer == "/sourceVersion"
    assert "0 to 9223372036854775807" in raised.value.violation.detail


def test_a_pointer_reads_into_the_record_and_requires_a_version() -> None:
    assert read_version(record(order={"revision": 12}), REVISION) == 12
    # The pointer decides alone: a sourceVersion member beside it is not looked at.
    assert read_version(record(sourceVersion=99, order={"revision": 12}), REVISION) == 12
    with pytest.raises(BadVersion) as raised:
        read_version(record(sourceVersion=99), REVISION)
    assert raised.value.violation.pointer == "/customerOrder/revision"
    assert "is required" in raised.value.violation.detail


@pytest.mark.parametrize(
    ("pointer", "found"),
    [("/meta/revisions/1", 5), ("/meta/revisions/01", None), ("/meta/revisions/2", None),
     ("/meta/revisions/-", None), ("/meta/revisions/x", None), ("/businessUnitId/0", None)],
)  # fmt: skip
def test_array_indexes_follow_rfc_6901(pointer: str, found: int | None) -> None:
    source = VersionSource.from_pointer(pointer)
    document = record(meta={"revisions": [4, 5]})

    if found is None:
        with pytest.raises(BadVersion, match="is required"):
            read_version(document, source)
    else:
        assert read_version(document, source) == found


@pytest.mark.parametrize(
    ("stored", "record_version", "newer", "current"),
    [
        (5, 3, True, True),
        (5, 5, False, True),
        (3, 5, False, False),
        (None, 5, False, False),
        # An absent version ranks below every version, as the processor ranks it.
        (0, None, True, None),
        (None, None, False, None),
    ],
)
def test_the_store_is_compared_as_the_processor_ranks_versions(
    stored: int | None, record_version: int | None, newer: bool, current: bool | None
) -> None:
    assert stored_is_newer(stored, record_version) is newer
    if record_version is not None:
        assert stored_is_current(stored, record_version) is current


def test_the_checkpoint_identity_changes_only_with_a_pointer() -> None:
    assert reading_fingerprint("abc", DEFAULT_SOURCE) == "abc"
    assert reading_fingerprint("abc", REVISION) not in ("abc", reading_fingerprint("abd", REVISION))
    assert reading_fingerprint("abc", REVISION) != reading_fingerprint(
        "abc", VersionSource.from_pointer("/sourceVersion")
    )
