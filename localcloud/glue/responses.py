"""Glue's route table and handlers: parse JSON-protocol requests for our actions, serialise AWS's shapes.

Timestamps go out as epoch seconds, which is how the awsJson1_1 protocol
carries them (boto3 turns them back into datetimes).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from localcloud import moto_patches
from localcloud.glue.exceptions import (
    CrawlerRunningException,
    EntityNotFoundException,
    InvalidInputException,
)
from localcloud.glue.models import GlueExtrasBackend, glue_extras_backends, utcnow
from localcloud.routing import AwsRequest, AwsResponse, AwsServiceError, paginate
from localcloud.routing import required as required_member

if TYPE_CHECKING:
    from localcloud.glue.runner import CrawlerRunner


def to_wire(value: Any) -> Any:
    """Recursively turn datetimes into epoch seconds and drop None members, as AWS omits them."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    return value


def ok(payload: dict[str, Any] | None = None) -> AwsResponse:
    return AwsResponse.json(to_wire(payload or {}))


def params(request: AwsRequest) -> dict[str, Any]:
    return request.json_object(InvalidInputException)


def extras(request: AwsRequest) -> GlueExtrasBackend:
    return glue_extras_backends[request.account_id][request.region]


def required(body: dict[str, Any], member: str) -> Any:
    return required_member(body, member, InvalidInputException)


# Crawler definitions are moto's; we answer the calls whose behaviour depends on real runs.
UPDATABLE_CRAWLER_MEMBERS = {
    "Role": "role", "DatabaseName": "database_name", "Description": "description", "Targets": "targets",
    "Classifiers": "classifiers", "TablePrefix": "table_prefix", "SchemaChangePolicy": "schema_change_policy",
    "RecrawlPolicy": "recrawl_policy", "LineageConfiguration": "lineage_configuration",
    "Configuration": "configuration", "CrawlerSecurityConfiguration": "crawler_security_configuration",
}


def moto_glue(request: AwsRequest) -> Any:
    return moto_patches.glue_backend(request.account_id, request.region)


def moto_crawler(request: AwsRequest, name: str) -> Any:
    """moto's FakeCrawler, with moto's not-found error turned into ours."""
    crawler = moto_glue(request).crawlers.get(name)
    if crawler is None:
        raise EntityNotFoundException(f"Crawler entry with name {name} does not exist")
    return crawler


def crawler_to_api(request: AwsRequest, crawler: Any) -> dict[str, Any]:
    """moto's crawler description, with State, CrawlElapsedTime and LastCrawl from real runs."""
    backend = extras(request)
    body = crawler.as_dict()
    body["State"] = backend.crawler_state(crawler.name)
    current = backend.last_run(crawler.name)
    running = current is not None and current.end_time is None
    body["CrawlElapsedTime"] = int(current.runtime_seconds * 1000) if running and current else 0
    body.pop("LastCrawl", None)
    finished = backend.last_finished_run(crawler.name)
    if finished is not None:
        body["LastCrawl"] = {
            "Status": finished.last_crawl_status,
            "ErrorMessage": finished.error_message,
            "LogGroup": finished.log_group,
            "LogStream": finished.log_stream,
            "MessagePrefix": finished.message_prefix,
            "StartTime": finished.start_time,
        }
    return body


def _checked(definition: dict[str, Any]) -> None:
    from localcloud.glue.settings import CrawlerConfigError, check_definition

    try:
        check_definition(definition)
    except CrawlerConfigError as exc:
        raise InvalidInputException(str(exc)) from None


_CRAWL_STATES = ("RUNNING", "COMPLETED", "FAILED", "STOPPED")


def _crawl_matches(crawl: dict[str, Any], flt: dict[str, Any]) -> bool:
    fields = {"CRAWL_ID": "CrawlId", "STATE": "State", "START_TIME": "StartTime", "END_TIME": "EndTime",
              "DPU_HOUR": "DPUHour"}
    member = fields.get(flt.get("FieldName", ""))
    operator = flt.get("FilterOperator")
    if member is None or operator not in ("GT", "GE", "LT", "LE", "EQ", "NE"):
        raise InvalidInputException(f"Invalid crawl filter {flt}")
    value = crawl.get(member)
    wanted: Any = flt.get("FieldValue")
    if isinstance(value, datetime):
        try:
            wanted = datetime.fromtimestamp(float(wanted), tz=value.tzinfo)
        except (TypeError, ValueError):
            wanted = datetime.fromisoformat(str(wanted))
    elif isinstance(value, float):
        wanted = float(wanted)
    if value is None:
        return operator == "NE"
    return {
        "GT": value > wanted, "GE": value >= wanted, "LT": value < wanted, "LE": value <= wanted,
        "EQ": value == wanted, "NE": value != wanted,
    }[operator]


