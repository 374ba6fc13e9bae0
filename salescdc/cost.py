"""A rough hourly cost estimate of the provisioned pipeline on AWS, from the generator's rate.

This is an ESTIMATE for orientation only: on-demand list prices (USD) copied by
hand from the AWS pricing pages for two regions, ignoring free tiers, taxes,
data transfer and volume discounts. Prices change; check
https://aws.amazon.com/pricing/ (or the AWS Pricing Calculator) before relying
on a number. Regions not in the table use the us-east-1 prices, flagged as such.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1024**3
TB = 1024**4

# Plain data: one dict per region, same keys. Units are in the key names.
PRICES: dict[str, dict[str, float]] = {
    "us-east-1": {
        "dynamodb_per_million_writes": 0.625,  # on-demand write request units
        "kinesis_per_stream_hour": 0.04,  # on-demand stream
        "kinesis_per_gb_in": 0.08,
        "kinesis_per_gb_out": 0.04,
        "firehose_per_gb": 0.029,  # ingestion; each record rounded up to 5 KB
        "lambda_per_gb_s": 0.0000166667,
        "lambda_per_million_requests": 0.20,
        "s3_per_thousand_puts": 0.005,
        "s3_per_gb_month": 0.023,
        "athena_per_tb_scanned": 5.0,  # at least 10 MB billed per query
        "pipes_per_million_requests": 0.40,  # counted in 64 KB chunks
    },
    "ap-south-1": {
        "dynamodb_per_million_writes": 0.7125,
        "kinesis_per_stream_hour": 0.048,
        "kinesis_per_gb_in": 0.096,
        "kinesis_per_gb_out": 0.048,
        "firehose_per_gb": 0.035,
        "lambda_per_gb_s": 0.0000166667,
        "lambda_per_million_requests": 0.20,
        "s3_per_thousand_puts": 0.005,
        "s3_per_gb_month": 0.025,
        "athena_per_tb_scanned": 5.0,
        "pipes_per_million_requests": 0.40,
    },
}

# Assumptions about the workload, stated so the estimate can be checked.
CHANGE_RECORD_BYTES = 1024  # one DynamoDB stream record with new and old image, as put on Kinesis
LAKE_LINE_BYTES = 350  # one contract line in S3
FIREHOSE_RECORD_BILLING_BYTES = 5 * 1024
LAMBDA_MEMORY_MB = 256
LAMBDA_DURATION_MS_PER_BATCH = 200
ATHENA_MIN_BYTES_PER_QUERY = 10 * 1024**2
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class CostLine:
    service: str
    usage: str
    usd_per_hour: float


@dataclass(frozen=True)
class CostEstimate:
    region: str
    priced_as: str  # the region whose prices were used
    lines: list[CostLine]

    @property
    def total_usd_per_hour(self) -> float:
        return sum(line.usd_per_hour for line in self.lines)

    @property
    def note(self) -> str:
        text = (
            "Rough estimate from on-demand list prices; excludes free tiers, data transfer, "
            "CloudWatch and Glue crawler runs ($0.44 per DPU-hour, billed per run)."
        )
        if self.priced_as != self.region:
            text += f" No prices recorded for {self.region}: {self.priced_as} prices used."
        return text


def estimate_hourly_cost(
    region: str,
    changes_per_s: float,
    buffer_interval_s: int = 60,
    dashboard_queries_per_hour: float = 0.0,
    bytes_scanned_per_query: int = ATHENA_MIN_BYTES_PER_QUERY,
    stored_gb: float = 0.0,
) -> CostEstimate:
    """Estimated USD per hour for `changes_per_s` order changes flowing through the pipeline."""
    priced_as = region if region in PRICES else "us-east-1"
    p = PRICES[priced_as]
    changes = max(0.0, changes_per_s) * 3600
    kinesis_gb = changes * CHANGE_RECORD_BYTES / GB
    flushes = 3600 / max(1, buffer_interval_s) if changes else 0
    lambda_gb_s = flushes * LAMBDA_DURATION_MS_PER_BATCH / 1000 * LAMBDA_MEMORY_MB / 1024
    lake_gb = changes * LAKE_LINE_BYTES / GB
    scanned_tb = dashboard_queries_per_hour * max(bytes_scanned_per_query, ATHENA_MIN_BYTES_PER_QUERY) / TB

    lines = [
        CostLine("DynamoDB", f"{changes:,.0f} writes", changes / 1e6 * p["dynamodb_per_million_writes"]),
        CostLine("EventBridge Pipes", f"{changes:,.0f} events", changes / 1e6 * p["pipes_per_million_requests"]),
        CostLine(
            "Kinesis Data Streams",
            f"1 on-demand stream, {kinesis_gb:.3f} GB in and out",
            p["kinesis_per_stream_hour"] + kinesis_gb * (p["kinesis_per_gb_in"] + p["kinesis_per_gb_out"]),
        ),
        CostLine(
            "Firehose",
            f"{changes * FIREHOSE_RECORD_BILLING_BYTES / GB:.3f} GB billed (5 KB per record)",
            changes * FIREHOSE_RECORD_BILLING_BYTES / GB * p["firehose_per_gb"],
        ),
        CostLine(
            "Lambda",
            f"{flushes:,.0f} invocations, {lambda_gb_s:.1f} GB-s",
            lambda_gb_s * p["lambda_per_gb_s"] + flushes / 1e6 * p["lambda_per_million_requests"],
        ),
        CostLine(
            "S3",
            f"{flushes:,.0f} objects, {lake_gb + stored_gb:.3f} GB stored",
            flushes / 1000 * p["s3_per_thousand_puts"] + (lake_gb + stored_gb) * p["s3_per_gb_month"] / HOURS_PER_MONTH,
        ),
        CostLine(
            "Athena",
            f"{dashboard_queries_per_hour:,.0f} queries, {scanned_tb * 1024:.2f} GB scanned",
            scanned_tb * p["athena_per_tb_scanned"],
        ),
    ]
    return CostEstimate(region, priced_as, lines)
