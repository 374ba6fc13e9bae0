"""CloudWatch Logs driver: the Firehose error log group and its delivery stream."""

from __future__ import annotations

from salescdc.infra.drivers.base import Driver, error_code
from salescdc.infra.model import Observed, Resource


class LogGroupDriver(Driver):
    kind = "logs.group"

    def _arn(self, res: Resource) -> str | None:
        logs = self.client("logs")
        for group in logs.describe_log_groups(logGroupNamePrefix=res.name).get("logGroups", []):
            if group["logGroupName"] == res.name:
                # DescribeLogGroups ends the ARN with ":*"; the tagging API wants it without.
                return group["arn"].removesuffix(":*")
        return None

    def read(self, res: Resource) -> Observed | None:
        logs = self.client("logs")
        groups = logs.describe_log_groups(logGroupNamePrefix=res.name).get("logGroups", [])
        group = next((g for g in groups if g["logGroupName"] == res.name), None)
        if group is None:
            return None
        arn = group["arn"].removesuffix(":*")
        streams = logs.describe_log_streams(logGroupName=res.name, logStreamNamePrefix=res.spec["logStreamName"])
        has_stream = any(s["logStreamName"] == res.spec["logStreamName"] for s in streams.get("logStreams", []))
        tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
        return Observed(
            state="ACTIVE",
            tags=tags,
            actual={
                "logGroupName": res.name,
                "logStreamName": res.spec["logStreamName"] if has_stream else None,
                "retentionInDays": group.get("retentionInDays"),
            },
            outputs={"Arn": arn},
        )

    def create(self, res: Resource) -> None:
        logs = self.client("logs")
        logs.create_log_group(logGroupName=res.name, tags=dict(res.tags))
        self._ensure_details(res)

    def _ensure_details(self, res: Resource) -> None:
        logs = self.client("logs")
        logs.put_retention_policy(logGroupName=res.name, retentionInDays=res.spec["retentionInDays"])
        try:
            logs.create_log_stream(logGroupName=res.name, logStreamName=res.spec["logStreamName"])
        except Exception as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise

    def update(self, res: Resource, observed: Observed, drift: list[str]) -> None:
        if any(d.startswith("tags") for d in drift):
            self.client("logs").tag_resource(resourceArn=observed.outputs["Arn"], tags=dict(res.tags))
        self._ensure_details(res)

    def delete(self, res: Resource, observed: Observed, delete_data: bool) -> None:
        self.client("logs").delete_log_group(logGroupName=res.name)
