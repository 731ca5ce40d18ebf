"""The Firestore indexes terraform/firestore.tf creates, as :mod:`shared.domain.search_index` names them."""

from __future__ import annotations

from typing import cast

from shared.domain.search_index import Index, IndexedField, Mode, Scope
from tests.terraform.tfconfig import TerraformConfig, ref

# The first field of each composite index, written once for every searched field.
_SEARCHED_FIELD = {
    "field_path": ref("each.key"),
    "order": ref('each.value == "CONTAINS" ? null : each.value'),
    "array_config": ref('each.value == "CONTAINS" ? "CONTAINS" : null'),
}


def _mode(block: dict[str, str]) -> Mode:
    return cast(Mode, block.get("order") or block["array_config"])


def _answer_order(blocks: list[dict[str, str]]) -> tuple[IndexedField, ...]:
    """The fields after an index's first: the answer's order, closed by ``__name__``."""
    # __name__ closes every index in the last field's direction; the query orders by it too.
    *suffix, name = blocks
    assert name["field_path"] == "__name__"
    assert name["order"] == suffix[-1]["order"]
    return tuple(IndexedField(block["field_path"], _mode(block)) for block in suffix)


def composite_indexes(tf: TerraformConfig) -> set[Index]:
    """One index per entry of ``local.search_indexes``, as the resource's for_each makes it,
    and each other ``google_firestore_index`` as written."""
    search = tf.resource("google_firestore_index.search")
    assert search["for_each"] == ref("local.search_indexes")
    assert search["query_scope"] == "COLLECTION"
    first, *rest = search["fields"]
    assert first == _SEARCHED_FIELD
    ordered = _answer_order(rest)
    indexes = {
        Index((IndexedField(path, cast(Mode, mode)), *ordered))
        for path, mode in tf.locals["search_indexes"].items()
    }
    for name, block in tf.resources_of("google_firestore_index").items():
        if name == "search":
            continue
        assert block["collection"] == ref("local.order_collection_group")
        assert block["database"] == ref("local.firestore_database")
        first, *rest = block["fields"]
        indexes.add(
            Index(
                (IndexedField(first["field_path"], _mode(first)), *_answer_order(rest)),
                cast(Scope, block.get("query_scope", "COLLECTION")),
            )
        )
    return indexes


def single_field_indexes(tf: TerraformConfig) -> set[Index]:
    """The collection-scope single-field indexes the fields that are not exempt keep."""
    indexes = set()
    for block in tf.resources_of("google_firestore_field").values():
        if block["field"] == ref("each.key"):
            continue
        for config in block["index_config"]:
            for index in config.get("indexes", []):
                assert index["query_scope"] == "COLLECTION"
                indexes.add(Index((IndexedField(block["field"], _mode(index)),)))
    return indexes
