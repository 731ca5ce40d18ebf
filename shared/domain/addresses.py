"""Where an order lives: its API path, its Firestore document and its Pub/Sub ordering key.

All three are built from the same two ids, here and nowhere else, so that the
API, the store, the topic and the tools can never disagree on an order's address.
"""

from __future__ import annotations

import re
from urllib.parse import quote

BUSINESS_UNITS = "business-units"
CUSTOMER_ORDERS = "customer-orders"

ORDER_PATH_TEMPLATE = f"/{BUSINESS_UNITS}/{{businessUnitId}}/{CUSTOMER_ORDERS}/{{customerOrderId}}"
SEARCH_PATH_TEMPLATE = f"/{BUSINESS_UNITS}/{{businessUnitId}}/{CUSTOMER_ORDERS}:search"
READY_PATH_TEMPLATE = f"{ORDER_PATH_TEMPLATE}:ready"
PICKUP_PATH_TEMPLATE = f"{ORDER_PATH_TEMPLATE}:pickup"
# Both match the still percent-encoded path, so that "%2F" in an id is not taken for "/".
ORDER_PATH = re.compile(rf"/{BUSINESS_UNITS}/(?P<bu>[^/]+)/{CUSTOMER_ORDERS}/(?P<order>[^/]+)")
SEARCH_PATH = re.compile(rf"/{BUSINESS_UNITS}/(?P<bu>[^/]+)/{CUSTOMER_ORDERS}:search")
# The store's updates, custom methods (Google AIP-136): a colon in the id itself arrives as %3A.
STORE_UPDATE_PATH = re.compile(
    rf"/{BUSINESS_UNITS}/(?P<bu>[^/]+)/{CUSTOMER_ORDERS}/(?P<order>[^/:]+):(?P<method>ready|pickup)"
)


def order_location(business_unit_id: str, customer_order_id: str) -> str:
    """The API path of an order, each id percent-encoded as one path segment."""
    return (
        f"/{BUSINESS_UNITS}/{quote(business_unit_id, safe='')}"
        f"/{CUSTOMER_ORDERS}/{quote(customer_order_id, safe='')}"
    )


def pickup_location(business_unit_id: str, customer_order_id: str) -> str:
    """The API path that records items of an order handed out."""
    return f"{order_location(business_unit_id, customer_order_id)}:pickup"


def ready_location(business_unit_id: str, customer_order_id: str) -> str:
    """The API path that records items of an order ready for pickup."""
    return f"{order_location(business_unit_id, customer_order_id)}:ready"


def collection_location(business_unit_id: str) -> str:
    """The API path of a business unit's orders: the ``source`` of their events."""
    return f"/{BUSINESS_UNITS}/{quote(business_unit_id, safe='')}/{CUSTOMER_ORDERS}"


def search_location(business_unit_id: str) -> str:
    """The API path of the search by customer in one business unit."""
    return f"{collection_location(business_unit_id)}:search"


def collection_path(business_unit_id: str) -> str:
    """The Firestore collection of one business unit's orders."""
    return f"{BUSINESS_UNITS}/{business_unit_id}/{CUSTOMER_ORDERS}"


def document_path(business_unit_id: str, customer_order_id: str) -> str:
    """The Firestore document of an order."""
    return f"{collection_path(business_unit_id)}/{customer_order_id}"


def ordering_key(business_unit_id: str, customer_order_id: str) -> str:
    """The Pub/Sub ordering key of an order: its versions are delivered in publish order."""
    return f"{business_unit_id}/{customer_order_id}"
