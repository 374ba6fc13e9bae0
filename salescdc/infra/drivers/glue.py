"""Glue Data Catalog drivers: database, table, JSON classifier, crawler."""

from __future__ import annotations

import json
from typing import Any

from salescdc.infra.drivers.base import Driver, missing_on
from salescdc.infra.model import Observed, Resource

_NOT_FOUND = {"EntityNotFoundException"}


class _GlueDriver(Driver):
    def _arn(self, resource: str) -> str:
        from salescdc.infra.resources import partition_for

        s = self.factory.settings
        return f"arn:{partition_for(s.region)}:glue:{s.region}:{self.factory.account_id()}:{resource}"

    def _tags(self, arn: str) -> dict[str, str]:
        return self.client("glue").get_tags(ResourceArn=arn).get("Tags", {})


class DatabaseDriver(_GlueDriver):
    kind = "glue.database"

    def read(self, res: Resource) -> Observed | None:
        got = missing_on(_NOT_FOUND, lambda: self.client("glue").get_database(Name=res.name))
        if got is None:
            return None
        db = got["Database"]
        arn = self._arn(f"database/{res.name}")
        return Observed(
            state="AVAILABLE",
            tags=self._tags(arn),
            actual={"Name": db["Name"], "Description": db.get("Description")},
            outputs={"Arn": arn},
        )

    def create(self, res: Resource) -> None:
        self.client("glue").create_database(DatabaseInput=dict(res.spec), Tags=dict(res.tags))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        glue = self.client("glue")
        if any(d.startswith("tags") for d in drift):
            glue.tag_resource(ResourceArn=observed.outputs["Arn"], TagsToAdd=dict(res.tags))
        if any(not d.startswith("tags") for d in drift):
            glue.update_database(Name=res.name, DatabaseInput=dict(res.spec))

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        # Deleting a database drops its tables and views too; the lake's objects stay in S3.
        self.client("glue").delete_database(Name=res.name)


class TableDriver(_GlueDriver):
    kind = "glue.table"

    def read(self, res: Resource) -> Observed | None:
        db = res.spec["DatabaseName"]
        got = missing_on(_NOT_FOUND, lambda: self.client("glue").get_table(DatabaseName=db, Name=res.name))
        if got is None:
            return None
        t = got["Table"]
        sd = t.get("StorageDescriptor", {})
        actual = {
            "DatabaseName": db,
            "TableInput": {
                "Name": t["Name"],
                "Description": t.get("Description"),
                "TableType": t.get("TableType"),
                "Parameters": t.get("Parameters", {}),
                "PartitionKeys": t.get("PartitionKeys", []),
                "StorageDescriptor": {
                    # The crawler may append columns it discovers (MergeNewColumns); the
                    # declared ones must still lead, unchanged.
                    "Columns": sd.get("Columns", [])[: len(res.spec["TableInput"]["StorageDescriptor"]["Columns"])],
                    "Location": sd.get("Location"),
                    "InputFormat": sd.get("InputFormat"),
                    "OutputFormat": sd.get("OutputFormat"),
                    "SerdeInfo": sd.get("SerdeInfo", {}),
                },
            },
        }
        return Observed(state=t.get("TableType", ""), tags=None, actual=actual, outputs={}, raw=t)

    def create(self, res: Resource) -> None:
        self.client("glue").create_table(**res.spec)

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        self.client("glue").update_table(**res.spec)

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("glue").delete_table(DatabaseName=res.spec["DatabaseName"], Name=res.name)


class ClassifierDriver(_GlueDriver):
    kind = "glue.classifier"

    def read(self, res: Resource) -> Observed | None:
        got = missing_on(_NOT_FOUND, lambda: self.client("glue").get_classifier(Name=res.name))
        if got is None:
            return None
        json_classifier = got["Classifier"].get("JsonClassifier")
        actual = {"Name": res.name, "JsonPath": json_classifier.get("JsonPath") if json_classifier else None}
        return Observed(state="READY", tags=None, actual=actual)

    def create(self, res: Resource) -> None:
        self.client("glue").create_classifier(JsonClassifier=dict(res.spec))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        self.client("glue").update_classifier(JsonClassifier=dict(res.spec))

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("glue").delete_classifier(Name=res.name)


class CrawlerDriver(_GlueDriver):
    kind = "glue.crawler"

    def read(self, res: Resource) -> Observed | None:
        got = missing_on(_NOT_FOUND, lambda: self.client("glue").get_crawler(Name=res.name))
        if got is None:
            return None
        c = got["Crawler"]
        config = c.get("Configuration")
        arn = self._arn(f"crawler/{res.name}")
        actual = {
            "Name": c["Name"],
            "Role": c.get("Role"),
            "DatabaseName": c.get("DatabaseName"),
            "Description": c.get("Description"),
            "Targets": c.get("Targets", {}),
            "Classifiers": c.get("Classifiers", []),
            "SchemaChangePolicy": c.get("SchemaChangePolicy", {}),
            "Configuration": json.loads(config) if config else None,
        }
        return Observed(state=c.get("State", ""), tags=self._tags(arn), actual=actual,
                        outputs={"Arn": arn, "LastCrawl": c.get("LastCrawl")}, raw=c)

    def desired(self, res: Resource) -> dict[str, Any]:
        spec = dict(res.spec)
        spec["Configuration"] = json.loads(spec["Configuration"])
        # Glue returns a role given by ARN as just its name when it is in the same account.
        return spec

    def drift(self, res: Resource, observed: Observed) -> list[str]:
        out = super().drift(res, observed)
        role = str(observed.actual.get("Role") or "")
        if "Role" in out and res.spec["Role"].rsplit("/", 1)[-1] == role.rsplit("/", 1)[-1]:
            out.remove("Role")
        return out

    def create(self, res: Resource) -> None:
        glue = self.client("glue")
        self.while_role_propagates(lambda: glue.create_crawler(**res.spec, Tags=dict(res.tags)))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        glue = self.client("glue")
        if any(d.startswith("tags") for d in drift):
            glue.tag_resource(ResourceArn=observed.outputs["Arn"], TagsToAdd=dict(res.tags))
        if any(not d.startswith("tags") for d in drift):
            self.while_role_propagates(lambda: glue.update_crawler(**res.spec))

    def usable(self, observed: Observed) -> bool:
        return observed.state in ("READY", "RUNNING", "STOPPING")

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        glue = self.client("glue")
        if observed.state == "RUNNING":
            missing_on({"CrawlerNotRunningException", "CrawlerStoppingException"},
                       lambda: glue.stop_crawler(Name=res.name))
        self.wait(
            f"Crawler {res.name} to stop",
            lambda: glue.get_crawler(Name=res.name)["Crawler"].get("State") not in ("RUNNING", "STOPPING"),
        )
        glue.delete_crawler(Name=res.name)
