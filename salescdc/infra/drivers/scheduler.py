"""EventBridge Scheduler drivers: the schedule group (it carries the tags) and its schedules."""

from __future__ import annotations

from salescdc.infra.drivers.base import Driver, missing_on, tag_list
from salescdc.infra.model import Observed, Resource

_NOT_FOUND = {"ResourceNotFoundException"}


class ScheduleGroupDriver(Driver):
    kind = "scheduler.group"

    def read(self, res: Resource) -> Observed | None:
        sch = self.client("scheduler")
        got = missing_on(_NOT_FOUND, lambda: sch.get_schedule_group(Name=res.name))
        if got is None:
            return None
        tags = {t["Key"]: t["Value"] for t in sch.list_tags_for_resource(ResourceArn=got["Arn"]).get("Tags", [])}
        return Observed(state=got.get("State", ""), tags=tags, actual={"Name": got["Name"]},
                        outputs={"Arn": got["Arn"]})

    def create(self, res: Resource) -> None:
        self.client("scheduler").create_schedule_group(Name=res.name, Tags=tag_list(dict(res.tags)))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        self.client("scheduler").tag_resource(ResourceArn=observed.outputs["Arn"], Tags=tag_list(dict(res.tags)))

    def usable(self, observed: Observed) -> bool:
        return observed.state == "ACTIVE"

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        # Deleting a group deletes its schedules too.
        self.client("scheduler").delete_schedule_group(Name=res.name)


class ScheduleDriver(Driver):
    """A schedule: untaggable, so ownership follows its group's tag."""

    kind = "scheduler.schedule"
    immutable = frozenset({"GroupName"})

    def read(self, res: Resource) -> Observed | None:
        spec = res.spec
        got = missing_on(_NOT_FOUND, lambda: self.client("scheduler").get_schedule(
            Name=res.name, GroupName=spec["GroupName"]))
        if got is None:
            return None
        target = got.get("Target", {})
        return Observed(
            state=got.get("State", ""),
            tags=None,
            actual={
                "Name": got["Name"],
                "GroupName": got["GroupName"],
                "Description": got.get("Description"),
                "ScheduleExpression": got.get("ScheduleExpression"),
                "FlexibleTimeWindow": got.get("FlexibleTimeWindow", {}),
                "State": got.get("State"),
                "Target": {"Arn": target.get("Arn"), "RoleArn": target.get("RoleArn"), "Input": target.get("Input")},
            },
            outputs={"Arn": got["Arn"]},
        )

    def create(self, res: Resource) -> None:
        self.while_role_propagates(lambda: self.client("scheduler").create_schedule(**res.spec))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        self.while_role_propagates(lambda: self.client("scheduler").update_schedule(**res.spec))

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("scheduler").delete_schedule(Name=res.name, GroupName=res.spec["GroupName"])
