"""What a crawler definition asks for, read once from moto's crawler model.

The crawler's `Configuration` is a JSON string (Glue's "crawler configuration
options"): `CrawlerOutput.Tables.AddOrUpdateBehavior = MergeNewColumns`,
`CrawlerOutput.Partitions.AddOrUpdateBehavior = InheritFromTable`,
`Grouping.TableGroupingPolicy = CombineCompatibleSchemas`,
`Grouping.TableLevelConfiguration = <n>` (bucket = level 1). Unknown members are
ignored like Glue ignores them; a value Glue would refuse fails the crawl with
a sentence saying which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jsonpath_ng import JSONPath

from localcloud.glue.jsonpaths import UnsupportedJsonPath, compile_json_path

UPDATE_BEHAVIORS = ("UPDATE_IN_DATABASE", "LOG")
DELETE_BEHAVIORS = ("DELETE_FROM_DATABASE", "DEPRECATE_IN_DATABASE", "LOG")
RECRAWL_BEHAVIORS = ("CRAWL_EVERYTHING", "CRAWL_NEW_FOLDERS_ONLY", "CRAWL_EVENT_MODE")


class CrawlerConfigError(ValueError):
    """The crawler definition asks for something Glue would not run."""


@dataclass(frozen=True)
class JsonClassifierRule:
    name: str
    expression: str
    path: JSONPath


@dataclass
class CrawlerSettings:
    name: str
    role: str
    database: str
    table_prefix: str
    update_behavior: str = "UPDATE_IN_DATABASE"
    delete_behavior: str = "DEPRECATE_IN_DATABASE"
    recrawl_behavior: str = "CRAWL_EVERYTHING"
    merge_new_columns: bool = False
    inherit_partitions_from_table: bool = False
    combine_compatible_schemas: bool = False
    table_level: int | None = None
    table_threshold: int | None = None
    s3_targets: list[dict[str, Any]] = field(default_factory=list)
    catalog_targets: list[dict[str, Any]] = field(default_factory=list)
    json_classifiers: list[JsonClassifierRule] = field(default_factory=list)
    missing_classifiers: list[str] = field(default_factory=list)

    @classmethod
    def from_crawler(cls, crawler: Any, classifiers: dict[str, Any]) -> CrawlerSettings:
        """`crawler` is moto's FakeCrawler; `classifiers` maps name -> our Classifier."""
        policy = crawler.schema_change_policy or {}
        recrawl = crawler.recrawl_policy or {}
        config = parse_configuration(crawler.configuration)
        output = config.get("CrawlerOutput") or {}
        grouping = config.get("Grouping") or {}
        settings = cls(
            name=crawler.name,
            role=crawler.role or "",
            database=crawler.database_name or "",
            table_prefix=crawler.table_prefix or "",
            update_behavior=policy.get("UpdateBehavior") or "UPDATE_IN_DATABASE",
            delete_behavior=policy.get("DeleteBehavior") or "DEPRECATE_IN_DATABASE",
            recrawl_behavior=recrawl.get("RecrawlBehavior") or "CRAWL_EVERYTHING",
            merge_new_columns=(output.get("Tables") or {}).get("AddOrUpdateBehavior") == "MergeNewColumns",
            inherit_partitions_from_table=(output.get("Partitions") or {}).get("AddOrUpdateBehavior")
            == "InheritFromTable",
            combine_compatible_schemas=grouping.get("TableGroupingPolicy") == "CombineCompatibleSchemas",
            table_level=_table_level(grouping.get("TableLevelConfiguration")),
            table_threshold=(output.get("Tables") or {}).get("TableThreshold"),
            s3_targets=list((crawler.targets or {}).get("S3Targets") or []),
            catalog_targets=list((crawler.targets or {}).get("CatalogTargets") or []),
        )
        settings._check()
        for name in crawler.classifiers or []:
            classifier = classifiers.get(name)
            if classifier is None:
                settings.missing_classifiers.append(name)
            elif classifier.kind == "JsonClassifier":
                try:
                    path = compile_json_path(classifier.json_path)
                except UnsupportedJsonPath as exc:  # validated on create; kept for classifiers from elsewhere
                    raise CrawlerConfigError(str(exc)) from None
                settings.json_classifiers.append(JsonClassifierRule(name, classifier.json_path, path))
        return settings

    def _check(self) -> None:
        if self.update_behavior not in UPDATE_BEHAVIORS:
            raise CrawlerConfigError(f"SchemaChangePolicy.UpdateBehavior {self.update_behavior!r} is not one of "
                                     f"{', '.join(UPDATE_BEHAVIORS)}")
        if self.delete_behavior not in DELETE_BEHAVIORS:
            raise CrawlerConfigError(f"SchemaChangePolicy.DeleteBehavior {self.delete_behavior!r} is not one of "
                                     f"{', '.join(DELETE_BEHAVIORS)}")
        if self.recrawl_behavior not in RECRAWL_BEHAVIORS:
            raise CrawlerConfigError(f"RecrawlPolicy.RecrawlBehavior {self.recrawl_behavior!r} is not one of "
                                     f"{', '.join(RECRAWL_BEHAVIORS)}")
        if not self.database:
            raise CrawlerConfigError("The crawler has no DatabaseName to write its tables to")
        if not self.s3_targets and not self.catalog_targets:
            raise CrawlerConfigError(
                "The crawler has no S3Targets or CatalogTargets to crawl (the local cloud crawls only those)"
            )


