"""Typed settings for every part of the pipeline.

Only entry points call `Settings.from_env` (with `os.environ` and, under
Streamlit, `st.secrets`); everything else receives a `Settings` instance.
Defaults are the tutorial's resource names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salescdc.errors import ConfigError

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
# Dummy credentials for the local cloud; never used against AWS.
LOCAL_ACCESS_KEY = "test"
LOCAL_SECRET_KEY = "test"

TARGETS = ("local", "aws")


@dataclass(frozen=True)
class Settings:
    """Where the pipeline runs and what its resources are called."""

    target: str = "local"
    region: str = "ap-south-1"
    endpoint_url: str | None = LOCAL_ENDPOINT
    profile: str | None = None

    table_name: str = "OrdersRawTable"
    stream_name: str = "kinesisfor-sales-data"
    pipe_name: str = "sales-ingestion-dynamodb-to-kinesis"
    lambda_name: str = "process-kinesis-firehose"
    firehose_name: str = "kinesis-to-s3-nrt-batch"
    glue_database: str = "cdc_data"
    crawler_name: str = "Kinesis-s3-data-crawler"
    classifier_name: str = "read_json"
    glue_table: str = "order_changes"
    view_name: str = "orders_current"
    athena_workgroup: str = "sales-cdc"
    # Empty means "sales-cdc-lake-<account-id>-<region>", resolved once the account is known.
    bucket_name: str = ""

    # The tag that marks what this project owns; `down` deletes only tagged resources.
    tag_key: str = "project"
    tag_value: str = "sales-cdc"

    # Firehose buffering: seconds-level freshness locally, cost-aware on AWS.
    buffer_interval_s: int | None = None
    buffer_size_mb: int | None = None
    pipe_starting_position: str = "LATEST"
    athena_bytes_cutoff: int = 1_000_000_000
    # How long VACUUM keeps old snapshots of the Iceberg tables (time travel reaches this far back).
    snapshot_retention_s: int = 432_000

    # Dashboard
    refresh_interval_s: int = 10
    # Data dir of a local cloud the dashboard starts (checkpoints, caches, its log).
    localcloud_dir: Path = Path(".localcloud")
    # Where the background generator keeps its cross-process state (pid, options, counters).
    state_dir: Path = Path(".localcloud/generator")

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    @property
    def effective_buffer_interval_s(self) -> int:
        if self.buffer_interval_s is not None:
            return self.buffer_interval_s
        return 0 if self.is_local else 60

    @property
    def effective_buffer_size_mb(self) -> int:
        if self.buffer_size_mb is not None:
            return self.buffer_size_mb
        return 1 if self.is_local else 5

    def bucket_for(self, account_id: str) -> str:
        """The lake bucket: bucket names are global, so the account id goes in."""
        return self.bucket_name or f"sales-cdc-lake-{account_id}-{self.region}"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], secrets: Mapping[str, Any] | None = None
    ) -> Settings:
        """Build settings from environment variables, with `secrets` (st.secrets) beneath them.

        Raises ConfigError with one readable sentence for a bad value.
        """
        merged: dict[str, str] = {}
        for key, value in (secrets or {}).items():
            if isinstance(value, (str, int, float, bool)):
                merged[str(key).upper()] = str(value)
        merged.update({k: v for k, v in environ.items() if v != ""})

        target = merged.get("SALESCDC_TARGET", "local").strip().lower()
        if target not in TARGETS:
            raise ConfigError(
                f"SALESCDC_TARGET must be 'local' or 'aws', not {target!r}."
            )
        if target == "local":
            endpoint = merged.get("AWS_ENDPOINT_URL", LOCAL_ENDPOINT)
        else:
            endpoint = merged.get("AWS_ENDPOINT_URL")
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise ConfigError(
                f"AWS_ENDPOINT_URL must be a URL like {LOCAL_ENDPOINT}, not {endpoint!r}."
            )
        region = merged.get("AWS_REGION") or merged.get("AWS_DEFAULT_REGION") or "ap-south-1"

        def text(name: str, default: str) -> str:
            return merged.get(f"SALESCDC_{name}", default)

        def integer(name: str, default: int | None) -> int | None:
            raw = merged.get(f"SALESCDC_{name}")
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"SALESCDC_{name} must be a whole number, not {raw!r}.") from None
            if value < 0:
                raise ConfigError(f"SALESCDC_{name} must not be negative, not {raw!r}.")
            return value

        start = text("PIPE_STARTING_POSITION", "LATEST").upper()
        if start not in ("LATEST", "TRIM_HORIZON"):
            raise ConfigError(
                f"SALESCDC_PIPE_STARTING_POSITION must be LATEST or TRIM_HORIZON, not {start!r}."
            )
        d = cls()
        return cls(
            target=target,
            region=region,
            endpoint_url=endpoint,
            profile=merged.get("AWS_PROFILE") if target == "aws" else None,
            table_name=text("TABLE", d.table_name),
            stream_name=text("STREAM", d.stream_name),
            pipe_name=text("PIPE", d.pipe_name),
            lambda_name=text("LAMBDA", d.lambda_name),
            firehose_name=text("FIREHOSE", d.firehose_name),
            glue_database=text("GLUE_DATABASE", d.glue_database),
            crawler_name=text("CRAWLER", d.crawler_name),
            classifier_name=text("CLASSIFIER", d.classifier_name),
            glue_table=text("GLUE_TABLE", d.glue_table),
            view_name=text("VIEW", d.view_name),
            athena_workgroup=text("ATHENA_WORKGROUP", d.athena_workgroup),
            bucket_name=text("BUCKET", ""),
            buffer_interval_s=integer("BUFFER_INTERVAL_S", None),
            buffer_size_mb=integer("BUFFER_SIZE_MB", None),
            pipe_starting_position=start,
            athena_bytes_cutoff=integer("ATHENA_BYTES_CUTOFF", d.athena_bytes_cutoff) or d.athena_bytes_cutoff,
            snapshot_retention_s=integer("SNAPSHOT_RETENTION_S", d.snapshot_retention_s) or d.snapshot_retention_s,
            refresh_interval_s=integer("REFRESH_INTERVAL_S", d.refresh_interval_s) or d.refresh_interval_s,
            # Resolved now: a relative path means "from where the process started", whatever it does later.
            localcloud_dir=Path(text("LOCALCLOUD_DIR", str(d.localcloud_dir))).resolve(),
            state_dir=Path(text("STATE_DIR", str(d.state_dir))).resolve(),
        )
