"""DynamoDB table driver: on-demand billing, key schema, stream view type."""

from __future__ import annotations

from salescdc.infra.drivers.base import Driver, missing_on, tag_list
from salescdc.infra.model import Observed, Resource


class TableDriver(Driver):
    kind = "dynamodb.table"
    immutable = frozenset({"KeySchema", "AttributeDefinitions"})

    def read(self, res: Resource) -> Observed | None:
        ddb = self.client("dynamodb")
        desc = missing_on({"ResourceNotFoundException"}, lambda: ddb.describe_table(TableName=res.name))
        if desc is None:
            return None
        t = desc["Table"]
        if t.get("TableStatus") == "DELETING":
            return None
        tags = {x["Key"]: x["Value"] for x in ddb.list_tags_of_resource(ResourceArn=t["TableArn"]).get("Tags", [])}
        stream = t.get("StreamSpecification") or {"StreamEnabled": False}
        actual = {
            "TableName": t["TableName"],
            "BillingMode": t.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
            "KeySchema": t["KeySchema"],
            "AttributeDefinitions": [a for a in t["AttributeDefinitions"]],
            "StreamSpecification": {
                "StreamEnabled": bool(stream.get("StreamEnabled")),
                "StreamViewType": stream.get("StreamViewType"),
            },
        }
        return Observed(
            state=t["TableStatus"],
            tags=tags,
            actual=actual,
            outputs={"Arn": t["TableArn"], "LatestStreamArn": t.get("LatestStreamArn")},
            raw=t,
        )

    def create(self, res: Resource) -> None:
        self.client("dynamodb").create_table(**res.spec, Tags=tag_list(dict(res.tags)))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        ddb = self.client("dynamodb")
        if any(d.startswith("tags") for d in drift):
            ddb.tag_resource(ResourceArn=observed.outputs["Arn"], Tags=tag_list(dict(res.tags)))
        if any(d.startswith("BillingMode") for d in drift):
            ddb.update_table(TableName=res.name, BillingMode=res.spec["BillingMode"])
            self._wait_active(res.name)
        if any(d.startswith("StreamSpecification") for d in drift):
            current = observed.actual["StreamSpecification"]
            if current["StreamEnabled"]:
                # A stream's view type cannot change: disable it, then enable a new one.
                ddb.update_table(TableName=res.name, StreamSpecification={"StreamEnabled": False})
                self._wait_active(res.name)
            ddb.update_table(TableName=res.name, StreamSpecification=res.spec["StreamSpecification"])
            self._wait_active(res.name)

    def _wait_active(self, name: str) -> None:
        ddb = self.client("dynamodb")
        self.wait(f"Table {name} becoming ACTIVE", lambda: ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE")

    def usable(self, observed: Observed) -> bool:
        return observed.state == "ACTIVE" and bool(observed.outputs.get("LatestStreamArn"))

    def failure(self, observed: Observed) -> str | None:
        if observed.state in ("INACCESSIBLE_ENCRYPTION_CREDENTIALS", "ARCHIVED"):
            return f"table is {observed.state}"
        return None

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("dynamodb").delete_table(TableName=res.name)

    def data_guard(self, res: Resource, observed: Observed) -> str | None:
        # The table is the source of truth for orders, but the lake keeps every change;
        # a teardown is the documented way to stop paying, so the table goes with it.
        return None