def parse_configuration(text: str | None) -> dict[str, Any]:
    """The crawler's Configuration JSON as a dict (empty when unset)."""
    if not text:
        return {}
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise CrawlerConfigError(f"Crawler Configuration is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise CrawlerConfigError("Crawler Configuration must be a JSON object")
    _only_keys(config.get("CrawlerOutput"), "CrawlerOutput", ("Partitions", "Tables"))
    _only_keys((config.get("CrawlerOutput") or {}).get("Partitions"), "CrawlerOutput.Partitions",
               ("AddOrUpdateBehavior",))
    _only_keys((config.get("CrawlerOutput") or {}).get("Tables"), "CrawlerOutput.Tables",
               ("AddOrUpdateBehavior", "TableThreshold"))
    _only_keys(config.get("Grouping"), "Grouping", ("TableGroupingPolicy", "TableLevelConfiguration"))
    output = config.get("CrawlerOutput") or {}
    threshold = (output.get("Tables") or {}).get("TableThreshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1):
        raise CrawlerConfigError("CrawlerOutput.Tables.TableThreshold must be a positive integer")
    tables = (output.get("Tables") or {}).get("AddOrUpdateBehavior")
    if tables not in (None, "MergeNewColumns"):
        raise CrawlerConfigError(f"CrawlerOutput.Tables.AddOrUpdateBehavior {tables!r} is not MergeNewColumns")
    partitions = (output.get("Partitions") or {}).get("AddOrUpdateBehavior")
    if partitions not in (None, "InheritFromTable"):
        raise CrawlerConfigError(
            f"CrawlerOutput.Partitions.AddOrUpdateBehavior {partitions!r} is not InheritFromTable"
        )
    grouping = (config.get("Grouping") or {}).get("TableGroupingPolicy")
    if grouping not in (None, "CombineCompatibleSchemas"):
        raise CrawlerConfigError(f"Grouping.TableGroupingPolicy {grouping!r} is not CombineCompatibleSchemas")
    _table_level((config.get("Grouping") or {}).get("TableLevelConfiguration"))
    return config


def _only_keys(section: Any, where: str, allowed: tuple[str, ...]) -> None:
    if section is None:
        return
    if not isinstance(section, dict):
        raise CrawlerConfigError(f"{where} must be a JSON object")
    unsupported = sorted(set(section) - set(allowed))
    if unsupported:  # Glue's own wording for this mistake
        raise CrawlerConfigError(f"{where} contains unsupported keys: {', '.join(unsupported)}.")


def check_definition(definition: dict[str, Any]) -> None:
    """Refuse a crawler definition the way CreateCrawler/UpdateCrawler do; `definition` uses API member names."""
    parse_configuration(definition.get("Configuration"))
    recrawl = (definition.get("RecrawlPolicy") or {}).get("RecrawlBehavior")
    if recrawl == "CRAWL_NEW_FOLDERS_ONLY":
        targets = definition.get("Targets") or {}
        if any(targets.get(kind) for kind in targets if kind != "S3Targets"):
            raise CrawlerConfigError('RecrawlBehavior "Crawl new folders only" can only apply to Amazon S3 target.')
        policy = definition.get("SchemaChangePolicy") or {}
        if policy.get("UpdateBehavior", "UPDATE_IN_DATABASE") != "LOG" or \
                policy.get("DeleteBehavior", "DEPRECATE_IN_DATABASE") != "LOG":
            raise CrawlerConfigError('The SchemaChangePolicy for "Crawl new folders only" Amazon S3 target can have '
                                     "only LOG DeleteBehavior value and LOG UpdateBehavior value.")


def _table_level(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CrawlerConfigError("Grouping.TableLevelConfiguration must be a positive integer (bucket = level 1)")
    return value
