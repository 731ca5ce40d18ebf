"""Reading an OMS export: NDJSON files and folders of JSON files, one order per record.

A record is ``{"businessUnitId": "...", "customerOrder": {...}}``, optionally with
the order's ``sourceVersion`` (or a version elsewhere, see
:mod:`shared.tools.sync.versions`): one line of an NDJSON file, or one whole
``*.json`` file of a folder. Records are numbered in
input order (``seq``) so that a checkpoint can name them; the numbering is only
stable for identical inputs, which :func:`scan_inputs`' fingerprint guarantees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.domain.addresses import ordering_key
from shared.domain.ids import id_violation
from shared.domain.jsonbody import FieldViolation, dump_json, parse_json
from shared.errors import MalformedJson
from shared.tools.errors import UsageError
from shared.tools.sync.versions import DEFAULT_SOURCE, BadVersion, VersionSource, read_version

NDJSON = "ndjson"
JSON = "json"


@dataclass(frozen=True, slots=True)
class InputFile:
    path: Path
    # NDJSON: a record per line; JSON: the whole file is one record.
    kind: str


@dataclass(frozen=True, slots=True)
class Inputs:
    files: tuple[InputFile, ...]
    # Identifies the exact bytes of every file, in order: a checkpoint belongs to it.
    fingerprint: str
    record_count: int


@dataclass(frozen=True, slots=True)
class OrderRecord:
    seq: int
    source: str
    line: int
    business_unit_id: str
    customer_order_id: str
    customer_order: dict[str, Any]
    # sha256 of the record's bytes: what exactly was sent, for the checkpoint's readers.
    digest: str
    raw: bytes
    # The OMS's version of the order, sent as Source-Version; None: an unversioned record.
    source_version: int | None = None

    @property
    def order_key(self) -> str:
        return ordering_key(self.business_unit_id, self.customer_order_id)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True, slots=True)
class BadRecord:
    seq: int
    source: str
    line: int
    raw: bytes
    problem: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


Record = OrderRecord | BadRecord


def expand_inputs(arguments: Sequence[str]) -> list[InputFile]:
    """The files named on the command line; a folder stands for its ``*.json`` files."""
    files: list[InputFile] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                raise UsageError(f"{argument}: the folder holds no *.json files")
            files.extend(InputFile(p, JSON) for p in found)
        elif path.is_file():
            files.append(InputFile(path, JSON if path.suffix == ".json" else NDJSON))
        elif path.exists():
            raise UsageError(f"{argument}: not a regular file or folder")
        else:
            raise UsageError(f"{argument}: no such file or folder")
    if not files:
        raise UsageError("name at least one NDJSON file or folder of JSON files")
    return files


def scan_inputs(files: Sequence[InputFile]) -> Inputs:
    """Fingerprint and count the records of ``files``; one read of every byte."""
    fingerprint = hashlib.sha256()
    count = 0
    for file in files:
        fingerprint.update(str(file.path.resolve()).encode("utf-8", "surrogateescape") + b"\0")
        try:
            with file.path.open("rb") as handle:
                if file.kind == JSON:
                    fingerprint.update(handle.read())
                    count += 1
                    continue
                for raw in handle:
                    fingerprint.update(raw)
                    if raw.strip():
                        count += 1
        except OSError as exc:
            raise UsageError(f"{file.path}: {exc.strerror or exc}") from exc
        fingerprint.update(b"\0")
    return Inputs(tuple(files), fingerprint.hexdigest(), count)


def read_records(inputs: Inputs, versions: VersionSource = DEFAULT_SOURCE) -> Iterator[Record]:
    """Every record of the inputs in order, parsed; a bad one comes back as :class:`BadRecord`.

    Blank lines are skipped and not numbered. ``versions`` says where a record's version is.
    """
    seq = 0
    for file in inputs.files:
        source = str(file.path)
        try:
            with file.path.open("rb") as handle:
                if file.kind == JSON:
                    yield parse_record(
                        handle.read(), seq=seq, source=source, line=1, versions=versions
                    )
                    seq += 1
                    continue
                for line_number, raw in enumerate(handle, 1):
                    if not raw.strip():
                        continue
                    yield parse_record(
                        raw, seq=seq, source=source, line=line_number, versions=versions
                    )
                    seq += 1
        except OSError as exc:
            raise UsageError(f"{source}: {exc.strerror or exc}") from exc


def parse_record(
    raw: bytes,
    *,
    seq: int,
    source: str,
    line: int,
    versions: VersionSource = DEFAULT_SOURCE,
) -> Record:
    content = raw.strip()
    try:
        value = parse_json(content)
    except MalformedJson as exc:
        return _bad(raw, seq, source, line, 400, "malformed-json", f"line {line}: {exc}")
    violations = _envelope_violations(value)
    if violations:
        return _bad(
            raw, seq, source, line, 422, "validation-failed",
            f"line {line}: not an order record "
            '({"businessUnitId": "...", "customerOrder": {"customerOrderId": "...", ...}})',
            violations,
        )  # fmt: skip
    unsendable = _unsendable(value["customerOrder"])
    if unsendable is not None:
        return _bad(
            raw, seq, source, line, 422, "validation-failed",
            f"line {line}: the order cannot be sent", [unsendable],
        )  # fmt: skip
    try:
        source_version = read_version(value, versions)
    except BadVersion as exc:
        # Sent without it, or with a guessed one, the record could overwrite a newer update.
        return _bad(
            raw, seq, source, line, 422, "validation-failed",
            f"line {line}: no valid source version at {versions.pointer}", [exc.violation],
        )  # fmt: skip
    return OrderRecord(
        seq=seq,
        source=source,
        line=line,
        business_unit_id=value["businessUnitId"],
        customer_order_id=value["customerOrder"]["customerOrderId"],
        customer_order=value["customerOrder"],
        digest=hashlib.sha256(content).hexdigest(),
        raw=content,
        source_version=source_version,
    )


def _envelope_violations(value: Any) -> list[FieldViolation]:
    """What stops a parsed record from naming an order; the schema is the service's to check."""
    if not isinstance(value, dict):
        return [FieldViolation("", "must be a JSON object")]
    violations = _id_violations(value, "businessUnitId", "/businessUnitId")
    order = value.get("customerOrder")
    if order is None:
        violations.append(FieldViolation("/customerOrder", "is required"))
    elif not isinstance(order, dict):
        violations.append(FieldViolation("/customerOrder", "must be an object"))
    else:
        violations.extend(
            _id_violations(order, "customerOrderId", "/customerOrder/customerOrderId")
        )
    return violations


