"""Turn one S3 object into records and a schema, the way Glue's JSON classifiers read it.

A file is newline-delimited JSON (one document per line) or one JSON document
(possibly pretty-printed over many lines). The crawler's custom JSON
classifiers are tried in order: the first whose JsonPath selects objects from
the file decides the records; otherwise the built-in JSON classifier applies
(each document is a record; a document that is an array becomes the single
column `array`, as Glue catalogues it). Lines that are not JSON are counted
as malformed and skipped, never fatal.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from localcloud.glue.inference import INT_MAX, INT_MIN, Struct, merge_struct, type_of
from localcloud.glue.jsonpaths import records_of
from localcloud.glue.s3source import S3Object
from localcloud.glue.settings import JsonClassifierRule


@dataclass
class FileScan:
    obj: S3Object
    schema: Struct = field(default_factory=Struct)
    records: int = 0
    malformed: int = 0
    compression: str = "none"
    classifier: str = "json"  # which classifier decided: a custom one's name, or "json" (built-in)
    problem: str | None = None  # why nothing could be read, if so

    @property
    def usable(self) -> bool:
        return self.records > 0


def scan_object(obj: S3Object, data: bytes, classifiers: list[JsonClassifierRule]) -> FileScan:
    scan = FileScan(obj)
    try:
        data, scan.compression = _decompress(obj.key, data)
        text = data.decode("utf-8-sig")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        scan.problem = f"cannot be read as (compressed) UTF-8 text: {exc}"
        return scan
    documents, scan.malformed = _documents(text)
    records, scan.classifier = _records(documents, classifiers)
    schema = Struct()
    # flat shape (names, value types) -> positions of its int values; lake records repeat a few shapes,
    # and merging a record of a shape already merged changes nothing unless an int outgrows int.
    flat_shapes: dict[tuple[tuple[str, ...], tuple[type, ...]], tuple[int, ...]] = {}
    for record in records:
        if not isinstance(record, dict):
            scan.malformed += 1  # a scalar where a record should be
            continue
        scan.records += 1
        values = tuple(record.values())
        shape = (tuple(record), tuple(map(type, values)))
        int_positions = flat_shapes.get(shape)
        if int_positions is not None and all(INT_MIN <= values[i] <= INT_MAX for i in int_positions):
            continue
        kind = type_of(record)
        assert isinstance(kind, Struct)
        schema = merge_struct(schema, kind)
        if int_positions is None and not any(t is dict or t is list for t in shape[1]):
            flat_shapes[shape] = tuple(i for i, t in enumerate(shape[1]) if t is int)
    scan.schema = schema
    if not scan.records and scan.problem is None:
        scan.problem = "holds no JSON records"
    return scan


def _decompress(key: str, data: bytes) -> tuple[bytes, str]:
    if data[:2] == b"\x1f\x8b" or key.endswith(".gz"):
        return gzip.decompress(data), "gzip"
    return data, "none"


def _documents(text: str) -> tuple[list[Any], int]:
    """(parsed documents, malformed line count)."""
    stripped = text.strip()
    if not stripped:
        return [], 0
    try:
        # One document, perhaps pretty-printed; NDJSON fails fast here at its second line.
        return [json.loads(stripped)], 0
    except ValueError:
        pass
    documents, malformed = [], 0
    for line in stripped.splitlines():
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except ValueError:
            malformed += 1
    return documents, malformed


def _records(documents: list[Any], classifiers: list[JsonClassifierRule]) -> tuple[list[Any], str]:
    for rule in classifiers:
        selected = [record for document in documents for record in records_of(document, rule.path)]
        if any(isinstance(record, dict) for record in selected):
            return selected, rule.name
    records = [({"array": document} if isinstance(document, list) else document) for document in documents]
    return records, "json"

