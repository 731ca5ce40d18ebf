"""Enough of Cloud Logging to judge terraform/'s log-based metrics on real log lines.

- :func:`cloud_run_entry` turns a line a function wrote with StructuredLogHandler into the
  LogEntry Cloud Run's logging agent makes of it: the special ``logging.googleapis.com/*``
  members become the entry's own fields (``labels``, ``sourceLocation``...), ``severity``
  and ``httpRequest`` too, and everything else is ``jsonPayload`` (Google Cloud,
  "Structured logging", special JSON fields).
  :func:`cloud_run_entries` does it for every such line of a function's output, and
  :func:`process_decisions` reads the processor's decisions off those entries.
- :func:`request_log_entry` is the entry Cloud Run writes itself for each request
  (log ``run.googleapis.com/requests``, LogEntry.httpRequest's ``requestMethod``,
  ``requestUrl``, the whole URL with its query string, and ``status``).
- :func:`matches` evaluates a filter of the Logging query language, the subset the
  metrics use: comparisons (``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``) of a field path
  with a quoted string or a number, regular-expression matches (``=~``, ``!~``: the
  pattern found anywhere in the field's text, as RE2 does for the patterns used here),
  ``log_id("...")``, ``NOT``, ``AND``, ``OR`` and
  parentheses. NOT binds tightest, then OR, then AND, as Google documents. Anything else
  is a ``ValueError``, so that a filter outside the subset fails its test instead of
  being judged wrongly.
- :func:`extract` evaluates ``EXTRACT(field)`` and ``REGEXP_EXTRACT(field, "re")``; a
  failed extraction is the empty string, a string label's default.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PROJECT = "demo-project"
# The functions' Cloud Run services, the names terraform's filters read (function_name_prefix's
# default).
INGEST = "customer-orders-ingest"
PROCESSOR = "customer-orders-processor"
POS = "customer-orders-pos"
SPECIAL_PREFIX = "logging.googleapis.com/"
# Special members the agent lifts out of the payload; everything else stays in jsonPayload.
_SPECIAL = {
    "labels": "labels",
    "sourceLocation": "sourceLocation",
    "trace": "trace",
    "spanId": "spanId",
    "trace_sampled": "traceSampled",
    "insertId": "insertId",
    "operation": "operation",
}

Entry = dict[str, Any]


def _resource(service: str) -> dict[str, Any]:
    return {"type": "cloud_run_revision", "labels": {"service_name": service}}


def cloud_run_entry(line: str, service: str, log: str = "run.googleapis.com/stderr") -> Entry:
    """The LogEntry of one JSON line printed by ``service``."""
    payload: dict[str, Any] = json.loads(line)
    entry: Entry = {
        "logName": f"projects/{PROJECT}/logs/{urllib.parse.quote(log, safe='')}",
        "resource": _resource(service),
    }
    for key in list(payload):
        if key.startswith(SPECIAL_PREFIX):
            name = key.removeprefix(SPECIAL_PREFIX)
            value = payload.pop(key)
            if name in _SPECIAL:
                entry[_SPECIAL[name]] = value
    if "severity" in payload:
        entry["severity"] = payload.pop("severity")
    http_request = payload.pop("httpRequest", None)
    if http_request:
        entry["httpRequest"] = http_request
    entry["jsonPayload"] = payload
    return entry


def cloud_run_entries(text: str, service: str) -> list[Entry]:
    """The LogEntries of the JSON lines in what ``service`` printed."""
    # gunicorn's own start-up lines are text; only the functions' lines are JSON.
    return [cloud_run_entry(line, service) for line in text.splitlines() if line.startswith("{")]


def process_decisions(entries: Iterable[Entry], changes: Container[str] | None = None) -> list[str]:
    """The processor's decision on each delivery in ``entries``, in order; with ``changes``,
    only on the deliveries of those kinds of change."""
    return [
        entry["jsonPayload"].get("decision", "")
        for entry in entries
        if entry["jsonPayload"].get("event") == "process"
        and (changes is None or entry["jsonPayload"].get("change") in changes)
    ]


def request_log_entry(service: str, method: str, status: int, url: str = "") -> Entry:
    """The request-log entry Cloud Run writes for one request to ``service``."""
    request: dict[str, Any] = {"requestMethod": method, "status": status}
    if url:
        request["requestUrl"] = url
    return {
        "logName": f"projects/{PROJECT}/logs/run.googleapis.com%2Frequests",
        "resource": _resource(service),
        "severity": "ERROR" if status >= 500 else "INFO",
        "httpRequest": request,
    }


_MISSING = object()


def field(entry: Mapping[str, Any], path: str) -> Any:
    value: Any = entry
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


# --- filters ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>=~|!~|<=|>=|!=|=|<|>)
      | (?P<paren>[()])
      | (?P<comma>,)
      | (?P<word>[A-Za-z_][\w.]*)
      | (?P<number>-?\d+(?:\.\d+)?)
    )""",
    re.VERBOSE,
)

