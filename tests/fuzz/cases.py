"""The inputs of the fuzz targets as readable files: what each corpus file under tests/fuzz/corpus/ is.

An HTTP case is a request as text, the way it would be written by hand::

    PUT /business-units/BU1/customer-orders/CO-1
    Content-Type: application/json
    Source-Version: 7

    {"customerOrder": ...}

A Pub/Sub case is one message as Pub/Sub's REST API shows it: ``data`` in base64,
``attributes``, ``messageId``, ``publishTime`` and ``orderingKey``. Any bytes decode
to some case, however mutated, so that every input reaches the code under test.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from urllib.parse import quote

DEFAULT_PUBLISH_TIME = "2026-12-01T00:00:00Z"
# What an HTTP client leaves unencoded in a request target: printable ASCII but space.
_PATH_SAFE = "".join(chr(code) for code in range(0x21, 0x7F))


@dataclass
class HttpCase:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self) -> bytes:
        head = [f"{self.method} {self.path}", *(f"{k}: {v}" for k, v in self.headers.items())]
        return "\n".join(head).encode("utf-8", "surrogatepass") + b"\n\n" + self.body

    @property
    def target(self) -> str:
        """The request target as a client sends it: anything but printable ASCII encoded."""
        return quote(self.path, safe=_PATH_SAFE, errors="surrogatepass") or "/"


def parse_http_case(data: bytes) -> HttpCase:
    head, _, body = data.partition(b"\n\n")
    lines = head.decode("utf-8", "replace").split("\n")
    method, _, path = lines[0].strip().partition(" ")
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers[name.strip()] = value.strip()
    return HttpCase(method or "GET", path.strip() or "/", headers, body)


@dataclass
class PubSubCase:
    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)
    message_id: str = "1"
    publish_time: str = DEFAULT_PUBLISH_TIME
    ordering_key: str = ""
    # The processor's path its subscription pushes to: "/" for the orders topic.
    push_path: str = "/"

    def encode(self) -> bytes:
        return json.dumps(
            {
                "data": base64.b64encode(self.data).decode("ascii"),
                "attributes": self.attributes,
                "messageId": self.message_id,
                "publishTime": self.publish_time,
                "orderingKey": self.ordering_key,
                "pushPath": self.push_path,
            },
            indent=1,
            ensure_ascii=True,
        ).encode("utf-8")

    def push_envelope(self, subscription: str) -> dict[str, object]:
        """The JSON body of Pub/Sub's push of this message (the wrapped format)."""
        message: dict[str, object] = {
            "data": base64.b64encode(self.data).decode("ascii"),
            "messageId": self.message_id,
            "message_id": self.message_id,
            "publishTime": self.publish_time,
            "publish_time": self.publish_time,
        }
        if self.attributes:
            message["attributes"] = self.attributes
        if self.ordering_key:
            message["orderingKey"] = self.ordering_key
        return {"message": message, "subscription": subscription}


def parse_pubsub_case(data: bytes) -> PubSubCase:
    """The message of a case; bytes that are none are the data of a message without attributes."""
    try:
        document = json.loads(data)
        payload = base64.b64decode(document["data"], validate=True)
    except (ValueError, RecursionError, TypeError, KeyError, IndexError, binascii.Error):
        return PubSubCase(data)
    if not isinstance(document, dict):
        return PubSubCase(data)
    attributes = document.get("attributes")
    # Pub/Sub's attributes are strings, as are the other members of what it delivers.
    return PubSubCase(
        payload,
        {str(k): str(v) for k, v in attributes.items()} if isinstance(attributes, dict) else {},
        str(document.get("messageId") or "1"),
        str(document.get("publishTime") or DEFAULT_PUBLISH_TIME),
        str(document.get("orderingKey") or ""),
        str(document.get("pushPath") or "/"),
    )
