"""Athena drivers: the workgroup (cost guard, enforced output), and views and Iceberg tables created by DDL."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from salescdc.infra.drivers.base import Driver, missing_on, tag_list
from salescdc.infra.model import Observed, Resource, ResourceError

_PRESTO_VIEW = re.compile(r"/\* Presto View: (?P<body>[A-Za-z0-9+/=\s]+) \*/")


def _normal_sql(sql: str) -> str:
    return " ".join(sql.split())


class WorkGroupDriver(Driver):
    kind = "athena.workgroup"

    def _arn(self, name: str) -> str:
        from salescdc.infra.resources import partition_for

        s = self.factory.settings
        return f"arn:{partition_for(s.region)}:athena:{s.region}:{self.factory.account_id()}:workgroup/{name}"

    def read(self, res: Resource) -> Observed | None:
        ath = self.client("athena")
        got = missing_on({"InvalidRequestException"}, lambda: ath.get_work_group(WorkGroup=res.name))
        if got is None or not got.get("WorkGroup"):
            return None
        wg = got["WorkGroup"]
        arn = self._arn(res.name)
        tags = {t["Key"]: t["Value"] for t in ath.list_tags_for_resource(ResourceARN=arn).get("Tags", [])}
        return Observed(
            state=wg.get("State", ""),
            tags=tags,
            actual={"Name": wg["Name"], "Description": wg.get("Description"), "Configuration": wg.get("Configuration", {})},
            outputs={"Arn": arn},
        )

    def create(self, res: Resource) -> None:
        self.client("athena").create_work_group(**res.spec, Tags=tag_list(dict(res.tags)))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        ath = self.client("athena")
        if any(d.startswith("tags") for d in drift):
            ath.tag_resource(ResourceARN=observed.outputs["Arn"], Tags=tag_list(dict(res.tags)))
        if any(not d.startswith("tags") for d in drift):
            cfg = res.spec["Configuration"]
            ath.update_work_group(
                WorkGroup=res.name,
                Description=res.spec["Description"],
                ConfigurationUpdates={
                    "ResultConfigurationUpdates": cfg["ResultConfiguration"],
                    "EnforceWorkGroupConfiguration": cfg["EnforceWorkGroupConfiguration"],
                    "PublishCloudWatchMetricsEnabled": cfg["PublishCloudWatchMetricsEnabled"],
                    "BytesScannedCutoffPerQuery": cfg["BytesScannedCutoffPerQuery"],
                },
                State="ENABLED",
            )

    def usable(self, observed: Observed) -> bool:
        return observed.state == "ENABLED"

    def failure(self, observed: Observed) -> str | None:
        return "workgroup is DISABLED" if observed.state == "DISABLED" else None

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("athena").delete_work_group(WorkGroup=res.name, RecursiveDeleteOption=True)


class ViewDriver(Driver):
    """A view created through Athena DDL, so it is stored exactly as Athena stores views."""

    kind = "athena.view"

    def read(self, res: Resource) -> Observed | None:
        db = res.spec["Database"]
        got = missing_on({"EntityNotFoundException"}, lambda: self.client("glue").get_table(DatabaseName=db, Name=res.name))
        if got is None:
            return None
        t = got["Table"]
        return Observed(
            state=t.get("TableType", ""),
            tags=None,
            actual={
                "Database": db,
                "Name": t["Name"],
                "WorkGroup": res.spec["WorkGroup"],
                "Select": _original_sql(t.get("ViewOriginalText") or ""),
            },
            raw=t,
        )

    def drift(self, res: Resource, observed: Observed) -> list[str]:
        out = []
        if observed.state != "VIRTUAL_VIEW":
            out.append(f"TableType is {observed.state}, not VIRTUAL_VIEW")
        if _normal_sql(observed.actual.get("Select") or "") != _normal_sql(res.spec["Select"]):
            out.append("Select")
        return out

    def create(self, res: Resource) -> None:
        self._run(res, res.spec["Statement"])

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        self._run(res, res.spec["Statement"])

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("glue").delete_table(DatabaseName=res.spec["Database"], Name=res.name)

    def _run(self, res: Resource, sql: str) -> None:
        run_ddl(self, res.spec["Database"], res.spec["WorkGroup"], sql, f"creating view {res.name}")


def run_ddl(driver: Driver, database: str, workgroup: str, sql: str, what: str) -> None:
    """Run one DDL statement through Athena and wait for it; ResourceError with Athena's reason if it fails."""
    ath = driver.client("athena")
    qid = ath.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": database, "Catalog": "AwsDataCatalog"},
        WorkGroup=workgroup,
    )["QueryExecutionId"]

    def finished() -> dict[str, Any] | None:
        status = ath.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        return status if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

    status = driver.wait(f"Athena query {what}", finished)
    if status["State"] != "SUCCEEDED":
        raise ResourceError(
            f"Athena failed {what} ({status['State']}): {status.get('StateChangeReason') or 'no reason given'}"
        )


class IcebergTableDriver(Driver):
    """An Iceberg table created by Athena's CREATE TABLE … TBLPROPERTIES ('table_type'='ICEBERG').

    Read back from Glue: Athena registers it with Parameters table_type=ICEBERG, the
    columns and the location. Columns and location cannot change in place (a table
    holding data is not recreated behind the user's back); `down --delete-data` drops
    it with Athena's DROP TABLE, which removes its data and metadata files too.
    """

    kind = "athena.iceberg_table"
    immutable = frozenset({"Columns", "Location", "TableType"})

    def read(self, res: Resource) -> Observed | None:
        db = res.spec["Database"]
        got = missing_on({"EntityNotFoundException"}, lambda: self.client("glue").get_table(DatabaseName=db, Name=res.name))
        if got is None:
            return None
        t = got["Table"]
        sd = t.get("StorageDescriptor") or {}
        return Observed(
            state="ACTIVE",
            tags=None,
            actual={
                "Database": db,
                "Name": t["Name"],
                "WorkGroup": res.spec["WorkGroup"],
                "TableType": str((t.get("Parameters") or {}).get("table_type", "")).upper(),
                "Columns": [[c["Name"], c["Type"].lower()] for c in sd.get("Columns", [])],
                "Location": (sd.get("Location") or "").rstrip("/"),
            },
            raw=t,
        )

    def desired(self, res: Resource) -> dict[str, Any]:
        return {
            "Database": res.spec["Database"],
            "Name": res.name,
            "WorkGroup": res.spec["WorkGroup"],
            "TableType": "ICEBERG",
            "Columns": [[n, t] for n, t in res.spec["Columns"]],
            "Location": res.spec["Location"].rstrip("/"),
        }

    def create(self, res: Resource) -> None:
        run_ddl(self, res.spec["Database"], res.spec["WorkGroup"], res.spec["Statement"], f"creating table {res.name}")

    def data_guard(self, res: Resource, observed: Observed) -> str | None:
        return "holds the current orders; pass --delete-data to drop it with its data"

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        run_ddl(self, res.spec["Database"], res.spec["WorkGroup"], res.spec["DropStatement"], f"dropping table {res.name}")


def _original_sql(view_text: str) -> str | None:
    """The SELECT Athena stored for a view (in its base64 'Presto View' envelope)."""
    match = _PRESTO_VIEW.search(view_text)
    if not match:
        return None
    try:
        return json.loads(base64.b64decode(match.group("body")))["originalSql"]
    except (ValueError, KeyError):
        return None
