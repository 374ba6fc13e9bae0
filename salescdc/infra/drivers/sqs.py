"""SQS queue driver: the pipe's dead-letter queue (retention, server-side encryption, tags)."""

from __future__ import annotations

from typing import Any

from salescdc.infra.drivers.base import Driver, missing_on
from salescdc.infra.model import Observed, Resource


class QueueDriver(Driver):
    kind = "sqs.queue"
    # A FIFO queue cannot become standard (or back): the name decides, so it never drifts in place.

    def _url(self, name: str) -> str | None:
        sqs = self.client("sqs")
        got = missing_on({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"},
                         lambda: sqs.get_queue_url(QueueName=name))
        return None if got is None else got["QueueUrl"]

    def read(self, res: Resource) -> Observed | None:
        url = self._url(res.name)
        if url is None:
            return None
        sqs = self.client("sqs")
        attrs = missing_on({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"},
                           lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))
        if attrs is None:  # deleted between the two calls
            return None
        attributes: dict[str, str] = attrs.get("Attributes", {})
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        wanted = res.spec.get("Attributes", {})
        return Observed(
            state="ACTIVE",
            tags=tags,
            actual={"QueueName": res.name, "Attributes": {k: attributes.get(k) for k in wanted}},
            outputs={"Arn": attributes.get("QueueArn"), "Url": url},
            raw=attributes,
        )

    def create(self, res: Resource) -> None:
        self.client("sqs").create_queue(QueueName=res.name, Attributes=dict(res.spec["Attributes"]),
                                        tags=dict(res.tags))

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        sqs = self.client("sqs")
        url = observed.outputs["Url"]
        if any(d.startswith("tags") for d in drift):
            sqs.tag_queue(QueueUrl=url, Tags=dict(res.tags))
        changed: dict[str, Any] = {d.split(".", 1)[1]: res.spec["Attributes"][d.split(".", 1)[1]]
                                   for d in drift if d.startswith("Attributes.")}
        if changed:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        # Dead letters are evidence of records the pipe could not deliver; `down` removes the queue
        # with the rest (the issue asks for it), and status shows its depth beforehand.
        self.client("sqs").delete_queue(QueueUrl=observed.outputs["Url"])
