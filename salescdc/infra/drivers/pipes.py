"""EventBridge Pipe driver: DynamoDB stream source, Kinesis target."""

from __future__ import annotations

from typing import Any

from salescdc.infra.drivers.base import Driver, missing_on
from salescdc.infra.model import Observed, Resource

_FAILED = {"CREATE_FAILED", "UPDATE_FAILED", "START_FAILED", "STOP_FAILED", "DELETE_FAILED",
           "CREATE_ROLLBACK_FAILED", "DELETE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED"}
_GONE = {"DELETING", "DELETED"}


class PipeDriver(Driver):
    kind = "pipes.pipe"
    # UpdatePipe cannot change the source or where in it to start: the pipe is replaced
    # (e.g. after the table, and so its stream, was recreated).
    immutable = frozenset({"Source", "SourceParameters.DynamoDBStreamParameters.StartingPosition"})
    replace_on_immutable = True

    def read(self, res: Resource) -> Observed | None:
        pipes = self.client("pipes")
        got = missing_on({"NotFoundException"}, lambda: pipes.describe_pipe(Name=res.name))
        if got is None or got.get("CurrentState") in _GONE:
            return None
        actual = {k: got.get(k) for k in ("Name", "Description", "DesiredState", "RoleArn", "Source",
                                          "SourceParameters", "Target", "TargetParameters")}
        return Observed(
            state=got.get("CurrentState", ""),
            tags=pipes.list_tags_for_resource(resourceArn=got["Arn"]).get("tags", {}),
            actual=actual,
            outputs={"Arn": got["Arn"], "StateReason": got.get("StateReason")},
            raw=got,
        )

    def create(self, res: Resource) -> None:
        pipes = self.client("pipes")
        self.while_role_propagates(lambda: pipes.create_pipe(**res.spec, Tags=dict(res.tags)))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        pipes = self.client("pipes")
        if any(d.startswith("tags") for d in drift):
            pipes.tag_resource(resourceArn=observed.outputs["Arn"], tags=dict(res.tags))
        if any(not d.startswith("tags") for d in drift):
            source = dict(res.spec["SourceParameters"]["DynamoDBStreamParameters"])
            source.pop("StartingPosition", None)  # not updatable; see `immutable`
            update: dict[str, Any] = {
                "Name": res.name,
                "Description": res.spec["Description"],
                "DesiredState": res.spec["DesiredState"],
                "RoleArn": res.spec["RoleArn"],
                "Target": res.spec["Target"],
                "SourceParameters": {"DynamoDBStreamParameters": source},
                "TargetParameters": res.spec["TargetParameters"],
            }
            self.while_role_propagates(lambda: pipes.update_pipe(**update))

    def usable(self, observed: Observed) -> bool:
        return observed.state == observed.actual.get("DesiredState", "RUNNING")

    def failure(self, observed: Observed) -> str | None:
        if observed.state in _FAILED:
            return f"pipe {observed.state}: {observed.outputs.get('StateReason') or 'no reason given'}"
        return None

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("pipes").delete_pipe(Name=res.name)
