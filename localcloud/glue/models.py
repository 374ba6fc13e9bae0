"""State for the Glue operations moto lacks: classifiers and real crawler runs.

Stored moto-style: a `BaseBackend` per account and region in a `BackendDict`,
so `moto_api_backend.reset()` clears it together with moto's own state, and one
method per AWS action in snake_case. Crawler definitions stay in moto's glue
backend (CreateCrawler/UpdateCrawler/DeleteCrawler are moto's); this backend
keeps what moto does not model — the runs of a crawler and their results.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend

from localcloud.glue.exceptions import (
    AlreadyExistsException,
    CrawlerNotRunningException,
    CrawlerRunningException,
    CrawlerStoppingException,
    EntityNotFoundException,
    InvalidInputException,
)
from localcloud.glue.jsonpaths import UnsupportedJsonPath, compile_json_path

# Request member name -> what GetClassifier returns the classifier under.
CLASSIFIER_KINDS = {
    "GrokClassifier": "GrokClassifier",
    "XMLClassifier": "XMLClassifier",
    "JsonClassifier": "JsonClassifier",
    "CsvClassifier": "CsvClassifier",
}

# Fields a caller may set per kind (Name included); anything else is ignored like the SDK would refuse it.
_SETTABLE = {
    "GrokClassifier": ("Name", "Classification", "GrokPattern", "CustomPatterns"),
    "XMLClassifier": ("Name", "Classification", "RowTag"),
    "JsonClassifier": ("Name", "JsonPath"),
    "CsvClassifier": (
        "Name", "Delimiter", "QuoteSymbol", "ContainsHeader", "Header", "DisableValueTrimming",
        "AllowSingleColumn", "CustomDatatypeConfigured", "CustomDatatypes", "Serde",
    ),
}
_REQUIRED_ON_CREATE = {
    "GrokClassifier": ("Name", "Classification", "GrokPattern"),
    "XMLClassifier": ("Name", "Classification"),
    "JsonClassifier": ("Name", "JsonPath"),
    "CsvClassifier": ("Name",),
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Classifier:
    """One custom classifier; `spec` holds the kind-specific fields as the API names them."""

    kind: str
    spec: dict[str, Any]
    creation_time: datetime = field(default_factory=utcnow)
    last_updated: datetime = field(default_factory=utcnow)
    version: int = 1

    @property
    def name(self) -> str:
        return self.spec["Name"]

    @property
    def json_path(self) -> str | None:
        return self.spec.get("JsonPath") if self.kind == "JsonClassifier" else None

    def to_api(self) -> dict[str, Any]:
        body = dict(self.spec)
        body.update(CreationTime=self.creation_time, LastUpdated=self.last_updated, Version=self.version)
        return {CLASSIFIER_KINDS[self.kind]: body}


@dataclass
class CrawlRun:
    """One run of a crawler (AWS's CrawlerHistory / LastCrawlInfo)."""

    crawl_id: str
    crawler_name: str
    start_time: datetime = field(default_factory=utcnow)
    end_time: datetime | None = None
    # RUNNING while crawling, STOPPING while finishing, then COMPLETED | FAILED | STOPPED.
    state: str = "RUNNING"
    error_message: str | None = None
    tables_created: int = 0
    tables_updated: int = 0
    tables_deleted: int = 0
    partitions_added: int = 0
    partitions_updated: int = 0
    partitions_deleted: int = 0
    malformed_records: int = 0
    stop_requested: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def log_group(self) -> str:
        return "/aws-glue/crawlers"

    @property
    def log_stream(self) -> str:
        return self.crawler_name

    @property
    def message_prefix(self) -> str:
        return self.crawl_id

    @property
    def last_crawl_status(self) -> str:
        """LastCrawlInfo.Status: SUCCEEDED | CANCELLED | FAILED (RUNNING while unfinished)."""
        return {"COMPLETED": "SUCCEEDED", "STOPPED": "CANCELLED", "FAILED": "FAILED"}.get(self.state, "RUNNING")

    @property
    def runtime_seconds(self) -> float:
        end = self.end_time or utcnow()
        return max((end - self.start_time).total_seconds(), 0.0)

    def summary(self) -> dict[str, Any]:
        """The CrawlerHistory Summary: counts per entity and change, as Glue's console shows them."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for entity, change, count in (
            ("TABLE", "ADD", self.tables_created), ("TABLE", "UPDATE", self.tables_updated),
            ("TABLE", "DELETE", self.tables_deleted), ("PARTITION", "ADD", self.partitions_added),
            ("PARTITION", "UPDATE", self.partitions_updated), ("PARTITION", "DELETE", self.partitions_deleted),
        ):
            if count:
                out.setdefault(entity, {})[change] = {"Count": count}
        return out


class GlueExtrasBackend(BaseBackend):
    """Classifiers and crawler runs for one account and region."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.classifiers: dict[str, Classifier] = {}
        self.crawls: dict[str, list[CrawlRun]] = {}
        # crawler name -> folders (s3://bucket/prefix/) its successful crawls have read; for CRAWL_NEW_FOLDERS_ONLY
        self.crawled_folders: dict[str, set[str]] = {}
        self.lock = threading.RLock()

    # -- classifiers ---------------------------------------------------
    def create_classifier(self, request: dict[str, Any]) -> None:
        kind, spec = _one_classifier(request)
        missing = [f for f in _REQUIRED_ON_CREATE[kind] if not spec.get(f)]
        if missing:
            raise InvalidInputException(f"{kind} is missing required field(s): {', '.join(missing)}")
        _validate(kind, spec)
        with self.lock:
            if spec["Name"] in self.classifiers:
                raise AlreadyExistsException(f"Classifier with name {spec['Name']} already exists")
            now = utcnow()
            self.classifiers[spec["Name"]] = Classifier(kind, spec, creation_time=now, last_updated=now)

    def get_classifier(self, name: str) -> Classifier:
        with self.lock:
            try:
                return self.classifiers[name]
            except KeyError:
                raise EntityNotFoundException(f"Classifier with name {name} not found") from None

    def classifiers_snapshot(self) -> dict[str, Classifier]:
        with self.lock:
            return dict(self.classifiers)

    def get_classifiers(self) -> list[Classifier]:
        with self.lock:
            return sorted(self.classifiers.values(), key=lambda c: c.name)

    def update_classifier(self, request: dict[str, Any]) -> None:
        kind, changes = _one_classifier(request)
        if not changes.get("Name"):
            raise InvalidInputException(f"{kind} is missing required field(s): Name")
        with self.lock:
            current = self.get_classifier(changes["Name"])
            if current.kind != kind:
                raise InvalidInputException(
                    f"Classifier {current.name} is a {current.kind}, it cannot be updated with a {kind}"
                )
            merged = {**current.spec, **{k: v for k, v in changes.items() if v is not None}}
            _validate(kind, merged)
            current.spec = merged
            current.version += 1
            current.last_updated = utcnow()

    def delete_classifier(self, name: str) -> None:
        with self.lock:
            if name not in self.classifiers:
                raise EntityNotFoundException(f"Classifier with name {name} not found")
            del self.classifiers[name]

    # -- crawler runs --------------------------------------------------
    def start_crawler(self, name: str) -> CrawlRun:
        """Record a new run of crawler `name` (refused while one is running); the caller launches it.

        State only: the crawl itself is run by `CrawlerRunner.launch` (localcloud/glue/runner.py),
        so this backend never starts a thread and never imports the crawler.
        """
        with self.lock:
            last = self.last_run(name)
            if last is not None and last.state in ("RUNNING", "STOPPING"):
                raise CrawlerRunningException(f"Crawler with name {name} has already started")
            run = CrawlRun(crawl_id=str(uuid.uuid4()), crawler_name=name)
            self.crawls.setdefault(name, []).append(run)
        return run

    def stop_crawler(self, name: str) -> None:
        with self.lock:
            last = self.last_run(name)
            if last is None or last.state not in ("RUNNING", "STOPPING"):
                raise CrawlerNotRunningException(f"Crawler with name {name} isn't running")
            if last.stop_requested.is_set() or last.state == "STOPPING":
                raise CrawlerStoppingException(f"Crawler with name {name} is stopping")
            last.stop_requested.set()
            last.state = "STOPPING"

    def crawler_state(self, name: str) -> str:
        """RUNNING | STOPPING | READY, as GetCrawler reports it."""
        last = self.last_run(name)
        if last is not None and last.state in ("RUNNING", "STOPPING"):
            return last.state
        return "READY"

    def last_finished_run(self, name: str) -> CrawlRun | None:
        with self.lock:
            finished = [r for r in self.crawls.get(name, []) if r.state in ("COMPLETED", "FAILED", "STOPPED")]
            return finished[-1] if finished else None

    def runs_of(self, crawler_name: str) -> list[CrawlRun]:
        with self.lock:
            return list(self.crawls.get(crawler_name, []))

    def last_run(self, crawler_name: str) -> CrawlRun | None:
        with self.lock:
            runs = self.crawls.get(crawler_name)
            return runs[-1] if runs else None

    def forget_crawler(self, crawler_name: str) -> None:
        with self.lock:
            self.crawls.pop(crawler_name, None)
            self.crawled_folders.pop(crawler_name, None)

    def get_crawler_metrics(self, names: list[str]) -> list[dict[str, Any]]:
        out = []
        for name in names:
            runs = [r for r in self.runs_of(name) if r.end_time is not None]
            current = self.last_run(name)
            last = runs[-1] if runs else None
            durations = sorted(r.runtime_seconds for r in runs)
            median = durations[len(durations) // 2] if durations else 0.0
            running = current is not None and current.end_time is None
            out.append({
                "CrawlerName": name,
                "TimeLeftSeconds": max(median - current.runtime_seconds, 0.0) if running and current else 0.0,
                "StillEstimating": bool(running and not runs),
                "LastRuntimeSeconds": last.runtime_seconds if last else 0.0,
                "MedianRuntimeSeconds": median,
                "TablesCreated": last.tables_created if last else 0,
                "TablesUpdated": last.tables_updated if last else 0,
                "TablesDeleted": last.tables_deleted if last else 0,
            })
        return out


def _one_classifier(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    given = [k for k in CLASSIFIER_KINDS if request.get(k) is not None]
    if len(given) != 1:
        raise InvalidInputException(
            "Exactly one of GrokClassifier, XMLClassifier, JsonClassifier or CsvClassifier must be specified"
        )
    kind = given[0]
    body = request[kind]
    if not isinstance(body, dict):
        raise InvalidInputException(f"{kind} must be an object")
    return kind, {k: body[k] for k in _SETTABLE[kind] if k in body}


def _validate(kind: str, spec: dict[str, Any]) -> None:
    name = spec.get("Name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise InvalidInputException("Classifier name must be 1 to 255 characters long")
    if kind == "JsonClassifier":
        try:
            compile_json_path(spec["JsonPath"])
        except UnsupportedJsonPath as exc:
            raise InvalidInputException(str(exc)) from None
    if kind == "CsvClassifier":
        for member in ("Delimiter", "QuoteSymbol"):
            value = spec.get(member)
            if value is not None and len(value) != 1:
                raise InvalidInputException(f"CsvClassifier {member} must be a single character")


glue_extras_backends = BackendDict(GlueExtrasBackend, "glue")
