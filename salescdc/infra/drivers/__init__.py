"""One driver per resource kind; the engine looks them up by `Resource.kind`."""

from __future__ import annotations

from salescdc.clients import ClientFactory
from salescdc.infra.drivers.athena import IcebergTableDriver, ViewDriver, WorkGroupDriver
from salescdc.infra.drivers.awslambda import FunctionDriver
from salescdc.infra.drivers.base import Driver
from salescdc.infra.drivers.dynamodb import TableDriver
from salescdc.infra.drivers.firehose import DeliveryStreamDriver
from salescdc.infra.drivers.glue import ClassifierDriver, CrawlerDriver, DatabaseDriver
from salescdc.infra.drivers.glue import TableDriver as GlueTableDriver
from salescdc.infra.drivers.iam import RoleDriver
from salescdc.infra.drivers.kinesis import StreamDriver
from salescdc.infra.drivers.logs import LogGroupDriver
from salescdc.infra.drivers.pipes import PipeDriver
from salescdc.infra.drivers.s3 import BucketDriver
from salescdc.infra.drivers.scheduler import ScheduleDriver, ScheduleGroupDriver
from salescdc.infra.drivers.sqs import QueueDriver
from salescdc.infra.model import ApplyOptions

DRIVER_CLASSES: dict[str, type[Driver]] = {
    cls.kind: cls
    for cls in (
        TableDriver,
        StreamDriver,
        BucketDriver,
        LogGroupDriver,
        RoleDriver,
        FunctionDriver,
        DeliveryStreamDriver,
        QueueDriver,
        PipeDriver,
        DatabaseDriver,
        GlueTableDriver,
        ClassifierDriver,
        CrawlerDriver,
        WorkGroupDriver,
        ViewDriver,
        IcebergTableDriver,
        ScheduleGroupDriver,
        ScheduleDriver,
    )
}


def drivers_for(factory: ClientFactory, options: ApplyOptions) -> dict[str, Driver]:
    return {kind: cls(factory, options) for kind, cls in DRIVER_CLASSES.items()}