def _unsendable(order: dict[str, Any]) -> FieldViolation | None:
    """Why the order cannot be written as the JSON body it is sent as, or ``None``.

    The body is written again from the parsed record (shared.tools.sync.client.order_bytes),
    and a number past a double's range (``1e400``) parses as infinity, which JSON cannot hold.
    """
    try:
        dump_json(order)
    except ValueError:
        return FieldViolation(
            "/customerOrder", "holds a number beyond a double's range (such as 1e400)"
        )
    return None


def _id_violations(container: dict[str, Any], name: str, pointer: str) -> list[FieldViolation]:
    value = container.get(name)
    if value is None:
        return [FieldViolation(pointer, "is required")]
    if not isinstance(value, str):
        return [FieldViolation(pointer, "must be a string")]
    reason = id_violation(value)
    return [FieldViolation(pointer, reason)] if reason else []


def _bad(
    raw: bytes,
    seq: int,
    source: str,
    line: int,
    status: int,
    slug: str,
    detail: str,
    violations: Sequence[FieldViolation] = (),
) -> BadRecord:
    from shared.domain.problems import problem

    document = problem(status, slug, detail, errors=violations).to_json()
    return BadRecord(seq=seq, source=source, line=line, raw=raw.rstrip(b"\r\n"), problem=document)
