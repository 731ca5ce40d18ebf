"""``orders-reindex``: give the orders stored before the search fields existed those fields.

A document written by a release before the search by item, account and additional
information has only ``customerId`` and ``status`` to be found by; its next version
gets the rest. One written before fulfillments has no ``fulfillmentStates``, so the
search by fulfillment status does not find it (an order that release picked up reads
as fulfilled at its business unit) until its next version or store update. This writes
the missing fields now, from each stored document, to every order that lacks them, in
the business units named (or all), and changes nothing else. It is safe to run again,
and beside the processor: each write is conditional on the document not having
changed since it was read.

Exit codes: 0 done, 2 the command could not run (Firestore unreachable).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from google.api_core import exceptions

from shared.adapters.firestore import FirestoreOrderStore
from shared.config import DEFAULT_FIRESTORE_DATABASE, Settings
from shared.domain.addresses import BUSINESS_UNITS
from shared.errors import StoreUnavailable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orders-reindex", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT"), help="GOOGLE_CLOUD_PROJECT"
    )
    parser.add_argument(
        "--database",
        default=os.environ.get("FIRESTORE_DATABASE", DEFAULT_FIRESTORE_DATABASE),
        help="FIRESTORE_DATABASE",
    )
    parser.add_argument(
        "--business-unit",
        action="append",
        dest="business_units",
        help="only this business unit (repeatable; default: every one)",
    )
    parser.add_argument("--dry-run", action="store_true", help="count, write nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.project:
        print("orders-reindex: --project or GOOGLE_CLOUD_PROJECT is required", file=sys.stderr)
        return 2
    from google.cloud import firestore

    client = firestore.Client(project=args.project, database=args.database)
    store = FirestoreOrderStore(
        client, timeout_seconds=Settings(project_id=args.project).firestore_timeout_seconds
    )
    try:
        units = args.business_units or [
            unit.id for unit in client.collection(BUSINESS_UNITS).list_documents()
        ]
        for unit in units:
            done = store.backfill_search_fields(unit, dry_run=args.dry_run)
            verb = "would write" if args.dry_run else "wrote"
            print(
                f"{unit}: read {done.read}, {verb} {done.written}, already had them "
                f"{done.current}, newer version meanwhile {done.raced}"
            )
    except (StoreUnavailable, exceptions.GoogleAPICallError) as exc:
        print(f"orders-reindex: Firestore: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