def _page(items: list[Any], max_results: Any, token: Any) -> tuple[list[Any], str | None]:
    size = max_results or 100
    if not isinstance(size, int) or size < 1:
        raise InvalidInputException("MaxResults must be a positive integer")
    return paginate(items, size, token, InvalidInputException)


class GlueResponses:
    """Glue's actions that moto lacks or gets wrong; crawls are launched by the crawler runner."""

    def __init__(self, crawls: CrawlerRunner):
        self.crawls = crawls

    def create_classifier(self, request: AwsRequest) -> AwsResponse:
        extras(request).create_classifier(params(request))
        return ok()

    def get_classifier(self, request: AwsRequest) -> AwsResponse:
        classifier = extras(request).get_classifier(required(params(request), "Name"))
        return ok({"Classifier": classifier.to_api()})

    def get_classifiers(self, request: AwsRequest) -> AwsResponse:
        body = params(request)
        max_results = body.get("MaxResults") or 1000
        if not isinstance(max_results, int) or not 1 <= max_results <= 1000:
            raise InvalidInputException("MaxResults must be between 1 and 1000")
        page, token = paginate(extras(request).get_classifiers(), max_results, body.get("NextToken"),
                               InvalidInputException)
        out: dict[str, Any] = {"Classifiers": [c.to_api() for c in page]}
        if token:
            out["NextToken"] = token
        return ok(out)

    def update_classifier(self, request: AwsRequest) -> AwsResponse:
        extras(request).update_classifier(params(request))
        return ok()

    def delete_classifier(self, request: AwsRequest) -> AwsResponse:
        extras(request).delete_classifier(required(params(request), "Name"))
        return ok()

    def create_crawler(self, request: AwsRequest) -> AwsResponse:
        """moto's CreateCrawler, after the checks Glue makes and moto does not (Configuration, recrawl rules)."""
        body = params(request)
        _checked(body)
        try:
            moto_glue(request).create_crawler(
                name=required(body, "Name"), role=required(body, "Role"), database_name=body.get("DatabaseName"),
                description=body.get("Description"), targets=required(body, "Targets"), schedule=body.get("Schedule"),
                classifiers=body.get("Classifiers"), table_prefix=body.get("TablePrefix"),
                schema_change_policy=body.get("SchemaChangePolicy"), recrawl_policy=body.get("RecrawlPolicy"),
                lineage_configuration=body.get("LineageConfiguration"), configuration=body.get("Configuration"),
                crawler_security_configuration=body.get("CrawlerSecurityConfiguration"), tags=body.get("Tags"),
            )
        except moto_patches.MotoServiceError as exc:  # moto's AlreadyExistsException and friends, in our shape
            code, message, status = moto_patches.moto_error_fields(exc)
            raise AwsServiceError(code, message, status) from None
        return ok()

    def start_crawler(self, request: AwsRequest) -> AwsResponse:
        name = required(params(request), "Name")
        crawler = moto_crawler(request, name)
        run = extras(request).start_crawler(name)
        self.crawls.launch(run, crawler, extras(request), moto_glue(request))
        return ok()

    def stop_crawler(self, request: AwsRequest) -> AwsResponse:
        name = required(params(request), "Name")
        moto_crawler(request, name)
        extras(request).stop_crawler(name)
        return ok()

    def get_crawler(self, request: AwsRequest) -> AwsResponse:
        crawler = moto_crawler(request, required(params(request), "Name"))
        return ok({"Crawler": crawler_to_api(request, crawler)})

    def get_crawlers(self, request: AwsRequest) -> AwsResponse:
        body = params(request)
        crawlers = sorted(moto_glue(request).crawlers.values(), key=lambda c: c.name)
        page, token = _page(crawlers, body.get("MaxResults"), body.get("NextToken"))
        out: dict[str, Any] = {"Crawlers": [crawler_to_api(request, c) for c in page]}
        if token:
            out["NextToken"] = token
        return ok(out)

    def batch_get_crawlers(self, request: AwsRequest) -> AwsResponse:
        names = required(params(request), "CrawlerNames")
        known = moto_glue(request).crawlers
        return ok({
            "Crawlers": [crawler_to_api(request, known[n]) for n in names if n in known],
            "CrawlersNotFound": [n for n in names if n not in known],
        })

    def update_crawler(self, request: AwsRequest) -> AwsResponse:
        """UpdateCrawler (moto has none): change the given members, bump Version; refused while running."""
        body = params(request)
        name = required(body, "Name")
        crawler = moto_crawler(request, name)
        if extras(request).crawler_state(name) != "READY":
            raise CrawlerRunningException(f"Crawler with name {name} is running and cannot be updated")
        current = crawler_to_api(request, crawler)
        _checked({**current, **{k: v for k, v in body.items() if v is not None}})
        for member, attribute in UPDATABLE_CRAWLER_MEMBERS.items():
            if member in body:
                setattr(crawler, attribute, body[member])
        if "Schedule" in body:
            crawler.schedule = body["Schedule"] or None
        crawler.version += 1
        crawler.last_updated = utcnow()
        return ok()

    def delete_crawler(self, request: AwsRequest) -> AwsResponse:
        name = required(params(request), "Name")
        moto_crawler(request, name)
        if extras(request).crawler_state(name) != "READY":
            raise CrawlerRunningException(f"Crawler with name {name} is running and cannot be deleted")
        del moto_glue(request).crawlers[name]
        extras(request).forget_crawler(name)
        return ok()

    def get_crawler_metrics(self, request: AwsRequest) -> AwsResponse:
        body = params(request)
        known = moto_glue(request).crawlers
        names = body.get("CrawlerNameList") or sorted(known)
        metrics = extras(request).get_crawler_metrics([n for n in names if n in known])
        page, token = _page(metrics, body.get("MaxResults"), body.get("NextToken"))
        out: dict[str, Any] = {"CrawlerMetricsList": page}
        if token:
            out["NextToken"] = token
        return ok(out)

    def list_crawls(self, request: AwsRequest) -> AwsResponse:
        body = params(request)
        name = required(body, "CrawlerName")
        moto_crawler(request, name)
        crawls = []
        for run in reversed(extras(request).runs_of(name)):  # newest first, like the console
            crawls.append({
                "CrawlId": run.crawl_id,
                # ListCrawls has no STOPPING: a crawl is RUNNING until it has ended
                "State": run.state if run.state in _CRAWL_STATES else "RUNNING",
                "StartTime": run.start_time,
                "EndTime": run.end_time,
                "Summary": json.dumps(run.summary()) if run.end_time else None,
                "ErrorMessage": run.error_message,
                "LogGroup": run.log_group,
                "LogStream": run.log_stream,
                "MessagePrefix": run.message_prefix,
                "DPUHour": round(run.runtime_seconds / 3600, 6) if run.end_time else None,
            })
        for flt in body.get("Filters") or []:
            crawls = [c for c in crawls if _crawl_matches(c, flt)]
        page, token = _page(crawls, body.get("MaxResults"), body.get("NextToken"))
        out: dict[str, Any] = {"Crawls": page}
        if token:
            out["NextToken"] = token
        return ok(out)


# The route table: Glue JSON-protocol action -> GlueResponses method.
ROUTES = {
    # classifiers (moto has none)
    "CreateClassifier": "create_classifier",
    "GetClassifier": "get_classifier",
    "GetClassifiers": "get_classifiers",
    "UpdateClassifier": "update_classifier",
    "DeleteClassifier": "delete_classifier",
    # crawlers: definitions are moto's; we answer the calls whose behaviour depends on real runs
    "CreateCrawler": "create_crawler",
    "StartCrawler": "start_crawler",
    "StopCrawler": "stop_crawler",
    "GetCrawler": "get_crawler",
    "GetCrawlers": "get_crawlers",
    "BatchGetCrawlers": "batch_get_crawlers",
    "UpdateCrawler": "update_crawler",
    "DeleteCrawler": "delete_crawler",
    "GetCrawlerMetrics": "get_crawler_metrics",
    "ListCrawls": "list_crawls",
}