Predicate = Callable[[Mapping[str, Any]], bool]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read the filter at {text[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _literal(kind: str, text: str) -> str | float:
    if kind == "string":
        unquoted: str = json.loads(text)
        return unquoted
    if kind == "number":
        return float(text)
    raise ValueError(f"expected a quoted string or a number, not {text!r}")


def _compare(actual: Any, op: str, expected: str | float) -> bool:
    if op in ("=~", "!~"):
        if not isinstance(expected, str):
            raise ValueError(f"{op} needs a quoted pattern, not {expected!r}")
        found = isinstance(actual, str) and re.search(expected, actual) is not None
        return found if op == "=~" else not found
    if actual is _MISSING or isinstance(actual, (Mapping, list)):
        return False
    if isinstance(expected, float):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return False
        left: Any = float(actual)
    else:
        left = str(actual)
    if op == "=":
        return bool(left == expected)
    if op == "!=":
        return bool(left != expected)
    if isinstance(expected, str):
        raise ValueError(f"{op} needs a number here, not {expected!r}")
    ordered: dict[str, bool] = {
        "<": left < expected,
        "<=": left <= expected,
        ">": left > expected,
        ">=": left >= expected,
    }
    return ordered[op]


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    index: int = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ValueError("the filter ends too early")
        self.index += 1
        return token

    def expect(self, kind: str, text: str | None = None) -> str:
        got_kind, got = self.take()
        if got_kind != kind or (text is not None and got != text):
            raise ValueError(f"expected {text or kind}, got {got!r}")
        return got

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token == ("word", word):
            self.index += 1
            return True
        return False

    # Precedence, lowest first: AND, OR, NOT.
    def conjunction(self) -> Predicate:
        terms = [self.disjunction()]
        while self.keyword("AND"):
            terms.append(self.disjunction())
        token = self.peek()
        if token is not None and token != ("paren", ")"):
            # Juxtaposition is an implicit AND in Logging; the metrics always write it out.
            raise ValueError(f"expected AND, OR or the end, got {token[1]!r}")
        return lambda entry: all(term(entry) for term in terms)

    def disjunction(self) -> Predicate:
        terms = [self.negation()]
        while self.keyword("OR"):
            terms.append(self.negation())
        return lambda entry: any(term(entry) for term in terms)

    def negation(self) -> Predicate:
        if self.keyword("NOT"):
            inner = self.negation()
            return lambda entry: not inner(entry)
        return self.primary()

    def primary(self) -> Predicate:
        kind, text = self.take()
        if (kind, text) == ("paren", "("):
            inner = self.conjunction()
            self.expect("paren", ")")
            return inner
        if kind != "word" or text in ("AND", "OR", "NOT"):
            raise ValueError(f"expected a field or a function, got {text!r}")
        if text == "log_id":
            self.expect("paren", "(")
            log = _literal("string", self.expect("string"))
            self.expect("paren", ")")
            suffix = "/logs/" + urllib.parse.quote(str(log), safe="")
            return lambda entry: str(entry.get("logName", "")).endswith(suffix)
        op = self.expect("op")
        value_kind, value_text = self.take()
        expected = _literal(value_kind, value_text)
        return lambda entry: _compare(field(entry, text), op, expected)


def compile_filter(text: str) -> Predicate:
    parser = _Parser(_tokens(text))
    predicate = parser.conjunction()
    if parser.peek() is not None:
        raise ValueError(f"unbalanced parentheses in {text!r}")
    return predicate


def matches(text: str, entry: Mapping[str, Any]) -> bool:
    return compile_filter(text)(entry)


# --- extractors ------------------------------------------------------------------------------

_EXTRACT = re.compile(r"EXTRACT\((?P<field>[\w.]+)\)")
_REGEXP_EXTRACT = re.compile(r'REGEXP_EXTRACT\((?P<field>[\w.]+),\s*(?P<regex>"(?:[^"\\]|\\.)*")\)')


def _as_text(value: Any) -> str | None:
    if value is _MISSING or value is None or isinstance(value, (Mapping, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def extract(extractor: str, entry: Mapping[str, Any]) -> str:
    """A label's value: the field as text, or the regex's one group; else ``""``."""
    if (match := _EXTRACT.fullmatch(extractor)) is not None:
        return _as_text(field(entry, match["field"])) or ""
    if (match := _REGEXP_EXTRACT.fullmatch(extractor)) is not None:
        text = _as_text(field(entry, match["field"]))
        pattern = re.compile(json.loads(match["regex"]))
        if pattern.groups != 1:
            raise ValueError(f"{extractor} must have exactly one capture group")
        found = pattern.search(text) if text is not None else None
        return found.group(1) if found else ""
    raise ValueError(f"not an extractor this check knows: {extractor!r}")


def extract_value(extractor: str, entry: Mapping[str, Any]) -> float | None:
    """A distribution's value, or ``None`` when it is not recorded (no number)."""
    text = extract(extractor, entry)
    try:
        return float(text)
    except ValueError:
        return None
