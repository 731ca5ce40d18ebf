"""Request bodies as the APIs read them: JSON within a size, and schema violations as problems."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.domain.http import HttpRequest, media_type, read_body
from shared.domain.jsonbody import FieldViolation, json_pointer, parse_json
from shared.domain.problems import Rejected, problem
from shared.errors import BodyTooLarge, MalformedJson

# curl -d sends this type unless told otherwise; a JSON body under it is accepted.
_LENIENT_TYPES = frozenset({None, "application/x-www-form-urlencoded"})


def read_json(request: HttpRequest, *, limit: int) -> tuple[bytes, Any]:
    """The body as sent and as parsed, or a 413/415/400 problem."""
    kind, parameters = media_type(request.content_type)
    is_json = kind is not None and (kind == "application/json" or kind.endswith("+json"))
    if not is_json and kind not in _LENIENT_TYPES:
        raise Rejected(
            problem(
                415,
                "unsupported-media-type",
                f"Content-Type {kind} is not JSON; send application/json",
            )
        )
    if parameters.get("charset", "utf-8") != "utf-8":
        raise Rejected(problem(415, "unsupported-media-type", "JSON must be UTF-8"))
    try:
        raw = read_body(request.body, request.content_length, limit=limit)
    except BodyTooLarge:
        raise Rejected(
            problem(413, "payload-too-large", f"the body must be at most {limit} bytes")
        ) from None
    try:
        return raw, parse_json(raw)
    except MalformedJson as exc:
        if is_json:
            raise Rejected(problem(400, "malformed-json", str(exc))) from None
        raise Rejected(
            problem(
                415,
                "unsupported-media-type",
                f"the body is not JSON ({exc}); send application/json",
            )
        ) from None


def schema_violations(exc: ValidationError) -> list[FieldViolation]:
    """Each field pydantic rejected, as a JSON pointer and a reason."""
    return [
        FieldViolation(json_pointer(tuple(error["loc"])), error["msg"])
        for error in exc.errors(include_url=False, include_input=False)
    ]
