"""Settings come from the environment (and st.secrets) with the tutorial's defaults; bad values are one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from salescdc.errors import ConfigError
from salescdc.settings import LOCAL_ENDPOINT, Settings


def test_defaults_are_the_tutorials_names() -> None:
    s = Settings.from_env({})
    assert s.target == "local"
    assert s.endpoint_url == LOCAL_ENDPOINT
    assert s.region == "ap-south-1"
    assert (s.table_name, s.stream_name, s.pipe_name) == (
        "OrdersRawTable",
        "kinesisfor-sales-data",
        "sales-ingestion-dynamodb-to-kinesis",
    )
    assert (s.lambda_name, s.firehose_name) == ("process-kinesis-firehose", "kinesis-to-s3-nrt-batch")
    assert (s.glue_database, s.crawler_name, s.classifier_name) == ("cdc_data", "Kinesis-s3-data-crawler", "read_json")
    assert (s.glue_table, s.view_name) == ("order_changes", "orders_current")
    assert s.bucket_for("111122223333") == "sales-cdc-lake-111122223333-ap-south-1"


def test_local_buffering_is_seconds_level_and_aws_is_cost_aware() -> None:
    assert Settings.from_env({}).effective_buffer_interval_s == 0
    assert Settings.from_env({"SALESCDC_TARGET": "aws"}).effective_buffer_interval_s == 60
    assert Settings.from_env({"SALESCDC_BUFFER_INTERVAL_S": "30"}).effective_buffer_interval_s == 30


def test_aws_target_uses_the_standard_chain() -> None:
    s = Settings.from_env({"SALESCDC_TARGET": "AWS", "AWS_PROFILE": "prod", "AWS_REGION": "eu-west-1"})
    assert s.target == "aws"
    assert s.endpoint_url is None  # boto3's own endpoint resolution
    assert s.profile == "prod"
    assert s.region == "eu-west-1"


def test_environment_wins_over_secrets() -> None:
    s = Settings.from_env({"SALESCDC_TABLE": "FromEnv"}, secrets={"SALESCDC_TABLE": "FromSecrets", "salescdc_stream": "s"})
    assert s.table_name == "FromEnv"
    assert s.stream_name == "s"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"SALESCDC_TARGET": "azure"}, "SALESCDC_TARGET must be 'local' or 'aws'"),
        ({"AWS_ENDPOINT_URL": "localhost:4566"}, "AWS_ENDPOINT_URL must be a URL"),
        ({"SALESCDC_BUFFER_INTERVAL_S": "soon"}, "SALESCDC_BUFFER_INTERVAL_S must be a whole number"),
        ({"SALESCDC_PIPE_STARTING_POSITION": "middle"}, "LATEST or TRIM_HORIZON"),
    ],
)
def test_bad_values_are_one_readable_sentence(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_directories_resolve_from_where_the_process_started(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    defaults = Settings.from_env({})
    assert defaults.localcloud_dir == tmp_path / ".localcloud"
    assert defaults.state_dir == tmp_path / ".localcloud" / "generator"
    chosen = Settings.from_env({"SALESCDC_LOCALCLOUD_DIR": "lc", "SALESCDC_STATE_DIR": "/srv/gen"})
    assert (chosen.localcloud_dir, chosen.state_dir) == (tmp_path / "lc", Path("/srv/gen"))


def test_settings_survive_the_generators_settings_file() -> None:
    import json

    from salescdc.generator.process import settings_from_dict, settings_to_dict

    settings = Settings.from_env({"SALESCDC_STATE_DIR": "/srv/gen", "SALESCDC_TABLE": "T"})
    assert settings_from_dict(json.loads(json.dumps(settings_to_dict(settings)))) == settings
