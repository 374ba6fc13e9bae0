"""Firehose delivery stream driver: Kinesis source, Extended S3 destination with the Lambda processor."""

from __future__ import annotations

from typing import Any

from salescdc.infra.drivers.base import Driver, missing_on, tag_list
from salescdc.infra.model import Observed, Resource

_GONE = {"DELETING"}


class DeliveryStreamDriver(Driver):
    kind = "firehose.stream"
    # The source of a delivery stream is fixed at creation; a changed one means a new stream.
    immutable = frozenset({"DeliveryStreamType", "KinesisStreamSourceConfiguration"})
    replace_on_immutable = True

    def read(self, res: Resource) -> Observed | None:
        fh = self.client("firehose")
        got = missing_on(
            {"ResourceNotFoundException"}, lambda: fh.describe_delivery_stream(DeliveryStreamName=res.name)
        )
        if got is None:
            return None
        d = got["DeliveryStreamDescription"]
        if d["DeliveryStreamStatus"] in _GONE:
            return None
        source = (d.get("Source") or {}).get("KinesisStreamSourceDescription") or {}
        dest = (d.get("Destinations") or [{}])[0]
        ext = dest.get("ExtendedS3DestinationDescription") or {}
        tags = {t["Key"]: t["Value"] for t in fh.list_tags_for_delivery_stream(DeliveryStreamName=res.name).get("Tags", [])}
        return Observed(
            state=d["DeliveryStreamStatus"],
            tags=tags,
            actual={
                "DeliveryStreamName": d["DeliveryStreamName"],
                "DeliveryStreamType": d.get("DeliveryStreamType"),
                "KinesisStreamSourceConfiguration": {
                    "KinesisStreamARN": source.get("KinesisStreamARN"),
                    "RoleARN": source.get("RoleARN"),
                },
                "ExtendedS3DestinationConfiguration": ext,
            },
            outputs={
                "Arn": d["DeliveryStreamARN"],
                "VersionId": d.get("VersionId"),
                "DestinationId": dest.get("DestinationId"),
            },
            raw=d,
        )

    def create(self, res: Resource) -> None:
        fh = self.client("firehose")
        self.while_role_propagates(lambda: fh.create_delivery_stream(**res.spec, Tags=tag_list(dict(res.tags))))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        fh = self.client("firehose")
        if any(d.startswith("tags") for d in drift):
            fh.tag_delivery_stream(DeliveryStreamName=res.name, Tags=tag_list(dict(res.tags)))
        if any(d.startswith("ExtendedS3DestinationConfiguration") for d in drift):
            update: dict[str, Any] = dict(res.spec["ExtendedS3DestinationConfiguration"])
            self.while_role_propagates(
                lambda: fh.update_destination(
                    DeliveryStreamName=res.name,
                    CurrentDeliveryStreamVersionId=observed.outputs["VersionId"],
                    DestinationId=observed.outputs["DestinationId"],
                    ExtendedS3DestinationUpdate=update,
                )
            )

    def usable(self, observed: Observed) -> bool:
        return observed.state == "ACTIVE"

    def failure(self, observed: Observed) -> str | None:
        if observed.state in ("CREATING_FAILED", "DELETING_FAILED"):
            why = (observed.raw or {}).get("FailureDescription", {}).get("Details", "")
            return f"delivery stream {observed.state}: {why}".rstrip(": ")
        return None

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("firehose").delete_delivery_stream(DeliveryStreamName=res.name)
