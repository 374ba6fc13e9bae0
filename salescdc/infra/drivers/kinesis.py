"""Kinesis data stream driver: on-demand capacity."""

from __future__ import annotations

from salescdc.infra.drivers.base import Driver, missing_on
from salescdc.infra.model import Observed, Resource


class StreamDriver(Driver):
    kind = "kinesis.stream"

    def read(self, res: Resource) -> Observed | None:
        kin = self.client("kinesis")
        desc = missing_on({"ResourceNotFoundException"}, lambda: kin.describe_stream_summary(StreamName=res.name))
        if desc is None:
            return None
        s = desc["StreamDescriptionSummary"]
        if s["StreamStatus"] == "DELETING":
            return None
        tags = {t["Key"]: t["Value"] for t in kin.list_tags_for_stream(StreamName=res.name).get("Tags", [])}
        return Observed(
            state=s["StreamStatus"],
            tags=tags,
            actual={"StreamName": s["StreamName"], "StreamModeDetails": s.get("StreamModeDetails", {})},
            outputs={"Arn": s["StreamARN"]},
            raw=s,
        )

    def create(self, res: Resource) -> None:
        kin = self.client("kinesis")
        kin.create_stream(**res.spec, Tags=dict(res.tags))
        # Some emulators drop CreateStream's Tags; tagging again is idempotent on AWS.
        kin.add_tags_to_stream(StreamName=res.name, Tags=dict(res.tags))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        kin = self.client("kinesis")
        if any(d.startswith("tags") for d in drift):
            kin.add_tags_to_stream(StreamName=res.name, Tags=dict(res.tags))
        if any(d.startswith("StreamModeDetails") for d in drift):
            kin.update_stream_mode(StreamARN=observed.outputs["Arn"], StreamModeDetails=res.spec["StreamModeDetails"])

    def usable(self, observed: Observed) -> bool:
        return observed.state == "ACTIVE"

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("kinesis").delete_stream(StreamName=res.name, EnforceConsumerDeletion=True)
